// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/policy/compile.c: port classes, the effective verdict of every trie entry, and
 * the datapath emulation (pg_compiled_lookup).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"
#include "decide_ref.h"
#include "policy/compile.h"
#include "common/addr.h"
#include "policy/evaluate.h"

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
/* The port flags' local rule field (include/portguard.h) naming rule i. */
#define LOCAL_RULE(i) ((__u32)R(i) << PG_PORT_LOCAL_RULE_SHIFT)

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

	rule(p, PG_RULE_ALLOW, IN, TCP, "22", "198.18.0.0/15");
	ASSERT_EQ(0, pg_compile(p, 0, &c0));
	ASSERT_EQ(0, pg_compile(p, 1, &c1));
	ASSERT_EQ(1, c0.nports);
	ASSERT_EQ(1, c1.nports);
	EXPECT_EQ(pg_port_index(0, IN, PG_PIDX_TCP, 22), c0.ports[0].index);
	EXPECT_EQ(pg_port_index(1, IN, PG_PIDX_TCP, 22), c1.ports[0].index);
	EXPECT_NE(0, c0.ports[0].val.class_id);
	EXPECT_NE(c0.ports[0].val.class_id, c1.ports[0].val.class_id);
	EXPECT_EQ(0, pg_class_id_gen(c0.ports[0].val.class_id));
	EXPECT_EQ(1, pg_class_id_gen(c1.ports[0].val.class_id));
	/* the prefix is keyed by its generation; its group and the (class, group) entry carry
	 * the generation too */
	ASSERT_EQ(1, c1.npeers);
	EXPECT_EQ(1, c1.peers[0].key.gen);
	EXPECT_EQ(96 + 15, c1.peers[0].key.prefixlen);
	/* a /15 is expanded into its two /16 buckets, not probed */
	EXPECT_EQ(0, pg_compiled_probed(&c1.peers[0].key));
	EXPECT_EQ(c1.peers[0].val.group, c1.buckets[198 << 8 | 18].group);
	EXPECT_EQ(c1.peers[0].val.group, c1.buckets[198 << 8 | 19].group);
	EXPECT_EQ(0, c1.buckets[198 << 8 | 20].group);
	EXPECT_EQ(1, pg_class_id_gen(c1.peers[0].val.group));
	EXPECT_EQ(0, pg_class_id_gen(c0.peers[0].val.group));
	ASSERT_EQ(1, c1.ncpeers);
	EXPECT_EQ(c1.ports[0].val.class_id, c1.cpeers[0].key.class_id);
	EXPECT_EQ(c1.peers[0].val.group, c1.cpeers[0].key.group);
	EXPECT_EQ(PG_PORT_PEERS, c1.ports[0].val.flags & PG_PORT_PEERS);
	EXPECT_EQ(-EINVAL, pg_compile(p, 2, &c1));
	pg_compiled_free(&c0);
	pg_compiled_free(&c1);
	pol_free(p);
}

/* What include/portguard.h says of the peer structure: a group that changes at most
 * PG_PEER_INLINE classes carries their verdicts in its probed entries, complete; IPv6 lengths
 * under a /16 are listed in its bucket until a /17-/32 prefix makes it deep, and only deep
 * /16s keep /32 buckets. */
static const struct pg_peer_val *peer_val(const struct pg_compiled *c, const char *cidr)
{
	struct pg_peer pe = peer(cidr);
	struct pg_peer_key k = { .gen = c->gen, .prefixlen = pe.prefixlen };

	memcpy(k.addr, pe.addr, 16);
	for (size_t i = 0; i < c->npeers; i++)
		if (!memcmp(&c->peers[i].key, &k, sizeof(k)))
			return &c->peers[i].val;
	return NULL;
}

