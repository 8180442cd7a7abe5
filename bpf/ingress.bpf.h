/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inbound decision, shared by every ingress program: XDP (one buffer or multi-buffer)
 * and the tc ingress fallback. Each program builds a cursor over its frame (parse.bpf.h says
 * what the cursor promises), calls pg_ingress() with the interface and the frame's length,
 * and turns "drop" into its hook's verdict. Same maps, counters, events and reasons whichever
 * program decided: the program is the attach point's business, not the policy's.
 *
 * The cost of an allowed packet is the parse, two array lookups for the generation and its
 * config, one per-CPU array lookup for the clock, one array lookup for the port, one LPM
 * lookup when a rule covers the port and its verdict depends on the peer (a `from any` rule's
 * verdict is inlined in the port slot, PG_PORT_UNIFORM), and two per-CPU counter updates.
 * The flow table is read only for a packet the policy would drop (and never for a bare SYN);
 * the fragment table only for fragments; the event path only for violations and logged
 * allows. No helper call on that path but the LPM lookup: the clock is read through jiffies.
 */
#ifndef PG_INGRESS_BPF_H
#define PG_INGRESS_BPF_H

#include "clock.bpf.h"
#include "decide.bpf.h"
#include "events.bpf.h"
#include "flow.bpf.h"
#include "parse.bpf.h"

/* Interface index of lo in every network namespace. */
#define PG_LOOPBACK_IFINDEX 1

/* Report one verdict through the ring buffer, if events are on and the rate limits agree. */
static __always_inline void pg_report(__u32 ifindex, const struct pg_config *cfg,
				      const struct pg_pkt *p, const struct pg_decision *d,
				      __u8 action, __u64 now)
{
	struct pg_rl_key k;
	struct pg_event *e;

	if (!cfg->events)
		return;
	if (p->family)
		__builtin_memcpy(k.addr, p->saddr, 16);
	else
		__builtin_memset(k.addr, 0, 16);
	k.port = p->dport;
	k.reason = d->reason;
	k.hook = PG_HOOK_XDP;
	e = pg_event_new(cfg, &k, now, PG_HOOK_XDP, d->gen, d->rule_id,
			 d->reason, action, PG_DIR_IN, p->family ? p->proto : 0, p->family,
			 (const __u8 *)p->saddr, p->sport, (const __u8 *)p->daddr, p->dport);
	if (!e)
		return;
	e->ifindex = ifindex;
	pg_event_submit(e);
}

/* Count, report, and say whether to drop. A drop that dry-run lets through passes and is
 * reported as allowed; nothing else about it changes (it counts under its drop reason). */
static __always_inline bool pg_finish(__u32 ifindex, const struct pg_config *cfg,
				      const struct pg_pkt *p, const struct pg_decision *d,
				      __u64 bytes, __u64 now)
{
	pg_count_verdict(d->gen, d->rule_id, d->reason, bytes, now);
	if (d->drop) {
		pg_report(ifindex, cfg, p, d, d->dry_run ? PG_EV_ALLOWED : PG_EV_BLOCKED, now);
		return !d->dry_run;
	}
	if (d->log)
		pg_report(ifindex, cfg, p, d, PG_EV_LOGGED, now);
	return false;
}

static __always_inline void pg_set(struct pg_decision *d, __u32 rule_id, __u8 reason,
				   __u8 dry_run)
{
	d->rule_id = rule_id;
	d->reason = reason;
	d->drop = PG_R_IS_DROP(reason);
	d->dry_run = d->drop && dry_run;
	d->log = 0;
	d->vflags = 0;
}

/*
 * Does this inbound packet answer a flow this host opened (recorded at egress, or seeded from
 * the sockets open at start-up), within its idle timeout (flow.bpf.h)? If so, it refreshes
 * the flow: idle means silent both ways, so a peer that speaks first after hours of silence
 * on a connection this host opened is still answered. Its FIN or RST shortens the flow's life.
 *
 * A TCP SYN without ACK opens a connection; it never answers one. Refusing it here costs no
 * lookup under a SYN flood, and means simultaneous open (both ends sending SYN at once) to a
 * port no rule allows is not supported. Nor is a packet to a port no flow of this host used
 * (pg_flow_ports) a reply: a flood to a closed or scanned port costs an array read.
 */
