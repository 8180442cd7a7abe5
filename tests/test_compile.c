// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/compile.c: port classes, the effective verdict of every trie entry, and
 * the datapath emulation (pg_compiled_lookup).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>

#include "harness.h"
#include "compile.h"

/* ---- building policies by hand ---- */

static struct pg_policy *pol_new(void)
{
	struct pg_policy *p = calloc(1, sizeof(*p));

	if (!p)
		exit(PG_EXIT_FAIL);
	p->file = strdup("t.policy");
	p->default_in = PG_DEFAULT_DENY;
	p->default_out = PG_DEFAULT_ALLOW;
	return p;
}

static void pol_free(struct pg_policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].peers);
	}
	free(p->rules);
	free(p->file);
	free(p);
}

/* "1.2.3.4", "198.18.0.0/15", "2001:db8::/32", "any" into the mapped form. */
static struct pg_peer peer(const char *s)
{
	struct pg_peer pe = { .prefixlen = 128 };
	char buf[64], *slash;
	unsigned i;

	if (!strcmp(s, "any"))
		return (struct pg_peer){ 0 };
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, pe.addr + 12) == 1) {
		pe.addr[10] = pe.addr[11] = 0xff;
		pe.v4 = true;
		pe.prefixlen = 96 + (slash ? atoi(slash) : 32);
	} else if (inet_pton(AF_INET6, buf, pe.addr) == 1) {
		pe.prefixlen = slash ? atoi(slash) : 128;
	} else {
		printf("# bad peer %s\n", s);
		exit(PG_EXIT_FAIL);
	}
	for (i = pe.prefixlen; i < 128; i++)
		pe.addr[i / 8] &= ~(0x80 >> (i % 8));
	return pe;
}

static const __u8 *addr(const char *s)
{
	static __u8 a[8][16];
	static int n;
	struct pg_peer pe = peer(s);

	n = (n + 1) % 8;
	memcpy(a[n], pe.addr, 16);
	return a[n];
}

/* ports: "80,1000-2000"; peers: NULL (any) or "10.0.0.0/8,2001:db8::/32" */
static struct pg_rule *rule(struct pg_policy *p, enum pg_rule_kind kind, enum pg_dir dir,
			    unsigned protos, const char *ports, const char *peers)
{
	struct pg_rule *r;
	char buf[512], *tok, *save;

	p->rules = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->dir = kind == PG_RULE_LOCAL ? PG_DIR_IN : dir;
	r->protos = protos;
	r->loc = (struct pg_loc){ .file = p->file, .line = (int)p->nrules + 10, .col = 1 };
	snprintf(buf, sizeof(buf), "%s", ports);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');

		r->ports = realloc(r->ports, (r->nports + 1) * sizeof(*r->ports));
		r->ports[r->nports].lo = atoi(tok);
		r->ports[r->nports].hi = dash ? atoi(dash + 1) : atoi(tok);
		r->nports++;
	}
	if (peers) {
		snprintf(buf, sizeof(buf), "%s", peers);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			r->peers = realloc(r->peers, (r->npeers + 1) * sizeof(*r->peers));
			r->peers[r->npeers++] = peer(tok);
		}
	}
	return r;
}

#define TCP PG_PROTO_TCP
#define UDP PG_PROTO_UDP
#define IN PG_DIR_IN
#define OUT PG_DIR_OUT

static struct pg_verdict look(const struct pg_compiled *c, enum pg_dir dir,
			      enum pg_proto_idx pidx, __u16 port, const char *peer_s)
{
	struct pg_verdict v;

	pg_compiled_lookup(c, dir, pidx, port, addr(peer_s), &v);
	return v;
}

#define ASSERT_VERDICT(c, dir, pidx, port, peer_s, act, slot, fl)                          \
	do {                                                                             \
		struct pg_verdict _v = look(c, dir, pidx, port, peer_s);                 \
		EXPECT_EQ(act, _v.action);                                               \
		EXPECT_EQ(slot, _v.rule_id);                                             \
		EXPECT_EQ(fl, _v.flags);                                                 \
	} while (0)

#define R(i) (PG_RULE_FIRST + (i))

/* ---- classes ---- */