TEST(peer_entries_inline_verdicts_and_ipv6_buckets)
{
	struct pg_policy *p = pol_new();
	const struct pg_peer_val *v;
	struct pg_compiled c;

	rule(p, PG_RULE_ALLOW, IN, TCP, "22", "198.18.5.1");
	rule(p, PG_RULE_ALLOW, IN, TCP, "80", "198.18.6.1");
	rule(p, PG_RULE_ALLOW, IN, TCP, "81", "198.18.6.1");
	rule(p, PG_RULE_ALLOW, IN, UDP, "53", "198.18.6.1");
	rule(p, PG_RULE_ALLOW, IN, TCP, "443", "2001:db8:1:2::/64");
	ASSERT_EQ(0, pg_compile(p, 1, &c));
	v = peer_val(&c, "198.18.5.1/32");
	ASSERT_TRUE(v != NULL);
	EXPECT_EQ(1, v->complete);
	EXPECT_EQ(1, v->ninline);
	EXPECT_EQ(class_at(&c, IN, PG_PIDX_TCP, 22), v->class_id[0]);
	EXPECT_EQ(PG_ACT_ALLOW, v->verdict[0].action);
	EXPECT_EQ(c.rule_slot[0], v->verdict[0].rule_id);
	v = peer_val(&c, "198.18.6.1/32");
	ASSERT_TRUE(v != NULL);
	EXPECT_EQ(0, v->complete);
	EXPECT_EQ(0, c.buckets[65536 + 0x2001].deep);
	EXPECT_EQ(1, c.buckets[65536 + 0x2001].nlens);
	EXPECT_EQ(64, c.buckets[65536 + 0x2001].lens[0]);
	EXPECT_EQ(0, c.nb32);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 22, "198.18.5.1", PG_ACT_ALLOW, c.rule_slot[0], 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 80, "198.18.5.1", PG_ACT_DEFAULT, PG_RULE_DEFAULT_IN,
		       0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_UDP, 53, "198.18.6.1", PG_ACT_ALLOW, c.rule_slot[3], 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 443, "2001:db8:1:2::5", PG_ACT_ALLOW, c.rule_slot[4],
		       0);
	pg_compiled_free(&c);

	rule(p, PG_RULE_ALLOW, IN, TCP, "8443", "2001:db8::/32");
	ASSERT_EQ(0, pg_compile(p, 1, &c));
	EXPECT_EQ(1, c.buckets[65536 + 0x2001].deep);
	EXPECT_EQ(1, c.nb32);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 443, "2001:db8:1:2::5", PG_ACT_ALLOW, c.rule_slot[4],
		       0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 8443, "2001:db8:ffff::1", PG_ACT_ALLOW,
		       c.rule_slot[5], 0);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(full_port_range_compiles)
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
	/* two prefixes, two groups ({deny's set}, {both sets}), each changing the class */
	EXPECT_EQ(2, c.npeers);
	EXPECT_EQ(2, c.ncpeers);
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
	EXPECT_EQ(PG_PORT_LOCAL | LOCAL_RULE(1),
		  pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 8090, addr("127.0.0.1"), &v));
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

	rule(p, PG_RULE_ALLOW, IN, TCP, "9000-9020", NULL);
	rule(p, PG_RULE_LOCAL, IN, TCP, "9000-9010", NULL)->dry_run = true;
	rule(p, PG_RULE_LOCAL, IN, TCP, "9005", NULL);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	/* trying out `local` on an open port: off-host traffic is reported, let through */
	EXPECT_EQ(PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN | LOCAL_RULE(1),
		  pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 9000, addr("198.18.0.1"), &v));
	EXPECT_EQ(PG_ACT_LOCAL, v.action);
	EXPECT_EQ(R(1), v.rule_id);
	EXPECT_EQ(PG_VF_DRY_RUN, v.flags);
	/* loopback is what the allow let through, and the dry-run local would too */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 9000, "127.0.0.1", PG_ACT_ALLOW, R(0), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 9000, "::1", PG_ACT_ALLOW, R(0), 0);
	/* an enforcing local on the same port wins: the port is enforced, and named by it */
	EXPECT_EQ(PG_PORT_LOCAL | LOCAL_RULE(2),
		  pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 9005, addr("198.18.0.1"), &v));
	EXPECT_EQ(R(2), v.rule_id);
	EXPECT_EQ(0, v.flags);
	EXPECT_EQ(0, pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 9011, addr("198.18.0.1"), &v));
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(dry_run_rules_never_open_what_is_blocked)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;

	rule(p, PG_RULE_DENY, IN, TCP, "23", NULL)->dry_run = true;		     /* 0 */
	rule(p, PG_RULE_LOCAL, IN, TCP, "5432", NULL);				     /* 1 */
	rule(p, PG_RULE_DENY, IN, TCP, "5432", "198.18.0.0/16")->dry_run = true;    /* 2 */
	rule(p, PG_RULE_DENY, IN, TCP, "5432", "127.0.0.0/8")->dry_run = true;	     /* 3 */
	rule(p, PG_RULE_LOCAL, IN, UDP, "9", NULL)->dry_run = true;		     /* 4 */
	rule(p, PG_RULE_DENY, OUT, TCP, "25", "198.18.0.0/15")->dry_run = true;     /* 5 */
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	/* default in deny closes 23 and udp 9 whatever the dry-run rules say */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 23, "198.18.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_UDP, 9, "198.18.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	/* the enforcing local blocks off-host peers, the dry-run deny under it included */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "198.18.0.1", PG_ACT_LOCAL, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "198.19.0.1", PG_ACT_LOCAL, R(1), 0);
	/* loopback passes the local rule, so the dry-run deny on loopback reports it */
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "127.0.0.1", PG_ACT_DENY, R(3),
		       PG_VF_DRY_RUN);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 5432, "::1", PG_ACT_LOCAL, R(1), 0);
	/* default out allow: here the dry-run deny is what would change, so it reports */
	ASSERT_VERDICT(&c, OUT, PG_PIDX_TCP, 25, "198.18.0.1", PG_ACT_DENY, R(5), PG_VF_DRY_RUN);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_TCP, 25, "198.20.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_OUT, 0);
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
	EXPECT_EQ(0, c.npeers); /* from any: the verdict is the port slot's */
	pg_compiled_free(&c);
	rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	ASSERT_EQ(-E2BIG, pg_compile(p, 0, &c));
	EXPECT_EQ(0, c.nports);
	pol_free(p);
}

/* n distinct IPv6 hosts under 2001:db8::/32 */
static void host_peers(struct pg_rule *r, size_t n)
{
	r->peers = calloc(n, sizeof(*r->peers));
	for (size_t i = 0; i < n; i++) {
		r->peers[i] = peer("2001:db8::");
		r->peers[i].addr[12] = i >> 24;
		r->peers[i].addr[13] = i >> 16;
		r->peers[i].addr[14] = i >> 8;
		r->peers[i].addr[15] = i;
	}
	r->npeers = n;
}

