/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic cases derived from a policy for the explain/datapath agreement tests: every rule's
 * port range edges and their neighbours, crossed with the first and last address of every
 * peer prefix of that rule and the address just past it, plus peers no rule names, loopback
 * for `local` ports, both protocols and the rule's direction. Deduplicated, deterministic.
 */
#ifndef PG_EXPLAIN_CASES_H
#define PG_EXPLAIN_CASES_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

struct explain_case {
	enum pg_dir dir;
	enum pg_proto_idx pidx;
	__u16 port;
	__u8 addr[16]; /* mapped */
};

struct case_vec {
	struct explain_case *v;
	size_t n, cap;
};

static void case_add(struct case_vec *cv, enum pg_dir dir, int pidx, long port,
		     const __u8 addr[16])
{
	struct explain_case k = { .dir = dir, .pidx = pidx, .port = (__u16)port };

	if (port < 1 || port > 65535)
		return;
	memcpy(k.addr, addr, 16);
	for (size_t i = 0; i < cv->n; i++)
		if (!memcmp(&cv->v[i], &k, sizeof(k)))
			return;
	if (cv->n == cv->cap) {
		cv->cap = cv->cap ? cv->cap * 2 : 256;
		cv->v = realloc(cv->v, cv->cap * sizeof(*cv->v));
		if (!cv->v)
			abort();
	}
	cv->v[cv->n++] = k;
}

/* addr + delta (two's complement over 128 bits, big endian). */
static void addr_add(__u8 a[16], int delta)
{
	int carry = delta;

	for (int i = 15; i >= 0 && carry; i--) {
		int v = a[i] + carry;

		a[i] = (__u8)v;
		carry = v >> 8; /* -1 when it borrowed */
	}
}

static bool explain_case_is_v4(const __u8 a[16])
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, mapped, 12);
}

/* The peers of a prefix: its first and last address, and the one after it (outside). */
static void prefix_peers(const struct pg_peer *pr, __u8 out[3][16])
{
	__u8 last[16];

	memcpy(out[0], pr->addr, 16);
	memcpy(last, pr->addr, 16);
	for (int bit = pr->prefixlen; bit < 128; bit++)
		last[bit / 8] |= 0x80 >> (bit % 8);
	memcpy(out[1], last, 16);
	memcpy(out[2], last, 16);
	addr_add(out[2], 1);
}

static int explain_cases(const struct pg_policy *p, struct explain_case **out, size_t *n)
{
	static const char *const fixed[] = { "203.0.113.7", "2001:db8:ffff::1", "198.18.0.1",
					     "127.0.0.1", "::1" };
	struct case_vec cv = {};
	__u8 fixed_addr[5][16];

	for (int i = 0; i < 5; i++) {
		memset(fixed_addr[i], 0, 16);
		if (strchr(fixed[i], ':')) {
			inet_pton(AF_INET6, fixed[i], fixed_addr[i]);
		} else {
			fixed_addr[i][10] = fixed_addr[i][11] = 0xff;
			inet_pton(AF_INET, fixed[i], fixed_addr[i] + 12);
		}
	}
	for (size_t r = 0; r < p->nrules; r++) {
		const struct pg_rule *rule = &p->rules[r];
		__u8 (*peers)[16];
		size_t np = 0;

		peers = calloc(3 * rule->npeers + 5, 16);
		if (!peers)
			return -ENOMEM;
		for (size_t i = 0; i < rule->npeers && i < 4; i++) {
			prefix_peers(&rule->peers[i], &peers[np]);
			/* Skip an "outside" address that wrapped out of the IPv4 space. */
			np += explain_case_is_v4(peers[np + 2]) || !explain_case_is_v4(peers[np]) ? 3
												  : 2;
		}
		for (int i = 0; i < 5; i++)
			memcpy(peers[np++], fixed_addr[i], 16);
		for (int pidx = PG_PIDX_TCP; pidx <= PG_PIDX_UDP; pidx++) {
			for (size_t k = 0; k < rule->nports && k < 3; k++) {
				long edges[] = { rule->ports[k].lo - 1, rule->ports[k].lo,
						 rule->ports[k].hi, (long)rule->ports[k].hi + 1 };

				for (size_t e = 0; e < 4; e++)
					for (size_t a = 0; a < np; a++)
						case_add(&cv, rule->dir, pidx, edges[e], peers[a]);
			}
		}
		free(peers);
	}
	/* Ports no rule names, both directions. */
	for (int dir = PG_DIR_IN; dir <= PG_DIR_OUT; dir++)
		for (int pidx = PG_PIDX_TCP; pidx <= PG_PIDX_UDP; pidx++)
			for (int i = 0; i < 5; i++) {
				case_add(&cv, dir, pidx, 1, fixed_addr[i]);
				case_add(&cv, dir, pidx, 65535, fixed_addr[i]);
			}
	*out = cv.v;
	*n = cv.n;
	return 0;
}

static bool explain_case_loopback(const struct explain_case *k)
{
	static const __u8 lo6[16] = { [15] = 1 };

	if (explain_case_is_v4(k->addr))
		return k->addr[12] == 127;
	return !memcmp(k->addr, lo6, 16);
}

static void explain_case_addr(const struct explain_case *k, char *buf, size_t size)
{
	if (explain_case_is_v4(k->addr))
		inet_ntop(AF_INET, k->addr + 12, buf, size);
	else
		inet_ntop(AF_INET6, k->addr, buf, size);
}

#endif /* PG_EXPLAIN_CASES_H */