static __u32 class_at(const struct pg_compiled *c, int dir, int pidx, int port)
{
	size_t i;

	for (i = 0; i < c->nports; i++)
		if (c->ports[i].index == pg_port_index(c->gen, dir, pidx, port))
			return c->ports[i].val.class_id;
	return 0;
}

TEST(classes_share_same_rule_sets)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "80,443,1000-1010", NULL);   /* A */
	rule(p, PG_RULE_ALLOW, IN, TCP, "443,1005-1020", "198.18.0.0/15"); /* B */
	rule(p, PG_RULE_ALLOW, IN, TCP | UDP, "53", NULL);			/* C */
	ASSERT_EQ(0, pg_compile(p, 0, &c));

	/* {A}: 80, 1000-1004; {A,B}: 443, 1005-1010; {B}: 1011-1020; {C}: tcp and udp 53 */
	EXPECT_EQ(4, c.nclasses);
	EXPECT_EQ(1 + 1 + 5 + 6 + 10 + 2, c.nports);
	EXPECT_NE(0, class_at(&c, IN, PG_PIDX_TCP, 80));
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 80), class_at(&c, IN, PG_PIDX_TCP, 1004));
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 443), class_at(&c, IN, PG_PIDX_TCP, 1005));
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 443), class_at(&c, IN, PG_PIDX_TCP, 1010));
	EXPECT_NE(class_at(&c, IN, PG_PIDX_TCP, 80), class_at(&c, IN, PG_PIDX_TCP, 443));
	EXPECT_NE(class_at(&c, IN, PG_PIDX_TCP, 1010), class_at(&c, IN, PG_PIDX_TCP, 1011));
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 1011), class_at(&c, IN, PG_PIDX_TCP, 1020));
	/* tcp,udp 53 is one rule set, so one class for both protocols */
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 53), class_at(&c, IN, PG_PIDX_UDP, 53));
	EXPECT_EQ(0, class_at(&c, IN, PG_PIDX_TCP, 79));
	EXPECT_EQ(0, class_at(&c, IN, PG_PIDX_TCP, 1021));
	EXPECT_EQ(0, class_at(&c, OUT, PG_PIDX_TCP, 80));
	EXPECT_EQ(0, class_at(&c, IN, PG_PIDX_UDP, 80));
	/* port entries sorted by index: lookup relies on it */
	for (size_t i = 1; i < c.nports; i++)
		ASSERT_LT(c.ports[i - 1].index, c.ports[i].index);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(class_ids_carry_the_generation)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c0, c1;

	rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	ASSERT_EQ(0, pg_compile(p, 0, &c0));
	ASSERT_EQ(0, pg_compile(p, 1, &c1));
	ASSERT_EQ(1, c0.nports);
	ASSERT_EQ(1, c1.nports);
	EXPECT_EQ(pg_port_index(0, IN, PG_PIDX_TCP, 22), c0.ports[0].index);
	EXPECT_EQ(pg_port_index(1, IN, PG_PIDX_TCP, 22), c1.ports[0].index);
	EXPECT_NE(0, c0.ports[0].val.class_id);
	EXPECT_NE(c0.ports[0].val.class_id, c1.ports[0].val.class_id);
	EXPECT_EQ(1u << PG_CLASS_GEN_SHIFT, c1.ports[0].val.class_id & (1u << PG_CLASS_GEN_SHIFT));
	ASSERT_EQ(1, c1.npeers);
	EXPECT_EQ(htonl(c1.ports[0].val.class_id), c1.peers[0].key.class_id);
	EXPECT_EQ(32, c1.peers[0].key.prefixlen);
	EXPECT_EQ(-EINVAL, pg_compile(p, 2, &c1));
	pg_compiled_free(&c0);
	pg_compiled_free(&c1);
	pol_free(p);
}

TEST(full_port_range_is_not_quadratic)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_DENY, OUT, TCP | UDP, "1-65535", "198.18.0.1");
	rule(p, PG_RULE_ALLOW, OUT, TCP, "65535", NULL);
	ASSERT_EQ(0, pg_compile(p, 1, &c));
	EXPECT_EQ(2 * 65535, c.nports);
	EXPECT_EQ(2, c.nclasses);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_UDP, 65535, "198.18.0.1", PG_ACT_DENY, R(0), 0);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_TCP, 65535, "198.18.0.2", PG_ACT_ALLOW, R(1), 0);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_TCP, 1, "198.18.0.2", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_OUT, 0);
	pg_compiled_free(&c);
	pol_free(p);
}