TEST(a_set_on_many_ports_is_stored_once)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct pg_rule *r;
	size_t n = 100000;
	char port[16];

	/* the blocklist on every port, as blocklists are written, under many port rules */
	r = rule(p, PG_RULE_DENY, IN, TCP | UDP, "1-65535", NULL);
	host_peers(r, n);
	for (int i = 0; i < 1000; i++) {
		snprintf(port, sizeof(port), "%d", 1000 + i);
		rule(p, PG_RULE_ALLOW, IN, TCP, port, i % 2 ? NULL : "198.18.0.0/15");
	}
	/* the same list again, written inline on another rule: still one set */
	r = rule(p, PG_RULE_DENY, OUT, TCP, "25", NULL);
	host_peers(r, n);
	ASSERT_EQ(0, pg_compile(p, 1, &c));
	printf("# %zu classes, %zu prefixes, %zu groups, %zu class peer entries\n", c.nclasses,
	       c.npeers, c.ngroups, c.ncpeers);
	/* tcp 1000-1999 one each; every other tcp and udp port {the blocklist}; out tcp 25 */
	EXPECT_EQ(1000 + 1 + 1, c.nclasses);
	EXPECT_EQ(n + 1, c.npeers);
	EXPECT_EQ(2, c.ngroups);
	/* one entry per class for the blocklist, one per 198.18.0.0/15 class */
	EXPECT_EQ(1002 + 500, c.ncpeers);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 1000, "2001:db8::77", PG_ACT_DENY, R(0), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 1000, "198.18.0.1", PG_ACT_ALLOW, R(1), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_TCP, 1001, "198.20.0.1", PG_ACT_ALLOW, R(2), 0);
	ASSERT_VERDICT(&c, IN, PG_PIDX_UDP, 1001, "198.20.0.1", PG_ACT_DEFAULT,
		       PG_RULE_DEFAULT_IN, 0);
	ASSERT_VERDICT(&c, OUT, PG_PIDX_TCP, 25, "2001:db8::77", PG_ACT_DENY, R(1001), 0);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(too_many_prefixes_is_an_error_at_the_rule)
{
	struct pg_policy *p = pol_new();
	struct pg_diags d = { 0 };
	struct pg_compiled c;
	struct pg_rule *r;

	/* a million prefixes in one set fit */
	rule(p, PG_RULE_ALLOW, IN, TCP, "22", NULL);
	r = rule(p, PG_RULE_DENY, IN, TCP, "1-4", NULL);
	host_peers(r, 1000000);
	ASSERT_EQ(0, pg_compile_diag(p, 0, &c, &d));
	EXPECT_EQ(1000000, c.npeers);
	EXPECT_EQ(0, d.n);
	pg_compiled_free(&c);
	/* one more list that does not fit: the error is at its rule and names the limit */
	r = rule(p, PG_RULE_DENY, IN, TCP, "5", NULL);
	host_peers(r, PG_MAX_PREFIXES - 1000000 - 1);
	r->peers[0] = peer("198.18.0.1"); /* another list than rule 1's */
	ASSERT_EQ(-E2BIG, pg_compile_diag(p, 0, &c, &d));
	EXPECT_EQ(0, c.npeers);
	ASSERT_EQ(1, d.n);
	EXPECT_EQ(r->loc.line, d.v[0].loc.line);
	printf("# %d: %s\n", d.v[0].loc.line, d.v[0].msg);
	EXPECT_TRUE(strstr(d.v[0].msg, "PG_MAX_PREFIXES") != NULL);
	pg_diags_free(&d);
	/* without it, the same list on more rules and ports costs nothing more */
	r->npeers = 0;
	free(r->peers);
	r->peers = NULL;
	r = rule(p, PG_RULE_DENY, OUT, TCP | UDP, "1-65535", NULL);
	host_peers(r, 1000000);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	EXPECT_EQ(1000000, c.npeers);
	pg_compiled_free(&c);
	pol_free(p);
}

/* ---- the reference evaluator ---- */

TEST(addr_parse)
{
	__u8 a[16], v4[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 7 };
	__u8 v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	ASSERT_EQ(0, pg_addr_parse("203.0.113.7", a));
	EXPECT_EQ(0, memcmp(v4, a, 16));
	ASSERT_EQ(0, pg_addr_parse("::ffff:203.0.113.7", a));
	EXPECT_EQ(0, memcmp(v4, a, 16));
	ASSERT_EQ(0, pg_addr_parse("2001:db8::1", a));
	EXPECT_EQ(0, memcmp(v6, a, 16));
	EXPECT_EQ(-EINVAL, pg_addr_parse("203.0.113", a));
	EXPECT_EQ(-EINVAL, pg_addr_parse("203.0.113.7/32", a));
	EXPECT_EQ(-EINVAL, pg_addr_parse("", a));
	EXPECT_EQ(-EINVAL, pg_addr_parse("any", a));
	EXPECT_TRUE(pg_addr_loopback(addr("127.0.0.1")));
	EXPECT_TRUE(pg_addr_loopback(addr("127.255.0.9")));
	EXPECT_TRUE(pg_addr_loopback(addr("::1")));
	EXPECT_FALSE(pg_addr_loopback(addr("128.0.0.1")));
	EXPECT_FALSE(pg_addr_loopback(addr("::2")));
	EXPECT_FALSE(pg_addr_loopback(addr("::127.0.0.1")));
}

static struct pg_eval eval(const struct pg_policy *p, enum pg_dir dir, enum pg_proto_idx pidx,
			   __u16 port, const char *peer_s)
{
	struct pg_eval r;

	if (pg_policy_evaluate(p, dir, pidx, port, addr(peer_s), &r))
		exit(PG_EXIT_FAIL);
	return r;
}

