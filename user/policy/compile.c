// SPDX-License-Identifier: GPL-2.0
/*
 * Policy to map contents: the port array (a class per port), the peer LPM trie (an effective
 * verdict per class and peer prefix), the rule metadata and the config. Pure userspace.
 *
 * Classes. Per (direction, protocol), a sweep over the sorted range endpoints of every rule
 * cuts the port space into segments covered by a constant set of rules; segments (of any
 * direction and protocol) with the same rule set share one class, so `allow in tcp,udp 53`
 * costs one class and its peers once. Cost: O(E log E) for E endpoints plus, per segment, the
 * size of its rule set (to compare it exactly with a class already seen); never O(rules *
 * 65536).
 *
 * Peers. The trie answers with the longest prefix that matches, and every rule of a class
 * that matches an address has a prefix that contains that longest prefix (prefixes are
 * nested or disjoint). So the entry for prefix P is decided by the class's rules whose prefix
 * contains P, and it is computed in one pass over the class's prefixes sorted so that each
 * prefix follows its ancestors (a pre-order), keeping the chain of ancestors on a stack: the
 * rules that cover P are P's own plus those that cover its parent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "policy/compile.h"

/* A rule's direction: `local` is about inbound traffic, whatever the parser put in dir. */
static enum pg_dir rule_dir(const struct pg_rule *r)
{
	return r->kind == PG_RULE_LOCAL ? PG_DIR_IN : r->dir;
}

/*
 * Which rules decide, for one class and one peer prefix. The language: deny > local (only
 * loopback may reach the port) > allow > the direction's default. Decided here, where it is
 * silent:
 *  - dry-run rules never change what is blocked, they only report what they would block (issue
 *    3: "a per-rule dry-run does the same for one rule while the rest enforce"). So the
 *    verdict is that of the enforcing rules (E) when E blocks; when E lets the traffic through
 *    but the policy with its dry-run rules enforced (F) would block it, F's dry-run rule
 *    decides, marked PG_VF_DRY_RUN (reported, let through); otherwise E. A dry-run deny
 *    therefore never opens what an enforcing local or the default deny keeps closed.
 *  - among several rules of one kind the earliest line decides, except that among allows one
 *    with `log` comes first, so that logging asked for by any covering rule is never lost.
 * Every choice is a minimum over the covering rules, so it combines along the prefix chain.
 */
#define NONE ((size_t)-1)

struct agg {
	size_t deny, deny_dry, local, local_dry, allow; /* rule index or NONE */
};

static const struct agg agg_none = { NONE, NONE, NONE, NONE, NONE };

static size_t better_allow(const struct pg_policy *p, size_t a, size_t b)
{
	if (a == NONE || b == NONE)
		return a == NONE ? b : a;
	if (p->rules[a].log != p->rules[b].log)
		return p->rules[a].log ? a : b;
	return a < b ? a : b;
}

static size_t min_rule(size_t a, size_t b)
{
	return a < b ? a : b; /* NONE is the largest */
}

static void agg_add_rule(const struct pg_policy *p, struct agg *g, size_t ri)
{
	const struct pg_rule *r = &p->rules[ri];

	switch (r->kind) {
	case PG_RULE_DENY:
		if (r->dry_run)
			g->deny_dry = min_rule(g->deny_dry, ri);
		else
			g->deny = min_rule(g->deny, ri);
		break;
	case PG_RULE_LOCAL:
		if (r->dry_run)
			g->local_dry = min_rule(g->local_dry, ri);
		else
			g->local = min_rule(g->local, ri);
		break;
	default:
		g->allow = better_allow(p, g->allow, ri);
		break;
	}
}

/* The verdict for peers under a prefix, given the rules covering it, whether those peers are
 * loopback (only `local` cares), and the slot and policy of the class's direction default. */
static struct pg_verdict agg_verdict(const struct pg_policy *p, const __u32 *slot,
				     const struct agg *g, bool loopback, __u32 default_slot,
				     bool default_deny)
{
	struct pg_verdict e = { .rule_id = default_slot, .action = PG_ACT_DEFAULT };
	bool e_blocks = default_deny;

	/* E: the enforcing rules alone. */
	if (g->deny != NONE) {
		e = (struct pg_verdict){ .rule_id = slot[g->deny], .action = PG_ACT_DENY };
		e_blocks = true;
	} else if (g->local != NONE) {
		e = (struct pg_verdict){ .rule_id = slot[g->local], .action = PG_ACT_LOCAL };
		e_blocks = !loopback;
	} else if (g->allow != NONE) {
		e = (struct pg_verdict){ .rule_id = slot[g->allow], .action = PG_ACT_ALLOW };
		e.flags = p->rules[g->allow].log ? PG_VF_LOG : 0;
		e_blocks = false;
	}
	if (e_blocks)
		return e;
	/* F: E lets it through; would a dry-run rule block it? */
	if (g->deny_dry != NONE)
		return (struct pg_verdict){ .rule_id = slot[g->deny_dry], .action = PG_ACT_DENY,
					    .flags = PG_VF_DRY_RUN };
	if (g->local_dry != NONE && !loopback)
		return (struct pg_verdict){ .rule_id = slot[g->local_dry], .action = PG_ACT_LOCAL,
					    .flags = PG_VF_DRY_RUN };
	return e;
}

/* ---- growable arrays ---- */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* ---- rule metadata ---- */

/* "FILE:LINE"; a path too long for the field keeps its end, which names the file. */
static void loc_text(const struct pg_loc *loc, char *buf, size_t size)
{
	const char *file = loc->file ? loc->file : "-";
	char line[16];
	size_t fl = strlen(file), ll;

	ll = snprintf(line, sizeof(line), ":%d", loc->line);
	if (fl + ll < size) {
		snprintf(buf, size, "%s%s", file, line);
		return;
	}
	snprintf(buf, size, "...%s%s", file + fl - (size - 1 - 3 - ll), line);
}