/* ---- precedence ---- */

TEST(deny_inside_allow_cidr)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "5432", "198.18.0.0/15");
	rule(p, PG_RULE_DENY, IN, TCP, "5432", "198.18.7.0/24");
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "198.18.6.1", PG_ACT_ALLOW, R(0), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "198.18.7.1", PG_ACT_DENY, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "198.20.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_UDP, 5432, "198.18.6.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(allow_inside_deny_cidr)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "22", "198.18.7.7");
	rule(p, PG_RULE_DENY, IN, TCP, "22", "198.18.0.0/16");
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	/* deny wins even where a narrower allow covers: precedence, not specificity */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 22, "198.18.7.7", PG_ACT_DENY, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 22, "198.18.7.8", PG_ACT_DENY, R(1), 0);
	/* the /128 entry says what its parent says, so it is not written */
	EXPECT_EQ(1, c.npeers);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(local_and_allow_overlap)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct pg_verdict v;

	rule(p, PG_RULE_ALLOW, IN, TCP, "8000-8100", NULL);
	rule(p, PG_RULE_LOCAL, IN, TCP, "8090", NULL);
	rule(p, PG_RULE_DENY, IN, TCP, "8090", "198.18.9.0/24");
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8089, "198.18.0.1", PG_ACT_ALLOW, R(0), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8090, "198.18.0.1", PG_ACT_LOCAL, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8090, "127.0.0.1", PG_ACT_LOCAL, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8090, "::1", PG_ACT_LOCAL, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8090, "198.18.9.9", PG_ACT_DENY, R(2), 0);
	EXPECT_EQ(PG_PORT_LOCAL, pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 8090,
						      addr("127.0.0.1"), &v));
	EXPECT_EQ(0, pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 8091, addr("127.0.0.1"), &v));
	EXPECT_EQ(0, pg_compiled_lookup(&c, IN, PG_PIDX_UDP, 8090, addr("127.0.0.1"), &v));
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(local_dry_run_port_flags)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct pg_verdict v;

	rule(p, PG_RULE_LOCAL, IN, TCP, "9000-9010", NULL)->dry_run = true;
	rule(p, PG_RULE_LOCAL, IN, TCP, "9005", NULL);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	EXPECT_EQ(PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN,
		  pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 9000, addr("198.18.0.1"), &v));
	EXPECT_EQ(PG_ACT_LOCAL, v.action);
	EXPECT_EQ(PG_VF_DRY_RUN, v.flags);
	/* an enforcing local on the same port wins: the port is enforced */
	EXPECT_EQ(PG_PORT_LOCAL,
		  pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 9005, addr("198.18.0.1"), &v));
	EXPECT_EQ(R(1), v.rule_id);
	EXPECT_EQ(0, v.flags);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(dry_run_denies)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "443", NULL);
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.0.0/16")->dry_run = true;
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.1.0/24");
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.1.0/24")->dry_run = true;
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 443, "198.19.0.1", PG_ACT_ALLOW, R(0), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 443, "198.18.2.1", PG_ACT_DENY, R(1),
		       PG_VF_DRY_RUN);
	/* the enforcing deny wins over both dry-run ones, whatever their order */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 443, "198.18.1.1", PG_ACT_DENY, R(2), 0);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(log_allows)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, OUT, UDP, "53", NULL);
	rule(p, PG_RULE_ALLOW, OUT, UDP, "53", "2001:db8::/32")->log = true;
	rule(p, PG_RULE_ALLOW, OUT, UDP, "53", "2001:db8:1::/48")->log = true;
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	ASSERT_VERDICT(&c, OUT, PG_PIDX_UDP, 53, "2001:db9::1", PG_ACT_ALLOW, R(0), 0);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_UDP, 53, "2001:db8::1", PG_ACT_ALLOW, R(1), PG_VF_LOG);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_UDP, 53, "2001:db8:1::1", PG_ACT_ALLOW, R(1),
		       PG_VF_LOG);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(families_and_any)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "80", "0.0.0.0/0");
	rule(p, PG_RULE_DENY, IN, TCP, "80", "::/0");
	rule(p, PG_RULE_ALLOW, IN, TCP, "81", "2001:db8::/32");
	rule(p, PG_RULE_ALLOW, IN, TCP, "82", "any");
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	/* ::/0 is any: it covers IPv4-mapped addresses too */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 80, "198.18.0.1", PG_ACT_DENY, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 80, "2001:db8::1", PG_ACT_DENY, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 81, "198.18.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 81, "2001:db8::1", PG_ACT_ALLOW, R(2), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 82, "198.18.0.1", PG_ACT_ALLOW, R(3), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 82, "2001:db8::1", PG_ACT_ALLOW, R(3), 0);
	pg_compiled_free(&c);
	pol_free(p);
}