TEST(evaluate_reasons_and_why)
{
	struct pg_policy *p = pol_new();
	struct pg_eval r;

	rule(p, PG_RULE_ALLOW, IN, TCP, "5432", "198.18.0.0/15");		/* 0 */
	rule(p, PG_RULE_LOCAL, IN, TCP, "5432", NULL);				/* 1 */
	rule(p, PG_RULE_DENY, IN, TCP, "5432", "198.18.9.0/24")->dry_run = true; /* 2 */
	rule(p, PG_RULE_ALLOW, IN, TCP, "443", NULL);				/* 3 */
	rule(p, PG_RULE_ALLOW, IN, TCP, "443", "198.18.0.0/16")->log = true;	/* 4, line 15 */
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.5.0/24")->dry_run = true;	/* 5 */
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.6.0/24");			/* 6 */
	rule(p, PG_RULE_DENY, IN, TCP, "443", "198.18.6.6");			/* 7 */

	r = eval(p, IN, PG_PIDX_TCP, 5432, "198.18.1.1");
	EXPECT_EQ(PG_ACT_LOCAL, r.action);
	EXPECT_EQ(PG_R_LOCAL_ONLY, r.reason);
	EXPECT_EQ(R(1), r.rule_slot);
	EXPECT_TRUE(r.drop);
	EXPECT_FALSE(r.dry_run);
	EXPECT_TRUE(r.port_local);
	EXPECT_EQ(2, r.ncovering);
	EXPECT_STREQ("local: only loopback may reach this port; local takes precedence over allow",
		     r.why);
	pg_eval_free(&r);

	r = eval(p, IN, PG_PIDX_TCP, 5432, "127.0.0.1");
	EXPECT_EQ(PG_R_PASS_LOOPBACK, r.reason);
	EXPECT_FALSE(r.drop);
	EXPECT_EQ(1, r.ncovering);
	EXPECT_STREQ("local: only loopback may reach this port, and this peer is loopback; "
		     "it is the only rule that covers this traffic", r.why);
	pg_eval_free(&r);

	/* a dry-run deny under an enforcing local: the local still blocks */
	r = eval(p, IN, PG_PIDX_TCP, 5432, "198.18.9.1");
	EXPECT_EQ(PG_ACT_LOCAL, r.action);
	EXPECT_EQ(PG_R_LOCAL_ONLY, r.reason);
	EXPECT_EQ(R(1), r.rule_slot);
	EXPECT_EQ(0, r.flags);
	EXPECT_TRUE(r.drop);
	EXPECT_FALSE(r.dry_run);
	EXPECT_EQ(3, r.ncovering);
	EXPECT_STREQ("local: only loopback may reach this port; local takes precedence over allow; "
		     "dry-run rules only report, they never let through what the rest blocks",
		     r.why);
	pg_eval_free(&r);

	r = eval(p, IN, PG_PIDX_TCP, 443, "198.18.0.1");
	EXPECT_EQ(PG_R_PASS_RULE, r.reason);
	EXPECT_EQ(R(4), r.rule_slot);
	EXPECT_TRUE(r.log);
	EXPECT_FALSE(r.port_local);
	EXPECT_STREQ("of 2 allow rules, the first with log decides, so the traffic is still logged",
		     r.why);
	pg_eval_free(&r);

	/* a dry-run deny over an allow: reported, let through */
	r = eval(p, IN, PG_PIDX_TCP, 443, "198.18.5.1");
	EXPECT_EQ(PG_ACT_DENY, r.action);
	EXPECT_EQ(PG_R_DENIED, r.reason);
	EXPECT_EQ(R(5), r.rule_slot);
	EXPECT_EQ(PG_VF_DRY_RUN, r.flags);
	EXPECT_TRUE(r.drop);
	EXPECT_TRUE(r.dry_run);
	EXPECT_FALSE(r.log);
	EXPECT_STREQ("the dry-run deny would block it: reported, let through; "
		     "without it, the allow at line 15 lets it through", r.why);
	pg_eval_free(&r);

	r = eval(p, IN, PG_PIDX_TCP, 443, "198.18.6.6");
	EXPECT_EQ(R(6), r.rule_slot);
	EXPECT_STREQ("deny takes precedence over allow; of 2 deny rules, the earliest enforcing "
		     "one decides", r.why);
	pg_eval_free(&r);

	r = eval(p, IN, PG_PIDX_TCP, 443, "2001:db8::1");
	EXPECT_EQ(R(3), r.rule_slot);
	EXPECT_FALSE(r.log);
	EXPECT_STREQ("it is the only rule that covers this traffic", r.why);
	pg_eval_free(&r);

	r = eval(p, IN, PG_PIDX_UDP, 443, "2001:db8::1");
	EXPECT_EQ(NULL, r.rule);
	EXPECT_EQ(PG_ACT_DEFAULT, r.action);
	EXPECT_EQ(PG_R_NOT_ALLOWED, r.reason);
	EXPECT_EQ(PG_RULE_DEFAULT_IN, r.rule_slot);
	EXPECT_TRUE(r.drop);
	EXPECT_STREQ("no rule covers it: `default in deny` decides", r.why);
	pg_eval_free(&r);

	p->mode = PG_MODE_DRY_RUN;
	r = eval(p, OUT, PG_PIDX_UDP, 443, "2001:db8::1");
	EXPECT_EQ(PG_R_PASS_DEFAULT, r.reason);
	EXPECT_EQ(PG_RULE_DEFAULT_OUT, r.rule_slot);
	EXPECT_FALSE(r.drop);
	EXPECT_FALSE(r.dry_run);
	pg_eval_free(&r);
	r = eval(p, IN, PG_PIDX_UDP, 443, "2001:db8::1");
	EXPECT_TRUE(r.drop);
	EXPECT_TRUE(r.dry_run);
	EXPECT_STREQ("no rule covers it: `default in deny` decides; "
		     "mode dry-run: reported, not blocked", r.why);
	pg_eval_free(&r);
	pol_free(p);
}

/* ---- randomized equivalence: compiled maps vs the reference evaluator ---- */

static __u64 rng_state;

static __u32 rnd(__u32 n)
{
	/* xorshift64*: deterministic, so that a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (__u32)((rng_state * 0x2545f4914f6cdd1dull) >> 32) % n;
}

/* Prefixes chosen to nest into each other, in both families, plus loopback and any. */
static const char *const pool[] = {
	"any", "0.0.0.0/0", "::/0", "198.18.0.0/15", "198.18.0.0/16", "198.18.1.0/24",
	"198.18.1.128/25", "198.18.1.7", "198.19.0.0/16", "127.0.0.0/8", "127.0.0.1",
	"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/64", "2001:db8:1::7", "::1",
	"2001:db8:2::/47", "::ffff:198.18.0.0/112",
};
/* Ports from a small universe so that rules overlap, plus the ends of the range. */
static const __u16 port_pool[] = { 1, 2, 3, 5, 8, 9, 10, 20, 21, 22, 65534, 65535 };

static struct pg_peer random_peer(void)
{
	struct pg_peer pe = peer(pool[rnd(sizeof(pool) / sizeof(*pool))]);
	unsigned i;

	/* Sometimes a random sub-prefix of it, to reach lengths the pool lacks. */
	if (rnd(3) == 0 && pe.prefixlen < 128) {
		unsigned len = pe.prefixlen + 1 + rnd(128 - pe.prefixlen);

		for (i = pe.prefixlen; i < len && i < 128; i++)
			if (rnd(2))
				pe.addr[i / 8] |= 0x80 >> (i % 8);
		pe.prefixlen = len;
	}
	return pe;
}

static void random_addr(__u8 a[16])
{
	struct pg_peer pe = random_peer();
	unsigned i;

	/* an address inside the prefix, its first, or a random one in the mapped space */
	memcpy(a, pe.addr, 16);
	if (rnd(4))
		for (i = pe.prefixlen; i < 128; i++)
			if (rnd(2))
				a[i / 8] |= 0x80 >> (i % 8);
	if (!pe.prefixlen && rnd(2)) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
	}
}

