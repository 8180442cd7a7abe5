/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference evaluator: decide one piece of traffic from the policy's rules directly, by the
 * language's definition, without classes or tries. `explain` prints its result; the tests use
 * it as the oracle that the compiled maps (and so the datapath) must agree with. No libbpf.
 */
#ifndef PG_EVALUATE_H
#define PG_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

struct pg_eval {
	/* The deciding rule, or NULL when no rule covers the traffic and the default decides. */
	const struct pg_rule *rule;
	size_t rule_index; /* p->rules[rule_index], when rule is set */
	__u32 rule_slot;   /* as compiled: PG_RULE_FIRST + rule_index, or the direction's
			    * default slot (PG_RULE_DEFAULT_IN / PG_RULE_DEFAULT_OUT) */
	enum pg_action action; /* PG_ACT_DENY / LOCAL / ALLOW, or PG_ACT_DEFAULT */
	__u8 flags;	       /* PG_VF_* of the deciding rule, as the trie entry carries them */
	enum pg_reason reason; /* PG_R_DENIED, PG_R_LOCAL_ONLY, PG_R_PASS_LOOPBACK,
				* PG_R_PASS_RULE, PG_R_NOT_ALLOWED or PG_R_PASS_DEFAULT */
	bool drop;	       /* the policy blocks it */
	bool dry_run;	       /* blocked, but reported only (mode dry-run or a dry-run rule) */
	bool log;	       /* allowed by a rule with `log`: reported too */
	/* The port is `local` for the bind hook (some local rule covers dir/proto/port), and
	 * whether every such rule is dry-run: what pg_ports' PG_PORT_LOCAL* flags say. */
	bool port_local, port_local_dry_run;
	/* ...and the slot of the port's local rule (the first enforcing one, else the first),
	 * which the bind hook names: pg_ports' PG_PORT_LOCAL_RULE_SHIFT bits. */
	__u32 port_local_slot;
	/* Every rule that covers the traffic (direction, protocol, port and peer), in source
	 * order; the deciding rule is among them. */
	const struct pg_rule **covering;
	size_t ncovering;
	/* Why the deciding rule wins, for a human: "deny takes precedence over allow". */
	char why[256];
};

/*
 * Decide traffic in direction dir, protocol pidx, on port (this host's for `in`, the remote
 * one for `out`) with peer addr (16 bytes, IPv4 mapped as ::ffff:a.b.c.d, network order).
 * Fills *r; free it with pg_eval_free(). Returns 0 or -ENOMEM.
 */
int pg_policy_evaluate(const struct pg_policy *p, enum pg_dir dir, enum pg_proto_idx pidx,
		       __u16 port, const __u8 addr[16], struct pg_eval *r);
void pg_eval_free(struct pg_eval *r);

/* The language's precedence, stated once: of the rules of each kind that cover some traffic
 * (NULL: none), the one that decides; NULL when none covers it and the default decides.
 * deny > local > allow > the default. The evaluator and audit judge by it; compile.c's
 * class verdicts are held against the evaluator by the tests. */
const struct pg_rule *pg_precedence(const struct pg_rule *deny, const struct pg_rule *local,
				    const struct pg_rule *allow);

/* What a policy does to inbound traffic from off-host peers to a port, whatever the peer
 * (what `audit` reports for a listening socket). */
enum pg_exposure {
	PG_EXP_ALLOWED,	   /* an allow rule lets some off-host peer in */
	PG_EXP_ALLOWED_DEFAULT, /* no rule; default in allow */
	PG_EXP_LOCAL,	   /* a `local` port */
	PG_EXP_DENIED,	   /* denied to every peer */
	PG_EXP_NOT_ALLOWED,	   /* no rule; default in deny */
};

struct pg_port_exposure {
	enum pg_exposure j;
	const struct pg_rule *rule; /* the deciding rule, or NULL for the default */
};

struct pg_port_exposure pg_port_exposure(const struct pg_policy *p, enum pg_proto_idx pidx,
					 __u16 port);

#endif /* PG_EVALUATE_H */
