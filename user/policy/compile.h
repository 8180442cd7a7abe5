/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy to map contents. Pure userspace, no libbpf: the result is a list of map entries that
 * the loader writes, and that tests and `explain` can decide against without a kernel.
 */
#ifndef PG_COMPILE_H
#define PG_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

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
 * of gen (ntohl of the key's gen) and every pg_class_peers entry whose class id belongs to gen:
 * the ids restart from 1 at each compile, so stale entries of the previous policy in that
 * generation would be found again. Peer group ids carry the generation the same way. */
static inline __u32 pg_class_id_gen(__u32 class_id)
{
	return (class_id >> PG_CLASS_GEN_SHIFT) & 1;
}

struct pg_port_entry {
	__u32 index; /* pg_port_index(gen, dir, pidx, port) */
	struct pg_port_val val;
};

/*
 * A verdict (the base verdict of a port slot, or a (class, group) entry) is final for every
 * address it covers; the datapath only adds loopback (for PG_ACT_LOCAL) and the global mode.
 * Rules: deny > local > allow > default; dry-run rules never change what is blocked, they
 * only report: when the enforcing rules let traffic through and a dry-run rule would block
 * it, that rule is the verdict with PG_VF_DRY_RUN; when the enforcing rules (or the default)
 * block it, they are the verdict, so a verdict may say PG_ACT_DEFAULT to keep the default
 * deny in force under a dry-run rule. Ties: the earliest rule; among allows one with `log`
 * first. Loopback (::ffff:127.0.0.0/104 and ::1/128) is a set of its own when the policy has
 * a `local` rule, so that its peers are decided apart.
 */
struct pg_peer_entry {
	struct pg_peer_key key;
	struct pg_peer_val val;
};

struct pg_bucket32_entry {
	struct pg_bucket32_key key;
	struct pg_bucket val;
};

struct pg_class_peer_entry {
	struct pg_class_peer_key key;
	struct pg_verdict val;
};

struct pg_compiled {
	__u32 gen;
	struct pg_config config;
	/* only ports some rule covers, sorted by index, each with its class's base verdict */
	struct pg_port_entry *ports;
	size_t nports;
	/* pg_peers: every prefix of the policy whose group differs from its parent's, sorted by
	 * (address, prefix length): pg_compiled_lookup binary-searches them */
	struct pg_peer_entry *peers;
	size_t npeers;
	/* pg_buckets of this generation: 65536 IPv4 /16 slots, then 65536 IPv6 /16 slots */
	struct pg_bucket *buckets;
	/* pg_buckets32, sorted by the /32 (host order) */
	struct pg_bucket32_entry *b32;
	size_t nb32;
	/* pg_class_peers, sorted by (class id, group) */
	struct pg_class_peer_entry *cpeers;
	size_t ncpeers;
	size_t nclasses, ngroups;
	struct pg_rule_meta *meta; /* indexed by rule slot, without the generation offset */
	size_t nmeta;		   /* slots used: PG_RULE_FIRST + rules */
	/* slot of each policy rule: rule_slot[i] for p->rules[i] */
	__u32 *rule_slot;
};

/* Compile p for generation gen (0 or 1). Returns 0, -E2BIG when the policy exceeds the map
 * sizes in portguard.h (PG_MAX_RULES, PG_MAX_PREFIXES, PG_MAX_CLASS_PEERS: one generation's
 * share), -EINVAL for a bad gen, or -ENOMEM. On error *out is left empty (freeing it is
 * safe). pg_compile_diag also adds an error at the rule that overflows a limit, naming it, to
 * d: `check` and `load` both compile, so that what check accepts, load loads. */
int pg_compile(const struct pg_policy *p, __u32 gen, struct pg_compiled *out);
int pg_compile_diag(const struct pg_policy *p, __u32 gen, struct pg_compiled *out,
		    struct pg_diags *d);
void pg_compiled_free(struct pg_compiled *c);

/* The peer group of addr, as bpf/decide.bpf.h's pg_peer_group() finds it: its bucket, then
 * one exact probe per length the bucket lists. 0: no prefix contains it. */
__u32 pg_compiled_group(const struct pg_compiled *c, const __u8 addr[16]);

/* Whether a prefix entry is probed (written to pg_peers): longer than its bucket, IPv4 /17
 * and more, any other /33 and more. The others live in the buckets. */
static inline bool pg_compiled_probed(const struct pg_peer_key *k)
{
	static const __u8 v4[12] = { [10] = 0xff, [11] = 0xff };
	bool in_v4 = k->prefixlen >= 96 && !memcmp(k->addr, v4, 12);

	return k->prefixlen > (in_v4 ? 112u : 32u);
}

/* Decide as the datapath does, from the compiled entries alone: a port lookup (its base
 * verdict), then, if the class has PG_PORT_PEERS, the longest-prefix peer group and the
 * (class, group) verdict. addr is the mapped 16-byte peer. Fills *v (PG_ACT_DEFAULT when no
 * rule covers it) and returns what the port slot says about the port itself: its
 * PG_PORT_LOCAL, PG_PORT_LOCAL_DRY_RUN and local rule bits (the verdict bits are in *v). */
#define PG_COMPILED_PORT_FLAGS (PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN | 0xffff0000u)
__u32 pg_compiled_lookup(const struct pg_compiled *c, enum pg_dir dir, enum pg_proto_idx pidx,
			 __u16 port, const __u8 addr[16], struct pg_verdict *v);

#endif /* PG_COMPILE_H */
