/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy to map contents. Pure userspace, no libbpf: the result is a list of map entries that
 * the loader writes, and that tests and `explain` can decide against without a kernel.
 */
#ifndef PG_COMPILE_H
#define PG_COMPILE_H

#include <stddef.h>

#include "policy.h"

struct pg_port_entry {
	__u32 index; /* pg_port_index(gen, dir, pidx, port) */
	struct pg_port_val val;
};

struct pg_peer_entry {
	struct pg_peer_key key;
	struct pg_verdict val;
};

struct pg_compiled {
	__u32 gen;
	struct pg_config config;
	struct pg_port_entry *ports; /* only ports some rule covers */
	size_t nports;
	struct pg_peer_entry *peers;
	size_t npeers;
	struct pg_rule_meta *meta; /* indexed by rule slot, without the generation offset */
	size_t nmeta;		   /* slots used: PG_RULE_FIRST + rules */
	/* slot of each policy rule: rule_slot[i] for p->rules[i] */
	__u32 *rule_slot;
};

/* Compile p for generation gen. Returns 0, -E2BIG when the policy exceeds the map sizes in
 * portguard.h, or -ENOMEM. */
int pg_compile(const struct pg_policy *p, __u32 gen, struct pg_compiled *out);
void pg_compiled_free(struct pg_compiled *c);

/* Decide as the datapath does, from the compiled entries alone: a port lookup, then the
 * longest-prefix peer. addr is the mapped 16-byte peer. Fills *v (PG_ACT_DEFAULT when no
 * rule covers it) and returns the port's PG_PORT_* flags. */
__u32 pg_compiled_lookup(const struct pg_compiled *c, enum pg_dir dir, enum pg_proto_idx pidx,
			 __u16 port, const __u8 addr[16], struct pg_verdict *v);

#endif /* PG_COMPILE_H */
