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

static struct agg agg_merge(const struct pg_policy *p, struct agg a, const struct agg *b)
{
	a.deny = min_rule(a.deny, b->deny);
	a.deny_dry = min_rule(a.deny_dry, b->deny_dry);
	a.local = min_rule(a.local, b->local);
	a.local_dry = min_rule(a.local_dry, b->local_dry);
	a.allow = better_allow(p, a.allow, b->allow);
	return a;
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
	size_t ports_cap, peers_cap;
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

static int htab_resize(struct ctx *x)
{
	size_t ncap = x->hcap ? x->hcap * 2 : 1024, i, h;
	size_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < x->nclasses; i++) {
		for (h = x->classes[i].hash & (ncap - 1); nt[h]; h = (h + 1) & (ncap - 1))
			;
		nt[h] = i + 1;
	}
	free(x->htab);
	x->htab = nt;
	x->hcap = ncap;
	return 0;
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

struct pfx {
	__u8 addr[16];
	__u8 len;
	size_t rule; /* NONE for the loopback prefixes added to classes with a `local` rule */
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
	return x->rule < y->rule ? -1 : x->rule > y->rule;
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

static bool prefix_is_loopback(const __u8 *addr, unsigned len)
{
	return prefix_contains(lo4, 104, addr, len) || prefix_contains(lo6, 128, addr, len);
}

struct node {
	__u8 addr[16];
	__u8 len;
	struct agg eff;	       /* every rule covering this prefix */
	struct pg_verdict v;   /* what the trie says here (written or inherited) */
};

static int class_peers(struct ctx *x, size_t ci, struct pfx **buf, size_t *cap)
{
	const struct pg_policy *p = x->p;
	const struct cls *cl = &x->classes[ci];
	struct pg_compiled *c = x->out;
	/* A class's rules share one direction: a rule has one, and a class is one rule set. */
	enum pg_dir dir = rule_dir(&p->rules[x->members[cl->off]]);
	__u32 default_slot = dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
	bool default_deny = (dir == PG_DIR_IN ? p->default_in : p->default_out) == PG_DEFAULT_DENY;
	const struct pg_verdict none = { .rule_id = default_slot, .action = PG_ACT_DEFAULT };
	struct node stack[130];
	size_t n = 2, i, k, depth = 0;
	int err;

	for (i = 0; i < cl->n; i++) {
		const struct pg_rule *r = &p->rules[x->members[cl->off + i]];

		n += r->kind == PG_RULE_LOCAL || !r->npeers ? 1 : r->npeers;
	}
	err = grow((void **)buf, cap, n, sizeof(**buf));
	if (err)
		return err;
	n = 0;
	for (i = 0; i < cl->n; i++) {
		size_t ri = x->members[cl->off + i];
		const struct pg_rule *r = &p->rules[ri];

		/* `local` is about every peer (loopback passes, the rest is refused), and a rule
		 * without peers means any: both are the /0 over the mapped space. */
		if (r->kind == PG_RULE_LOCAL || !r->npeers) {
			(*buf)[n++] = (struct pfx){ .len = 0, .rule = ri };
			continue;
		}
		for (k = 0; k < r->npeers; k++) {
			struct pfx *f = &(*buf)[n++];

			f->len = r->peers[k].prefixlen > 128 ? 128 : r->peers[k].prefixlen;
			mask_addr(f->addr, r->peers[k].addr, f->len);
			f->rule = ri;
		}
	}
	/* Where a local rule is, loopback peers are decided apart from the rest: give them their
	 * own prefixes, so that every longest match is either all loopback or none. */
	if (cl->flags & PG_PORT_LOCAL) {
		(*buf)[n] = (struct pfx){ .len = 104, .rule = NONE };
		memcpy((*buf)[n++].addr, lo4, 16);
		(*buf)[n] = (struct pfx){ .len = 128, .rule = NONE };
		memcpy((*buf)[n++].addr, lo6, 16);
	}
	qsort(*buf, n, sizeof(**buf), cmp_pfx);

	for (i = 0; i < n;) {
		struct node cur = { .len = (*buf)[i].len, .eff = agg_none };
		const struct node *parent;
		struct pg_peer_entry *e;

		memcpy(cur.addr, (*buf)[i].addr, 16);
		/* Every rule with exactly this prefix. */
		for (; i < n && (*buf)[i].len == cur.len && !memcmp((*buf)[i].addr, cur.addr, 16);
		     i++)
			if ((*buf)[i].rule != NONE)
				agg_add_rule(p, &cur.eff, (*buf)[i].rule);
		while (depth && !prefix_contains(stack[depth - 1].addr, stack[depth - 1].len,
						 cur.addr, cur.len))
			depth--;
		parent = depth ? &stack[depth - 1] : NULL;
		if (parent)
			cur.eff = agg_merge(p, cur.eff, &parent->eff);
		cur.v = agg_verdict(p, c->rule_slot, &cur.eff, prefix_is_loopback(cur.addr, cur.len),
				    default_slot, default_deny);
		/* Lengths strictly grow along the chain: at most 129 deep. */
		stack[depth++] = cur;
		/* An entry that says what the longest match would find without it (its parent's
		 * verdict, or no entry at all: the default) is redundant. */
		if (!memcmp(&cur.v, parent ? &parent->v : &none, sizeof(cur.v)))
			continue;
		if (c->npeers >= PG_MAX_PEER_ENTRIES / 2)
			return -E2BIG;
		err = grow((void **)&c->peers, &x->peers_cap, c->npeers + 1, sizeof(*c->peers));
		if (err)
			return err;
		e = &c->peers[c->npeers++];
		memset(e, 0, sizeof(*e));
		e->key.prefixlen = 32 + cur.len;
		e->key.class_id = htonl(class_id(c->gen, ci));
		memcpy(e->key.addr, cur.addr, 16);
		e->val = cur.v;
	}
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
}

int pg_compile(const struct pg_policy *p, __u32 gen, struct pg_compiled *out)
{
	struct ctx x = { .p = p, .out = out };
	struct pfx *pbuf = NULL;
	size_t pcap = 0, i, n = p->nrules;
	int err;

	memset(out, 0, sizeof(*out));
	if (gen >= PG_NGEN)
		return -EINVAL;
	if (n > PG_MAX_RULES - PG_RULE_FIRST)
		return -E2BIG;
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
	/* Class-major, each in pre-order: the peer entries come out sorted too. */
	for (i = 0; i < x.nclasses; i++) {
		err = class_peers(&x, i, &pbuf, &pcap);
		if (err)
			goto out;
	}
	err = 0;
out:
	free(pbuf);
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

void pg_compiled_free(struct pg_compiled *c)
{
	if (!c)
		return;
	free(c->ports);
	free(c->peers);
	free(c->meta);
	free(c->rule_slot);
	memset(c, 0, sizeof(*c));
}

/* ---- deciding from the entries alone ---- */

static int cmp_peer_key(const struct pg_peer_key *a, const struct pg_peer_key *b)
{
	__u32 ca = ntohl(a->class_id), cb = ntohl(b->class_id);
	int d;

	if (ca != cb)
		return ca < cb ? -1 : 1;
	d = memcmp(a->addr, b->addr, 16);
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

__u32 pg_compiled_lookup(const struct pg_compiled *c, enum pg_dir dir, enum pg_proto_idx pidx,
			 __u16 port, const __u8 addr[16], struct pg_verdict *v)
{
	__u32 idx = pg_port_index(c->gen, dir, pidx, port);
	const struct pg_port_entry *pe = NULL;
	size_t lo = 0, hi = c->nports;
	int len;

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
		return pe ? pe->val.flags : 0;
	/* The trie's longest match, by trying every prefix length from the longest. */
	for (len = 128; len >= 0; len--) {
		struct pg_peer_key k = {
			.prefixlen = 32 + len,
			.class_id = htonl(pe->val.class_id),
		};
		const struct pg_peer_entry *e;

		mask_addr(k.addr, addr, len);
		e = find_peer(c, &k);
		if (e) {
			*v = e->val;
			break;
		}
	}
	return pe->val.flags;
}