static int cmp_range(const void *a, const void *b)
{
	const struct pg_range *x = a, *y = b;

	return x->lo - y->lo;
}

static struct pg_policy *random_policy(void)
{
	struct pg_policy *p = pol_new();
	size_t n = 1 + rnd(12), i, j, k;

	p->mode = rnd(4) ? PG_MODE_ENFORCE : PG_MODE_DRY_RUN;
	p->default_in = rnd(2);
	p->default_out = rnd(2);
	for (i = 0; i < n; i++) {
		static const enum pg_rule_kind kinds[] = { PG_RULE_ALLOW, PG_RULE_ALLOW, PG_RULE_DENY,
							   PG_RULE_DENY, PG_RULE_LOCAL };
		struct pg_rule *r = rule(p, kinds[rnd(5)], rnd(2), 1 + rnd(3), "1", NULL);
		size_t nr = 1 + rnd(3);

		/* ranges, then sorted and merged as the parser leaves them */
		for (j = 0; j < nr; j++) {
			__u16 a = port_pool[rnd(sizeof(port_pool) / 2)];
			__u16 b = rnd(2) ? a : port_pool[rnd(sizeof(port_pool) / 2)];

			r->ports = realloc(r->ports, (j + 1) * sizeof(*r->ports));
			r->ports[j] = (struct pg_range){ a < b ? a : b, a < b ? b : a };
		}
		qsort(r->ports, nr, sizeof(*r->ports), cmp_range);
		for (j = 1, k = 0; j < nr; j++) {
			if (r->ports[j].lo <= r->ports[k].hi + 1) {
				if (r->ports[j].hi > r->ports[k].hi)
					r->ports[k].hi = r->ports[j].hi;
			} else {
				r->ports[++k] = r->ports[j];
			}
		}
		r->nports = k + 1;
		if (r->kind != PG_RULE_LOCAL && rnd(4)) {
			r->npeers = 1 + rnd(3);
			r->peers = calloc(r->npeers, sizeof(*r->peers));
			for (j = 0; j < r->npeers; j++)
				r->peers[j] = random_peer();
		}
		if (r->kind == PG_RULE_ALLOW)
			r->log = rnd(3) == 0;
		else
			r->dry_run = rnd(3) == 0;
	}
	return p;
}

TEST(random_policies_agree_with_evaluator)
{
	int iter, q, checked = 0, seen[PG_R_MAX] = { 0 }, nlog = 0, ndry = 0, nlocalport = 0,
	    ndryrule = 0, nshadow = 0;

	rng_state = 0x5eed0f9087a7d1ull;
	for (iter = 0; iter < 1500; iter++) {
		struct pg_policy *p = random_policy();
		struct pg_compiled c;
		size_t i;

		ASSERT_EQ(0, pg_compile(p, rnd(2), &c));
		/* keys strictly increase: sorted for lookup, and no key written twice */
		for (i = 1; i < c.npeers; i++) {
			const struct pg_peer_key *a = &c.peers[i - 1].key, *b = &c.peers[i].key;
			int d = memcmp(a->addr, b->addr, 16);

			ASSERT_EQ(a->gen, b->gen);
			ASSERT_TRUE(d < 0 || (d == 0 && a->prefixlen < b->prefixlen));
		}
		for (i = 1; i < c.ncpeers; i++) {
			const struct pg_class_peer_key *a = &c.cpeers[i - 1].key,
						       *b = &c.cpeers[i].key;

			ASSERT_TRUE(a->class_id < b->class_id ||
				    (a->class_id == b->class_id && a->group < b->group));
		}
		for (q = 0; q < 200; q++) {
			enum pg_dir dir = rnd(2);
			enum pg_proto_idx pidx = rnd(2);
			__u16 port = rnd(8) ? port_pool[rnd(sizeof(port_pool) / 2)] : 1 + rnd(65535);
			struct pg_verdict v;
			struct pg_eval r;
			__u8 a[16];
			__u32 pflags;
			int reason;
			bool drop, dry;

			random_addr(a);
			if (rnd(10) == 0)
				pg_addr_parse(rnd(2) ? "127.0.0.1" : "::1", a);
			pflags = pg_compiled_lookup(&c, dir, pidx, port, a, &v);
			ASSERT_EQ(0, pg_policy_evaluate(p, dir, pidx, port, a, &r));
			pg_ref_decide(&c.config, dir, a, &v, &reason, &drop, &dry);
			if (r.action != v.action || r.rule_slot != v.rule_id || r.flags != v.flags ||
			    (int)r.reason != reason || r.drop != drop || r.dry_run != dry ||
			    r.port_local != !!(pflags & PG_PORT_LOCAL) ||
			    r.port_local_dry_run != !!(pflags & PG_PORT_LOCAL_DRY_RUN) ||
			    (r.port_local &&
			     r.port_local_slot != pflags >> PG_PORT_LOCAL_RULE_SHIFT)) {
				char pa[INET6_ADDRSTRLEN];

				inet_ntop(AF_INET6, a, pa, sizeof(pa));
				printf("# policy %d, query %s %s %u from %s\n", iter,
				       dir ? "out" : "in", pidx ? "udp" : "tcp", port, pa);
				for (i = 0; i < c.nmeta; i++)
					printf("#   %s  %s\n", c.meta[i].src, c.meta[i].text);
				printf("# evaluator: action %d slot %u flags %u reason %d\n",
				       r.action, r.rule_slot, r.flags, r.reason);
				printf("# compiled:  action %d slot %u flags %u reason %d\n",
				       v.action, v.rule_id, v.flags, reason);
			}
			ASSERT_EQ(r.action, v.action);
			ASSERT_EQ(r.rule_slot, v.rule_id);
			ASSERT_EQ(r.flags, v.flags);
			ASSERT_EQ(r.reason, reason);
			ASSERT_EQ(r.drop, drop);
			ASSERT_EQ(r.dry_run, dry);
			ASSERT_EQ(r.port_local, !!(pflags & PG_PORT_LOCAL));
			ASSERT_EQ(r.port_local_dry_run, !!(pflags & PG_PORT_LOCAL_DRY_RUN));
			if (r.port_local)
				ASSERT_EQ(r.port_local_slot, pflags >> PG_PORT_LOCAL_RULE_SHIFT);
			/* a dry-run rule covers it, yet the enforcing rules block it: the case a
			 * dry-run rule must not open */
			if (r.drop && !(r.flags & PG_VF_DRY_RUN)) {
				bool dry_rule = false;

				for (i = 0; i < r.ncovering; i++)
					dry_rule |= r.covering[i]->dry_run;
				nshadow += dry_rule;
			}
			seen[r.reason]++;
			nlog += r.log;
			ndry += r.dry_run;
			ndryrule += !!(r.flags & PG_VF_DRY_RUN);
			nlocalport += r.port_local;
			pg_eval_free(&r);
			checked++;
		}
		pg_compiled_free(&c);
		pol_free(p);
	}
	printf("# %d queries agree: denied %d, local-only %d, loopback %d, rule %d, "
	       "not-allowed %d, default %d, logged %d, dry-run %d (by a rule %d), blocked under "
	       "a dry-run rule %d, local port %d\n",
	       checked,
	       seen[PG_R_DENIED], seen[PG_R_LOCAL_ONLY], seen[PG_R_PASS_LOOPBACK],
	       seen[PG_R_PASS_RULE], seen[PG_R_NOT_ALLOWED], seen[PG_R_PASS_DEFAULT], nlog, ndry,
	       ndryrule, nshadow, nlocalport);
	/* The generator must keep reaching every outcome, or the agreement above means little. */
	ASSERT_LT(1000, seen[PG_R_DENIED]);
	ASSERT_LT(1000, seen[PG_R_LOCAL_ONLY]);
	ASSERT_LT(100, seen[PG_R_PASS_LOOPBACK]);
	ASSERT_LT(1000, seen[PG_R_PASS_RULE]);
	ASSERT_LT(1000, seen[PG_R_NOT_ALLOWED]);
	ASSERT_LT(1000, seen[PG_R_PASS_DEFAULT]);
	ASSERT_LT(1000, nlog);
	ASSERT_LT(1000, ndry);
	ASSERT_LT(1000, ndryrule);
	ASSERT_LT(1000, nshadow);
	ASSERT_LT(1000, nlocalport);
}