static void fill_meta(const struct pg_policy *p, struct pg_compiled *c)
{
	size_t i;

	snprintf(c->meta[PG_RULE_DEFAULT_IN].src, sizeof(c->meta->src), "default in");
	snprintf(c->meta[PG_RULE_DEFAULT_IN].text, sizeof(c->meta->text), "default in %s",
		 p->default_in == PG_DEFAULT_DENY ? "deny" : "allow");
	snprintf(c->meta[PG_RULE_DEFAULT_OUT].src, sizeof(c->meta->src), "default out");
	snprintf(c->meta[PG_RULE_DEFAULT_OUT].text, sizeof(c->meta->text), "default out %s",
		 p->default_out == PG_DEFAULT_DENY ? "deny" : "allow");
	if (p->deny_raw) {
		loc_text(&p->deny_raw_loc, c->meta[PG_RULE_DENY_RAW].src, sizeof(c->meta->src));
		snprintf(c->meta[PG_RULE_DENY_RAW].text, sizeof(c->meta->text), "deny raw%s",
			 p->deny_raw_dry_run ? " dry-run" : "");
	} else {
		snprintf(c->meta[PG_RULE_DENY_RAW].src, sizeof(c->meta->src), "deny raw");
	}
	for (i = 0; i < p->nrules; i++) {
		struct pg_rule_meta *m = &c->meta[c->rule_slot[i]];

		loc_text(&p->rules[i].loc, m->src, sizeof(m->src));
		/* A rule too long for the field (a big set) keeps its head, marked as cut. */
		if (pg_rule_format(&p->rules[i], m->text, sizeof(m->text)) == -ENOSPC)
			memcpy(m->text + sizeof(m->text) - 4, "...", 4);
	}
}

/* ---- classes ---- */

struct cls {
	__u64 hash;
	size_t off, n; /* rule indices in ctx.members[off..off+n), in no order: class_peers
			* sorts by prefix and then rule index, so the output is deterministic */
	__u32 flags;   /* PG_PORT_* */
};

struct ctx {
	const struct pg_policy *p;
	struct pg_compiled *out;
	struct pg_diags *diags; /* NULL: report overflows by -E2BIG alone */
	size_t ports_cap;
	/* The active rule set of the sweep: a doubly linked list over rule indices, head at
	 * index nrules, and its Zobrist hash (xor of a fixed random word per rule). */
	size_t *next, *prev, nactive;
	__u64 hash, *zob;
	/* Exact set comparison: a class's rules are stamped, then the active list is checked. */
	__u32 *stamp, cur_stamp;
	struct cls *classes;
	size_t nclasses, classes_cap;
	size_t *members, nmembers, members_cap;
	size_t *htab, hcap; /* class index + 1; 0 is empty */
};

static __u64 splitmix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void active_add(struct ctx *x, size_t r)
{
	size_t head = x->p->nrules;

	x->next[r] = x->next[head];
	x->prev[r] = head;
	x->prev[x->next[head]] = r;
	x->next[head] = r;
	x->nactive++;
	x->hash ^= x->zob[r];
}

static void active_del(struct ctx *x, size_t r)
{
	x->next[x->prev[r]] = x->next[r];
	x->prev[x->next[r]] = x->prev[r];
	x->nactive--;
	x->hash ^= x->zob[r];
}

static bool class_is_active_set(struct ctx *x, const struct cls *c)
{
	size_t head = x->p->nrules, i, r;

	if (c->hash != x->hash || c->n != x->nactive)
		return false;
	if (++x->cur_stamp == 0) {
		memset(x->stamp, 0, x->p->nrules * sizeof(*x->stamp));
		x->cur_stamp = 1;
	}
	for (i = 0; i < c->n; i++)
		x->stamp[x->members[c->off + i]] = x->cur_stamp;
	for (r = x->next[head]; r != head; r = x->next[r])
		if (x->stamp[r] != x->cur_stamp)
			return false;
	return true;
}

/*
 * An open-addressing index over n items (slot = item index + 1, 0 = empty), rebuilt at twice
 * its capacity: the class table and the group table both grow this way. hash_of(items, i)
 * is item i's hash.
 */
static int index_grow(size_t **tab, size_t *cap, size_t n, const void *items,
		      __u64 (*hash_of)(const void *items, size_t i))
{
	size_t ncap = *cap ? *cap * 2 : 1024, i, h;
	size_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (h = hash_of(items, i) & (ncap - 1); nt[h]; h = (h + 1) & (ncap - 1))
			;
		nt[h] = i + 1;
	}
	free(*tab);
	*tab = nt;
	*cap = ncap;
	return 0;
}

static __u64 class_hash(const void *items, size_t i)
{
	return ((const struct cls *)items)[i].hash;
}

static int htab_resize(struct ctx *x)
{
	return index_grow(&x->htab, &x->hcap, x->nclasses, x->classes, class_hash);
}

/* The class of the active rule set, created if new. Returns its index or -ENOMEM. */
static long class_of_active(struct ctx *x)
{
	size_t head = x->p->nrules, h, r, local = NONE, local_dry = NONE;
	struct cls *c;
	int err;

	for (h = x->hash & (x->hcap - 1); x->htab[h]; h = (h + 1) & (x->hcap - 1))
		if (class_is_active_set(x, &x->classes[x->htab[h] - 1]))
			return x->htab[h] - 1;

	err = grow((void **)&x->classes, &x->classes_cap, x->nclasses + 1, sizeof(*x->classes));
	if (!err)
		err = grow((void **)&x->members, &x->members_cap, x->nmembers + x->nactive,
			   sizeof(*x->members));
	if (err)
		return err;
	c = &x->classes[x->nclasses];
	c->hash = x->hash;
	c->off = x->nmembers;
	c->n = x->nactive;
	for (r = x->next[head]; r != head; r = x->next[r]) {
		const struct pg_rule *rule = &x->p->rules[r];

		x->members[x->nmembers++] = r;
		if (rule->kind == PG_RULE_LOCAL && rule->dry_run)
			local_dry = min_rule(local_dry, r);
		else if (rule->kind == PG_RULE_LOCAL)
			local = min_rule(local, r);
	}
	/*
	 * The bind hook refuses non-loopback binds of a local port; it only reports them when
	 * every local rule on the port is dry-run (as in the verdict, enforcing wins). It and
	 * XDP's spoofed-loopback check name the local rule from here: a local rule covers every
	 * peer, so it is the same for the whole class, while the trie may name another rule.
	 */
	c->flags = 0;
	if (local != NONE)
		c->flags = PG_PORT_LOCAL | x->out->rule_slot[local] << PG_PORT_LOCAL_RULE_SHIFT;
	else if (local_dry != NONE)
		c->flags = PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN |
			   x->out->rule_slot[local_dry] << PG_PORT_LOCAL_RULE_SHIFT;
	x->nclasses++;
	if (x->nclasses * 2 > x->hcap) {
		err = htab_resize(x);
		if (err)
			return err;
	} else {
		for (h = c->hash & (x->hcap - 1); x->htab[h]; h = (h + 1) & (x->hcap - 1))
			;
		x->htab[h] = x->nclasses;
	}
	return x->nclasses - 1;
}

