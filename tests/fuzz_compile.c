// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the compiler against the reference evaluator (make fuzz). An input is a
 * policy text; every valid one is compiled into a random generation and then asked queries
 * built from the policy itself (its ports and peers, with neighbours: the edges of ranges and
 * prefixes) and from the input's bytes. The compiled entries, decided as the datapath decides
 * (tests/decide_ref.h), must give what the evaluator gives: action, rule slot, flags, reason,
 * drop, dry-run and the port's `local` flags. Any disagreement aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide_ref.h"
#include "policy/compile.h"
#include "common/addr.h"
#include "policy/evaluate.h"
#include "policy/policy.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_compile: check failed: %s (line %d)\n", #c, \
				__LINE__);                                                \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* Bounds the work per input: the evaluator is linear in rules. */
#define MAX_QUERIES 256

static void check_query(const struct pg_policy *p, const struct pg_compiled *c, enum pg_dir dir,
			enum pg_proto_idx pidx, __u16 port, const __u8 a[16])
{
	struct pg_verdict v;
	struct pg_eval r;
	__u32 pflags;
	int reason;
	bool drop, dry;

	if (!port)
		return;
	pflags = pg_compiled_lookup(c, dir, pidx, port, a, &v);
	CHECK(pg_policy_evaluate(p, dir, pidx, port, a, &r) == 0);
	pg_ref_decide(&c->config, dir, a, &v, &reason, &drop, &dry);
	CHECK(r.action == v.action);
	CHECK(r.rule_slot == v.rule_id);
	CHECK(r.flags == v.flags);
	CHECK((int)r.reason == reason);
	CHECK(r.drop == drop);
	CHECK(r.dry_run == dry);
	CHECK(r.port_local == !!(pflags & PG_PORT_LOCAL));
	CHECK(r.port_local_dry_run == !!(pflags & PG_PORT_LOCAL_DRY_RUN));
	if (r.port_local)
		CHECK(r.port_local_slot == pflags >> PG_PORT_LOCAL_RULE_SHIFT);
	pg_eval_free(&r);
}

/* An address at the edge of a peer prefix: its first address, or its last when last is set
 * (a longer prefix's first address sits inside a shorter one; the last one beside it). */
static void edge(const struct pg_peer *pe, bool last, __u8 out[16])
{
	memcpy(out, pe->addr, 16);
	if (!last)
		return;
	for (int bit = pe->prefixlen; bit < 128; bit++)
		out[bit / 8] |= 0x80 >> (bit % 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *fixed[] = { "127.0.0.1", "::1", "198.18.0.1", "2001:db8::1", "0.0.0.0",
				       "::ffff:255.255.255.255" };
	struct pg_diags d = { 0 };
	struct pg_policy *p = NULL;
	struct pg_compiled c = { 0 };
	unsigned int seed = 2166136261u, nq = 0;
	__u8 a[16];

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	if (pg_policy_parse("fuzz", (const char *)data, size, &p, &d))
		goto out;
	if (pg_compile(p, seed & 1, &c)) /* too large for the maps: check says so too */
		goto out;
	for (size_t i = 0; i < p->nrules && nq < MAX_QUERIES; i++) {
		const struct pg_rule *rl = &p->rules[i];

		for (size_t j = 0; j < rl->nports && nq < MAX_QUERIES; j++) {
			__u16 ports[4] = { rl->ports[j].lo, rl->ports[j].hi,
					   (__u16)(rl->ports[j].lo - 1), (__u16)(rl->ports[j].hi + 1) };
			const struct pg_peer *pe = rl->npeers ? &rl->peers[(seed + j) % rl->npeers] : NULL;

			for (int k = 0; k < 4; k++, nq++) {
				if (pe)
					edge(pe, k & 1, a);
				else
					pg_addr_parse(fixed[(seed + k) % 6], a);
				check_query(p, &c, rl->dir, k < 2 ? PG_PIDX_TCP : PG_PIDX_UDP,
					    ports[k], a);
				check_query(p, &c, !rl->dir, PG_PIDX_UDP - (k & 1), ports[k], a);
			}
		}
	}
	for (int k = 0; k < 6; k++) {
		pg_addr_parse(fixed[k], a);
		check_query(p, &c, k & 1, (k >> 1) & 1, 1 + (seed >> 8) % 65535, a);
	}
out:
	pg_compiled_free(&c);
	pg_policy_free(p);
	pg_diags_free(&d);
	return 0;
}
