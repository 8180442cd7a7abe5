// SPDX-License-Identifier: GPL-2.0
/*
 * The policy language: lexer, parser, set expansion and validation. No BPF here, so that the
 * parser is unit-tested and fuzzed without privileges. doc/policy-language.md is the reference;
 * every decision it states is made in this file.
 *
 * The parser works line by line. A line holds one statement; the first error on a line is
 * reported and the rest of that line skipped, so that one run reports every broken line.
 * Statements are independent of their order: a rule may name a set defined further down.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

/* Set names: a letter or '_', then letters, digits, '_', '-' or '.'. */
#define PG_SET_NAME_MAX 63
/* Errors reported per file before the parser gives up on it. */
#define PG_MAX_ERRORS 1000
/* Tokens quoted in messages are cut here, so that a 1 MB line gives a readable message. */
#define QMAX 40
#define QF "%.*s%s"
#define QA(s, len) (int)((len) > QMAX ? QMAX : (len)), (s), ((len) > QMAX ? "..." : "")
#define QT(t) QA((t)->s, (t)->len)

enum tok_kind {
	TK_WORD,
	TK_COMMA,
	TK_EQ,
};

struct tok {
	enum tok_kind kind;
	int col;
	char *s; /* NUL-terminated copy in the line arena */
	size_t len;
};

struct peerlist {
	struct pg_peer *v;
	size_t n, cap;
};

struct ref {
	char *name; /* without the '@' */
	struct pg_loc loc;
};

struct reflist {
	struct ref *v;
	size_t n, cap;
};

struct parser {
	struct pg_policy *p;
	struct pg_diags *d;
	int line;
	struct tok *toks;
	size_t ntoks, tokcap, i;
	int endcol; /* the column just after the line's last token: where a missing token goes */
	char *arena;
	size_t arenacap;
	bool oom;
	bool stop; /* PG_MAX_ERRORS reached */
	size_t errors_before;
	struct pg_loc mode_loc;
	struct pg_loc *iface_locs;
	struct reflist *rule_refs; /* parallel to p->rules: the @set references to expand */
	size_t rules_cap, sets_cap, ifaces_cap;
};

/* Grow *v (of *cap elements of size elem) to hold need elements. */
static bool grow(struct parser *ps, void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			goto oom;
		ncap *= 2;
	}
	nv = realloc(*v, ncap * elem);
	if (!nv)
		goto oom;
	*v = nv;
	*cap = ncap;
	return true;
oom:
	if (ps)
		ps->oom = true;
	return false;
}

#define GROW(ps, vec, capp, need) grow((ps), (void **)&(vec), (capp), (need), sizeof(*(vec)))

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

static int err_at(struct parser *ps, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int err_at(struct parser *ps, int col, const char *fmt, ...)
{
	struct pg_loc loc = { ps->p->file, ps->line, col };
	va_list ap;

	if (ps->stop)
		return -EINVAL;
	/* Like a compiler's -fmax-errors: a binary file fed by mistake would otherwise make an
	 * error of nearly every line, gigabytes of them. */
	if (ps->d->nerrors - ps->errors_before >= PG_MAX_ERRORS) {
		ps->stop = true;
		if (pg_diag_add(ps->d, &loc, false, "too many errors (%d), stopping here",
				PG_MAX_ERRORS))
			ps->oom = true;
		return -EINVAL;
	}
	va_start(ap, fmt);
	if (pg_diag_vadd(ps->d, &loc, false, fmt, ap))
		ps->oom = true;
	va_end(ap);
	return -EINVAL;
}

/* --- lexer ------------------------------------------------------------------------------ */

/*
 * Split one line into tokens: words, ',' and '='. '#' starts a comment anywhere, also inside a
 * word. Space, tab and CR (a CRLF file) separate tokens. Outside comments a policy is printable
 * ASCII; any other byte is an error at its column, NUL included (also inside a comment, so
 * that a NUL never silently hides the rest of a line from a C-string tool).
 */
static int lex_line(struct parser *ps, char *s, size_t len)
{
	char *a;

	ps->ntoks = 0;
	ps->i = 0;
	ps->endcol = 1;
	/* Every word is copied with a NUL after it: at most len + len/2 + 1 bytes. */
	if (!GROW(ps, ps->arena, &ps->arenacap, len * 2 + 2))
		return -ENOMEM;
	a = ps->arena;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		int col = clamp_int(i + 1);

		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '#') {
			const char *nul = memchr(s + i, '\0', len - i);

			if (nul)
				return err_at(ps, clamp_int(nul - s + 1), "NUL byte in policy");
			break;
		}
		if (!GROW(ps, ps->toks, &ps->tokcap, ps->ntoks + 1))
			return -ENOMEM;
		if (c == ',' || c == '=') {
			ps->toks[ps->ntoks++] = (struct tok){
				.kind = c == ',' ? TK_COMMA : TK_EQ,
				.col = col,
				.s = c == ',' ? "," : "=",
				.len = 1,
			};
			i++;
			continue;
		}
		if (c > 0x20 && c < 0x7f) {
			size_t start = i;

			while (i < len && s[i] > 0x20 && s[i] < 0x7f && s[i] != ',' &&
			       s[i] != '=' && s[i] != '#')
				i++;
			memcpy(a, s + start, i - start);
			a[i - start] = '\0';
			ps->toks[ps->ntoks++] = (struct tok){
				.kind = TK_WORD, .col = col, .s = a, .len = i - start,
			};
			a += i - start + 1;
			continue;
		}
		if (c == 0)
			return err_at(ps, col, "NUL byte in policy");
		return err_at(ps, col,
			      "unexpected byte 0x%02x (a policy is ASCII outside comments)", c);
	}
	if (ps->ntoks) {
		struct tok *t = &ps->toks[ps->ntoks - 1];

		ps->endcol = clamp_int((size_t)t->col + t->len);
	}
	return 0;
}