static __u32 class_id(__u32 gen, size_t idx)
{
	return (gen << PG_CLASS_GEN_SHIFT) | (__u32)(idx + 1);
}

struct ev {
	__u32 pos;  /* first port of the change; 65536 for "after 65535" */
	__u32 add;  /* 0: the rule stops covering here; 1: starts */
	size_t rule;
};

/* Removals sort before additions at the same port, so that a rule never is in the active list
 * twice even if its ranges touched. */
static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (int)x->add - (int)y->add;
}

static int sweep(struct ctx *x, enum pg_dir dir, enum pg_proto_idx pidx)
{
	const struct pg_policy *p = x->p;
	struct pg_compiled *c = x->out;
	struct ev *ev = NULL;
	size_t nev = 0, i, j;
	int err = 0;

	for (i = 0; i < p->nrules; i++)
		if (rule_dir(&p->rules[i]) == dir && (p->rules[i].protos & (1u << pidx)))
			nev += 2 * p->rules[i].nports;
	if (!nev)
		return 0;
	ev = malloc(nev * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	nev = 0;
	for (i = 0; i < p->nrules; i++) {
		const struct pg_rule *r = &p->rules[i];

		if (rule_dir(r) != dir || !(r->protos & (1u << pidx)))
			continue;
		for (j = 0; j < r->nports; j++) {
			ev[nev++] = (struct ev){ .pos = r->ports[j].lo, .add = 1, .rule = i };
			ev[nev++] = (struct ev){ .pos = r->ports[j].hi + 1u, .add = 0, .rule = i };
		}
	}
	qsort(ev, nev, sizeof(*ev), cmp_ev);

	for (i = 0; i < nev;) {
		__u32 pos = ev[i].pos, end, port;
		long ci;

		for (; i < nev && ev[i].pos == pos; i++) {
			if (ev[i].add)
				active_add(x, ev[i].rule);
			else
				active_del(x, ev[i].rule);
		}
		if (!x->nactive)
			continue;
		/* A non-empty set always ends at a later removal, so ev[i] exists. */
		end = ev[i].pos;
		ci = class_of_active(x);
		if (ci < 0) {
			err = ci;
			goto out;
		}
		err = grow((void **)&c->ports, &x->ports_cap, c->nports + (end - pos),
			   sizeof(*c->ports));
		if (err)
			goto out;
		for (port = pos; port < end; port++) {
			struct pg_port_entry *pe = &c->ports[c->nports++];

			pe->index = pg_port_index(c->gen, dir, pidx, port);
			pe->val.class_id = class_id(c->gen, ci);
			pe->val.flags = x->classes[ci].flags;
		}
	}
out:
	free(ev);
	return err;
}

/* ---- peers ---- */

/*
 * Peers are compiled once for the whole policy, not per class. A "set" is a distinct peer
 * list of some rule (a named set used by many rules, or the same inline list, is one set),
 * plus loopback when a `local` rule exists (loopback peers decide apart from the rest). The
 * peer group of an address is the set of sets that contain it; the trie maps every prefix
 * of every set, once, to the group of the addresses whose longest match it is. Because
 * prefixes are nested or disjoint, a set contains an address exactly when it has a prefix
 * containing the address's longest match: the group of a prefix is its parent's group plus
 * the sets that list the prefix itself, computed in one pre-order pass with the chain of
 * ancestors on a stack. Then, per group, only the classes that have a rule on one of its
 * sets (or a `local` rule, for groups with loopback) are decided for it, and an entry is
 * written where the verdict differs from the class's base verdict (its rules without peers).
 * A blocklist on every port is then its prefixes once, one group, and one entry per class.
 */

struct pfx {
	__u8 addr[16];
	__u8 len;
	size_t set; /* index into the sets; the loopback set for the loopback prefixes */
};

static void mask_addr(__u8 *dst, const __u8 *src, unsigned len)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (len >= 8)
			dst[i] = src[i];
		else if (len)
			dst[i] = src[i] & (__u8)(0xff00 >> len);
		else
			dst[i] = 0;
		len = len >= 8 ? len - 8 : 0;
	}
}

/* Pre-order: an ancestor sorts before its descendants, and a prefix's descendants follow it
 * contiguously (host bits are zero, so a prefix is the smallest address of its range). */
static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;
	int d = memcmp(x->addr, y->addr, 16);

	if (d)
		return d;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->set < y->set ? -1 : x->set > y->set;
}

static bool prefix_contains(const __u8 *oaddr, unsigned olen, const __u8 *iaddr, unsigned ilen)
{
	__u8 m[16];

	if (olen > ilen)
		return false;
	mask_addr(m, iaddr, olen);
	return !memcmp(m, oaddr, 16);
}

/* The datapath's loopback (pg_addr_is_loopback): ::ffff:127.0.0.0/8 and ::1. */
static const __u8 lo4[16] = { [10] = 0xff, [11] = 0xff, [12] = 127 };
static const __u8 lo6[16] = { [15] = 1 };

struct pset {
	const struct pg_peer *peers;
	size_t n;
	__u64 hash;
	size_t rule; /* the first rule with this list: where an overflow is reported */
};

struct group {
	size_t off, n; /* its sets, sorted, in pctx.gmem[off..off+n) */
	__u64 hash;
};

struct pctx {
	struct pset *sets;
	size_t nsets, lo;  /* lo: the loopback set's index, or NONE */
	size_t *rule_set;  /* per rule: its set, or NONE (no peers: any; or a `local` rule) */
	struct group *groups;
	size_t ngroups, groups_cap;
	size_t *gmem, ngmem, gmem_cap;
	size_t *gtab, gcap; /* group index + 1; 0 is empty */
};

static __u64 peers_hash(const struct pg_peer *v, size_t n)
{
	__u64 h = 0x84222325cbf29ce4ull;

	for (size_t i = 0; i < n; i++) {
		__u64 w[2];

		memcpy(w, v[i].addr, 16);
		h = splitmix64(h ^ w[0]);
		h = splitmix64(h ^ w[1] ^ ((__u64)v[i].prefixlen << 56));
	}
	return h;
}