static __always_inline bool pg_is_reply(const struct pg_config *cfg, const struct pg_pkt *p,
					__u64 now)
{
	struct pg_flow_key k;
	struct pg_flow_val *v;

	if (p->proto == PG_NH_TCP && (p->tcp_flags & (PG_TCP_SYN | PG_TCP_ACK)) == PG_TCP_SYN)
		return false;
	/* No flow of this host was ever on the port: no flow to look up (pg_flow_ports). */
	if (!pg_flow_port_marked(p->proto, p->dport))
		return false;
	__builtin_memcpy(k.laddr, p->daddr, 16);
	__builtin_memcpy(k.raddr, p->saddr, 16);
	k.lport = p->dport;
	k.rport = p->sport;
	k.proto = p->proto;
	k.pad[0] = k.pad[1] = k.pad[2] = 0;
	v = bpf_map_lookup_elem(&pg_flows, &k);
	if (!v || !pg_flow_alive(cfg, v, p->proto, now))
		return false;
	pg_flow_touch(v, p, now, false);
	return true;
}

static __always_inline void pg_frag_key(struct pg_frag_key *k, const struct pg_pkt *p)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->proto = p->frag_proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/*
 * Remember a first fragment's verdict for the rest of its datagram. A later first fragment of
 * the same datagram (same key) replaces it: two fragments at offset 0 overlap, and the stack
 * discards a datagram with overlapping fragments, so whichever first fragment reaches it
 * decides nothing the later fragments could abuse.
 *
 * The table is an LRU of PG_MAX_FRAGS datagrams: a flood of first fragments can push a
 * genuine datagram out before its later fragments arrive, which then drop as fragments
 * without a first. That fails closed; reassembly in the stack has the same exposure.
 */
static __always_inline void pg_frag_record(const struct pg_pkt *p, const struct pg_decision *d)
{
	struct pg_frag_key k;
	struct pg_frag_val v;

	pg_frag_key(&k, p);
	v.rule_id = d->rule_id;
	v.allowed = !d->drop || d->dry_run;
	v.reason = d->reason;
	/* Ports to protect only for TCP and UDP; other protocols record 0, no overlap check. */
	v.l4_end = (p->proto == PG_NH_TCP || p->proto == PG_NH_UDP) ? p->l4_end : 0;
	bpf_map_update_elem(&pg_frags, &k, &v, BPF_ANY);
}

/*
 * A non-first fragment carries no ports: it follows its datagram's first fragment.
 *
 * - No first fragment seen (lost, reordered behind this one, or never sent): PG_R_FRAGMENT.
 *   A datagram whose fragments arrive out of order before their first one is lost; its
 *   sender retransmits. That is the price of never letting portless data in unjudged.
 * - Overlapping the first fragment's L4 header (offset < l4_end): PG_R_FRAG_OVERLAP, whatever
 *   the first fragment's verdict: in reassembly it could rewrite the ports that were judged
 *   (RFC 1858 tiny and overlapping fragment attacks).
 * - First fragment dropped: PG_R_FRAGMENT, counted to the rule that dropped it.
 * - First fragment let through by dry-run: a would-be PG_R_FRAGMENT, let through, reported.
 * - First fragment allowed: PG_R_PASS_FRAGMENT, counted to the rule that allowed it.
 *
 * The verdict's rule id is the first fragment's slot; a reload between the fragments of one
 * datagram counts the rest against the same slot of the new generation.
 */
static __always_inline void pg_decide_later(const struct pg_config *cfg, const struct pg_pkt *p,
					    struct pg_decision *d)
{
	__u8 dry = cfg->mode == PG_MODE_DRY_RUN;
	struct pg_frag_val *v;
	struct pg_frag_key k;

	pg_frag_key(&k, p);
	v = bpf_map_lookup_elem(&pg_frags, &k);
	if (!v)
		pg_set(d, PG_RULE_NONE, PG_R_FRAGMENT, dry);
	else if (p->frag_off < v->l4_end)
		pg_set(d, v->rule_id, PG_R_FRAG_OVERLAP, dry);
	else if (!v->allowed)
		pg_set(d, v->rule_id, PG_R_FRAGMENT, dry);
	else if (PG_R_IS_DROP(v->reason))
		pg_set(d, v->rule_id, PG_R_FRAGMENT, 1);
	else
		pg_set(d, v->rule_id, PG_R_PASS_FRAGMENT, 0);
}

/*
 * Decide one inbound frame on interface ifindex, bytes long (all of it, fragments included),
 * through cursor c. Returns true to drop it.
 */
