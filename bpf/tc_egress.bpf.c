// SPDX-License-Identifier: GPL-2.0
/*
 * Flow recording at tc egress: every flow this host opens is written to pg_flows, so that
 * XDP ingress lets its replies in. Never drops, never modifies: always TC_ACT_OK.
 *
 * The key is this host's view: laddr/lport are the packet's source, raddr/rport its
 * destination. XDP looks the reversed tuple of an inbound packet up.
 *
 * - TCP: a SYN without ACK (a connection this host opens) inserts; any packet of a known
 *   flow refreshes it. A SYN-ACK answers a connection someone else opened: the inbound side
 *   of that one is the policy's business, not a reply's.
 * - UDP: any datagram refreshes a known flow; there is no handshake to tell an opener by,
 *   so a datagram of an unknown flow inserts it unless the policy in force would let its
 *   replies in anyway: a UDP server answering on a port the policy opens (DNS, TURN, WebRTC
 *   media) would otherwise record one flow per client, and a busy one (or a flood of
 *   spoofed queries it answers) would push the flows this host opened out of the LRU table.
 *   Under dry-run the policy's drops still count as drops here: the flows are recorded, so
 *   that switching to enforce cuts nothing. After a reload that closes such a port, the
 *   next datagram the host sends records the flow.
 * - The same parser as ingress, so IPv6 extension headers are walked with the same bound.
 *   Anything it cannot parse is not recorded (and still sent): at worst its replies are
 *   judged by the policy like any inbound packet.
 * - Non-first fragments carry no ports and are not recorded; the first one records the flow.
 * - VLAN: a tag the stack put in skb metadata (hardware offload) is not in the frame; an
 *   inline tag is skipped like at ingress.
 * - Headers are read from the linear part of the skb without pulling: the stack builds TCP
 *   and UDP headers there. A packet whose headers are not linear is not recorded.
 */
#include "clock.bpf.h"
#include "decide.bpf.h"
#include "parse.bpf.h"

#define PG_TC_ACT_OK 0
/* A refresh is written only when the stamp is older than this, so that a busy flow does
 * not write (and bounce between CPUs) the cache line ingress reads on every packet. Idle
 * timeouts are seconds; this granularity is invisible to them. */
#define PG_FLOW_REFRESH_NS 100000000ULL

/* Would an inbound packet answering p (from its destination to its source port) pass the
 * policy in force without a flow? No policy to ask: record. */
static __always_inline bool pg_udp_reply_allowed(const struct pg_pkt *p)
{
	const struct pg_config *cfg;
	struct pg_decision d;
	__u32 gen;

	cfg = pg_current(&gen);
	if (!cfg)
		return false;
	pg_decide(gen, cfg, PG_DIR_IN, PG_PIDX_UDP, p->sport, (const __u8 *)p->daddr, &d);
	return !d.drop;
}

SEC("tc")
int pg_tc_egress(struct __sk_buff *skb)
{
	struct pg_cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	struct pg_flow_val *v, nv;
	struct pg_flow_key k;
	__u16 ethertype;
	struct pg_pkt p;
	__u64 now;

	if (pg_parse(&c, &p, &ethertype) || !p.family || p.frag == PG_FRAG_LATER)
		return PG_TC_ACT_OK;
	if (p.proto != PG_NH_TCP && p.proto != PG_NH_UDP)
		return PG_TC_ACT_OK;

	__builtin_memcpy(k.laddr, p.saddr, 16);
	__builtin_memcpy(k.raddr, p.daddr, 16);
	k.lport = p.sport;
	k.rport = p.dport;
	k.proto = p.proto;
	k.pad[0] = k.pad[1] = k.pad[2] = 0;

	/* The same clock as ingress: it compares these stamps with its own. */
	now = pg_ktime_coarse();
	v = bpf_map_lookup_elem(&pg_flows, &k);
	if (v) {
		if ((__s64)(now - v->last_ns) > (__s64)PG_FLOW_REFRESH_NS)
			v->last_ns = now;
		return PG_TC_ACT_OK;
	}
	if (p.proto == PG_NH_TCP && (p.tcp_flags & (PG_TCP_SYN | PG_TCP_ACK)) != PG_TCP_SYN)
		return PG_TC_ACT_OK;
	if (p.proto == PG_NH_UDP && pg_udp_reply_allowed(&p))
		return PG_TC_ACT_OK;
	nv.last_ns = now;
	bpf_map_update_elem(&pg_flows, &k, &nv, BPF_NOEXIST);
	return PG_TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