static bool peers_equal(const struct pg_peer *a, const struct pg_peer *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].prefixlen != b[i].prefixlen || memcmp(a[i].addr, b[i].addr, 16))
			return false;
	return true;
}

/* Diagnose an overflow at rule ri, if the caller wants diagnostics. */
static int overflow(struct ctx *x, size_t ri, const char *what, unsigned long limit,
		    const char *name)
{
	const struct pg_loc *loc = ri < x->p->nrules ? &x->p->rules[ri].loc : NULL;
	struct pg_loc none = { .file = x->p->file };

	if (x->diags && pg_diag_add(x->diags, loc ? loc : &none, false,
				    "%s exceed the limit of %lu per generation (%s)", what, limit,
				    name))
		return -ENOMEM;
	return -E2BIG;
}

/* The distinct peer lists of the rules; the capacity of the trie is checked here, in rule
 * order, against their prefixes before any deduplication across lists: an upper bound of
 * what compile writes, so that what passes here always fits. */
static int find_sets(struct ctx *x, struct pctx *pc)
{
	const struct pg_policy *p = x->p;
	size_t cap = 16, *tab, nprefixes = 0, i, h;
	bool any_local = false;

	for (i = 0; i < p->nrules; i++)
		any_local |= p->rules[i].kind == PG_RULE_LOCAL;
	while (cap < 2 * p->nrules + 2)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	pc->sets = malloc((p->nrules + 1) * sizeof(*pc->sets));
	pc->rule_set = malloc((p->nrules ? p->nrules : 1) * sizeof(*pc->rule_set));
	if (!tab || !pc->sets || !pc->rule_set) {
		free(tab);
		return -ENOMEM;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct pg_rule *r = &p->rules[i];
		__u64 hash;

		pc->rule_set[i] = NONE;
		if (r->kind == PG_RULE_LOCAL || !r->npeers)
			continue;
		hash = peers_hash(r->peers, r->npeers);
		for (h = hash & (cap - 1); tab[h]; h = (h + 1) & (cap - 1)) {
			const struct pset *s = &pc->sets[tab[h] - 1];

			if (s->hash == hash && s->n == r->npeers &&
			    peers_equal(s->peers, r->peers, s->n))
				break;
		}
		if (!tab[h]) {
			nprefixes += r->npeers;
			if (nprefixes + 2 > PG_MAX_PREFIXES) {
				free(tab);
				return overflow(x, i, "the policy's distinct peer prefixes",
						PG_MAX_PREFIXES, "PG_MAX_PREFIXES");
			}
			pc->sets[pc->nsets] = (struct pset){ r->peers, r->npeers, hash, i };
			tab[h] = ++pc->nsets;
		}
		pc->rule_set[i] = tab[h] - 1;
	}
	free(tab);
	pc->lo = NONE;
	if (any_local) {
		pc->lo = pc->nsets;
		pc->sets[pc->nsets++] = (struct pset){ NULL, 0, 0, NONE };
	}
	return 0;
}

static __u64 group_hash(const void *items, size_t i)
{
	return ((const struct group *)items)[i].hash;
}

static int gtab_resize(struct pctx *pc)
{
	return index_grow(&pc->gtab, &pc->gcap, pc->ngroups, pc->groups, group_hash);
}

/* The group of the sorted sets v[0..n), created if new. Returns its index or -ENOMEM. */
static long group_of(struct pctx *pc, const size_t *v, size_t n)
{
	__u64 hash = 0x9ae16a3b2f90404full;
	struct group *g;
	size_t h, i;
	int err;

	for (i = 0; i < n; i++)
		hash = splitmix64(hash ^ v[i]);
	for (h = hash & (pc->gcap - 1); pc->gtab[h]; h = (h + 1) & (pc->gcap - 1)) {
		g = &pc->groups[pc->gtab[h] - 1];
		if (g->hash == hash && g->n == n &&
		    !memcmp(pc->gmem + g->off, v, n * sizeof(*v)))
			return pc->gtab[h] - 1;
	}
	err = grow((void **)&pc->groups, &pc->groups_cap, pc->ngroups + 1, sizeof(*pc->groups));
	if (!err)
		err = grow((void **)&pc->gmem, &pc->gmem_cap, pc->ngmem + n, sizeof(*pc->gmem));
	if (err)
		return err;
	g = &pc->groups[pc->ngroups++];
	*g = (struct group){ .off = pc->ngmem, .n = n, .hash = hash };
	memcpy(pc->gmem + pc->ngmem, v, n * sizeof(*v));
	pc->ngmem += n;
	if (pc->ngroups * 2 > pc->gcap)
		return gtab_resize(pc) ?: (long)pc->ngroups - 1;
	for (h = hash & (pc->gcap - 1); pc->gtab[h]; h = (h + 1) & (pc->gcap - 1))
		;
	pc->gtab[h] = pc->ngroups;
	return pc->ngroups - 1;
}

static __u32 group_id(__u32 gen, size_t idx)
{
	return (gen << PG_CLASS_GEN_SHIFT) | (__u32)(idx + 1);
}

struct gnode {
	__u8 addr[16];
	__u8 len;
	size_t group; /* NONE: no set contains it (only the root of the chain) */
};