static struct tok *peek(struct parser *ps)
{
	return ps->i < ps->ntoks ? &ps->toks[ps->i] : NULL;
}

static struct tok *next(struct parser *ps)
{
	struct tok *t = peek(ps);

	if (t)
		ps->i++;
	return t;
}

static bool is(const struct tok *t, const char *w)
{
	return t && t->kind == TK_WORD && t->len == strlen(w) && !memcmp(t->s, w, t->len);
}

static int expect_end(struct parser *ps)
{
	struct tok *t = peek(ps);

	if (t)
		return err_at(ps, t->col, "unexpected '" QF "' at end of statement", QT(t));
	return 0;
}

/* --- values ----------------------------------------------------------------------------- */

/* A decimal number: digits only, no sign, no leading zero (so "080" is not read as octal by
 * one tool and decimal by another). Returns false if malformed; *v saturates at max + 1. */
static bool parse_dec(const char *s, size_t len, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (n <= max)
			n = n * 10 + (unsigned long)(s[i] - '0');
	}
	*v = n > max ? max + 1 : n;
	return true;
}

static int parse_port_part(struct parser *ps, const struct tok *t, size_t off, size_t len,
			   __u16 *out)
{
	unsigned long v;

	if (!parse_dec(t->s + off, len, 65535, &v))
		return err_at(ps, t->col,
			      "invalid port '" QF "' (expected a port 1-65535 or a range LO-HI)",
			      QT(t));
	if (v < 1 || v > 65535)
		return err_at(ps, clamp_int((size_t)t->col + off),
			      "port " QF " out of range (1-65535)", QA(t->s + off, len));
	*out = (__u16)v;
	return 0;
}

/* "443" or "49152-49252": one word, no spaces inside a range. */
static int parse_port_tok(struct parser *ps, const struct tok *t, struct pg_range *r)
{
	const char *dash = memchr(t->s, '-', t->len);
	size_t lolen = dash ? (size_t)(dash - t->s) : t->len;
	int err;

	if (dash && (lolen == 0 || lolen + 1 == t->len))
		return err_at(ps, t->col, "invalid port range '" QF "' (expected LO-HI)", QT(t));
	err = parse_port_part(ps, t, 0, lolen, &r->lo);
	if (err)
		return err;
	if (!dash) {
		r->hi = r->lo;
		return 0;
	}
	err = parse_port_part(ps, t, lolen + 1, t->len - lolen - 1, &r->hi);
	if (err)
		return err;
	if (r->lo > r->hi)
		return err_at(ps, t->col, "port range " QF " is reversed (write %u-%u)", QT(t),
			      r->hi, r->lo);
	return 0;
}

