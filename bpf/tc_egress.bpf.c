// SPDX-License-Identifier: GPL-2.0
/*
 * Flow recording at tc egress: every flow this host opens is written to pg_flows, so that
 * XDP ingress lets its replies in. Never drops, never modifies: always TC_ACT_OK.
 *
 * The key is this host's view: laddr/lport are the packet's source, raddr/rport its
 * destination. XDP looks the reversed tuple of an inbound packet up.
 *
 * - TCP: a SYN without ACK (a connection this host opens) inserts; any packet of a known
 *   flow refreshes it (flow.bpf.h: its FIN or RST shortens its life). A SYN-ACK answers a
 *   connection someone else opened: the inbound side of that one is the policy's business,
 *   not a reply's. A flow that left the table (evicted, or expired while both ends were
 *   silent) is recorded again by this host's next packet on it, when pg_opened_here() says
 *   the connection is one this host opened.
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
 *   and UDP headers there. A packet whose headers are not linear is not recorded. The
 *   payload usually is not linear (page fragments): lengths are checked against skb->len,
 *   as the cursor's c.more says. (Before, the datagram's length was checked against the
 *   linear part alone, so a data packet with a paged payload refreshed nothing.)
 */
#include "clock.bpf.h"
#include "decide.bpf.h"
#include "flow.bpf.h"
#include "parse.bpf.h"

#define PG_TC_ACT_OK 0
#define PG_AF_INET 2
#define PG_SOCK_STREAM 1

/* Would an inbound packet answering p (from its destination to its source port) pass the
 * policy in force without a flow? No policy to ask: record. */
static __always_inline bool pg_reply_allowed(const struct pg_pkt *p, __u32 pidx)
{
	const struct pg_config *cfg;
	struct pg_decision d;
	__u32 gen;

	cfg = pg_current(&gen);
	if (!cfg)
		return false;
	pg_decide(gen, cfg, PG_DIR_IN, pidx, p->sport, (const __u8 *)p->daddr, &d);
	return !d.drop;
}

/*
 * Is this TCP packet without a flow one of a connection this host opened, so that recording
 * it again (after an eviction or an idle expiry) lets its replies in? Inbound connections
 * must never become "replies": that would let a peer through a port the policy closed (after
 * a reload) and fill the table with every client of a busy server. The kernel keeps no "I
 * connected" bit we can read on 5.10, so the decision is made from what we can check:
 *
 * - Not a SYN, FIN or RST: a bare SYN records anyway (above); a SYN-ACK answers someone
 *   else's connection; a FIN or RST ends one and a flow that ends needs no record.
 * - The packet's socket (skb->sk, 5.1) is a full TCP socket in ESTABLISHED with the packet's
 *   source port. Packets the kernel sends without a socket of that connection (a RST for a
 *   closed port comes from a per-CPU control socket; TIME_WAIT answers have a timewait mini
 *   socket) are not recorded: nothing of ours is connected there.
 * - No listening socket holds the local address and port. An accepted connection shares its
 *   listener's port; an active open takes an ephemeral port, which the kernel never gives
 *   out while a listener holds it. The lookup (bpf_sk_lookup_tcp, 4.20) asks for the
 *   connection from the peer's address with source port 0: no established socket has a peer
 *   port 0, so the kernel's lookup falls through to the listeners of our address and port.
 *   What this gets wrong, and which way: a connection bound to a listening port on purpose
 *   (SO_REUSEADDR) is not re-recorded (fails closed: its replies are judged by the policy);
 *   an accepted connection whose listener has closed (a server restarting while old clients
 *   stay) is re-recorded, but only while the policy denies its inbound port (below): the port
 *   was open when it was accepted, and a reload closing it would cut it without this. That
 *   one case is accepted and documented in the README.
 * - The inbound policy would not let its replies in anyway (as for UDP): no record needed.
 */
static __always_inline bool pg_opened_here(struct __sk_buff *skb, const struct pg_pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk, *l;
	__u32 tlen;

	if (p->tcp_flags & (PG_TCP_SYN | PG_TCP_FIN | PG_TCP_RST))
		return false;
	sk = skb->sk;
	if (!sk)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return false;
	if (sk->protocol != PG_NH_TCP || sk->type != PG_SOCK_STREAM ||
	    sk->state != BPF_TCP_ESTABLISHED || sk->src_port != p->sport)
		return false;
	if (p->family == 4) {
		t.ipv4.saddr = p->daddr[3];
		t.ipv4.daddr = p->saddr[3];
		t.ipv4.sport = 0;
		t.ipv4.dport = bpf_htons(p->sport);
		tlen = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->daddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->saddr, 16);
		t.ipv6.sport = 0;
		t.ipv6.dport = bpf_htons(p->sport);
		tlen = sizeof(t.ipv6);
	}
	l = bpf_sk_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (l) {
		bpf_sk_release(l);
		return false;
	}
	return !pg_reply_allowed(p, PG_PIDX_TCP);
}

SEC("tc")
int pg_tc_egress(struct __sk_buff *skb)
{
	struct pg_cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	__u32 stat = PG_FLS_RECORDED, head;
	struct pg_flow_val *v, nv;
	struct pg_flow_key k;
	__u16 ethertype;
	struct pg_pkt p;
	__u64 now;

	/* The payload of what a socket sends is mostly paged: the linear part holds the headers
	 * and the datagram's length is checked against the whole skb (skb->len). */
	head = skb->data_end - skb->data;
	c.more = skb->len > head ? skb->len - head : 0;
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

	/* Before the flow exists: ingress looks a flow up only on a marked port. On every
	 * packet, not only a new flow's, so that a flow written by anything that did not mark
	 * (a table an older version pinned) is marked the next time this host speaks on it. */
	pg_flow_port_mark(p.proto, p.sport);
	/* The same clock as ingress: it compares these stamps with its own. */
	now = pg_now();
	v = bpf_map_lookup_elem(&pg_flows, &k);
	if (v) {
		/* Expired or not: this host speaks on it, so it lives again. */
		pg_flow_touch(v, &p, now, true);
		return PG_TC_ACT_OK;
	}
	if (p.proto == PG_NH_TCP && (p.tcp_flags & (PG_TCP_SYN | PG_TCP_ACK)) != PG_TCP_SYN) {
		if (!pg_opened_here(skb, &p))
			return PG_TC_ACT_OK;
		stat = PG_FLS_RERECORDED;
	}
	if (p.proto == PG_NH_UDP && pg_reply_allowed(&p, PG_PIDX_UDP))
		return PG_TC_ACT_OK;
	__builtin_memset(&nv, 0, sizeof(nv));
	nv.last_ns = now;
	/* Two CPUs may race to insert one flow: only the one that wrote it counts. */
	if (!bpf_map_update_elem(&pg_flows, &k, &nv, BPF_NOEXIST))
		pg_flow_stat(stat);
	return PG_TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