/* ---- parsed policies ---- */

/*
 * audit's port exposure (pg_port_exposure) against the evaluator: both judge by
 * pg_precedence(), and what audit says of a port never contradicts what the evaluator decides
 * for the off-host peers the policy names (and two others).
 */
static void check_exposure(const struct pg_policy *p, int *counts)
{
	static const char *const extra[] = { "198.18.0.2", "2001:db8::2" };

	for (int pidx = 0; pidx < 2; pidx++) {
		for (size_t pi = 0; pi < sizeof(port_pool) / sizeof(port_pool[0]); pi++) {
			__u16 port = port_pool[pi];
			struct pg_port_exposure x = pg_port_exposure(p, pidx, port);
			bool peer_deny = false, some_allow = false;
			__u8 cand[64][16];
			size_t nc = 0;

			for (size_t k = 0; k < 2; k++)
				pg_addr_parse(extra[k], cand[nc++]);
			for (size_t r = 0; r < p->nrules; r++) {
				const struct pg_rule *ru = &p->rules[r];

				for (size_t k = 0; k < ru->npeers && nc < 64; k++)
					if (!pg_addr_loopback(ru->peers[k].addr))
						memcpy(cand[nc++], ru->peers[k].addr, 16);
				if (ru->kind == PG_RULE_DENY && ru->npeers && ru->dir == PG_DIR_IN)
					for (size_t q = 0; q < ru->nports; q++)
						peer_deny |= port >= ru->ports[q].lo &&
							     port <= ru->ports[q].hi &&
							     (ru->protos & (1u << pidx));
			}
			counts[x.j]++;
			for (size_t c = 0; c < nc; c++) {
				struct pg_eval e = {};
				enum pg_action a;

				ASSERT_EQ(0, pg_policy_evaluate(p, PG_DIR_IN, pidx, port, cand[c], &e));
				a = e.action;
				pg_eval_free(&e);
				/* A dry-run rule blocks nothing: where the default blocks, the
				 * evaluator names the default, as the datapath counts it. */
				if (a == PG_ACT_DEFAULT && x.rule && x.rule->dry_run &&
				    p->default_in == PG_DEFAULT_DENY)
					a = x.j == PG_EXP_DENIED ? PG_ACT_DENY : PG_ACT_LOCAL;
				some_allow |= a == PG_ACT_ALLOW;
				switch (x.j) {
				case PG_EXP_DENIED:
					EXPECT_EQ(PG_ACT_DENY, a);
					break;
				case PG_EXP_LOCAL:
					EXPECT_TRUE(a == PG_ACT_DENY || a == PG_ACT_LOCAL);
					break;
				case PG_EXP_ALLOWED:
					EXPECT_TRUE(a == PG_ACT_DENY || a == PG_ACT_ALLOW ||
						    a == PG_ACT_DEFAULT);
					break;
				case PG_EXP_ALLOWED_DEFAULT:
				case PG_EXP_NOT_ALLOWED:
					EXPECT_TRUE(a == PG_ACT_DENY || a == PG_ACT_DEFAULT);
					EXPECT_EQ(x.j == PG_EXP_NOT_ALLOWED, p->default_in == PG_DEFAULT_DENY);
					break;
				}
			}
			if (x.j == PG_EXP_ALLOWED && !peer_deny) {
				bool off_host = !x.rule->npeers;

				for (size_t k = 0; k < x.rule->npeers; k++)
					off_host |= !pg_addr_loopback(x.rule->peers[k].addr);
				if (off_host)
					EXPECT_TRUE(some_allow);
			}
		}
	}
}