static bool valid_set_name(const char *s, size_t len)
{
	if (len == 0 || len > PG_SET_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool push_peer(struct parser *ps, struct peerlist *pl, const struct pg_peer *peer)
{
	if (!GROW(ps, pl->v, &pl->cap, pl->n + 1))
		return false;
	pl->v[pl->n++] = *peer;
	return true;
}

/*
 * A peer: "any", "@set" (rules only), an address, or a CIDR. IPv4 is stored mapped
 * (::ffff:a.b.c.d, prefix + 96). A CIDR with host bits set is an error, not silently masked:
 * "198.18.0.1/15" is far more often a typo for a host than a deliberate network.
 */
static int parse_peer(struct parser *ps, struct tok *t, struct peerlist *pl, struct reflist *rl)
{
	struct pg_peer peer = { 0 };
	unsigned long plen;
	char *slash;
	bool six;
	int maxlen;

	if (is(t, "any"))
		return push_peer(ps, pl, &peer) ? 0 : -ENOMEM;
	if (t->s[0] == '@') {
		struct ref *r;

		if (!rl)
			return err_at(ps, t->col,
				      "a set cannot contain another set ('" QF "'); "
				      "list its addresses",
				      QT(t));
		if (!valid_set_name(t->s + 1, t->len - 1))
			return err_at(ps, t->col, "invalid set name '" QF "'", QT(t));
		if (!GROW(ps, rl->v, &rl->cap, rl->n + 1))
			return -ENOMEM;
		r = &rl->v[rl->n];
		r->name = strdup(t->s + 1);
		if (!r->name) {
			ps->oom = true;
			return -ENOMEM;
		}
		r->loc = (struct pg_loc){ ps->p->file, ps->line, t->col };
		rl->n++;
		return 0;
	}
	slash = strchr(t->s, '/');
	if (slash)
		*slash = '\0';
	six = strchr(t->s, ':') != NULL;
	maxlen = six ? 128 : 32;
	if (inet_pton(six ? AF_INET6 : AF_INET, t->s, six ? peer.addr : peer.addr + 12) != 1) {
		if (slash)
			*slash = '/';
		return err_at(ps, t->col,
			      "invalid address '" QF "' (expected an IPv4 or IPv6 address or CIDR, "
			      "'any' or '@set')",
			      QT(t));
	}
	plen = (unsigned long)maxlen;
	if (slash) {
		size_t off = (size_t)(slash - t->s) + 1;

		*slash = '/';
		if (off == t->len)
			return err_at(ps, clamp_int((size_t)t->col + off),
				      "missing prefix length after '/' (expected 0-%d)", maxlen);
		if (!parse_dec(slash + 1, t->len - off, (unsigned long)maxlen, &plen))
			return err_at(ps, clamp_int((size_t)t->col + off),
				      "invalid prefix length '" QF "' (expected 0-%d)",
				      QA(slash + 1, t->len - off), maxlen);
		if (plen > (unsigned long)maxlen)
			return err_at(ps, clamp_int((size_t)t->col + off),
				      "prefix length " QF " out of range for %s (0-%d)",
				      QA(slash + 1, t->len - off), six ? "IPv6" : "IPv4", maxlen);
	}
	if (!six) {
		peer.addr[10] = peer.addr[11] = 0xff;
		peer.v4 = true;
		plen += 96;
	}
	peer.prefixlen = (__u8)plen;
	for (unsigned b = peer.prefixlen; b < 128; b++) {
		if (peer.addr[b / 8] & (0x80 >> (b % 8))) {
			struct pg_peer net = peer;
			char buf[64];

			for (unsigned c = peer.prefixlen; c < 128; c++)
				net.addr[c / 8] &= (__u8) ~(0x80 >> (c % 8));
			pg_peer_format(&net, buf, sizeof(buf));
			return err_at(ps, t->col, "'" QF "' has host bits set (the network is %s)",
				      QT(t), buf);
		}
	}
	/* ::ffff:a.b.c.d is the IPv4 address it carries: it prints, compares and matches as one. */
	if (six && peer.prefixlen >= 96)
		peer.v4 = pg_addr_is_v4(peer.addr);
	return push_peer(ps, pl, &peer) ? 0 : -ENOMEM;
}

/* PEER [, PEER...] after the word `after`. */
static int parse_peers(struct parser *ps, const char *after, struct peerlist *pl,
		       struct reflist *rl)
{
	for (;;) {
		struct tok *t = next(ps);
		int err;

		if (!t)
			return err_at(ps, ps->endcol, "expected a peer after '%s'", after);
		if (t->kind != TK_WORD)
			return err_at(ps, t->col, "expected a peer, found '%s'", t->s);
		err = parse_peer(ps, t, pl, rl);
		if (err)
			return err;
		if (!peek(ps) || peek(ps)->kind != TK_COMMA)
			return 0;
		next(ps);
		after = ",";
	}
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct pg_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (int)a->hi - (int)b->hi;
}

/* Sorted by lo, overlapping and adjacent ranges merged: 80,81,82 is 80-82. */
static void normalize_ports(struct pg_range *v, size_t *n)
{
	size_t w = 0;

	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), range_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (w && (unsigned)v[i].lo <= (unsigned)v[w - 1].hi + 1) {
			if (v[i].hi > v[w - 1].hi)
				v[w - 1].hi = v[i].hi;
			continue;
		}
		v[w++] = v[i];
	}
	*n = w;
}

