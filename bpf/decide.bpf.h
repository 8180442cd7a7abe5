/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decision every hook shares, in the generation in force: one array lookup for the port,
 * whose slot holds its class's base verdict; only when the class decides some peers otherwise
 * (PG_PORT_PEERS), the peer's group (pg_peer_group: a bucket, and one exact probe per prefix
 * length in use in that bucket) and, unless the probe's entry carries the class's verdict
 * (PG_PEER_INLINE), one hash lookup of (class, group). The precedence of the
 * policy language (deny > local > allow > default) was resolved by userspace into each
 * verdict. A set shared by many ports and rules is stored once, and no step walks a structure
 * whose depth grows with the number of prefixes.
 */
#ifndef PG_DECIDE_BPF_H
#define PG_DECIDE_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_endian.h>

struct pg_decision {
	__u32 gen;
	__u32 rule_id; /* slot within gen */
	__u8 reason;   /* enum pg_reason */
	__u8 drop;     /* the policy blocks it (dry-run may still let it through) */
	__u8 dry_run;  /* it would be blocked, but dry-run (policy or rule) lets it through */
	__u8 log;      /* allowed by a rule with `log` */
	__u8 vflags;   /* PG_VF_* of the verdict pg_decide found (0 once pg_set replaced it) */
};

/* The generation in force and its config. NULL only if the maps are missing an entry, which
 * the verifier makes us handle: callers then fail closed (XDP drops, hooks refuse). */
static __always_inline const struct pg_config *pg_current(__u32 *gen)
{
	__u32 zero = 0, g;
	struct pg_active *a;

	a = bpf_map_lookup_elem(&pg_active, &zero);
	g = a ? (a->gen & 1) : 0;
	*gen = g;
	return bpf_map_lookup_elem(&pg_config, &g);
}

/* 127.0.0.0/8 as ::ffff:127.0.0.0/104, and ::1. addr is mapped, network order. */
static __always_inline bool pg_addr_is_loopback(const __u8 *addr)
{
	const __u32 *w = (const __u32 *)addr;

	if (w[0] || w[1])
		return false;
	if (w[2] == bpf_htonl(0xffff))
		return addr[12] == 127;
	return !w[2] && w[3] == bpf_htonl(1);
}

/* The words of addr masked to its first len bits (0..128), into key. */
static __always_inline void pg_mask_into(__u8 *dst, const __u8 *addr, __u32 len)
{
	const __u32 *w = (const __u32 *)addr;
	__u32 *d = (__u32 *)dst;

#pragma unroll
	for (int j = 0; j < 4; j++) {
		__s32 n = (__s32)len - 32 * j;

		d[j] = n <= 0 ? 0 : n >= 32 ? w[j] : w[j] & bpf_htonl(~0u << (32 - n));
	}
}

/* The peer group of addr (mapped, network order) in generation gen; 0 when no prefix of the
 * policy contains it. At most 1 array lookup, 1 hash lookup and PG_BUCKET_LENS probes, all
 * bounded at compile time; in practice one probe or none. *hit is the pg_peers entry that
 * matched, NULL when the group came from a bucket. */
static __always_inline __u32 pg_peer_group(__u32 gen, const __u8 *addr,
					   const struct pg_peer_val **hit)
{
	const __u32 *w = (const __u32 *)addr;
	struct pg_peer_key k = { .gen = gen };
	const struct pg_bucket *b;
	struct pg_peer_val *v;
	__u32 idx, group;
	int i;

	if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
		idx = pg_bucket_index(gen, 0, bpf_ntohl(w[3]) >> 16);
		b = bpf_map_lookup_elem(&pg_buckets, &idx);
	} else {
		struct pg_bucket32_key bk = { .gen = gen, .top32 = w[0] };

		idx = pg_bucket_index(gen, 1, bpf_ntohl(w[0]) >> 16);
		b = bpf_map_lookup_elem(&pg_buckets, &idx);
		if (!b)
			return 0;
		if (b->deep) {
			group = b->group;
			b = bpf_map_lookup_elem(&pg_buckets32, &bk);
			if (!b)
				return group;
		}
	}
	if (!b)
		return 0;
	group = b->group;
	for (i = 0; i < PG_BUCKET_LENS; i++) {
		if (i >= b->nlens)
			break;
		k.prefixlen = b->lens[i];
		pg_mask_into(k.addr, addr, k.prefixlen);
		v = bpf_map_lookup_elem(&pg_peers, &k);
		if (v) {
			*hit = v;
			return v->group;
		}
	}
	return group;
}

