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
 * nested or disjoint). So the entry for prefix P carries the best verdict among the class's
 * rules whose prefix contains P, and it is computed in one pass over the class's prefixes
 * sorted so that each prefix follows its ancestors (a pre-order), keeping the chain of
 * ancestors on a stack: effective(P) = best(own(P), effective(parent(P))).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "compile.h"

/* A rule's direction: `local` is about inbound traffic, whatever the parser put in dir. */
static enum pg_dir rule_dir(const struct pg_rule *r)
{
	return r->kind == PG_RULE_LOCAL ? PG_DIR_IN : r->dir;
}

/*
 * The precedence of the language, as one total order so that "best of" is associative and
 * the trie entries can be combined incrementally: deny > local > allow. Tie-breaks (not in the
 * language, decided here):
 *  - among denies (and among locals), an enforcing rule beats a dry-run one: a dry-run rule
 *    must never weaken another rule that blocks; then the earliest line decides;
 *  - among allows, one with `log` beats one without, so that logging asked for by any rule
 *    covering the traffic is never lost; then the earliest line decides.
 * Returns true when rule a (index ia) decides over rule b (index ib).
 */
static int kind_rank(enum pg_rule_kind k)
{
	switch (k) {
	case PG_RULE_DENY:
		return 3;
	case PG_RULE_LOCAL:
		return 2;
	default:
		return 1;
	}
}

static bool rule_beats(const struct pg_policy *p, size_t ia, size_t ib)
{
	const struct pg_rule *a = &p->rules[ia], *b = &p->rules[ib];
	int ra = kind_rank(a->kind), rb = kind_rank(b->kind);

	if (ra != rb)
		return ra > rb;
	if (a->kind == PG_RULE_ALLOW) {
		if (a->log != b->log)
			return a->log;
	} else if (a->dry_run != b->dry_run) {
		return !a->dry_run;
	}
	return ia < ib;
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
	size_t head = x->p->nrules, h, r;
	bool local = false, local_enforce = false;
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
		if (rule->kind == PG_RULE_LOCAL) {
			local = true;
			local_enforce |= !rule->dry_run;
		}
	}
	/* The bind hook refuses non-loopback binds of a local port; it only reports them when
	 * every local rule on the port is dry-run (as in the verdict, enforcing wins). */
	c->flags = local ? PG_PORT_LOCAL | (local_enforce ? 0 : PG_PORT_LOCAL_DRY_RUN) : 0;
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
	size_t rule; /* own verdict (the best rule with exactly this prefix), then effective */
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

static bool pfx_contains(const struct pfx *outer, const struct pfx *inner)
{
	__u8 m[16];

	if (outer->len > inner->len)
		return false;
	mask_addr(m, inner->addr, outer->len);
	return !memcmp(m, outer->addr, 16);
}

static struct pg_verdict verdict_of(const struct pg_policy *p, const __u32 *slot, size_t ri)
{
	const struct pg_rule *r = &p->rules[ri];
	struct pg_verdict v = { .rule_id = slot[ri] };

	switch (r->kind) {
	case PG_RULE_DENY:
		v.action = PG_ACT_DENY;
		break;
	case PG_RULE_LOCAL:
		v.action = PG_ACT_LOCAL;
		break;
	default:
		v.action = PG_ACT_ALLOW;
		break;
	}
	if (r->kind == PG_RULE_ALLOW && r->log)
		v.flags |= PG_VF_LOG;
	if (r->kind != PG_RULE_ALLOW && r->dry_run)
		v.flags |= PG_VF_DRY_RUN;
	return v;
}

static int class_peers(struct ctx *x, size_t ci, struct pfx **buf, size_t *cap)
{
	const struct pg_policy *p = x->p;
	const struct cls *cl = &x->classes[ci];
	struct pg_compiled *c = x->out;
	struct pfx stack[130];
	size_t n = 0, i, k, depth = 0;
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
			(*buf)[n] = (struct pfx){ .len = 0, .rule = ri };
			n++;
			continue;
		}
		for (k = 0; k < r->npeers; k++) {
			struct pfx *f = &(*buf)[n++];

			f->len = r->peers[k].prefixlen > 128 ? 128 : r->peers[k].prefixlen;
			mask_addr(f->addr, r->peers[k].addr, f->len);
			f->rule = ri;
		}
	}
	qsort(*buf, n, sizeof(**buf), cmp_pfx);

	for (i = 0; i < n;) {
		struct pfx cur = (*buf)[i];
		const struct pfx *parent;
		struct pg_peer_entry *e;

		/* Same prefix from several rules: its own verdict is the best of them. */
		for (i++; i < n && (*buf)[i].len == cur.len &&
			  !memcmp((*buf)[i].addr, cur.addr, 16); i++)
			if (rule_beats(p, (*buf)[i].rule, cur.rule))
				cur.rule = (*buf)[i].rule;
		while (depth && !pfx_contains(&stack[depth - 1], &cur))
			depth--;
		parent = depth ? &stack[depth - 1] : NULL;
		if (parent && !rule_beats(p, cur.rule, parent->rule))
			cur.rule = parent->rule;
		/* Lengths strictly grow along the chain: at most 129 deep. */
		stack[depth++] = cur;
		/* An entry that says what its parent says is redundant: without it the longest
		 * match falls to the parent, with the same verdict. */
		if (parent && parent->rule == cur.rule)
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
		e->val = verdict_of(p, c->rule_slot, cur.rule);
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
