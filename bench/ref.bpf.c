// SPDX-License-Identifier: GPL-2.0
/*
 * The minimal reference: what a port filter costs when it does nothing but parse Ethernet,
 * IPv4 and TCP/UDP and look the destination port up in one hash map. No VLAN, no IPv6, no
 * IPv4 options beyond skipping them, no fragments, no counters, no events: anything it does
 * not parse passes. portguard's cost is judged against this and against the floor.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* Key: (IP protocol << 16) | destination port, host order. Written by bench/xdpcost.c. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ref_ports SEC(".maps");

SEC("xdp")
int bench_ref(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u16 *ports;
	__u32 key;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	/* The destination port sits at the same offset in TCP and UDP. */
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > data_end)
		return XDP_DROP;
	key = ((__u32)ip->protocol << 16) | bpf_ntohs(ports[1]);
	return bpf_map_lookup_elem(&ref_ports, &key) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