/* --- statements ------------------------------------------------------------------------- */

static int parse_mode(struct parser *ps, struct tok *kw)
{
	struct tok *t;
	enum pg_mode m;
	int err;

	if (ps->mode_loc.line)
		return err_at(ps, kw->col, "duplicate 'mode' (already set at line %d)",
			      ps->mode_loc.line);
	t = next(ps);
	if (!t)
		return err_at(ps, ps->endcol, "expected 'enforce' or 'dry-run' after 'mode'");
	if (is(t, "enforce"))
		m = PG_MODE_ENFORCE;
	else if (is(t, "dry-run"))
		m = PG_MODE_DRY_RUN;
	else
		return err_at(ps, t->col, "unknown mode '" QF "' (expected enforce or dry-run)",
			      QT(t));
	err = expect_end(ps);
	if (err)
		return err;
	ps->p->mode = m;
	ps->mode_loc = (struct pg_loc){ ps->p->file, ps->line, kw->col };
	return 0;
}

static int parse_default(struct parser *ps, struct tok *kw)
{
	struct tok *t = next(ps);
	struct pg_loc *loc;
	enum pg_default def;
	bool in;
	int err;

	if (!t)
		return err_at(ps, ps->endcol, "expected 'in' or 'out' after 'default'");
	if (!is(t, "in") && !is(t, "out"))
		return err_at(ps, t->col, "unknown direction '" QF "' (expected in or out)", QT(t));
	in = is(t, "in");
	loc = in ? &ps->p->default_in_loc : &ps->p->default_out_loc;
	if (loc->line)
		return err_at(ps, kw->col, "duplicate 'default %s' (already set at line %d)",
			      in ? "in" : "out", loc->line);
	t = next(ps);
	if (!t)
		return err_at(ps, ps->endcol, "expected 'allow' or 'deny' after 'default %s'",
			      in ? "in" : "out");
	if (is(t, "allow"))
		def = PG_DEFAULT_ALLOW;
	else if (is(t, "deny"))
		def = PG_DEFAULT_DENY;
	else
		return err_at(ps, t->col, "unknown default '" QF "' (expected allow or deny)",
			      QT(t));
	err = expect_end(ps);
	if (err)
		return err;
	*(in ? &ps->p->default_in : &ps->p->default_out) = def;
	*loc = (struct pg_loc){ ps->p->file, ps->line, kw->col };
	return 0;
}

/* Interface names as the kernel's dev_valid_name() takes them: 1 to IFNAMSIZ - 1 bytes, not
 * "." or "..", no '/', ':' or whitespace (the lexer already split on whitespace). */
static int parse_interface(struct parser *ps, struct tok *kw)
{
	size_t first = ps->i, n = 0;
	struct pg_policy *p = ps->p;
	struct tok *t;

	(void)kw;
	if (!peek(ps))
		return err_at(ps, ps->endcol, "expected an interface name after 'interface'");
	while ((t = next(ps))) {
		if (t->kind != TK_WORD)
			return err_at(ps, t->col,
				      "interface names are separated by spaces, found '%s'", t->s);
		/* Checked before the names are compared, so that a line of a million names is
		 * not a million squared comparisons. */
		if (p->nifaces + n + 1 > PG_MAX_IFACES)
			return err_at(ps, ps->toks[first].col, "too many interfaces (at most %d)",
				      PG_MAX_IFACES);
		if (t->len >= IFNAMSIZ)
			return err_at(ps, t->col,
				      "interface name '" QF "' is too long (at most %d characters)",
				      QT(t), IFNAMSIZ - 1);
		if (is(t, ".") || is(t, "..") || strchr(t->s, '/') || strchr(t->s, ':'))
			return err_at(ps, t->col, "invalid interface name '" QF "'", QT(t));
		for (size_t i = 0; i < p->nifaces; i++)
			if (!strcmp(p->ifaces[i], t->s))
				return err_at(ps, t->col, "interface '%s' already named at line %d",
					      t->s, ps->iface_locs[i].line);
		for (size_t i = first; i < ps->i - 1; i++)
			if (!strcmp(ps->toks[i].s, t->s))
				return err_at(ps, t->col, "interface '%s' named twice", t->s);
		n++;
	}
	if (!GROW(ps, p->ifaces, &ps->ifaces_cap, p->nifaces + n))
		return -ENOMEM;
	/* iface_locs shares ifaces_cap: grown to the same size right after. */
	{
		struct pg_loc *nl = realloc(ps->iface_locs, ps->ifaces_cap * sizeof(*nl));

		if (!nl) {
			ps->oom = true;
			return -ENOMEM;
		}
		ps->iface_locs = nl;
	}
	for (size_t i = first; i < ps->ntoks; i++) {
		char *name = strdup(ps->toks[i].s);

		if (!name) {
			ps->oom = true;
			return -ENOMEM;
		}
		ps->iface_locs[p->nifaces] = (struct pg_loc){ p->file, ps->line, ps->toks[i].col };
		p->ifaces[p->nifaces++] = name;
	}
	return 0;
}