/* The trie entries: every distinct prefix whose group differs from its parent's. */
static int peer_groups(struct ctx *x, struct pctx *pc)
{
	struct pg_compiled *c = x->out;
	struct pfx *v = NULL;
	size_t n = 0, i, k, depth = 0, *tmp = NULL, cap = 0;
	struct gnode stack[130];
	int err = -ENOMEM;

	for (i = 0; i < pc->nsets; i++)
		n += i == pc->lo ? 2 : pc->sets[i].n;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		goto out;
	n = 0;
	for (i = 0; i < pc->nsets; i++) {
		if (i == pc->lo) {
			v[n] = (struct pfx){ .len = 104, .set = i };
			memcpy(v[n++].addr, lo4, 16);
			v[n] = (struct pfx){ .len = 128, .set = i };
			memcpy(v[n++].addr, lo6, 16);
			continue;
		}
		for (k = 0; k < pc->sets[i].n; k++) {
			const struct pg_peer *pe = &pc->sets[i].peers[k];

			v[n].len = pe->prefixlen > 128 ? 128 : pe->prefixlen;
			mask_addr(v[n].addr, pe->addr, v[n].len);
			v[n++].set = i;
		}
	}
	qsort(v, n, sizeof(*v), cmp_pfx);
	err = gtab_resize(pc);
	if (err)
		goto out;
	c->peers = malloc((n ? n : 1) * sizeof(*c->peers));
	if (!c->peers) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n;) {
		struct gnode cur = { .len = v[i].len };
		const struct group *pg;
		size_t m = 0, j = 0, pn;
		long gi;

		memcpy(cur.addr, v[i].addr, 16);
		while (depth && !prefix_contains(stack[depth - 1].addr, stack[depth - 1].len,
						 cur.addr, cur.len))
			depth--;
		pg = depth ? &pc->groups[stack[depth - 1].group] : NULL;
		pn = pg ? pg->n : 0;
		/* The parent's sets merged with this prefix's own (both sorted, v by set). */
		k = i;
		while (k < n && v[k].len == cur.len && !memcmp(v[k].addr, cur.addr, 16))
			k++;
		err = grow((void **)&tmp, &cap, pn + (k - i), sizeof(*tmp));
		if (err)
			goto out;
		while (j < pn || i < k) {
			size_t a = j < pn ? pc->gmem[pg->off + j] : NONE;
			size_t b = i < k ? v[i].set : NONE;

			if (a <= b)
				j++;
			if (b <= a)
				i++;
			if (!m || tmp[m - 1] != (a < b ? a : b))
				tmp[m++] = a < b ? a : b;
		}
		gi = group_of(pc, tmp, m);
		if (gi < 0) {
			err = gi;
			goto out;
		}
		cur.group = gi;
		/* Lengths strictly grow along the chain: at most 129 deep. */
		stack[depth++] = cur;
		if (depth > 1 && stack[depth - 2].group == cur.group)
			continue; /* the parent's entry already says it */
		{
			struct pg_peer_entry *e = &c->peers[c->npeers++];

			memset(e, 0, sizeof(*e));
			e->key.prefixlen = cur.len;
			e->key.gen = c->gen;
			memcpy(e->key.addr, cur.addr, 16);
			e->val.group = group_id(c->gen, gi);
		}
	}
	err = 0;
out:
	free(v);
	free(tmp);
	return err;
}

/*
 * The fixed-depth lookup structure of include/portguard.h from the prefix entries, in their
 * pre-order (an ancestor before its descendants, so a longer prefix overwrites what a shorter
 * one expanded into the same buckets). The prefixes longer than their bucket (IPv4 /17 and
 * more, IPv6 /33 and more) stay in c->peers as they are, to be probed; each bucket lists
 * the lengths to probe, longest first.
 */
static const __u8 v4space[16] = { [10] = 0xff, [11] = 0xff };

static bool in_v4(const __u8 *a, unsigned len)
{
	return len >= 96 && prefix_contains(v4space, 96, a, len);
}

static int add_len(struct pg_bucket *b, unsigned len)
{
	int i, j;

	for (i = 0; i < b->nlens && b->lens[i] >= len; i++)
		if (b->lens[i] == len)
			return 0;
	if (b->nlens >= PG_BUCKET_LENS)
		return -E2BIG;
	for (j = b->nlens; j > i; j--)
		b->lens[j] = b->lens[j - 1];
	b->lens[i] = len;
	b->nlens++;
	return 0;
}

static int cmp_b32(const void *a, const void *b)
{
	const struct pg_bucket32_entry *x = a, *y = b;
	__u32 p = ntohl(x->key.top32), q = ntohl(y->key.top32);

	return p < q ? -1 : p > q;
}

struct b32tab {
	size_t *slot, cap; /* index + 1 into c->b32; 0 is empty */
	size_t ecap;
};

static struct pg_bucket *b32_get(struct ctx *x, struct b32tab *t, __u32 top32)
{
	struct pg_compiled *c = x->out;
	size_t h, i;