/* The port's PG_PORT_* flags and class, or NULL. */
static __always_inline struct pg_port_val *pg_port_lookup(__u32 gen, __u32 dir, __u32 pidx,
							  __u16 port)
{
	__u32 idx = pg_port_index(gen, dir, pidx, port);

	return bpf_map_lookup_elem(&pg_ports, &idx);
}

/* The slot of the port's `local` rule: the first enforcing one, else the first dry-run one.
 * Only for a port with PG_PORT_LOCAL. */
static __always_inline __u32 pg_port_local_rule(const struct pg_port_val *pv)
{
	return pv->flags >> PG_PORT_LOCAL_RULE_SHIFT;
}

/*
 * Decide traffic in direction dir for protocol pidx on port (this host's port for `in`, the
 * remote port for `out`) with peer addr (mapped, network order).
 */
static __always_inline void pg_decide(__u32 gen, const struct pg_config *cfg, __u32 dir,
				      __u32 pidx, __u16 port, const __u8 *addr,
				      struct pg_decision *d)
{
	struct pg_port_val *pv;
	struct pg_verdict *v;
	__u8 action = PG_ACT_DEFAULT, flags = 0;
	__u32 rule_id = 0;

	d->gen = gen;
	d->log = 0;
	pv = pg_port_lookup(gen, dir, pidx, port);
	if (pv) {
		action = (pv->flags >> PG_PORT_V_ACTION_SHIFT) & 3;
		flags = (pv->flags >> PG_PORT_V_FLAGS_SHIFT) & 3;
		rule_id = pv->rule_id;
	}
	if (pv && (pv->flags & PG_PORT_PEERS)) {
		const struct pg_peer_val *hit = NULL;
		struct pg_class_peer_key ck;
		__u32 g = pg_peer_group(gen, addr, &hit);

		if (g) {
			v = NULL;
			if (hit) {
#pragma unroll
				for (int i = 0; i < PG_PEER_INLINE; i++)
					if (!v && i < hit->ninline && hit->class_id[i] == pv->class_id)
						v = (struct pg_verdict *)&hit->verdict[i];
			}
			/* Found by its probe, a group whose entries are all inline needs no
			 * second lookup: a class it does not list keeps its base verdict. */
			if (!v && !(hit && hit->complete)) {
				ck.class_id = pv->class_id;
				ck.group = g;
				v = bpf_map_lookup_elem(&pg_class_peers, &ck);
			}
			if (v) {
				action = v->action;
				flags = v->flags;
				rule_id = v->rule_id;
			}
		}
	}

	switch (action) {
	case PG_ACT_DENY:
		d->rule_id = rule_id;
		d->reason = PG_R_DENIED;
		d->drop = 1;
		break;
	case PG_ACT_LOCAL:
		d->rule_id = rule_id;
		/* A local port is for this host's own loopback traffic only. */
		if (pg_addr_is_loopback(addr)) {
			d->reason = PG_R_PASS_LOOPBACK;
			d->drop = 0;
		} else {
			d->reason = PG_R_LOCAL_ONLY;
			d->drop = 1;
		}
		break;
	case PG_ACT_ALLOW:
		d->rule_id = rule_id;
		d->reason = PG_R_PASS_RULE;
		d->drop = 0;
		d->log = !!(flags & PG_VF_LOG);
		break;
	default:
		d->rule_id = dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
		if ((dir == PG_DIR_IN ? cfg->default_in : cfg->default_out) == PG_DEFAULT_DENY) {
			d->reason = PG_R_NOT_ALLOWED;
			d->drop = 1;
		} else {
			d->reason = PG_R_PASS_DEFAULT;
			d->drop = 0;
		}
		break;
	}
	d->dry_run = d->drop && (cfg->mode == PG_MODE_DRY_RUN || (flags & PG_VF_DRY_RUN));
	d->vflags = flags;
}

static __always_inline void pg_count(struct pg_counter *c, __u64 bytes, __u64 now)
{
	if (!c)
		return;
	/* Per-CPU: no other writer, plain adds are exact. */
	c->packets++;
	c->bytes += bytes;
	c->last_ns = now;
}

/* Count a verdict against its rule slot and its reason. */
static __always_inline void pg_count_verdict(__u32 gen, __u32 rule_id, __u32 reason,
					     __u64 bytes, __u64 now)
{
	__u32 slot = gen * PG_MAX_RULES + rule_id;

	if (rule_id < PG_MAX_RULES)
		pg_count(bpf_map_lookup_elem(&pg_rule_stats, &slot), bytes, now);
	if (reason < PG_R_MAX)
		pg_count(bpf_map_lookup_elem(&pg_reason_stats, &reason), bytes, now);
}

#endif /* PG_DECIDE_BPF_H */