static int parse_set(struct parser *ps, struct tok *kw)
{
	struct pg_policy *p = ps->p;
	struct peerlist pl = { 0 };
	struct tok *name, *t;
	struct pg_set *set;
	int err;

	(void)kw;
	name = next(ps);
	if (!name)
		return err_at(ps, ps->endcol, "expected a set name after 'set'");
	if (name->kind != TK_WORD)
		return err_at(ps, name->col, "expected a set name after 'set', found '%s'",
			      name->s);
	if (!valid_set_name(name->s, name->len))
		return err_at(ps, name->col,
			      "invalid set name '" QF "' (a letter or '_', then letters, digits, "
			      "'_', '-' or '.', at most %d characters)",
			      QT(name), PG_SET_NAME_MAX);
	t = next(ps);
	if (!t)
		return err_at(ps, ps->endcol, "expected '=' after set name '%s'", name->s);
	if (t->kind != TK_EQ)
		return err_at(ps, t->col, "expected '=' after set name '%s', found '" QF "'",
			      name->s, QT(t));
	err = parse_peers(ps, "=", &pl, NULL);
	if (!err)
		err = expect_end(ps);
	/* A second set of the same name is found in expand_sets(), from the sorted names: a
	 * check here against every earlier set would be quadratic in the number of sets. */
	if (!err && !GROW(ps, p->sets, &ps->sets_cap, p->nsets + 1))
		err = -ENOMEM;
	if (err) {
		free(pl.v);
		return err;
	}
	pg_peers_normalize(pl.v, &pl.n, false);
	set = &p->sets[p->nsets];
	*set = (struct pg_set){
		.name = strdup(name->s),
		.peers = pl.v,
		.npeers = pl.n,
		.loc = { p->file, ps->line, name->col },
	};
	if (!set->name) {
		free(pl.v);
		ps->oom = true;
		return -ENOMEM;
	}
	p->nsets++;
	return 0;
}

static int parse_protos(struct parser *ps, const char *after, unsigned *protos)
{
	for (;;) {
		struct tok *t = next(ps);
		unsigned bit;

		if (!t)
			return err_at(ps, ps->endcol,
				      "expected a protocol (tcp, udp or tcp,udp) after '%s'",
				      after);
		if (t->kind != TK_WORD)
			return err_at(ps, t->col, "expected a protocol, found '%s'", t->s);
		if (is(t, "tcp"))
			bit = PG_PROTO_TCP;
		else if (is(t, "udp"))
			bit = PG_PROTO_UDP;
		else
			return err_at(ps, t->col, "unknown protocol '" QF "' (expected tcp or udp)",
				      QT(t));
		if (*protos & bit)
			return err_at(ps, t->col, "duplicate protocol '%s'", t->s);
		*protos |= bit;
		if (!peek(ps) || peek(ps)->kind != TK_COMMA)
			return 0;
		next(ps);
		after = ",";
	}
}

static int parse_ports(struct parser *ps, const char *after, struct pg_rule *r, size_t *cap)
{
	for (;;) {
		struct tok *t = next(ps);
		int err;

		if (!t)
			return err_at(ps, ps->endcol, "expected a port after '" QF "'",
				      QA(after, strlen(after)));
		if (t->kind != TK_WORD)
			return err_at(ps, t->col, "expected a port, found '%s'", t->s);
		if (!GROW(ps, r->ports, cap, r->nports + 1))
			return -ENOMEM;
		err = parse_port_tok(ps, t, &r->ports[r->nports]);
		if (err)
			return err;
		r->nports++;
		if (!peek(ps) || peek(ps)->kind != TK_COMMA)
			return 0;
		next(ps);
		after = ",";
	}
}