/* ---- metadata, config, limits ---- */

TEST(meta_and_config)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	p->mode = PG_MODE_DRY_RUN;
	p->deny_raw = true;
	p->deny_raw_loc = (struct pg_loc){ .file = p->file, .line = 3, .col = 1 };
	rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	EXPECT_EQ(PG_MODE_DRY_RUN, c.config.mode);
	EXPECT_EQ(PG_DEFAULT_DENY, c.config.default_in);
	EXPECT_EQ(PG_DEFAULT_ALLOW, c.config.default_out);
	EXPECT_EQ(1, c.config.deny_raw);
	EXPECT_EQ(0, c.config.deny_raw_dry_run);
	EXPECT_EQ(1, c.config.events);
	EXPECT_EQ(PG_COMPILE_EVENTS_PER_SEC, c.config.events_per_sec);
	EXPECT_EQ(PG_COMPILE_RATELIMIT_NS, c.config.ratelimit_ns);
	ASSERT_EQ(PG_RULE_FIRST + 1, c.nmeta);
	EXPECT_EQ(R(0), c.rule_slot[0]);
	EXPECT_STREQ("default in", c.meta[PG_RULE_DEFAULT_IN].src);
	EXPECT_STREQ("default out", c.meta[PG_RULE_DEFAULT_OUT].src);
	EXPECT_STREQ("t.policy:3", c.meta[PG_RULE_DENY_RAW].src);
	EXPECT_STREQ("t.policy:11", c.meta[R(0)].src);
	EXPECT_STREQ("allow in tcp 22", c.meta[R(0)].text);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(too_many_rules)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	size_t i;

	for (i = 0; i < PG_MAX_RULES - PG_RULE_FIRST; i++)
		rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	EXPECT_EQ(1, c.nclasses);
	EXPECT_EQ(1, c.npeers);
	pg_compiled_free(&c);
	rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	ASSERT_EQ(-E2BIG, pg_compile(p, 0, &c));
	EXPECT_EQ(0, c.nports);
	pol_free(p);
}

TEST(too_many_peer_entries)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct pg_rule *r;
	size_t i, n = PG_MAX_PEER_ENTRIES / 2 / 4 + 1;

	/* One rule with n host peers: n entries, within one generation's share. */
	r = rule(p, PG_RULE_ALLOW, IN, TCP, "1-4", NULL);
	r->peers = calloc(n, sizeof(*r->peers));
	for (i = 0; i < n; i++) {
		r->peers[i] = peer("2001:db8::");
		r->peers[i].addr[13] = i >> 16;
		r->peers[i].addr[14] = i >> 8;
		r->peers[i].addr[15] = i;
	}
	r->npeers = n;
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	EXPECT_EQ(n, c.npeers);
	pg_compiled_free(&c);
	/* Three more rules split its ports into 4 classes that each need all n peers. */
	rule(p, PG_RULE_ALLOW, IN, TCP, "2", NULL);
	rule(p, PG_RULE_ALLOW, IN, TCP, "3", NULL);
	rule(p, PG_RULE_ALLOW, IN, TCP, "4", NULL);
	ASSERT_EQ(-E2BIG, pg_compile(p, 0, &c));
	EXPECT_EQ(0, c.npeers);
	pol_free(p);
}

TEST_MAIN()
