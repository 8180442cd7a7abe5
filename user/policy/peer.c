// SPDX-License-Identifier: GPL-2.0
/*
 * Peers (address prefixes in the mapped form) as the language has them: normalized lists,
 * overlap, and their written form. The parser and the lint pass both use them; neither
 * calls the other for it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"

static int peer_cmp(const void *pa, const void *pb)
{
	const struct pg_peer *a = pa, *b = pb;
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (c)
		return c;
	return (int)a->prefixlen - (int)b->prefixlen;
}

bool pg_peer_overlaps(const struct pg_peer *a, const struct pg_peer *b)
{
	unsigned n = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;

	if (memcmp(a->addr, b->addr, n / 8))
		return false;
	if (n % 8) {
		__u8 mask = (__u8)(0xff << (8 - n % 8));

		return (a->addr[n / 8] & mask) == (b->addr[n / 8] & mask);
	}
	return true;
}

/*
 * Normalized lists are sorted by address and hold no prefix inside another, so each is a run
 * of disjoint, ascending address intervals: walk both together, always stepping past the
 * interval that starts first (being disjoint from the other, it also ends first).
 */
bool pg_peers_overlap(const struct pg_peer *a, size_t na, const struct pg_peer *b, size_t nb)
{
	size_t i = 0, j = 0;

	if (!na || !nb)
		return true;
	while (i < na && j < nb) {
		if (pg_peer_overlaps(&a[i], &b[j]))
			return true;
		if (memcmp(a[i].addr, b[j].addr, sizeof(a[i].addr)) < 0)
			i++;
		else
			j++;
	}
	return false;
}

/*
 * Sort, drop duplicates and prefixes that a wider one in the list already covers. A /0 (any,
 * or ::/0, which covers IPv4 too over the mapped form) makes the list "any": for a rule that
 * is the empty list; for a set one /0 peer, expanded into rules later.
 */
void pg_peers_normalize(struct pg_peer *v, size_t *n, bool any_is_empty)
{
	size_t w = 0;

	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), peer_cmp);
	/* Sorted by address then length, every prefix a kept one contains comes right after it. */
	for (size_t i = 0; i < *n; i++) {
		if (w && v[i].prefixlen >= v[w - 1].prefixlen && pg_peer_overlaps(&v[i], &v[w - 1]))
			continue;
		v[w++] = v[i];
	}
	*n = w;
	if (v[0].prefixlen == 0) {
		memset(&v[0], 0, sizeof(v[0]));
		*n = any_is_empty ? 0 : 1;
	}
}

void pg_peer_format(const struct pg_peer *peer, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned plen = peer->prefixlen;

	if (!size)
		return;
	if (plen == 0) {
		snprintf(buf, size, "any");
		return;
	}
	/* IPv4 prints as written: a.b.c.d with its own prefix length, host routes bare. */
	if (peer->v4 && plen >= 96) {
		inet_ntop(AF_INET, peer->addr + 12, addr, sizeof(addr));
		plen -= 96;
		if (plen == 32)
			snprintf(buf, size, "%s", addr);
		else
			snprintf(buf, size, "%s/%u", addr, plen);
		return;
	}
	inet_ntop(AF_INET6, peer->addr, addr, sizeof(addr));
	if (plen == 128)
		snprintf(buf, size, "%s", addr);
	else
		snprintf(buf, size, "%s/%u", addr, plen);
}