static int parse_deny_raw(struct parser *ps, struct tok *kw)
{
	struct pg_policy *p = ps->p;
	bool dry_run = false;
	struct tok *t;

	if (p->deny_raw)
		return err_at(ps, kw->col, "duplicate 'deny raw' (already given at line %d)",
			      p->deny_raw_loc.line);
	while ((t = next(ps))) {
		if (!is(t, "dry-run"))
			return err_at(ps, t->col, "unexpected '" QF "' after 'deny raw' (expected "
				      "dry-run)", QT(t));
		if (dry_run)
			return err_at(ps, t->col, "duplicate 'dry-run'");
		dry_run = true;
	}
	p->deny_raw = true;
	p->deny_raw_dry_run = dry_run;
	p->deny_raw_loc = (struct pg_loc){ p->file, ps->line, kw->col };
	return 0;
}

static const char *kind_name(enum pg_rule_kind k)
{
	return k == PG_RULE_ALLOW ? "allow" : k == PG_RULE_DENY ? "deny" : "local";
}

/* What may follow a rule's ports, for the message about a word that may not. */
static const char *rule_options(const struct pg_rule *r)
{
	if (r->kind == PG_RULE_LOCAL)
		return "'dry-run'";
	if (r->kind == PG_RULE_ALLOW)
		return r->dir == PG_DIR_IN ? "'from' or 'log'" : "'to' or 'log'";
	return r->dir == PG_DIR_IN ? "'from' or 'dry-run'" : "'to' or 'dry-run'";
}

static int rule_options_parse(struct parser *ps, struct pg_rule *r, struct peerlist *pl,
			      struct reflist *rl)
{
	bool peers = false;
	struct tok *t;
	int err;

	while ((t = next(ps))) {
		if (is(t, "from") || is(t, "to")) {
			bool from = is(t, "from");

			if (r->kind == PG_RULE_LOCAL)
				return err_at(ps, t->col,
					      "a local rule takes no peers: only loopback may "
					      "reach a local port");
			if (from && r->dir == PG_DIR_OUT)
				return err_at(ps, t->col,
					      "'from' is for inbound rules; an outbound rule "
					      "names its peers with 'to'");
			if (!from && r->dir == PG_DIR_IN)
				return err_at(ps, t->col, "'to' is for outbound rules; an inbound "
					      "rule names its peers with 'from'");
			if (peers)
				return err_at(ps, t->col, "duplicate '%s'", t->s);
			peers = true;
			err = parse_peers(ps, t->s, pl, rl);
			if (err)
				return err;
		} else if (is(t, "log")) {
			if (r->kind != PG_RULE_ALLOW)
				return err_at(ps, t->col,
					      "'log' is only valid on allow rules (a %s rule "
					      "reports what it blocks)",
					      kind_name(r->kind));
			if (r->log)
				return err_at(ps, t->col, "duplicate 'log'");
			r->log = true;
		} else if (is(t, "dry-run")) {
			if (r->kind == PG_RULE_ALLOW)
				return err_at(ps, t->col,
					      "'dry-run' is only valid on deny and local rules "
					      "(an allow rule blocks nothing)");
			if (r->dry_run)
				return err_at(ps, t->col, "duplicate 'dry-run'");
			r->dry_run = true;
		} else {
			bool digit = t->kind == TK_WORD && t->s[0] >= '0' && t->s[0] <= '9';

			return err_at(ps, t->col, "unexpected '" QF "' (expected %s)%s", QT(t),
				      rule_options(r),
				      digit && !peers ? "; separate ports with ','" : "");
		}
	}
	return 0;
}

static void free_refs(struct reflist *rl)
{
	for (size_t i = 0; i < rl->n; i++)
		free(rl->v[i].name);
	free(rl->v);
	memset(rl, 0, sizeof(*rl));
}

