// SPDX-License-Identifier: GPL-2.0
/*
 * Inbound enforcement at tc ingress (clsact), for interfaces where XDP cannot attach: a
 * driver that refuses XDP at this MTU on a kernel without multi-buffer XDP (before 5.18),
 * or an operator who chose it (--xdp-mode tc). The decision is the XDP program's
 * (ingress.bpf.h): same maps, counters, events and reasons. Only the verdicts differ in name:
 * TC_ACT_SHOT drops, TC_ACT_OK passes.
 *
 * - At tc ingress the skb's data starts at the Ethernet header and skb->len counts the whole
 *   frame, so the cursor is the same as XDP's: the linear part is readable, the rest (paged
 *   data of a large frame) is c.more.
 * - Headers are made linear first when they are not: bpf_skb_pull_data() (4.9) of the first
 *   PG_TC_PULL bytes, enough for Ethernet, two tags, IPv4 with options and TCP with options
 *   (142 bytes) or IPv6 with a few extension headers. A chain longer than that stays cut and
 *   is PG_R_HDR_SPLIT, as at XDP. A pull that fails (no memory) leaves the skb as it was: the
 *   same verdict follows.
 * - A VLAN tag the NIC stripped into skb metadata is not in the frame, as at XDP.
 */
#include "ingress.bpf.h"

#define PG_TC_ACT_OK 0
#define PG_TC_ACT_SHOT 2
#define PG_TC_PULL 256

SEC("tc")
int pg_tc_ingress(struct __sk_buff *skb)
{
	__u32 len = skb->len, want = len < PG_TC_PULL ? len : PG_TC_PULL, head;
	struct pg_cursor c;

	if ((__u64)skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	/* The pull moves the data: the pointers are read after it, from the context itself
	 * (the barrier keeps the compiler from reaching them through a moved ctx pointer,
	 * which the verifier refuses). */
	asm volatile("" : "+r"(skb));
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	head = skb->data_end - skb->data;
	c.more = len > head ? len - head : 0;
	c.cut = 0;
	return pg_ingress(&c, skb->ifindex, len) ? PG_TC_ACT_SHOT : PG_TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
