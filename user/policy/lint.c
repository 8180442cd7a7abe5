// SPDX-License-Identifier: GPL-2.0
/*
 * Warnings: things that parse but are probably mistakes. They run on a policy without
 * errors, and none of them changes what the policy means. Each says why it matters.
 *
 * Cost: the overlap check sweeps each (direction, protocol) by port, so a 10,000-rule policy
 * of distinct ports is checked in O(n log n), not by comparing every pair of rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_internal.h"

static const char *proto_name(unsigned bit)
{
	return bit == PG_PROTO_TCP ? "tcp" : "udp";
}

static int warn(struct pg_diags *d, const struct pg_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int warn(struct pg_diags *d, const struct pg_loc *loc, const char *fmt, ...)
{
	struct pg_loc l = *loc;
	va_list ap;
	int err;

	/* An implicit default has no line: the warning goes to the top of the file. */
	if (l.line == 0) {
		l.line = 1;
		l.col = 1;
	}
	va_start(ap, fmt);
	err = pg_diag_vadd(d, &l, true, fmt, ap);
	va_end(ap);
	return err;
}

static bool covers(const struct pg_rule *r, unsigned proto, __u16 port)
{
	if (!(r->protos & proto))
		return false;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].lo <= port && port <= r->ports[i].hi)
			return true;
	return false;
}

/* Default-deny inbound with nothing letting SSH in locks the administrators out. A rule
 * restricted to some peers counts: an admins set is the intended way to write it. */
static int lint_ssh(const struct pg_policy *p, struct pg_diags *d)
{
	struct pg_loc loc;

	if (p->default_in != PG_DEFAULT_DENY)
		return 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pg_rule *r = &p->rules[i];

		if (r->kind == PG_RULE_ALLOW && r->dir == PG_DIR_IN && covers(r, PG_PROTO_TCP, 22))
			return 0;
	}
	loc = p->default_in_loc;
	loc.file = p->file;
	return warn(d, &loc,
		    "inbound default is deny and no rule allows tcp/22 (SSH): enforcing this "
		    "policy would lock administrators out");
}

/* The first port of protocol bit that allow rule a and local rule l share, as a warning at a.
 * Both range lists are sorted and merged: walk them together. Returns 1 if it warned. */
static int warn_local_pair(struct pg_diags *d, const struct pg_rule *a, const struct pg_rule *l,
			   unsigned bit)
{
	size_t i = 0, j = 0;

	while (i < a->nports && j < l->nports) {
		const struct pg_range *ra = &a->ports[i], *rl = &l->ports[j];
		struct pg_range both = {
			.lo = ra->lo > rl->lo ? ra->lo : rl->lo,
			.hi = ra->hi < rl->hi ? ra->hi : rl->hi,
		};
		struct pg_strbuf sb = { 0 };
		int err;

		if (both.lo > both.hi) {
			if (ra->hi < rl->hi)
				i++;
			else
				j++;
			continue;
		}
		pg_range_to_sb(&both, &sb);
		if (sb.oom)
			return -ENOMEM;
		if (ra->lo == ra->hi)
			err = warn(d, &a->loc,
				   "port %s/%s is allowed in here and local at line %d: local "
				   "wins, only loopback reaches it",
				   proto_name(bit), sb.s, l->loc.line);
		else
			err = warn(d, &a->loc,
				   "port range %u-%u swallows local port %s/%s (line %d): local "
				   "wins there, only loopback reaches it",
				   ra->lo, ra->hi, proto_name(bit), sb.s, l->loc.line);
		pg_sb_free(&sb);
		return err ? err : 1;
	}
	return 0;
}

/* An allow-in rule that reaches a `local` port: local wins (only loopback gets in), so the
 * allow is dead there. One port allowed and local is a contradiction; a range that merely
 * includes a local port is the subtler "swallows" case. One warning per pair of rules. */
