/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table's lifetimes, shared by tc egress (which records and refreshes flows) and the
 * ingress programs (which refresh them on the replies they let in).
 *
 * Modelled on conntrack: an open TCP flow lives flow_tcp_idle_ns after its last packet in
 * either direction (conntrack's established timeout is 5 days), a FIN either way shortens that
 * to flow_tcp_fin_ns (conntrack's FIN_WAIT/TIME_WAIT, 2 minutes) and a RST to flow_tcp_rst_ns
 * (its CLOSE, 10 s). UDP lives flow_udp_idle_ns after its last datagram either way.
 */
#ifndef PG_FLOW_BPF_H
#define PG_FLOW_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

/* A refresh is written only when the stamp is older than this, so that a busy flow does
 * not write (and bounce between CPUs) the cache line every packet reads. Idle timeouts are
 * seconds; this granularity is invisible to them. */
#define PG_FLOW_REFRESH_NS 100000000ULL

/* The idle timeout of flow v of protocol proto. */
static __always_inline __u64 pg_flow_idle(const struct pg_config *cfg,
					  const struct pg_flow_val *v, __u8 proto)
{
	if (proto != PG_NH_TCP)
		return cfg->flow_udp_idle_ns;
	if (v->state == PG_FLOW_RST)
		return cfg->flow_tcp_rst_ns;
	if (v->state == PG_FLOW_FIN)
		return cfg->flow_tcp_fin_ns;
	return cfg->flow_tcp_idle_ns;
}

/* Is flow v still alive at now? Signed: an entry stamped by another CPU a moment "after" now
 * is fresh, not ancient. */
static __always_inline bool pg_flow_alive(const struct pg_config *cfg,
					  const struct pg_flow_val *v, __u8 proto, __u64 now)
{
	return (__s64)(now - v->last_ns) <= (__s64)pg_flow_idle(cfg, v, proto);
}

/*
 * A packet of flow v, either way: refresh the stamp and move the TCP state on. The state only
 * moves towards the end (OPEN, FIN, RST), except that a bare SYN this host sends (egress only:
 * syn_restarts) starts a new connection on the same ports. Written only when something
 * changes, for the cache line's sake (see PG_FLOW_REFRESH_NS).
 */
static __always_inline void pg_flow_touch(struct pg_flow_val *v, const struct pg_pkt *p,
					  __u64 now, bool syn_restarts)
{
	__u8 st = v->state;

	if (p->proto == PG_NH_TCP) {
		if (syn_restarts && (p->tcp_flags & (PG_TCP_SYN | PG_TCP_ACK)) == PG_TCP_SYN)
			st = PG_FLOW_OPEN;
		else if (p->tcp_flags & PG_TCP_RST)
			st = PG_FLOW_RST;
		else if ((p->tcp_flags & PG_TCP_FIN) && st == PG_FLOW_OPEN)
			st = PG_FLOW_FIN;
	}
	if (st != v->state) {
		v->state = st;
		v->last_ns = now;
		return;
	}
	if ((__s64)(now - v->last_ns) > (__s64)PG_FLOW_REFRESH_NS)
		v->last_ns = now;
}

/* Mark this host's port lport of proto (TCP or UDP) as one a flow may use, before the flow
 * is written. Read first: a busy port's slot is written once, not by every CPU each packet. */
static __always_inline void pg_flow_port_mark(__u8 proto, __u16 lport)
{
	__u32 idx = pg_flow_port_index(proto, lport);
	__u32 *m = bpf_map_lookup_elem(&pg_flow_ports, &idx);

	if (m && !*m)
		*m = 1;
}

/* May some flow of this host use its port lport of proto? */
static __always_inline bool pg_flow_port_marked(__u8 proto, __u16 lport)
{
	__u32 idx = pg_flow_port_index(proto, lport);
	__u32 *m = bpf_map_lookup_elem(&pg_flow_ports, &idx);

	return m && *m;
}

static __always_inline void pg_flow_stat(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&pg_flow_stats, &which);

	if (n)
		(*n)++;
}

#endif /* PG_FLOW_BPF_H */
