/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between the parser's own files (parse.c, peer.c, format.c, lint.c, diag.c).
 * Nothing outside the parser includes this; the public interface is policy.h.
 */
#ifndef PG_POLICY_INTERNAL_H
#define PG_POLICY_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* A growing string. Allocation failure is sticky: oom is set and later appends do nothing,
 * so that callers check once at the end. */
struct pg_strbuf {
	char *s;
	size_t len, cap;
	size_t limit; /* past this length appends are dropped (0: none): a field cut anyway */
	bool oom;
};

/* Whether sb has reached its limit: what would follow is cut. */
static inline bool pg_sb_full(const struct pg_strbuf *sb)
{
	return sb->limit && sb->len >= sb->limit;
}

void pg_sb_printf(struct pg_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pg_sb_free(struct pg_strbuf *sb);

/* Append the rule, normalized, to sb (no newline). */
void pg_rule_to_sb(const struct pg_rule *r, struct pg_strbuf *sb);
/* "80", "49152-49252" */
void pg_range_to_sb(const struct pg_range *r, struct pg_strbuf *sb);

/* Sort d->v[start..] by line, then column, keeping the insertion order of equal places. */
void pg_diags_sort(struct pg_diags *d, size_t start);
int pg_diag_vadd(struct pg_diags *d, const struct pg_loc *loc, bool warning, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

/* peer.c: sort, drop duplicates and prefixes that a wider one in the list already covers; a
 * /0 makes the list "any" (empty when any_is_empty, else one /0 peer). */
void pg_peers_normalize(struct pg_peer *v, size_t *n, bool any_is_empty);
/* Two prefixes overlap when one contains the other. */
bool pg_peer_overlaps(const struct pg_peer *a, const struct pg_peer *b);
/* Two normalized peer lists (empty means any) share at least one address. */
bool pg_peers_overlap(const struct pg_peer *a, size_t na, const struct pg_peer *b, size_t nb);

/* The warnings of a valid policy; appended to d. Returns 0 or -ENOMEM. */
int pg_policy_lint(struct pg_policy *p, struct pg_diags *d);

#endif /* PG_POLICY_INTERNAL_H */
