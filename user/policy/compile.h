/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy to map contents. Pure userspace, no libbpf: the result is a list of map entries that
 * the loader writes, and that tests and `explain` can decide against without a kernel.
 */
#ifndef PG_COMPILE_H
#define PG_COMPILE_H

#include <stddef.h>

#include "policy/policy.h"

/* pg_config defaults; the loader overrides them from its command line. */
#define PG_COMPILE_EVENTS_PER_SEC 10000u		 /* per CPU */
#define PG_COMPILE_RATELIMIT_NS 1000000000ull	 /* repeats of one (source, port, reason) */
#define PG_COMPILE_FLOW_TCP_IDLE_NS 300000000000ull /* 300 s */
#define PG_COMPILE_FLOW_UDP_IDLE_NS 60000000000ull	 /* 60 s */

/* Class ids carry their generation in this bit, so that a class id is never reused by the
 * other generation while a reload swaps them (the trie holds both generations at once). */
#define PG_CLASS_GEN_SHIFT 30

/* The generation a class id (host order, as in pg_port_val) belongs to. Writing generation gen
 * means: zero its port slots the new policy leaves uncovered, and delete every pg_peers entry
 * whose class id belongs to gen (ntohl of the key's class_id): the ids restart from 1 at each
 * compile, so stale entries of the previous policy in that generation would be found again. */
static inline __u32 pg_class_id_gen(__u32 class_id)
{
	return (class_id >> PG_CLASS_GEN_SHIFT) & 1;
}

struct pg_port_entry {
	__u32 index; /* pg_port_index(gen, dir, pidx, port) */
	struct pg_port_val val;
};

/*
 * A peer entry's verdict is final for every address whose longest match it is; the datapath
 * only adds loopback (for PG_ACT_LOCAL) and the global mode. Rules: deny > local > allow >
 * default; dry-run rules never change what is blocked, they only report: when the enforcing
 * rules let traffic through and a dry-run rule would block it, that rule is the verdict with
 * PG_VF_DRY_RUN; when the enforcing rules (or the default) block it, they are the verdict, so
 * an entry may say PG_ACT_DEFAULT to keep the default deny in force under a dry-run rule.
 * In classes with a `local` rule, ::ffff:127.0.0.0/104 and ::1/128 get entries of their own
 * when they decide differently. Ties: the earliest rule; among allows one with `log` first.
 */
struct pg_peer_entry {
	struct pg_peer_key key;
	struct pg_verdict val;
};

struct pg_compiled {
	__u32 gen;
	struct pg_config config;
	struct pg_port_entry *ports; /* only ports some rule covers, sorted by index */
	size_t nports;
	/* sorted by (class id, address, prefix length): pg_compiled_lookup binary-searches them */
	struct pg_peer_entry *peers;
	size_t npeers;
	size_t nclasses;
	struct pg_rule_meta *meta; /* indexed by rule slot, without the generation offset */
	size_t nmeta;		   /* slots used: PG_RULE_FIRST + rules */
	/* slot of each policy rule: rule_slot[i] for p->rules[i] */
	__u32 *rule_slot;
};

/* Compile p for generation gen (0 or 1). Returns 0, -E2BIG when the policy exceeds the map
 * sizes in portguard.h (more than PG_MAX_RULES - PG_RULE_FIRST rules, or more than
 * PG_MAX_PEER_ENTRIES / 2 peer entries: one generation's share), -EINVAL for a bad gen, or
 * -ENOMEM. On error *out is left empty (freeing it is safe). */
int pg_compile(const struct pg_policy *p, __u32 gen, struct pg_compiled *out);
void pg_compiled_free(struct pg_compiled *c);

/* Decide as the datapath does, from the compiled entries alone: a port lookup, then the
 * longest-prefix peer. addr is the mapped 16-byte peer. Fills *v (PG_ACT_DEFAULT when no
 * rule covers it) and returns the port's PG_PORT_* flags. */
__u32 pg_compiled_lookup(const struct pg_compiled *c, enum pg_dir dir, enum pg_proto_idx pidx,
			 __u16 port, const __u8 addr[16], struct pg_verdict *v);

#endif /* PG_COMPILE_H */