	if ((c->nb32 + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096, *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return NULL;
		for (i = 0; i < c->nb32; i++) {
			for (h = splitmix64(c->b32[i].key.top32) & (ncap - 1); ns[h];
			     h = (h + 1) & (ncap - 1))
				;
			ns[h] = i + 1;
		}
		free(t->slot);
		t->slot = ns;
		t->cap = ncap;
	}
	for (h = splitmix64(top32) & (t->cap - 1); t->slot[h]; h = (h + 1) & (t->cap - 1))
		if (c->b32[t->slot[h] - 1].key.top32 == top32)
			return &c->b32[t->slot[h] - 1].val;
	if (c->nb32 >= PG_MAX_BUCKETS32)
		return NULL;
	if (grow((void **)&c->b32, &t->ecap, c->nb32 + 1, sizeof(*c->b32)))
		return NULL;
	memset(&c->b32[c->nb32], 0, sizeof(*c->b32));
	c->b32[c->nb32].key = (struct pg_bucket32_key){ .gen = c->gen, .top32 = top32 };
	/* What the /16 says, until a prefix of its own says otherwise. */
	c->b32[c->nb32].val.group = c->buckets[65536 + (ntohl(top32) >> 16)].group;
	t->slot[h] = ++c->nb32;
	return &c->b32[c->nb32 - 1].val;
}

/* The rule an overflow at a prefix of group gv is reported at: its group's first set's. */
static size_t group_rule(struct pctx *pc, __u32 gv)
{
	const struct group *g = &pc->groups[(gv & ((1u << PG_CLASS_GEN_SHIFT) - 1)) - 1];

	for (size_t i = 0; i < g->n; i++)
		if (pc->sets[pc->gmem[g->off + i]].rule != NONE)
			return pc->sets[pc->gmem[g->off + i]].rule;
	return NONE;
}

static int build_buckets(struct ctx *x, struct pctx *pc)
{
	struct pg_compiled *c = x->out;
	struct b32tab t = { 0 };
	size_t kept = 0;
	int err = 0;

	c->buckets = calloc(2 * 65536, sizeof(*c->buckets));
	if (!c->buckets)
		return -ENOMEM;
	for (size_t i = 0; i < c->npeers && !err; i++) {
		const struct pg_peer_entry *e = &c->peers[i];
		unsigned len = e->key.prefixlen;
		const __u8 *a = e->key.addr;
		__u32 g = e->val.group, top32, n, j;
		struct pg_bucket *b;

		if (len <= 96 && prefix_contains(a, len, v4space, 96))
			for (j = 0; j < 65536; j++)
				c->buckets[j].group = g; /* contains every IPv4 address */
		if (in_v4(a, len)) {
			j = a[12] << 8 | a[13];
			if (len <= 112) {
				for (n = 1u << (112 - len); n--; j++)
					c->buckets[j].group = g;
			} else {
				err = add_len(&c->buckets[j], len);
			}
			continue;
		}
		memcpy(&top32, a, 4);
		if (len <= 16) {
			j = ntohl(top32) >> 16;
			for (n = 1u << (16 - len); n--; j++)
				c->buckets[65536 + j].group = g;
		} else if (len <= 32) {
			for (n = 1u << (32 - len), j = ntohl(top32); n--; j++) {
				b = b32_get(x, &t, htonl(j));
				if (!b) {
					err = c->nb32 >= PG_MAX_BUCKETS32 ? -E2BIG : -ENOMEM;
					break;
				}
				b->group = g;
				c->buckets[65536 + (j >> 16)].deep = 1;
			}
		} else {
			struct pg_bucket *b16 = &c->buckets[65536 + (ntohl(top32) >> 16)];

			b = b32_get(x, &t, top32);
			err = b ? add_len(b, len) : c->nb32 >= PG_MAX_BUCKETS32 ? -E2BIG : -ENOMEM;
			/* The /16 lists the lengths under it itself while they fit, which saves
			 * the /32 lookup; past that it is deep. */
			if (!err && add_len(b16, len))
				b16->deep = 1;
		}
		if (err == -E2BIG)
			err = overflow(x, group_rule(pc, g),
				       c->nb32 >= PG_MAX_BUCKETS32 ?
					       "the IPv6 /32 buckets of the policy's prefixes" :
					       "the prefix lengths in use under one IPv6 /32",
				       c->nb32 >= PG_MAX_BUCKETS32 ? PG_MAX_BUCKETS32 : PG_BUCKET_LENS,
				       c->nb32 >= PG_MAX_BUCKETS32 ? "PG_MAX_BUCKETS32" :
								     "PG_BUCKET_LENS");
	}
	free(t.slot);
	if (err)
		return err;
	/* Only the deep /16s' /32 buckets are looked at: drop the others. */
	for (size_t i = 0; i < c->nb32; i++)
		if (c->buckets[65536 + (ntohl(c->b32[i].key.top32) >> 16)].deep)
			c->b32[kept++] = c->b32[i];
	c->nb32 = kept;
	qsort(c->b32, c->nb32, sizeof(*c->b32), cmp_b32);
	return 0;
}

static int cmp_class_peer(const void *a, const void *b)
{
	const struct pg_class_peer_entry *x = a, *y = b;

	if (x->key.class_id != y->key.class_id)
		return x->key.class_id < y->key.class_id ? -1 : 1;
	return x->key.group < y->key.group ? -1 : x->key.group > y->key.group;
}

/* The verdict of class ci for peers of group gi (NONE: no group), whose sets are marked
 * with stamp in set_mark. */
static struct pg_verdict class_verdict(struct ctx *x, struct pctx *pc, size_t ci, bool lo,
				       const __u32 *set_mark, __u32 stamp)
{
	const struct pg_policy *p = x->p;
	const struct cls *cl = &x->classes[ci];
	enum pg_dir dir = rule_dir(&p->rules[x->members[cl->off]]);
	struct agg g = agg_none;

	for (size_t i = 0; i < cl->n; i++) {
		size_t ri = x->members[cl->off + i], s = pc->rule_set[ri];

		if (s == NONE || (stamp && set_mark[s] == stamp))
			agg_add_rule(p, &g, ri);
	}
	return agg_verdict(p, x->out->rule_slot, &g, lo,
			   dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT,
			   (dir == PG_DIR_IN ? p->default_in : p->default_out) == PG_DEFAULT_DENY);
}

/* Base verdicts into the port slots, and the (class, group) entries where a group changes
 * them. */
static int class_peers(struct ctx *x, struct pctx *pc)
{
	struct pg_compiled *c = x->out;
	size_t nc = x->nclasses, *soff = NULL, *scls = NULL, *locals = NULL, nlocals = 0;
	size_t cap = 0, i, j, k;
	struct pg_verdict *base = NULL;
	__u32 *set_mark = NULL, *cls_mark = NULL;
	bool *has_peers = NULL;
	int err = -ENOMEM;

	/* The classes of each set, deduplicated (CSR: soff[s]..soff[s + 1] in scls). */
	soff = calloc(pc->nsets + 1, sizeof(*soff));
	set_mark = calloc(pc->nsets + 1, sizeof(*set_mark));
	cls_mark = calloc(nc + 1, sizeof(*cls_mark));
	base = calloc(nc + 1, sizeof(*base));
	has_peers = calloc(nc + 1, sizeof(*has_peers));
	locals = malloc((nc + 1) * sizeof(*locals));
	if (!soff || !set_mark || !cls_mark || !base || !has_peers || !locals)
		goto out;
	for (i = 0; i < nc; i++) {
		const struct cls *cl = &x->classes[i];

		for (j = 0; j < cl->n; j++) {
			size_t s = pc->rule_set[x->members[cl->off + j]];

			if (s != NONE && set_mark[s] != i + 1) {
				set_mark[s] = i + 1;
				soff[s + 1]++;
			}
		}
		if (cl->flags & PG_PORT_LOCAL)
			locals[nlocals++] = i;
		base[i] = class_verdict(x, pc, i, false, set_mark, 0);
	}
	for (i = 0; i < pc->nsets; i++)
		soff[i + 1] += soff[i];
	scls = malloc((soff[pc->nsets] ? soff[pc->nsets] : 1) * sizeof(*scls));
	if (!scls)
		goto out;
	memset(set_mark, 0, (pc->nsets + 1) * sizeof(*set_mark));
	{
		size_t *fill = calloc(pc->nsets + 1, sizeof(*fill));

		if (!fill)
			goto out;
		for (i = 0; i < nc; i++) {
			const struct cls *cl = &x->classes[i];

			for (j = 0; j < cl->n; j++) {
				size_t s = pc->rule_set[x->members[cl->off + j]];

				if (s != NONE && set_mark[s] != i + 1) {
					set_mark[s] = i + 1;
					scls[soff[s] + fill[s]++] = i;
				}
			}
		}
		free(fill);
	}
	memset(set_mark, 0, (pc->nsets + 1) * sizeof(*set_mark));

	for (i = 0; i < pc->ngroups; i++) {
		const struct group *g = &pc->groups[i];
		__u32 stamp = i + 1;
		bool lo = false;

		for (j = 0; j < g->n; j++) {
			set_mark[pc->gmem[g->off + j]] = stamp;
			lo |= pc->gmem[g->off + j] == pc->lo;
		}
		for (j = 0; j <= g->n; j++) {
			size_t s = j < g->n ? pc->gmem[g->off + j] : NONE;
			const size_t *cv = s == NONE ? locals : s == pc->lo ? NULL : scls + soff[s];
			size_t ncv = s == NONE ? (lo ? nlocals : 0) : s == pc->lo ? 0 :
						 soff[s + 1] - soff[s];

			for (k = 0; k < ncv; k++) {
				size_t ci = cv[k];
				struct pg_verdict v;
				struct pg_class_peer_entry *e;

				if (cls_mark[ci] == stamp)
					continue;
				cls_mark[ci] = stamp;
				v = class_verdict(x, pc, ci, lo, set_mark, stamp);
				if (!memcmp(&v, &base[ci], sizeof(v)))
					continue;
				if (c->ncpeers >= PG_MAX_CLASS_PEERS) {
					err = overflow(x, s == NONE ? x->members[x->classes[ci].off] :
								      pc->sets[s].rule,
						       "the (port class, peer group) verdicts",
						       PG_MAX_CLASS_PEERS, "PG_MAX_CLASS_PEERS");
					goto out;
				}
				err = grow((void **)&c->cpeers, &cap, c->ncpeers + 1,
					   sizeof(*c->cpeers));
				if (err)
					goto out;
				e = &c->cpeers[c->ncpeers++];
				e->key.class_id = class_id(c->gen, ci);
				e->key.group = group_id(c->gen, i);
				e->val = v;
				has_peers[ci] = true;
			}
		}
	}
	qsort(c->cpeers, c->ncpeers, sizeof(*c->cpeers), cmp_class_peer);

	for (i = 0; i < c->nports; i++) {
		struct pg_port_val *pv = &c->ports[i].val;
		size_t ci = (pv->class_id & ((1u << PG_CLASS_GEN_SHIFT) - 1)) - 1;

		pv->flags |= (__u32)(base[ci].action & 3) << PG_PORT_V_ACTION_SHIFT |
			     (__u32)(base[ci].flags & 3) << PG_PORT_V_FLAGS_SHIFT |
			     (has_peers[ci] ? PG_PORT_PEERS : 0);
		pv->rule_id = base[ci].rule_id;
	}
	err = 0;
out:
	free(soff);
	free(scls);
	free(set_mark);
	free(cls_mark);
	free(base);
	free(has_peers);
	free(locals);
	return err;
}

/* Each group that changes the verdict of at most PG_PEER_INLINE classes carries those
 * (class, verdict) pairs in its pg_peers entries, marked complete: a peer found by its probe
 * is then decided without the (class, group) lookup. The entries stay in pg_class_peers too,
 * for the peers of the group that a bucket decides. */
static int inline_verdicts(struct ctx *x, struct pctx *pc)
{
	struct pg_compiled *c = x->out;
	size_t *cnt = calloc(pc->ngroups + 1, sizeof(*cnt)), *idx;
	__u32 mask = (1u << PG_CLASS_GEN_SHIFT) - 1;

	idx = malloc((pc->ngroups + 1) * PG_PEER_INLINE * sizeof(*idx));
	if (!cnt || !idx) {
		free(cnt);
		free(idx);
		return -ENOMEM;
	}
	for (size_t k = 0; k < c->ncpeers; k++) {
		size_t gi = (c->cpeers[k].key.group & mask) - 1;

		if (cnt[gi] < PG_PEER_INLINE)
			idx[gi * PG_PEER_INLINE + cnt[gi]] = k;
		cnt[gi]++;
	}
	for (size_t i = 0; i < c->npeers; i++) {
		struct pg_peer_val *v = &c->peers[i].val;
		size_t gi = (v->group & mask) - 1;

		if (cnt[gi] > PG_PEER_INLINE)
			continue;
		v->complete = 1;
		v->ninline = cnt[gi];
		for (size_t j = 0; j < cnt[gi]; j++) {
			const struct pg_class_peer_entry *e = &c->cpeers[idx[gi * PG_PEER_INLINE + j]];

			v->class_id[j] = e->key.class_id;
			v->verdict[j] = e->val;
		}
	}
	free(cnt);
	free(idx);
	return 0;
}

/* ---- the whole ---- */

static void fill_config(const struct pg_policy *p, struct pg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = p->mode;
	cfg->default_in = p->default_in;
	cfg->default_out = p->default_out;
	cfg->deny_raw = p->deny_raw;
	cfg->deny_raw_dry_run = p->deny_raw && p->deny_raw_dry_run;
	cfg->events = 1;
	cfg->events_per_sec = PG_COMPILE_EVENTS_PER_SEC;
	cfg->ratelimit_ns = PG_COMPILE_RATELIMIT_NS;
	cfg->flow_tcp_idle_ns = PG_COMPILE_FLOW_TCP_IDLE_NS;
	cfg->flow_udp_idle_ns = PG_COMPILE_FLOW_UDP_IDLE_NS;
	cfg->flow_tcp_fin_ns = PG_COMPILE_FLOW_TCP_FIN_NS;
	cfg->flow_tcp_rst_ns = PG_COMPILE_FLOW_TCP_RST_NS;
}

int pg_compile_diag(const struct pg_policy *p, __u32 gen, struct pg_compiled *out,
		    struct pg_diags *d)
{
	struct ctx x = { .p = p, .out = out, .diags = d };
	struct pctx pc = { 0 };
	size_t i, n = p->nrules;
	int err;