static __always_inline bool pg_ingress(struct pg_cursor *c, __u32 ifindex, __u64 bytes)
{
	const struct pg_config *cfg;
	__u64 now;
	/* Zeroed whole: the 5.10 verifier refuses a read of a stack slot no path wrote, and which
	 * fields parsing writes depends on how far it got. */
	struct pg_decision d = {};
	__u16 ethertype = 0;
	struct pg_pkt p = {};
	__u8 dry;
	__u32 gen;
	int r;

	pg_in_memory(p);
	/* One read of pg_active: everything below is decided by generation gen. */
	cfg = pg_current(&gen);
	if (!cfg)
		return true; /* fail closed: no policy to decide by */
	now = pg_now();
	dry = cfg->mode == PG_MODE_DRY_RUN;
	d.gen = gen;

	r = pg_parse(c, &p, &ethertype);
	if (r) {
		/* Parse-level drops have no rule; only the policy's mode can let them through. */
		pg_set(&d, PG_RULE_NONE, r, dry);
	} else if (!p.family) {
		/* ARP, LLDP and other non-IP ethertypes. IP inside PPPoE or MPLS is not looked
		 * into: its stack is another device, enforce there. */
		pg_set(&d, PG_RULE_NONE, PG_R_PASS_NON_IP, 0);
	} else if (p.frag == PG_FRAG_LATER) {
		pg_decide_later(cfg, &p, &d);
	} else {
		if (p.proto == PG_NH_TCP || p.proto == PG_NH_UDP) {
			__u32 pidx = p.proto == PG_NH_TCP ? PG_PIDX_TCP : PG_PIDX_UDP;

			pg_decide(gen, cfg, PG_DIR_IN, pidx, p.dport, (const __u8 *)p.saddr, &d);
			/*
			 * A loopback source on a wire is spoofed (127/8 and ::1 never leave a
			 * host). The stack drops it unless route_localnet is set, which
			 * kube-proxy does: a `local` port stays local-only here unless this is
			 * lo itself. So such a packet to a local port is decided as from an
			 * off-host peer. The verdict answered for a loopback peer, which differs
			 * only in what the local rule says: what already blocks (an enforcing
			 * deny, the default) stands; else an enforcing local blocks; else (only
			 * dry-run locals) a dry-run deny that already reports stands, and
			 * otherwise the dry-run local reports. The local rule is the port's,
			 * not the verdict's (which may name another rule).
			 */
			if (pg_addr_is_loopback((const __u8 *)p.saddr) &&
			    ifindex != PG_LOOPBACK_IFINDEX &&
			    !(d.drop && !(d.vflags & PG_VF_DRY_RUN))) {
				struct pg_port_val *pv = pg_port_lookup(gen, PG_DIR_IN, pidx, p.dport);

				if (pv && (pv->flags & PG_PORT_LOCAL) &&
				    !(pv->flags & PG_PORT_LOCAL_DRY_RUN))
					pg_set(&d, pg_port_local_rule(pv), PG_R_LOCAL_ONLY, dry);
				else if (pv && (pv->flags & PG_PORT_LOCAL) && !d.drop)
					pg_set(&d, pg_port_local_rule(pv), PG_R_LOCAL_ONLY, 1);
			}
			/* Replies pass whatever the policy says of the port, and in dry-run
			 * they are not would-be violations either. */
			if (d.drop && pg_is_reply(cfg, &p, now))
				pg_set(&d, PG_RULE_NONE, PG_R_PASS_REPLY, 0);
		} else if ((p.family == 4 && (p.proto == PG_NH_ICMP || p.proto == PG_NH_IGMP)) ||
			   (p.family == 6 && p.proto == PG_NH_ICMPV6)) {
			/* Neighbour discovery, PMTU errors, echo: not subject to port rules.
			 * IGMP is IPv4's MLD, which IPv6 carries in ICMPv6: multicast
			 * membership would lapse without it; it is counted with ICMP. The
			 * other family's ICMP is just another protocol below. */
			pg_set(&d, PG_RULE_NONE, PG_R_PASS_ICMP, 0);
		} else {
			/* Any other IP protocol (ESP, GRE, SCTP, ...) follows `default in`. */
			if (cfg->default_in == PG_DEFAULT_DENY)
				pg_set(&d, PG_RULE_DEFAULT_IN, PG_R_PROTO, dry);
			else
				pg_set(&d, PG_RULE_DEFAULT_IN, PG_R_PASS_DEFAULT, 0);
		}
		if (p.frag == PG_FRAG_FIRST)
			pg_frag_record(&p, &d);
	}
	return pg_finish(ifindex, cfg, &p, &d, bytes, now);
}

#endif /* PG_INGRESS_BPF_H */
