// SPDX-License-Identifier: GPL-2.0
/*
 * The traffic generator of the XDP-frame path. Run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, it redirects every frame into the sending veth; veth's
 * ndo_xdp_xmit hands it to the peer as an XDP frame, so the receiver's XDP program sees it
 * exactly as it would see a frame from a NIC driver, with no skb ever built.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Set by bench/livegen.c before load: the sending veth, in the generator's namespace. */
const volatile __u32 out_ifindex = 0;
/* Nonzero: give every frame its own IPv4 source (the low 16 bits count up), so that a
 * receiver's per-source state (portguard's event rate limiter) sees a new source each time. */
const volatile __u32 vary_src = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gen_seq SEC(".maps");

SEC("xdp")
int bench_livegen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (vary_src) {
		struct ethhdr *eth = data;
		struct iphdr *ip = (void *)(eth + 1);
		__u32 zero = 0, *seq, sum;
		__u16 old, new;

		seq = bpf_map_lookup_elem(&gen_seq, &zero);
		if (!seq || (void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(0x0800))
			return XDP_ABORTED;
		old = ((__u16 *)&ip->saddr)[1];
		new = bpf_htons((__u16)(*seq)++);
		((__u16 *)&ip->saddr)[1] = new;
		/* RFC 1624 incremental update of the header checksum. */
		sum = (__u16)~ip->check + (__u16)~old + new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = ~sum;
	}
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