	memset(out, 0, sizeof(*out));
	if (gen >= PG_NGEN)
		return -EINVAL;
	if (n > PG_MAX_RULES - PG_RULE_FIRST)
		return overflow(&x, PG_MAX_RULES - PG_RULE_FIRST, "the policy's rules",
				PG_MAX_RULES - PG_RULE_FIRST, "PG_MAX_RULES");
	out->gen = gen;
	fill_config(p, &out->config);

	err = -ENOMEM;
	out->nmeta = PG_RULE_FIRST + n;
	out->meta = calloc(out->nmeta, sizeof(*out->meta));
	out->rule_slot = calloc(n ? n : 1, sizeof(*out->rule_slot));
	x.next = malloc((n + 1) * sizeof(*x.next));
	x.prev = malloc((n + 1) * sizeof(*x.prev));
	x.zob = malloc((n + 1) * sizeof(*x.zob));
	x.stamp = calloc(n + 1, sizeof(*x.stamp));
	if (!out->meta || !out->rule_slot || !x.next || !x.prev || !x.zob || !x.stamp)
		goto out;
	err = htab_resize(&x);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		out->rule_slot[i] = PG_RULE_FIRST + i;
		x.zob[i] = splitmix64(i);
	}
	x.next[n] = x.prev[n] = n;
	fill_meta(p, out);