TEST(audit_exposure_agrees_with_evaluator)
{
	int counts[PG_EXP_NOT_ALLOWED + 1] = { 0 };

	rng_state = 0xa0d17e5ee0ull;
	for (int iter = 0; iter < 2000; iter++) {
		struct pg_policy *p = random_policy();

		check_exposure(p, counts);
		pg_policy_free(p);
	}
	/* Every judgement was met, so none of the comparisons above is vacuous. */
	for (int j = 0; j <= PG_EXP_NOT_ALLOWED; j++)
		EXPECT_GT(counts[j], 0);
}

static struct pg_policy *parse(const char *text)
{
	struct pg_diags d = { 0 };
	struct pg_policy *p = NULL;

	if (pg_policy_parse("t.policy", text, strlen(text), &p, &d)) {
		pg_diags_print(&d, stdout);
		exit(PG_EXIT_FAIL);
	}
	pg_diags_free(&d);
	return p;
}

TEST(parsed_policy_meta_is_normalized_text)
{
	struct pg_policy *p = parse("default in deny\n"
				    "set lan = 198.18.0.0/16, 2001:db8:1::/48\n"
				    "allow in tcp 22\n"
				    "\n"
				    "allow in tcp 443,80 from @lan log\n"
				    "deny out udp 53 to 198.18.0.1 dry-run\n"
				    "local tcp 5432\n"
				    "deny raw dry-run\n");
	struct pg_compiled c;
	struct pg_verdict v;

	ASSERT_EQ(0, pg_compile(p, 0, &c));
	ASSERT_EQ(PG_RULE_FIRST + 4, c.nmeta);
	EXPECT_STREQ("t.policy:3", c.meta[R(0)].src);
	EXPECT_STREQ("allow in tcp 22", c.meta[R(0)].text);
	EXPECT_STREQ("t.policy:5", c.meta[R(1)].src);
	EXPECT_STREQ("allow in tcp 80,443 from 198.18.0.0/16,2001:db8:1::/48 log",
		     c.meta[R(1)].text);
	EXPECT_STREQ("deny out udp 53 to 198.18.0.1 dry-run", c.meta[R(2)].text);
	EXPECT_STREQ("local tcp 5432", c.meta[R(3)].text);
	EXPECT_STREQ("t.policy:8", c.meta[PG_RULE_DENY_RAW].src);
	EXPECT_STREQ("deny raw dry-run", c.meta[PG_RULE_DENY_RAW].text);
	EXPECT_STREQ("default in deny", c.meta[PG_RULE_DEFAULT_IN].text);
	EXPECT_STREQ("default out allow", c.meta[PG_RULE_DEFAULT_OUT].text);
	EXPECT_EQ(1, c.config.deny_raw);
	EXPECT_EQ(1, c.config.deny_raw_dry_run);
	pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 80, addr("2001:db8:1::9"), &v);
	EXPECT_EQ(R(1), v.rule_id);
	EXPECT_EQ(PG_VF_LOG, v.flags);
	pg_compiled_lookup(&c, OUT, PG_PIDX_UDP, 53, addr("198.18.0.1"), &v);
	EXPECT_EQ(PG_ACT_DENY, v.action);
	EXPECT_EQ(PG_VF_DRY_RUN, v.flags);
	pg_compiled_free(&c);
	pg_policy_free(p);
}

/* Add a to the query peers, and the address just past it. */
static void add_peer_queries(__u8 (*q)[16], size_t *n, const __u8 *a)
{
	int i;

	memcpy(q[(*n)++], a, 16);
	memcpy(q[*n], a, 16);
	for (i = 15; i >= 0 && ++q[*n][i] == 0; i--)
		;
	(*n)++;
}

/* Every shipped policy compiles, and its maps agree with the evaluator at every port where
 * some rule starts or ends (and on each side of it), for peers at and around every prefix the
 * policy names. Classes are constant between those ports, so this covers every class. */
TEST(shipped_policies_agree_with_evaluator)
{
	const char *tests = getenv("PG_TESTS");
	char pattern[4096];
	glob_t g;
	size_t f;

	snprintf(pattern, sizeof(pattern), "%s/policy/*.policy", tests ? tests : ".");
	if (tests)
		snprintf(pattern, sizeof(pattern), "%s/../policy/*.policy", tests);
	if (glob(pattern, 0, NULL, &g) || !g.gl_pathc)
		SKIP("no policy files match %s", pattern);
	for (f = 0; f < g.gl_pathc; f++) {
		struct pg_diags d = { 0 };
		struct pg_policy *p = NULL;
		struct pg_compiled c;
		__u8 (*peers)[16];
		__u16 *ports;
		size_t np = 0, nq = 0, i, j, k, checked = 0;

		if (pg_policy_load(g.gl_pathv[f], &p, &d)) {
			pg_diags_print(&d, stdout);
			ASSERT_EQ(0, d.nerrors);
		}
		pg_diags_free(&d);
		ASSERT_EQ(0, pg_compile(p, 1, &c));
		printf("# %s: %zu rules, %zu classes, %zu port entries, %zu peer entries\n",
		       g.gl_pathv[f], p->nrules, c.nclasses, c.nports, c.npeers);

		ports = calloc(4 * 16 * (p->nrules + 1) + 8, sizeof(*ports));
		for (i = 0; i < p->nrules; i++)
			for (j = 0; j < p->rules[i].nports && j < 16; j++) {
				ports[np++] = p->rules[i].ports[j].lo;
				ports[np++] = p->rules[i].ports[j].lo - 1;
				ports[np++] = p->rules[i].ports[j].hi;
				ports[np++] = p->rules[i].ports[j].hi + 1;
			}
		ports[np++] = 1;
		ports[np++] = 65535;
		for (i = 0; i < p->nrules; i++)
			nq += 2 * p->rules[i].npeers;
		peers = calloc(nq + 16, sizeof(*peers));
		nq = 0;
		add_peer_queries(peers, &nq, addr("127.0.0.1"));
		add_peer_queries(peers, &nq, addr("::1"));
		add_peer_queries(peers, &nq, addr("198.18.0.1"));
		add_peer_queries(peers, &nq, addr("2001:db8::1"));
		add_peer_queries(peers, &nq, addr("203.0.113.7"));
		for (i = 0; i < p->nrules; i++)
			for (j = 0; j < p->rules[i].npeers; j++)
				add_peer_queries(peers, &nq, p->rules[i].peers[j].addr);

		for (k = 0; k < 4; k++)
			for (i = 0; i < np; i++)
				for (j = 0; j < nq; j++) {
					struct pg_verdict v;
					struct pg_eval r;
					__u32 fl;

					if (!ports[i])
						continue;
					fl = pg_compiled_lookup(&c, k / 2, k % 2, ports[i], peers[j],
								&v);
					ASSERT_EQ(0, pg_policy_evaluate(p, k / 2, k % 2, ports[i],
									peers[j], &r));
					ASSERT_EQ(r.action, v.action);
					ASSERT_EQ(r.rule_slot, v.rule_id);
					ASSERT_EQ(r.flags, v.flags);
					ASSERT_EQ(r.port_local, !!(fl & PG_PORT_LOCAL));
					if (r.port_local)
						ASSERT_EQ(r.port_local_slot,
							  fl >> PG_PORT_LOCAL_RULE_SHIFT);
					pg_eval_free(&r);
					checked++;
				}
		printf("#   %zu queries agree\n", checked);
		free(ports);
		free(peers);
		pg_compiled_free(&c);
		pg_policy_free(p);
	}
	globfree(&g);
}