static int parse_rule(struct parser *ps, struct tok *kw, enum pg_rule_kind kind)
{
	struct pg_policy *p = ps->p;
	struct pg_rule r = {
		.kind = kind,
		.dir = PG_DIR_IN,
		.loc = { p->file, ps->line, kw->col },
	};
	struct peerlist pl = { 0 };
	struct reflist rl = { 0 };
	const char *after = kw->s;
	size_t portcap = 0;
	struct tok *t;
	int err;

	if (kind != PG_RULE_LOCAL) {
		bool deny = kind == PG_RULE_DENY;

		t = next(ps);
		if (!t)
			return err_at(ps, ps->endcol, "expected %s after '%s'",
				      deny ? "'in', 'out' or 'raw'" : "'in' or 'out'", kw->s);
		if (deny && is(t, "raw"))
			return parse_deny_raw(ps, kw);
		if (is(t, "in"))
			r.dir = PG_DIR_IN;
		else if (is(t, "out"))
			r.dir = PG_DIR_OUT;
		else
			return err_at(ps, t->col, "unknown direction '" QF "' (expected %s)", QT(t),
				      deny ? "in, out or raw" : "in or out");
		after = t->s;
	} else if (is(peek(ps), "in") || is(peek(ps), "out")) {
		/* A local port is about who may reach it, loopback, in any direction. */
		return err_at(ps, peek(ps)->col,
			      "a local rule has no direction (write 'local PROTO PORTS')");
	}
	err = parse_protos(ps, after, &r.protos);
	if (err)
		goto out;
	err = parse_ports(ps, ps->toks[ps->i - 1].s, &r, &portcap);
	if (err)
		goto out;
	err = rule_options_parse(ps, &r, &pl, &rl);
	if (err)
		goto out;
	if (!GROW(ps, p->rules, &ps->rules_cap, p->nrules + 1)) {
		err = -ENOMEM;
		goto out;
	}
	{
		size_t rcap = ps->rules_cap;
		struct reflist *nr = realloc(ps->rule_refs, rcap * sizeof(*nr));

		if (!nr) {
			ps->oom = true;
			err = -ENOMEM;
			goto out;
		}
		ps->rule_refs = nr;
	}
	normalize_ports(r.ports, &r.nports);
	r.peers = pl.v;
	r.npeers = pl.n;
	p->rules[p->nrules] = r;
	ps->rule_refs[p->nrules] = rl;
	p->nrules++;
	return 0;
out:
	free(r.ports);
	free(pl.v);
	free_refs(&rl);
	return err;
}

static void parse_statement(struct parser *ps)
{
	struct tok *t = next(ps);

	if (!t)
		return;
	if (t->kind != TK_WORD)
		err_at(ps, t->col, "expected a statement, found '%s'", t->s);
	else if (is(t, "mode"))
		parse_mode(ps, t);
	else if (is(t, "default"))
		parse_default(ps, t);
	else if (is(t, "interface"))
		parse_interface(ps, t);
	else if (is(t, "set"))
		parse_set(ps, t);
	else if (is(t, "allow"))
		parse_rule(ps, t, PG_RULE_ALLOW);
	else if (is(t, "deny"))
		parse_rule(ps, t, PG_RULE_DENY);
	else if (is(t, "local"))
		parse_rule(ps, t, PG_RULE_LOCAL);
	else
		err_at(ps, t->col,
		       "unknown statement '" QF "' (expected mode, default, interface, set, allow, "
		       "deny or local)",
		       QT(t));
}

/* --- sets ------------------------------------------------------------------------------- */

/* By name, then by place in the file: the first of equal names is the one defined first. */
static int set_idx_cmp(const void *a, const void *b, void *policy)
{
	const struct pg_policy *p = policy;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(p->sets[x].name, p->sets[y].name);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* Expand every rule's @set references into its peer list, then normalize the list. An
 * unknown set is an error at the reference. */
static void expand_sets(struct parser *ps)
{
	struct pg_policy *p = ps->p;
	size_t *idx = NULL;

	if (p->nsets) {
		idx = malloc(p->nsets * sizeof(*idx));
		if (!idx) {
			ps->oom = true;
			return;
		}
		for (size_t i = 0; i < p->nsets; i++)
			idx[i] = i;
		qsort_r(idx, p->nsets, sizeof(*idx), set_idx_cmp, p);
		for (size_t i = 1; i < p->nsets; i++) {
			const struct pg_set *first = &p->sets[idx[i - 1]], *dup = &p->sets[idx[i]];

			if (strcmp(first->name, dup->name))
				continue;
			ps->line = dup->loc.line;
			err_at(ps, dup->loc.col, "set '%s' already defined at line %d", dup->name,
			       first->loc.line);
			/* Several copies: each names the first definition. */
			idx[i] = idx[i - 1];
		}
	}
	for (size_t i = 0; i < p->nrules; i++) {
		struct pg_rule *r = &p->rules[i];
		struct reflist *rl = &ps->rule_refs[i];
		struct peerlist pl = { r->peers, r->npeers, r->npeers };

		for (size_t j = 0; j < rl->n; j++) {
			struct pg_set *set = NULL;
			size_t lo = 0, hi = p->nsets;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int c = strcmp(rl->v[j].name, p->sets[idx[mid]].name);

				if (!c) {
					set = &p->sets[idx[mid]];
					break;
				}
				if (c < 0)
					hi = mid;
				else
					lo = mid + 1;
			}
			if (!set) {
				struct pg_loc loc = rl->v[j].loc;

				ps->line = loc.line;
				err_at(ps, loc.col, "unknown set '@" QF "'",
				       QA(rl->v[j].name, strlen(rl->v[j].name)));
				continue;
			}
			set->used = true;
			if (!GROW(ps, pl.v, &pl.cap, pl.n + set->npeers))
				break;
			memcpy(pl.v + pl.n, set->peers, set->npeers * sizeof(*pl.v));
			pl.n += set->npeers;
		}
		pg_peers_normalize(pl.v, &pl.n, true);
		r->peers = pl.v;
		r->npeers = pl.n;
		if (!pl.n) {
			free(r->peers);
			r->peers = NULL;
		}
	}
	free(idx);
}