	/* Direction-major, then protocol, then port: the port entries come out sorted. */
	for (i = 0; i < 4; i++) {
		err = sweep(&x, i / 2, i % 2);
		if (err)
			goto out;
	}
	out->nclasses = x.nclasses;
	/* The prefixes come out in pre-order, sorted by (address, length). */
	err = find_sets(&x, &pc);
	if (!err)
		err = peer_groups(&x, &pc);
	if (!err)
		err = build_buckets(&x, &pc);
	if (!err)
		err = class_peers(&x, &pc);
	if (!err)
		err = inline_verdicts(&x, &pc);
	out->ngroups = pc.ngroups;
out:
	free(pc.sets);
	free(pc.rule_set);
	free(pc.groups);
	free(pc.gmem);
	free(pc.gtab);
	free(x.next);
	free(x.prev);
	free(x.zob);
	free(x.stamp);
	free(x.classes);
	free(x.members);
	free(x.htab);
	if (err)
		pg_compiled_free(out);
	return err;
}

int pg_compile(const struct pg_policy *p, __u32 gen, struct pg_compiled *out)
{
	return pg_compile_diag(p, gen, out, NULL);
}

void pg_compiled_free(struct pg_compiled *c)
{
	if (!c)
		return;
	free(c->ports);
	free(c->peers);
	free(c->buckets);
	free(c->b32);
	free(c->cpeers);
	free(c->meta);
	free(c->rule_slot);
	memset(c, 0, sizeof(*c));
}

/* ---- deciding from the entries alone ---- */

static int cmp_peer_key(const struct pg_peer_key *a, const struct pg_peer_key *b)
{
	int d = memcmp(a->addr, b->addr, 16);

	if (d)
		return d;
	return a->prefixlen < b->prefixlen ? -1 : a->prefixlen > b->prefixlen;
}

static const struct pg_peer_entry *find_peer(const struct pg_compiled *c,
					     const struct pg_peer_key *k)
{
	size_t lo = 0, hi = c->npeers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = cmp_peer_key(&c->peers[mid].key, k);

		if (!d)
			return &c->peers[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The group of addr, and in *hit the probed entry that gave it (NULL: its bucket did). */
static __u32 compiled_group(const struct pg_compiled *c, const __u8 addr[16],
			    const struct pg_peer_val **hit)
{
	const struct pg_bucket *b;
	__u32 w0;

	*hit = NULL;
	memcpy(&w0, addr, 4);
	if (!memcmp(addr, v4space, 12)) {
		b = &c->buckets[addr[12] << 8 | addr[13]];
	} else {
		struct pg_bucket32_entry key = { .key = { .top32 = w0 } };
		const struct pg_bucket32_entry *e;

		b = &c->buckets[65536 + (ntohl(w0) >> 16)];
		if (b->deep) {
			e = bsearch(&key, c->b32, c->nb32, sizeof(*c->b32), cmp_b32);
			if (!e)
				return b->group;
			b = &e->val;
		}
	}
	for (int i = 0; i < b->nlens && i < PG_BUCKET_LENS; i++) {
		struct pg_peer_key k = { .prefixlen = b->lens[i], .gen = c->gen };
		const struct pg_peer_entry *e;

		mask_addr(k.addr, addr, k.prefixlen);
		e = find_peer(c, &k);
		if (e) {
			*hit = &e->val;
			return e->val.group;
		}
	}
	return b->group;
}

__u32 pg_compiled_group(const struct pg_compiled *c, const __u8 addr[16])
{
	const struct pg_peer_val *hit;

	return compiled_group(c, addr, &hit);
}

__u32 pg_compiled_lookup(const struct pg_compiled *c, enum pg_dir dir, enum pg_proto_idx pidx,
			 __u16 port, const __u8 addr[16], struct pg_verdict *v)
{
	__u32 idx = pg_port_index(c->gen, dir, pidx, port), group = 0;
	const struct pg_port_entry *pe = NULL;
	const struct pg_peer_val *hit;
	size_t lo = 0, hi = c->nports;

	memset(v, 0, sizeof(*v));
	v->action = PG_ACT_DEFAULT;
	v->rule_id = dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ports[mid].index == idx) {
			pe = &c->ports[mid];
			break;
		}
		if (c->ports[mid].index < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!pe || !pe->val.class_id)
		return pe ? pe->val.flags & PG_COMPILED_PORT_FLAGS : 0;
	/* The base verdict, inlined in the port slot. */
	v->action = (pe->val.flags >> PG_PORT_V_ACTION_SHIFT) & 3;
	v->flags = (pe->val.flags >> PG_PORT_V_FLAGS_SHIFT) & 3;
	v->rule_id = pe->val.rule_id;
	if (!(pe->val.flags & PG_PORT_PEERS))
		return pe->val.flags & PG_COMPILED_PORT_FLAGS;
	group = compiled_group(c, addr, &hit);
	if (group && hit) {
		/* As the datapath: the probed entry's inline verdicts, and no further lookup
		 * when they are all of its group's. */
		for (int i = 0; i < hit->ninline && i < PG_PEER_INLINE; i++)
			if (hit->class_id[i] == pe->val.class_id) {
				*v = hit->verdict[i];
				return pe->val.flags & PG_COMPILED_PORT_FLAGS;
			}
		if (hit->complete)
			return pe->val.flags & PG_COMPILED_PORT_FLAGS;
	}
	if (group) {
		struct pg_class_peer_entry key = { .key = { pe->val.class_id, group } }, *e;

		e = bsearch(&key, c->cpeers, c->ncpeers, sizeof(*c->cpeers), cmp_class_peer);
		if (e)
			*v = e->val;
	}
	return pe->val.flags & PG_COMPILED_PORT_FLAGS;
}