static int lint_local(const struct pg_policy *p, struct pg_diags *d, unsigned long *budget)
{
	for (size_t li = 0; li < p->nrules; li++) {
		const struct pg_rule *l = &p->rules[li];

		if (l->kind != PG_RULE_LOCAL)
			continue;
		for (size_t ai = 0; ai < p->nrules; ai++) {
			const struct pg_rule *a = &p->rules[ai];
			unsigned common = a->protos & l->protos;
			int err = 0;

			if (a->kind != PG_RULE_ALLOW || a->dir != PG_DIR_IN || !common)
				continue;
			if (*budget < a->nports + l->nports + 1) {
				struct pg_loc top = { p->file, 1, 1 };

				return warn(d, &top,
					    "too many local and allow rules to check every pair; "
					    "some allowed local ports may not be reported");
			}
			*budget -= a->nports + l->nports + 1;
			if (common & PG_PROTO_TCP)
				err = warn_local_pair(d, a, l, PG_PROTO_TCP);
			if (!err && (common & PG_PROTO_UDP))
				err = warn_local_pair(d, a, l, PG_PROTO_UDP);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

struct span {
	__u16 lo, hi;
	size_t rule;
};

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

struct vec {
	void *v;
	size_t n, cap;
};

static bool vec_push(struct vec *v, const void *x, size_t elem)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *nv = realloc(v->v, cap * elem);

		if (!nv)
			return false;
		v->v = nv;
		v->cap = cap;
	}
	memcpy((char *)v->v + v->n * elem, x, elem);
	v->n++;
	return true;
}

/* The first conflict found for a rule, which gets at most one overlap warning. */
struct conflict {
	size_t with; /* the earlier rule; SIZE_MAX for none */
	unsigned proto;
	__u16 port;
};

/*
 * allow and deny rules of one direction and protocol whose ports and peers overlap: deny wins
 * where they meet, which is often not what the author of the allow meant. The warning goes to
 * the later rule of a pair, once per rule, for the first conflict in port order (tcp first).
 *
 * Swept by port: each span is compared only with the spans of the other action still open at
 * its low port, and not at all when the rule the warning would go to already has one. A
 * policy of thousands of rules that all cover the same ports from disjoint peers still costs
 * a comparison per pair; *budget bounds that work, and when it runs out the sweep stops and
 * says so rather than stall `check`.
 */
static int lint_overlap(const struct pg_policy *p, struct pg_diags *d, unsigned long *budget)
{
	struct vec spans = { 0 }, open[2] = { { 0 }, { 0 } };
	struct conflict *c = NULL;
	bool exhausted = false;
	int err = -ENOMEM;

	if (!p->nrules)
		return 0;
	c = malloc(p->nrules * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrules; i++)
		c[i].with = SIZE_MAX;
	for (int dir = PG_DIR_IN; dir <= PG_DIR_OUT && !exhausted; dir++) {
		for (unsigned bit = PG_PROTO_TCP; bit <= PG_PROTO_UDP && !exhausted; bit <<= 1) {
			spans.n = open[0].n = open[1].n = 0;
			for (size_t i = 0; i < p->nrules; i++) {
				const struct pg_rule *r = &p->rules[i];

				if (r->kind == PG_RULE_LOCAL || (int)r->dir != dir ||
				    !(r->protos & bit))
					continue;
				for (size_t j = 0; j < r->nports; j++) {
					struct span sp = { r->ports[j].lo, r->ports[j].hi, i };

					if (!vec_push(&spans, &sp, sizeof(sp)))
						goto out;
				}
			}
			if (spans.n)
				qsort(spans.v, spans.n, sizeof(struct span), span_cmp);
			for (size_t k = 0; k < spans.n && !exhausted; k++) {
				struct span *sp = (struct span *)spans.v + k;
				const struct pg_rule *r = &p->rules[sp->rule];
				int mine = r->kind == PG_RULE_DENY, other = !mine;
				struct span *o = open[other].v;

				for (size_t m = 0; m < open[other].n;) {
					size_t early, late;
					const struct pg_rule *q;

					if (o[m].hi < sp->lo) { /* closed for good: lo only grows */
						o[m] = o[--open[other].n];
						continue;
					}
					early = sp->rule < o[m].rule ? sp->rule : o[m].rule;
					late = sp->rule < o[m].rule ? o[m].rule : sp->rule;
					m++;
					if (c[late].with != SIZE_MAX)
						continue;
					q = &p->rules[o[m - 1].rule];
					if (*budget < r->npeers + q->npeers + 1) {
						exhausted = true;
						break;
					}
					*budget -= r->npeers + q->npeers + 1;
					if (pg_peers_overlap(r->peers, r->npeers, q->peers,
							     q->npeers))
						c[late] = (struct conflict){ early, bit, sp->lo };
				}
				if (!vec_push(&open[mine], sp, sizeof(*sp)))
					goto out;
			}
		}
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pg_rule *ra, *rb = &p->rules[i];

		if (c[i].with == SIZE_MAX)
			continue;
		ra = &p->rules[c[i].with];
		/* A dry-run deny does not win: it reports what it would block and the allow
		 * lets it through, so say that rather than "deny wins". */
		if (warn(d, &rb->loc,
			 "%s rule overlaps the %s rule at line %d (%s port %u): %s",
			 rb->kind == PG_RULE_DENY ? "deny" : "allow",
			 ra->kind == PG_RULE_DENY ? "deny" : "allow", ra->loc.line,
			 proto_name(c[i].proto), c[i].port,
			 (rb->kind == PG_RULE_DENY ? rb : ra)->dry_run
				 ? "the deny is dry-run, so where they overlap it only reports"
				 : "deny wins where they overlap"))
			goto out;
	}
	if (exhausted) {
		struct pg_loc top = { p->file, 1, 1 };

		if (warn(d, &top, "too many overlapping rules to check every pair for conflicting "
			 "actions; some overlaps may not be reported"))
			goto out;
	}
	err = 0;
out:
	free(spans.v);
	free(open[0].v);
	free(open[1].v);
	free(c);
	return err;
}

static int lint_sets(const struct pg_policy *p, struct pg_diags *d)
{
	for (size_t i = 0; i < p->nsets; i++) {
		int err;

		if (p->sets[i].used)
			continue;
		err = warn(d, &p->sets[i].loc, "set '%s' is defined but never used",
			   p->sets[i].name);
		if (err)
			return err;
	}
	return 0;
}

int pg_policy_lint(struct pg_policy *p, struct pg_diags *d)
{
	/* Work units (rule pairs and peers compared) the pairwise checks may spend: about a
	 * second. Real policies use a tiny fraction of it. */
	unsigned long budget = 20000000;
	int err;

	err = lint_ssh(p, d);
	if (!err)
		err = lint_local(p, d, &budget);
	if (!err)
		err = lint_overlap(p, d, &budget);
	if (!err)
		err = lint_sets(p, d);
	return err;
}