/* --- entry points ----------------------------------------------------------------------- */

void pg_policy_free(struct pg_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].peers);
	}
	free(p->rules);
	for (size_t i = 0; i < p->nsets; i++) {
		free(p->sets[i].name);
		free(p->sets[i].peers);
	}
	free(p->sets);
	for (size_t i = 0; i < p->nifaces; i++)
		free(p->ifaces[i]);
	free(p->ifaces);
	free(p->file);
	free(p);
}

int pg_policy_parse(const char *file, const char *text, size_t len, struct pg_policy **out,
		    struct pg_diags *d)
{
	struct parser ps = { .d = d, .errors_before = d->nerrors };
	size_t diag_start = d->n, errors_before = d->nerrors, pos = 0;
	struct pg_policy *p;
	char *copy = NULL;
	int err = 0;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->file = strdup(file ? file : "<policy>");
	/* The lexer writes into a line; work on a private copy of the text. */
	copy = malloc(len + 1);
	if (!p->file || !copy) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	p->mode = PG_MODE_ENFORCE;
	p->default_in = PG_DEFAULT_DENY;
	p->default_out = PG_DEFAULT_ALLOW;
	ps.p = p;

	for (;;) {
		char *nl = memchr(copy + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - copy) : len;

		if (ps.line < INT_MAX)
			ps.line++;
		if (!lex_line(&ps, copy + pos, end - pos))
			parse_statement(&ps);
		if (ps.stop)
			break;
		if (ps.oom) {
			err = -ENOMEM;
			goto out;
		}
		if (!nl)
			break;
		pos = end + 1;
	}
	expand_sets(&ps);
	if (ps.oom) {
		err = -ENOMEM;
		goto out;
	}
	if (d->nerrors == errors_before) {
		err = pg_policy_lint(p, d);
		if (err)
			goto out;
	}
	pg_diags_sort(d, diag_start);
	if (d->nerrors != errors_before)
		err = -EINVAL;
out:
	if (ps.rule_refs)
		for (size_t i = 0; i < p->nrules; i++)
			free_refs(&ps.rule_refs[i]);
	free(ps.rule_refs);
	free(ps.iface_locs);
	free(ps.toks);
	free(ps.arena);
	free(copy);
	if (err) {
		pg_policy_free(p);
		return err;
	}
	*out = p;
	return 0;
}

int pg_policy_load(const char *path, struct pg_policy **out, struct pg_diags *d)
{
	struct pg_loc loc = { path, 0, 0 };
	char *buf = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	err = pg_policy_read_text(path, &buf, &len);
	if (err) {
		if (pg_diag_add(d, &loc, false, "failed to read policy: %s",
				pg_policy_read_strerror(err)))
			return -ENOMEM;
		return -EINVAL;
	}
	err = pg_policy_parse(!strcmp(path, "-") ? "<stdin>" : path, buf, len, out, d);
	free(buf);
	return err;
}

bool pg_policy_equal(const struct pg_policy *a, const struct pg_policy *b)
{
	if (a->mode != b->mode || a->default_in != b->default_in ||
	    a->default_out != b->default_out || a->deny_raw != b->deny_raw ||
	    a->deny_raw_dry_run != b->deny_raw_dry_run || a->nifaces != b->nifaces ||
	    a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nifaces; i++)
		if (strcmp(a->ifaces[i], b->ifaces[i]))
			return false;
	for (size_t i = 0; i < a->nrules; i++) {
		const struct pg_rule *x = &a->rules[i], *y = &b->rules[i];

		if (x->kind != y->kind || x->dir != y->dir || x->protos != y->protos ||
		    x->log != y->log || x->dry_run != y->dry_run || x->nports != y->nports ||
		    x->npeers != y->npeers)
			return false;
		for (size_t j = 0; j < x->nports; j++)
			if (x->ports[j].lo != y->ports[j].lo || x->ports[j].hi != y->ports[j].hi)
				return false;
		for (size_t j = 0; j < x->npeers; j++)
			if (memcmp(x->peers[j].addr, y->peers[j].addr, 16) ||
			    x->peers[j].prefixlen != y->peers[j].prefixlen ||
			    x->peers[j].v4 != y->peers[j].v4)
				return false;
	}
	return true;
}