/* ---- scale ---- */

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 10,000 rules, each its own port (or all on one port) and its own /24 or /64. The time is
 * printed, not asserted; what is asserted is the shape and agreement with the evaluator. */
static void scale_case(bool one_port)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct timespec t0;
	char ports[16], cidr[64];
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(ports, sizeof(ports), "%d", one_port ? 443 : 1000 + i);
		if (i % 2)
			snprintf(cidr, sizeof(cidr), "198.%d.%d.0/24", 18 + (i >> 8) % 2, i & 0xff);
		else
			snprintf(cidr, sizeof(cidr), "2001:db8:%x::/64", i);
		rule(p, i % 7 ? PG_RULE_ALLOW : PG_RULE_DENY, i % 3 ? IN : OUT,
		     i % 5 ? TCP : TCP | UDP, ports, cidr);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	printf("# %s: %zu rules compiled in %.1f ms of CPU: %zu classes, %zu port entries, %zu peer "
	       "entries\n", one_port ? "one port" : "distinct ports", p->nrules, ms_since(&t0),
	       c.nclasses, c.nports, c.npeers);
	if (one_port) {
		EXPECT_EQ(2 + 2, c.nclasses); /* in/out, and tcp-only vs tcp,udp sets */
	} else {
		EXPECT_EQ(10000, c.nclasses);
		EXPECT_EQ(10000 + 2000, c.nports);
		/* 256 distinct /24s and 5000 /64s: a list many rules repeat is stored once */
		EXPECT_EQ(256 + 5000, c.npeers);
	}
	for (i = 0; i < 2000; i++) {
		int k = rnd(10000);
		enum pg_dir dir = k % 3 ? IN : OUT;
		struct pg_verdict v;
		struct pg_eval r;
		__u8 a[16];

		memcpy(a, p->rules[k].peers[0].addr, 16);
		a[15] |= rnd(2);
		pg_compiled_lookup(&c, dir, PG_PIDX_TCP, p->rules[k].ports[0].lo, a, &v);
		ASSERT_EQ(0, pg_policy_evaluate(p, dir, PG_PIDX_TCP, p->rules[k].ports[0].lo, a,
						&r));
		ASSERT_EQ(r.action, v.action);
		ASSERT_EQ(r.rule_slot, v.rule_id);
		if (!one_port)
			ASSERT_EQ(R(k), v.rule_id);
		pg_eval_free(&r);
	}
	pg_compiled_free(&c);
	pol_free(p);
}

TEST(ten_thousand_rules_distinct_ports)
{
	rng_state = 42;
	scale_case(false);
}

TEST(ten_thousand_rules_one_port)
{
	rng_state = 43;
	scale_case(true);
}

TEST(nested_port_ranges)
{
	struct pg_policy *p = pol_new();
	struct pg_compiled c;
	struct timespec t0;
	struct pg_verdict v;
	char ports[32];
	int i;

	/* rule i covers [1 + i, 65535 - i]: 3999 segments of up to 2000 rules each. The worst
	 * case of the sweep, whose cost is the sum of the set sizes; the segments right of the
	 * middle repeat the sets of those left of it, so they find their class. */
	for (i = 0; i < 2000; i++) {
		snprintf(ports, sizeof(ports), "%d-%d", 1 + i, 65535 - i);
		rule(p, PG_RULE_ALLOW, IN, TCP, ports, i % 2 ? "198.18.0.0/16" : NULL);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ASSERT_EQ(0, pg_compile(p, 0, &c));
	printf("# nested: %zu rules compiled in %.1f ms of CPU: %zu classes, %zu peer entries\n",
	       p->nrules, ms_since(&t0), c.nclasses, c.npeers);
	EXPECT_EQ(2000, c.nclasses);
	EXPECT_EQ(65535, c.nports);
	pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 1999, addr("198.18.0.1"), &v);
	EXPECT_EQ(R(0), v.rule_id);
	pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 65535 - 1998, addr("198.18.0.1"), &v);
	EXPECT_EQ(R(0), v.rule_id);
	pg_compiled_lookup(&c, IN, PG_PIDX_TCP, 65535 - 1999, addr("198.18.0.1"), &v);
	EXPECT_EQ(R(0), v.rule_id);
	pg_compiled_free(&c);
	pol_free(p);
}

TEST_MAIN()
