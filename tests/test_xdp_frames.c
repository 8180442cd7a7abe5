// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP ingress and tc egress programs on crafted frames, through BPF_PROG_TEST_RUN on the
 * real kernel: the real skeletons are loaded (never attached), a policy is written with
 * pg_apply, and each table row runs one frame and asserts the XDP verdict, the reason
 * counter and the rule counter it must move (by exactly one; no other reason may move).
 *
 * Each test case runs in its own forked child, which first enters a network namespace of
 * its own: the few interfaces a case creates vanish with it.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <net/if.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "kernel_limits.h"
#include "frames.h"
#include "kernel/generation.h"
#include "kernel/percpu.h"
#include "kernel/seed.h"
#include "policy/compile.h"
#include "kernel/xdp_open.h"
#include "xdp_ingress.skel.h"
#include "tc_egress.skel.h"
#include "tc_ingress.skel.h"

#define SEC_NS 1000000000ULL

/* ---- the policy every table runs against ---- */

/* Rules in policy order; a row names its rule by this, the fixture maps it to the slot
 * compile gave it. */
enum {
	R_SSH = PG_RULE_FIRST,
	R_DNS,
	R_TELNET,
	R_PG,
	R_HTTP,
	R_SMTP,
	R_HTTPS6,
	R_REDIS,
	R_SMTP_OPEN,
	R_REDIS_OPEN,
	R_EXTRA,
	R_END,
};

static const char *const policy_rules[] = {
	[R_SSH - PG_RULE_FIRST] = "allow in tcp 22",
	[R_DNS - PG_RULE_FIRST] = "allow in udp 53 from 198.18.0.0/24",
	[R_TELNET - PG_RULE_FIRST] = "deny in tcp 23",
	[R_PG - PG_RULE_FIRST] = "local tcp 5432",
	[R_HTTP - PG_RULE_FIRST] = "allow in tcp 80 log",
	[R_SMTP - PG_RULE_FIRST] = "deny in tcp 25 dry-run",
	[R_HTTPS6 - PG_RULE_FIRST] = "allow in tcp 443 from 2001:db8::/32",
	[R_REDIS - PG_RULE_FIRST] = "local tcp 6379 dry-run",
	/* A dry-run rule reports only what the enforcing rules let through: these open what the
	 * two dry-run rules above would close (25 only to 198.18.0.0/16: IPv6 stays closed). */
	[R_SMTP_OPEN - PG_RULE_FIRST] = "allow in tcp 25 from 198.18.0.0/16",
	[R_REDIS_OPEN - PG_RULE_FIRST] = "allow in tcp 6379",
	[R_EXTRA - PG_RULE_FIRST] = "allow in tcp 24", /* only with allow24 */
};

struct policy_opts {
	/* rules instead of policy_rules (a row then names rule i as PG_RULE_FIRST + i) */
	const char *const *rules;
	size_t nrules;
	int mode;
	int no_events;
	int allow24;
	int default_allow;
	__u32 events_per_sec;
	__u64 ratelimit_ns;
};

/* ---- fixture ---- */

/* Which ingress program a fixture runs frames through: they must all decide alike. */
enum fx_kind {
	FX_XDP = 0,   /* pg_xdp_ingress */
	FX_FRAGS,     /* pg_xdp_ingress_frags */
	FX_TC,	      /* pg_tc_ingress */
};

struct fx {
	struct xdp_ingress_bpf *skel;
	struct tc_ingress_bpf *tci;
	struct pg_maps m;
	int prog;
	enum fx_kind kind;
	__u32 linear;	/* FX_FRAGS: bytes in the first buffer (0: as the kernel puts them) */
	int skipped;	/* rows a kind cannot run (FX_TC: frames shorter than Ethernet) */
	__u32 gen;
	size_t npeers;		       /* pg_peers + pg_buckets32 + pg_class_peers entries */
	__u32 slot[R_END - PG_RULE_FIRST]; /* rule slot of each rule of the active policy */
};

/* The slot a row's rule has in the active policy. */
static __u32 slot_of(const struct fx *f, __u32 rule)
{
	if (rule == PG_RULE_NONE || rule < PG_RULE_FIRST)
		return rule;
	return f->slot[rule - PG_RULE_FIRST];
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("PG_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void fx_setup(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	if (geteuid() != 0)
		SKIP("needs root to load BPF programs and run BPF_PROG_TEST_RUN");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot create a network namespace: %s", strerror(errno));
	libbpf_set_print(quiet_print);
	f->skel = pg_xdp_ingress_open_load();
	/* No platform limit excuses it (tests/kernel_limits.h): the verifier's log is above. */
	if (!f->skel)
		FAIL("cannot load xdp_ingress on kernel %s: %s", pg_kernel_release(),
		     strerror(errno));
	ASSERT_EQ(0, pg_maps_from_object(&f->m, f->skel->obj));
	f->prog = bpf_program__fd(f->skel->progs.pg_xdp_ingress);
}

/* Parse and compile the test policy for the idle generation. */
static void fx_compile(struct fx *f, const struct policy_opts *o, struct pg_compiled *c)
{
	struct pg_diags d = { 0 };
	struct pg_policy *p = NULL;
	char text[2048];
	const char *const *rules = o->rules ? o->rules : policy_rules;
	size_t n = o->rules ? o->nrules : R_END - PG_RULE_FIRST - !o->allow24;
	int len;
	__u32 cur;

	len = snprintf(text, sizeof(text), "mode %s\ndefault in %s\ndefault out allow\n",
		       o->mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce",
		       o->default_allow ? "allow" : "deny");
	for (size_t i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - len, "%s\n", rules[i]);
	if (pg_policy_parse("test.policy", text, len, &p, &d)) {
		pg_diags_print(&d, stdout);
		ASSERT_TRUE(0);
	}
	pg_diags_free(&d);
	ASSERT_LE(n, R_END - PG_RULE_FIRST);
	ASSERT_EQ(0, pg_active_gen(&f->m, &cur));
	ASSERT_EQ(0, pg_compile(p, pg_other_gen(cur), c));
	for (size_t i = 0; i < n; i++)
		f->slot[i] = c->rule_slot[i];
	pg_policy_free(p);
	/* What the loader's command line would set; no rate limit unless a test wants one. */
	c->config.events = !o->no_events;
	c->config.events_per_sec = o->events_per_sec;
	c->config.ratelimit_ns = o->ratelimit_ns;
	c->config.flow_tcp_idle_ns = 3600 * SEC_NS;
	c->config.flow_udp_idle_ns = 30 * SEC_NS;
	c->config.flow_tcp_fin_ns = 120 * SEC_NS;
	c->config.flow_tcp_rst_ns = 10 * SEC_NS;
}

/* Apply the test policy to the idle generation and activate it. */
static void fx_policy(struct fx *f, const struct policy_opts *o)
{
	struct pg_compiled c = { 0 };

	fx_compile(f, o, &c);
	ASSERT_EQ(0, pg_apply(&f->m, &c));
	ASSERT_EQ(0, pg_activate(&f->m, c.gen));
	f->gen = c.gen;
	f->npeers = c.nb32 + c.ncpeers;
	for (size_t i = 0; i < c.npeers; i++)
		f->npeers += pg_compiled_probed(&c.peers[i].key);
	pg_compiled_free(&c);
}

static void fx_default(struct fx *f)
{
	struct policy_opts o = { 0 };

	fx_setup(f);
	fx_policy(f, &o);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

/* ---- running frames ---- */

struct frame_case {
	const char *name;
	struct pg_frame_spec spec;
	int verdict;	/* XDP_PASS or XDP_DROP */
	int reason;	/* the reason counter that moves by one */
	__u32 rule;	/* the rule slot counter that moves by one; PG_RULE_NONE: none */
	int ifindex;	/* ingress interface, 0: lo (what BPF_PROG_TEST_RUN uses) */
};

/* Rows are positional (name, frame, verdict, reason, rule) and leave ifindex out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define CASE_FAIL(c, ...)                                                                \
	do {                                                                             \
		printf("# %s: ", (c)->name);                                             \
		printf(__VA_ARGS__);                                                     \
		printf("\n");                                                            \
		pg_test_failed = 1;                                                      \
	} while (0)

static const char *const reason_names[PG_R_MAX] = {
	[PG_R_NOT_ALLOWED] = "NOT_ALLOWED",   [PG_R_DENIED] = "DENIED",
	[PG_R_LOCAL_ONLY] = "LOCAL_ONLY",     [PG_R_FRAGMENT] = "FRAGMENT",
	[PG_R_FRAG_SHORT] = "FRAG_SHORT",     [PG_R_FRAG_OVERLAP] = "FRAG_OVERLAP",
	[PG_R_MALFORMED] = "MALFORMED",	      [PG_R_BAD_IHL] = "BAD_IHL",
	[PG_R_BAD_DOFF] = "BAD_DOFF",	      [PG_R_EXT_HDR_LIMIT] = "EXT_HDR_LIMIT",
	[PG_R_VLAN_DEPTH] = "VLAN_DEPTH",     [PG_R_PROTO] = "PROTO",
	[PG_R_RAW_SOCKET] = "RAW_SOCKET",     [PG_R_HDR_SPLIT] = "HDR_SPLIT",
	[PG_R_PASS_RULE] = "PASS_RULE",
	[PG_R_PASS_DEFAULT] = "PASS_DEFAULT", [PG_R_PASS_REPLY] = "PASS_REPLY",
	[PG_R_PASS_NON_IP] = "PASS_NON_IP",   [PG_R_PASS_ICMP] = "PASS_ICMP",
	[PG_R_PASS_FRAGMENT] = "PASS_FRAGMENT", [PG_R_PASS_LOOPBACK] = "PASS_LOOPBACK",
};

static const char *xdp_name(int v)
{
	return v == XDP_PASS ? "XDP_PASS" : v == XDP_DROP ? "XDP_DROP" : "other";
}

static void read_reasons(struct fx *f, __u64 *v)
{
	struct pg_counter c;

	for (int r = 0; r < PG_R_MAX; r++) {
		ASSERT_EQ(0, pg_percpu_counter(f->m.fd[PG_MAP_REASON_STATS], r, &c));
		v[r] = c.packets;
	}
}

static __u64 read_rule(struct fx *f, __u32 gen, __u32 rule)
{
	struct pg_counter c;

	ASSERT_EQ(0, pg_percpu_counter(f->m.fd[PG_MAP_RULE_STATS], gen * PG_MAX_RULES + rule, &c));
	return c.packets;
}

/* Run frames through another ingress program from now on (same maps). */
static void fx_kind(struct fx *f, enum fx_kind kind)
{
	f->kind = kind;
	if (kind == FX_XDP) {
		f->prog = bpf_program__fd(f->skel->progs.pg_xdp_ingress);
	} else if (kind == FX_FRAGS) {
		f->prog = bpf_program__fd(f->skel->progs.pg_xdp_ingress_frags);
		if (f->prog < 0)
			SKIP("this kernel has no multi-buffer XDP (xdp.frags, 5.18)");
	} else {
		struct bpf_map *map;

		f->tci = tc_ingress_bpf__open();
		ASSERT_TRUE(f->tci != NULL);
		bpf_object__for_each_map(map, f->tci->obj) {
			int fd = bpf_object__find_map_fd_by_name(f->skel->obj,
								 bpf_map__name(map));

			if (fd >= 0)
				ASSERT_EQ(0, bpf_map__reuse_fd(map, fd));
		}
		ASSERT_EQ(0, tc_ingress_bpf__load(f->tci));
		f->prog = bpf_program__fd(f->tci->progs.pg_tc_ingress);
	}
}

#define RUN_SKIPPED (-1)

/* Run one frame; returns the verdict as XDP's (tc's TC_ACT_SHOT is XDP_DROP, TC_ACT_OK
 * XDP_PASS), or RUN_SKIPPED for a frame the program kind cannot be given. */
static int run_bytes(struct fx *f, const __u8 *buf, int len, int ifindex)
{
	struct xdp_md md = { 0 };
	struct __sk_buff skb = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1);

	o.data_size_in = len;
	if (f->kind == FX_TC) {
		/* The kernel's test run builds no skb of a frame shorter than Ethernet and IPv4
		 * headers, nor of one beyond a page (a real jumbo skb is paged: e2e_production
		 * sends those through tc). */
		if (len < 34 || len > 3500)
			return RUN_SKIPPED;
		if (ifindex) {
			skb.ifindex = ifindex;
			o.ctx_in = &skb;
			o.ctx_size_in = sizeof(skb);
		}
		if (bpf_prog_test_run_opts(f->prog, &o)) {
			/* It also refuses a frame whose IP header it cannot pull (its own
			 * sanity check, before our program runs): truncated frames only. */
			if (errno == EINVAL && len < 128)
				return RUN_SKIPPED;
			printf("# tc test run of a %d-byte frame: %s\n", len, strerror(errno));
			ASSERT_TRUE(0);
		}
		ASSERT_TRUE(o.retval == 0 || o.retval == 2);
		return o.retval == 2 ? XDP_DROP : XDP_PASS;
	}
	if (ifindex || f->linear) {
		md.data_end = f->linear && f->linear < (__u32)len ? f->linear : (__u32)len;
		md.ingress_ifindex = ifindex;
		o.ctx_in = &md;
		o.ctx_size_in = sizeof(md);
	}
	ASSERT_EQ(0, bpf_prog_test_run_opts(f->prog, &o));
	return o.retval;
}

static int run_frame(struct fx *f, const struct pg_frame_spec *spec, int ifindex)
{
	static __u8 buf[PG_FRAME_MAX];
	int len = pg_frame_build(spec, buf, sizeof(buf));

	ASSERT_LT(0, len);
	return run_bytes(f, buf, len, ifindex);
}

static void run_case(struct fx *f, const struct frame_case *c)
{
	__u64 before[PG_R_MAX], after[PG_R_MAX], rb = 0, ra = 0;
	int verdict;

	read_reasons(f, before);
	if (c->rule != PG_RULE_NONE)
		rb = read_rule(f, f->gen, slot_of(f, c->rule));
	verdict = run_frame(f, &c->spec, c->ifindex);
	if (verdict == RUN_SKIPPED) {
		printf("# skipped: %s\n", c->name);
		f->skipped++;
		return;
	}
	read_reasons(f, after);
	if (c->rule != PG_RULE_NONE)
		ra = read_rule(f, f->gen, slot_of(f, c->rule));

	if (verdict != c->verdict)
		CASE_FAIL(c, "expected %s, seen %s", xdp_name(c->verdict), xdp_name(verdict));
	for (int r = 0; r < PG_R_MAX; r++) {
		__u64 want = before[r] + (r == c->reason);

		if (after[r] != want)
			CASE_FAIL(c, "reason %s counter: expected %llu, seen %llu", reason_names[r],
				  (unsigned long long)want, (unsigned long long)after[r]);
	}
	if (c->rule != PG_RULE_NONE && ra != rb + 1)
		CASE_FAIL(c, "rule slot %u counter: expected %llu, seen %llu", slot_of(f, c->rule),
			  (unsigned long long)rb + 1, (unsigned long long)ra);
}

static void run_table(struct fx *f, const struct frame_case *t, size_t n)
{
	f->skipped = 0;
	for (size_t i = 0; i < n; i++)
		run_case(f, &t[i]);
	printf("# %zu frames%s", n - f->skipped, f->skipped ? "" : "\n");
	if (f->skipped)
		printf(" (%d the test run makes no skb of)\n", f->skipped);
}

#define RUN_TABLE(f, t) run_table(f, t, sizeof(t) / sizeof((t)[0]))

#define TCP4(port, ...) { .family = 4, .dport = port, __VA_ARGS__ }
#define TCP6(port, ...) { .family = 6, .dport = port, __VA_ARGS__ }
#define UDP4(port, ...) { .family = 4, .proto = IPPROTO_UDP, .dport = port, __VA_ARGS__ }
#define UDP6(port, ...) { .family = 6, .proto = IPPROTO_UDP, .dport = port, __VA_ARGS__ }
#define F4(port, id, off, ...)                                                           \
	{ .family = 4, .dport = port, .frag_id = id, .frag_off = off, __VA_ARGS__ }
#define F6(port, id, off, ...)                                                           \
	{ .family = 6, .dport = port, .frag_id = id, .frag_off = off, EXT(FRAG), __VA_ARGS__ }
#define PASS XDP_PASS
#define DROP XDP_DROP
#define NONE PG_RULE_NONE
#define DEF PG_RULE_DEFAULT_IN

/* ---- L2 and non-IP ---- */

static const struct frame_case l2_cases[] = {
	{ "arp", { .family = 0 }, PASS, PG_R_PASS_NON_IP, NONE },
	{ "arp behind a vlan tag", { .family = 0, .vlans = 1 }, PASS, PG_R_PASS_NON_IP, NONE },
	{ "lldp", { .family = 0, .ethertype = 0x88cc }, PASS, PG_R_PASS_NON_IP, NONE },
	{ "802.3 length field", { .family = 0, .ethertype = 60 }, PASS, PG_R_PASS_NON_IP, NONE },
	{ "tcp 22, 0 tags", TCP4(22), PASS, PG_R_PASS_RULE, R_SSH },
	{ "tcp 22, 1 tag", TCP4(22, .vlans = 1), PASS, PG_R_PASS_RULE, R_SSH },
	{ "tcp 22, 2 tags", TCP4(22, .vlans = 2), PASS, PG_R_PASS_RULE, R_SSH },
	{ "tcp 22, 3 tags", TCP4(22, .vlans = 3), DROP, PG_R_VLAN_DEPTH, NONE },
	{ "tcp 24, 2 tags", TCP4(24, .vlans = 2), DROP, PG_R_NOT_ALLOWED, DEF },
	/* Both TPIDs are tags in any order and any pairing (parse.bpf.h): two 802.1Q tags, and
	 * 802.1ad inside 802.1Q, are decided on what they carry. */
	{ "tcp 22, 802.1Q in 802.1Q", TCP4(22, .vlans = 2, .tpids = { 0x8100, 0x8100 }), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "tcp 24, 802.1Q in 802.1Q", TCP4(24, .vlans = 2, .tpids = { 0x8100, 0x8100 }), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "tcp 22, 802.1ad in 802.1Q", TCP4(22, .vlans = 2, .tpids = { 0x8100, 0x88a8 }), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "tcp 24, 802.1ad in 802.1Q", TCP4(24, .vlans = 2, .tpids = { 0x8100, 0x88a8 }), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "ipv6 tcp 24, two 802.1ad", TCP6(24, .vlans = 2, .tpids = { 0x88a8, 0x88a8 }), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "tcp 22, 3 tags, 802.1Q", TCP4(22, .vlans = 3, .tpids = { 0x8100, 0x8100, 0x8100 }),
	  DROP, PG_R_VLAN_DEPTH, NONE },
	{ "ipv6 tcp 22, 2 tags", TCP6(22, .vlans = 2), PASS, PG_R_PASS_RULE, R_SSH },
	{ "ipv6 tcp 24, 1 tag", TCP6(24, .vlans = 1), DROP, PG_R_NOT_ALLOWED, DEF },
	/* ARP payload cut to 2 bytes after the tag: the tag itself is whole */
	{ "vlan tag cut short", { .family = 0, .vlans = 1, .truncate = 30 }, DROP,
	  PG_R_MALFORMED, NONE },
	{ "qinq 0x9100 is not a tag", { .family = 0, .ethertype = 0x9100 }, PASS,
	  PG_R_PASS_NON_IP, NONE },
};

TEST(l2_vlan_and_non_ip)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, l2_cases);
}

/* ---- IPv4 ---- */

static const struct frame_case ipv4_cases[] = {
	{ "options, 10 words", TCP4(22, .ip_opt_words = 10), PASS, PG_R_PASS_RULE, R_SSH },
	{ "options, 1 word, tcp 24", TCP4(24, .ip_opt_words = 1), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "ihl 4", TCP4(22, .ihl = 4), DROP, PG_R_BAD_IHL, NONE },
	{ "ihl 0 (16 is written as 0)", TCP4(22, .ihl = 16), DROP, PG_R_BAD_IHL, NONE },
	{ "ihl 15 beyond the total length", TCP4(22, .ihl = 15), DROP, PG_R_BAD_IHL, NONE },
	{ "ihl 15 beyond the frame", TCP4(22, .ihl = 15, .payload = 40, .truncate = 40), DROP,
	  PG_R_BAD_IHL, NONE },
	{ "header cut short", TCP4(22, .truncate = 30), DROP, PG_R_MALFORMED, NONE },
	{ "total length beyond the frame", TCP4(22, .len_delta = 10), DROP, PG_R_MALFORMED,
	  NONE },
	{ "total length below the header", TCP4(22, .len_delta = -24), DROP, PG_R_BAD_IHL,
	  NONE },
	{ "version 6 in an ipv4 ethertype", TCP4(22, .ip_version = 6), DROP, PG_R_MALFORMED,
	  NONE },
	{ "ethernet padding after the datagram", TCP4(22, .pad = 20), PASS, PG_R_PASS_RULE,
	  R_SSH },
	/* the TCP header only fits by reaching into the padding */
	{ "tcp header in the padding", TCP4(22, .l4_bytes = 8, .pad = 30), DROP,
	  PG_R_MALFORMED, NONE },
	{ "icmp echo", { .family = 4, .proto = IPPROTO_ICMP }, PASS, PG_R_PASS_ICMP, NONE },
	{ "icmp fragmentation needed (pmtu)", { .family = 4, .proto = IPPROTO_ICMP,
						.icmp_type = 3, .icmp_code = 4, .payload = 28 },
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "igmp membership query", { .family = 4, .proto = 2, .payload = 8 }, PASS,
	  PG_R_PASS_ICMP, NONE },
	{ "icmpv6 inside ipv4", { .family = 4, .proto = IPPROTO_ICMPV6 }, DROP, PG_R_PROTO,
	  DEF },
	{ "gre", { .family = 4, .proto = 47, .payload = 20 }, DROP, PG_R_PROTO, DEF },
	{ "sctp", { .family = 4, .proto = 132, .payload = 20 }, DROP, PG_R_PROTO, DEF },
};

TEST(ipv4_parse)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, ipv4_cases);
}

/* ---- IPv6 ---- */

#define EXT(...) .ext = { __VA_ARGS__ }, .n_ext = sizeof((__u8[]){ __VA_ARGS__ })
#define HOP PG_EXT_HOP
#define RT PG_EXT_ROUTING
#define DST PG_EXT_DSTOPTS
#define FRAG PG_EXT_FRAG
#define AH PG_EXT_AH

static const struct frame_case ipv6_cases[] = {
	{ "no extension headers", TCP6(22), PASS, PG_R_PASS_RULE, R_SSH },
	{ "hop, routing, dstopts", TCP6(22, EXT(HOP, RT, DST)), PASS, PG_R_PASS_RULE, R_SSH },
	{ "6 extension headers", TCP6(22, EXT(HOP, DST, RT, DST, RT, DST)), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "6 extension headers, tcp 24", TCP6(24, EXT(HOP, DST, RT, DST, RT, DST)), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "7 extension headers", TCP6(22, EXT(HOP, DST, RT, DST, RT, DST, DST)), DROP,
	  PG_R_EXT_HDR_LIMIT, NONE },
	{ "hop-by-hop not first", TCP6(22, EXT(DST, HOP)), DROP, PG_R_MALFORMED, NONE },
	{ "ah", TCP6(22, EXT(AH)), PASS, PG_R_PASS_RULE, R_SSH },
	{ "ah, tcp 24", TCP6(24, EXT(DST, AH)), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "atomic fragment", TCP6(22, EXT(FRAG), .frag_id = 7), PASS, PG_R_PASS_RULE, R_SSH },
	{ "two fragment headers", TCP6(22, EXT(FRAG, FRAG)), DROP, PG_R_MALFORMED, NONE },
	{ "extension header beyond the payload length", TCP6(22, EXT(DST), .len_delta = -24),
	  DROP, PG_R_MALFORMED, NONE },
	{ "payload length 0 (jumbogram)", TCP6(22, EXT(HOP), .len_delta = -28), DROP,
	  PG_R_MALFORMED, NONE },
	{ "payload length beyond the frame", TCP6(22, .len_delta = 1), DROP, PG_R_MALFORMED,
	  NONE },
	{ "header cut short", TCP6(22, .truncate = 40), DROP, PG_R_MALFORMED, NONE },
	{ "extension header cut short", TCP6(22, EXT(DST), .truncate = 24), DROP,
	  PG_R_MALFORMED, NONE },
	{ "version 4 in an ipv6 ethertype", TCP6(22, .ip_version = 4), DROP, PG_R_MALFORMED,
	  NONE },
	{ "icmpv6", { .family = 6, .proto = IPPROTO_ICMPV6 }, PASS, PG_R_PASS_ICMP, NONE },
	{ "icmpv6 neighbour solicitation", { .family = 6, .proto = IPPROTO_ICMPV6,
					     .icmp_type = 135, .payload = 16 },
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "icmpv6 neighbour advertisement", { .family = 6, .proto = IPPROTO_ICMPV6,
					      .icmp_type = 136, .payload = 16 },
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "icmpv6 packet too big (pmtu)", { .family = 6, .proto = IPPROTO_ICMPV6,
					    .icmp_type = 2, .payload = 48 },
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "icmpv6 behind hop-by-hop (mld)", { .family = 6, .proto = IPPROTO_ICMPV6, EXT(HOP) },
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "icmp inside ipv6", { .family = 6, .proto = IPPROTO_ICMP }, DROP, PG_R_PROTO, DEF },
	{ "igmp inside ipv6", { .family = 6, .proto = 2, .payload = 8 }, DROP, PG_R_PROTO, DEF },
	{ "vrrp (112) follows default in", { .family = 6, .proto = 112, .payload = 8 }, DROP,
	  PG_R_PROTO, DEF },
	{ "no next header", { .family = 6, .proto = 59 }, DROP, PG_R_PROTO, DEF },
	{ "esp", { .family = 6, .proto = 50, .payload = 24 }, DROP, PG_R_PROTO, DEF },
	{ "esp behind dstopts", { .family = 6, .proto = 50, .payload = 24, EXT(DST) }, DROP,
	  PG_R_PROTO, DEF },
};

TEST(ipv6_parse)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, ipv6_cases);
}

/* ---- L4 ---- */

static const struct frame_case l4_cases[] = {
	{ "tcp doff 4", TCP4(22, .doff = 4), DROP, PG_R_BAD_DOFF, NONE },
	{ "tcp doff 0 (16 is written as 0)", TCP6(22, .doff = 16, .tcp_flags = 0x02), DROP,
	  PG_R_BAD_DOFF, NONE },
	{ "tcp doff 15 with options", TCP4(22, .doff = 15), PASS, PG_R_PASS_RULE, R_SSH },
	{ "tcp doff 15 beyond the packet", TCP4(22, .doff = 15, .l4_bytes = 20), DROP,
	  PG_R_BAD_DOFF, NONE },
	{ "tcp doff 6 beyond the packet, ipv6", TCP6(22, .doff = 6, .l4_bytes = 20), DROP,
	  PG_R_BAD_DOFF, NONE },
	{ "tcp header cut short", TCP4(22, .l4_bytes = 10), DROP, PG_R_MALFORMED, NONE },
	{ "tcp header cut short, ipv6", TCP6(22, .l4_bytes = 19), DROP, PG_R_MALFORMED, NONE },
	{ "udp 53 from the allowed prefix", UDP4(53), PASS, PG_R_PASS_RULE, R_DNS },
	{ "udp 53 from outside it", UDP4(53, .src = "198.19.0.2"), DROP, PG_R_NOT_ALLOWED,
	  DEF },
	{ "udp 53 over ipv6", UDP6(53), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "udp header cut short", UDP4(53, .l4_bytes = 4), DROP, PG_R_MALFORMED, NONE },
	{ "udp length beyond the datagram", UDP4(53, .udp_len_delta = 5), DROP,
	  PG_R_MALFORMED, NONE },
	{ "udp length below 8", UDP6(53, .udp_len_delta = -1), DROP, PG_R_MALFORMED, NONE },
	{ "udp length 0 (ipv6 jumbo)", UDP6(53, .payload = 4, .udp_len_delta = -12), DROP,
	  PG_R_MALFORMED, NONE },
	{ "udp length below the datagram: trailing data", UDP4(53, .payload = 10,
							       .udp_len_delta = -4),
	  PASS, PG_R_PASS_RULE, R_DNS },
	{ "tcp port 0", TCP4(0), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "tcp 65535", TCP6(65535), DROP, PG_R_NOT_ALLOWED, DEF },
};

TEST(l4_parse)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, l4_cases);
}

/* ---- policy verdicts ---- */

static const struct frame_case policy_cases[] = {
	{ "allow tcp 22, ipv4", TCP4(22), PASS, PG_R_PASS_RULE, R_SSH },
	{ "allow tcp 22, ipv6", TCP6(22), PASS, PG_R_PASS_RULE, R_SSH },
	{ "allow tcp 22, syn", TCP4(22, .tcp_flags = 0x02), PASS, PG_R_PASS_RULE, R_SSH },
	{ "udp 22 is another port", UDP4(22), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "default deny tcp 24", TCP4(24), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "deny tcp 23", TCP4(23), DROP, PG_R_DENIED, R_TELNET },
	{ "deny tcp 23, ipv6", TCP6(23), DROP, PG_R_DENIED, R_TELNET },
	{ "local tcp 5432 from off-host", TCP4(5432), DROP, PG_R_LOCAL_ONLY, R_PG },
	{ "local tcp 5432 from 127.0.0.1 on lo", TCP4(5432, .src = "127.0.0.1"), PASS,
	  PG_R_PASS_LOOPBACK, R_PG },
	{ "local tcp 5432 from ::1 on lo", TCP6(5432, .src = "::1"), PASS, PG_R_PASS_LOOPBACK,
	  R_PG },
	{ "allow tcp 80 log", TCP4(80), PASS, PG_R_PASS_RULE, R_HTTP },
	/* dry-run rules report what the enforcing rules let through, and block nothing */
	{ "deny tcp 25 dry-run, where an allow lets it in", TCP4(25), PASS, PG_R_DENIED, R_SMTP },
	{ "deny tcp 25 dry-run, where the default denies", TCP6(25), DROP, PG_R_NOT_ALLOWED,
	  DEF },
	{ "local tcp 6379 dry-run from off-host", TCP6(6379), PASS, PG_R_LOCAL_ONLY, R_REDIS },
	{ "local tcp 6379 dry-run from 127.0.0.1 on lo", TCP4(6379, .src = "127.0.0.1"), PASS,
	  PG_R_PASS_RULE, R_REDIS_OPEN },
	{ "allow tcp 443 from 2001:db8::/32", TCP6(443), PASS, PG_R_PASS_RULE, R_HTTPS6 },
	{ "tcp 443 from ipv4", TCP4(443), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "tcp 443 from 2001:db9::2", TCP6(443, .src = "2001:db9::2"), DROP, PG_R_NOT_ALLOWED,
	  DEF },
};

TEST(policy_verdicts)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, policy_cases);
}

/*
 * Adding a dry-run rule never opens a port. Three policies whose dry-run rule used to win by
 * precedence and so let through what the enforcing rules block (default deny, an enforcing
 * local): the enforcing verdict stands, with the enforcing reason.
 */
static const char *const dry_run_shadowed_rules[] = {
	"deny in tcp 23 dry-run",		      /* FIRST + 0, under default in deny */
	"local tcp 5432",			      /* FIRST + 1 */
	"deny in tcp 5432 from 198.18.0.0/16 dry-run", /* FIRST + 2 */
	"local udp 9 dry-run",			      /* FIRST + 3, under default in deny */
};

TEST(dry_run_rules_open_nothing)
{
	const struct frame_case cases[] = {
		{ "default deny + deny tcp 23 dry-run", TCP4(23), DROP, PG_R_NOT_ALLOWED, DEF },
		{ "default deny + deny tcp 23 dry-run, ipv6", TCP6(23), DROP, PG_R_NOT_ALLOWED,
		  DEF },
		{ "local tcp 5432 + dry-run deny from 198.18.0.0/16", TCP4(5432), DROP,
		  PG_R_LOCAL_ONLY, PG_RULE_FIRST + 1 },
		{ "local tcp 5432, peer outside the dry-run deny", TCP4(5432, .src = "198.19.0.2"),
		  DROP, PG_R_LOCAL_ONLY, PG_RULE_FIRST + 1 },
		{ "local tcp 5432 from 127.0.0.1 on lo", TCP4(5432, .src = "127.0.0.1"), PASS,
		  PG_R_PASS_LOOPBACK, PG_RULE_FIRST + 1 },
		{ "default deny + local udp 9 dry-run", UDP4(9), DROP, PG_R_NOT_ALLOWED, DEF },
		{ "default deny + local udp 9 dry-run, ipv6", UDP6(9), DROP, PG_R_NOT_ALLOWED,
		  DEF },
	};
	struct policy_opts o = {
		.rules = dry_run_shadowed_rules,
		.nrules = sizeof(dry_run_shadowed_rules) / sizeof(dry_run_shadowed_rules[0]),
	};
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	RUN_TABLE(&f, cases);
}

TEST(default_in_allow)
{
	const struct frame_case cases[] = {
		{ "tcp 24, no rule", TCP4(24), PASS, PG_R_PASS_DEFAULT, DEF },
		{ "udp 53 from outside the allowed prefix", UDP4(53, .src = "198.19.0.2"), PASS,
		  PG_R_PASS_DEFAULT, DEF },
		{ "gre", { .family = 4, .proto = 47, .payload = 20 }, PASS, PG_R_PASS_DEFAULT,
		  DEF },
		{ "deny tcp 23 still denies", TCP6(23), DROP, PG_R_DENIED, R_TELNET },
		{ "local tcp 5432 still local", TCP4(5432), DROP, PG_R_LOCAL_ONLY, R_PG },
		{ "malformed still dropped", TCP4(22, .ihl = 4), DROP, PG_R_BAD_IHL, NONE },
		{ "fragment without a first still dropped", F4(22, 1, 40, .payload = 8), DROP,
		  PG_R_FRAGMENT, NONE },
	};
	struct policy_opts o = { .default_allow = 1 };
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	RUN_TABLE(&f, cases);
}

TEST(loopback_source_on_a_wire_is_spoofed)
{
	struct frame_case cases[] = {
		{ "127.0.0.1 to local tcp 5432", TCP4(5432, .src = "127.0.0.1"), DROP,
		  PG_R_LOCAL_ONLY, R_PG },
		{ "::1 to local tcp 5432", TCP6(5432, .src = "::1"), DROP, PG_R_LOCAL_ONLY, R_PG },
		/* tcp 6379 is open (an allow) and its local rule is dry-run: reported */
		{ "127.0.0.1 to local tcp 6379 dry-run", TCP4(6379, .src = "127.0.0.1"), PASS,
		  PG_R_LOCAL_ONLY, R_REDIS },
		{ "::1 to local tcp 6379 dry-run", TCP6(6379, .src = "::1"), PASS,
		  PG_R_LOCAL_ONLY, R_REDIS },
		/* no local rule: a loopback source is judged like any other */
		{ "127.0.0.1 to tcp 22", TCP4(22, .src = "127.0.0.1"), PASS, PG_R_PASS_RULE,
		  R_SSH },
		{ "127.0.0.1 to tcp 24", TCP4(24, .src = "127.0.0.1"), DROP, PG_R_NOT_ALLOWED,
		  DEF },
	};
	struct fx f;
	int ifindex;

	fx_default(&f);
	if (pg_kernel_older(5, 15))
		SKIP("%s", PG_LIMIT_XDP_TEST_CTX);
	if (system("ip link add pgt0 type veth peer name pgt1 >/dev/null 2>&1") != 0)
		SKIP("cannot create a veth pair (ip link add) in the test's namespace");
	ifindex = if_nametoindex("pgt0");
	ASSERT_NE(0, ifindex);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cases[i].ifindex = ifindex;
	RUN_TABLE(&f, cases);
}

/* ---- fragments (stateful: rows run in order) ---- */

static const struct frame_case frag_cases[] = {
	{ "v4 first fragment, tcp 22", F4(22, 1, 0, .more_frags = 1, .payload = 16), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "v4 later fragment of an allowed datagram", F4(22, 1, 40, .payload = 16), PASS,
	  PG_R_PASS_FRAGMENT, R_SSH },
	{ "v4 last fragment of an allowed datagram", F4(22, 1, 56, .payload = 8), PASS,
	  PG_R_PASS_FRAGMENT, R_SSH },
	{ "v4 first fragment, tcp 23 denied", F4(23, 2, 0, .more_frags = 1, .payload = 16),
	  DROP, PG_R_DENIED, R_TELNET },
	{ "v4 later fragment of a denied datagram", F4(23, 2, 40, .payload = 16), DROP,
	  PG_R_FRAGMENT, R_TELNET },
	{ "v4 later fragment without a first", F4(22, 3, 40, .payload = 16), DROP,
	  PG_R_FRAGMENT, NONE },
	{ "v4 same id, other protocol", F4(22, 1, 40, .proto = IPPROTO_UDP, .payload = 16), DROP,
	  PG_R_FRAGMENT, NONE },
	{ "v4 same id, other source", F4(22, 1, 40, .src = "198.18.0.3", .payload = 16), DROP,
	  PG_R_FRAGMENT, NONE },
	{ "v4 first fragment for the overlap", F4(22, 4, 0, .more_frags = 1, .payload = 16),
	  PASS, PG_R_PASS_RULE, R_SSH },
	{ "v4 fragment at 8 overlaps the tcp header", F4(22, 4, 8, .payload = 16), DROP,
	  PG_R_FRAG_OVERLAP, R_SSH },
	{ "v4 fragment at 24 follows the tcp header", F4(22, 4, 24, .payload = 16), PASS,
	  PG_R_PASS_FRAGMENT, R_SSH },
	{ "v4 first fragment with 8 bytes of tcp", F4(22, 5, 0, .more_frags = 1, .l4_bytes = 8),
	  DROP, PG_R_FRAG_SHORT, NONE },
	{ "v4 first fragment, tcp options cut", F4(22, 6, 0, .more_frags = 1, .doff = 10,
						    .l4_bytes = 24),
	  DROP, PG_R_FRAG_SHORT, NONE },
	{ "v4 udp first fragment with 4 bytes", F4(53, 7, 0, .proto = IPPROTO_UDP,
						   .more_frags = 1, .l4_bytes = 4),
	  DROP, PG_R_FRAG_SHORT, NONE },
	{ "v4 udp first fragment", F4(53, 8, 0, .proto = IPPROTO_UDP, .more_frags = 1,
				      .payload = 24),
	  PASS, PG_R_PASS_RULE, R_DNS },
	{ "v4 udp fragment at 8 (after the udp header)", F4(53, 8, 8, .proto = IPPROTO_UDP,
							    .payload = 8),
	  PASS, PG_R_PASS_FRAGMENT, R_DNS },
	{ "v4 icmp first fragment", F4(0, 9, 0, .proto = IPPROTO_ICMP, .more_frags = 1,
				       .payload = 24),
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "v4 icmp later fragment", F4(0, 9, 32, .proto = IPPROTO_ICMP, .payload = 24), PASS,
	  PG_R_PASS_FRAGMENT, NONE },
	{ "v4 first fragment, tcp 25 deny dry-run", F4(25, 10, 0, .more_frags = 1,
						       .payload = 16),
	  PASS, PG_R_DENIED, R_SMTP },
	{ "v4 later fragment of a dry-run datagram", F4(25, 10, 40, .payload = 16), PASS,
	  PG_R_FRAGMENT, R_SMTP },
	/* tcp 25 over IPv6: no allow, the default denies and the dry-run deny opens nothing */
	{ "v6 first fragment, tcp 25 deny dry-run under default deny",
	  F6(25, 29, 0, .more_frags = 1, .payload = 16), DROP, PG_R_NOT_ALLOWED, DEF },
	{ "v6 later fragment of that datagram", F6(25, 29, 40, .payload = 16), DROP,
	  PG_R_FRAGMENT, DEF },
	{ "v4 gre first fragment", F4(0, 11, 0, .proto = 47, .more_frags = 1, .payload = 24),
	  DROP, PG_R_PROTO, DEF },
	{ "v4 gre later fragment", F4(0, 11, 24, .proto = 47, .payload = 24), DROP,
	  PG_R_FRAGMENT, DEF },

	{ "v6 first fragment, tcp 22", F6(22, 21, 0, .more_frags = 1, .payload = 16), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "v6 later fragment of an allowed datagram", F6(22, 21, 40, .payload = 16), PASS,
	  PG_R_PASS_FRAGMENT, R_SSH },
	{ "v6 first fragment, tcp 24", F6(24, 22, 0, .more_frags = 1, .payload = 16), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "v6 later fragment of a dropped datagram", F6(24, 22, 40, .payload = 16), DROP,
	  PG_R_FRAGMENT, DEF },
	{ "v6 later fragment without a first", F6(22, 23, 40, .payload = 16), DROP,
	  PG_R_FRAGMENT, NONE },
	{ "v6 first fragment, dstopts after the fragment header",
	  { .family = 6, .dport = 22, .frag_id = 24, .more_frags = 1, .payload = 16,
	    EXT(HOP, FRAG, DST) },
	  PASS, PG_R_PASS_RULE, R_SSH },
	/* every fragment header of a datagram names the same next header: dstopts here */
	{ "v6 fragment at 24 overlaps dstopts + tcp (28 bytes)",
	  { .family = 6, .proto = PG_EXT_DSTOPTS, .frag_id = 24, .frag_off = 24, .payload = 16,
	    EXT(HOP, FRAG) },
	  DROP, PG_R_FRAG_OVERLAP, R_SSH },
	{ "v6 fragment at 32 follows them",
	  { .family = 6, .proto = PG_EXT_DSTOPTS, .frag_id = 24, .frag_off = 32, .payload = 16,
	    EXT(HOP, FRAG) },
	  PASS, PG_R_PASS_FRAGMENT, R_SSH },
	{ "v6 first fragment with 12 bytes of tcp", F6(22, 25, 0, .more_frags = 1,
							  .l4_bytes = 12),
	  DROP, PG_R_FRAG_SHORT, NONE },
	{ "v6 first fragment, chain cut after the fragment header",
	  { .family = 6, .dport = 22, .frag_id = 26, .more_frags = 1, EXT(FRAG, DST),
	    .len_delta = -26 },
	  DROP, PG_R_FRAG_SHORT, NONE },
	{ "v6 fragment header cut short", F6(22, 27, 0, .more_frags = 1, .len_delta = -24),
	  DROP, PG_R_MALFORMED, NONE },
	{ "v6 icmpv6 first fragment", F6(0, 28, 0, .proto = IPPROTO_ICMPV6, .more_frags = 1,
					 .payload = 24),
	  PASS, PG_R_PASS_ICMP, NONE },
	{ "v6 icmpv6 later fragment", F6(0, 28, 32, .proto = IPPROTO_ICMPV6, .payload = 8),
	  PASS, PG_R_PASS_FRAGMENT, NONE },
};

TEST(fragments)
{
	struct fx f;

	fx_default(&f);
	RUN_TABLE(&f, frag_cases);
}

/* ---- the other ingress programs decide every table alike ---- */

static void run_all_tables(struct fx *f)
{
	RUN_TABLE(f, l2_cases);
	RUN_TABLE(f, ipv4_cases);
	RUN_TABLE(f, ipv6_cases);
	RUN_TABLE(f, l4_cases);
	RUN_TABLE(f, policy_cases);
	RUN_TABLE(f, frag_cases);
}

TEST(xdp_frags_decides_every_table_as_xdp)
{
	struct fx f;

	fx_default(&f);
	fx_kind(&f, FX_FRAGS);
	run_all_tables(&f);
}

TEST(tc_ingress_decides_every_table_as_xdp)
{
	struct fx f;

	fx_default(&f);
	fx_kind(&f, FX_TC);
	run_all_tables(&f);
	tc_ingress_bpf__destroy(f.tci);
}

/* ---- jumbo frames: multi-buffer XDP (tc: e2e_production, the test run takes no page-sized
 * skb) ---- */

/* Ethernet + IPv4 + TCP: 54 bytes of headers; a 9000-byte frame. */
#define JUMBO_TCP4 (9000 - 14 - 20 - 20)
#define JUMBO_TCP6 (9000 - 14 - 40 - 20)

static const struct frame_case jumbo_cases[] = {
	{ "9000-byte tcp to an allowed port", TCP4(22, .payload = JUMBO_TCP4), PASS,
	  PG_R_PASS_RULE, R_SSH },
	{ "9000-byte tcp to a closed port", TCP4(24, .payload = JUMBO_TCP4), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "9000-byte tcp6 to a deny rule", TCP6(23, .payload = JUMBO_TCP6), DROP, PG_R_DENIED,
	  R_TELNET },
	{ "8000-byte udp from the allowed prefix", UDP4(53, .src = "198.18.0.7", .payload = 8000),
	  PASS, PG_R_PASS_RULE, R_DNS },
	{ "8000-byte udp from outside it", UDP4(53, .src = "198.19.0.7", .payload = 8000), DROP,
	  PG_R_NOT_ALLOWED, DEF },
	{ "8000-byte udp6 to a closed port", UDP6(54, .payload = 8000), DROP, PG_R_NOT_ALLOWED,
	  DEF },
	{ "ip total length one byte beyond the whole frame",
	  TCP4(22, .payload = 8000, .len_delta = 1), DROP, PG_R_MALFORMED, NONE },
	{ "ipv6 payload length one byte beyond the whole frame",
	  TCP6(22, .payload = 8000, .len_delta = 1), DROP, PG_R_MALFORMED, NONE },
	{ "udp length beyond the datagram", UDP4(53, .payload = 8000, .udp_len_delta = 1), DROP,
	  PG_R_MALFORMED, NONE },
	{ "ethernet padding after a jumbo datagram", TCP4(22, .payload = 8000, .pad = 40), PASS,
	  PG_R_PASS_RULE, R_SSH },
};

/* A 9000-byte frame is counted whole (all its buffers), by each kind. */
static void expect_jumbo_bytes(struct fx *f)
{
	struct pg_frame_spec s = TCP4(22, .payload = JUMBO_TCP4);
	struct pg_counter before, after;

	ASSERT_EQ(0, pg_percpu_counter(f->m.fd[PG_MAP_REASON_STATS], PG_R_PASS_RULE, &before));
	ASSERT_EQ(XDP_PASS, run_frame(f, &s, 0));
	ASSERT_EQ(0, pg_percpu_counter(f->m.fd[PG_MAP_REASON_STATS], PG_R_PASS_RULE, &after));
	EXPECT_EQ(9000, after.bytes - before.bytes);
}

TEST(jumbo_frames_multi_buffer_xdp)
{
	struct fx f;

	fx_default(&f);
	fx_kind(&f, FX_FRAGS);
	RUN_TABLE(&f, jumbo_cases);
	expect_jumbo_bytes(&f);
}

/*
 * Headers that cross from the first buffer into a fragment: PG_R_HDR_SPLIT, never a verdict on
 * what was not read. Headers whole in the first buffer are decided as usual, with the payload
 * in the fragments. The first buffer's size is set through the context's data_end.
 */
struct split_case {
	struct frame_case c;
	__u32 linear;
};

TEST(headers_split_across_buffers)
{
	static const struct split_case cases[] = {
		{ { "ethernet cut", TCP4(22, .payload = 8000), DROP, PG_R_HDR_SPLIT, NONE }, 10 },
		{ { "vlan tag cut", TCP4(22, .vlans = 2, .payload = 8000), DROP, PG_R_HDR_SPLIT,
		    NONE }, 20 },
		{ { "ipv4 header cut", TCP4(22, .payload = 8000), DROP, PG_R_HDR_SPLIT, NONE }, 24 },
		{ { "ipv4 options cut", TCP4(22, .ip_opt_words = 4, .payload = 8000), DROP,
		    PG_R_HDR_SPLIT, NONE }, 40 },
		{ { "tcp header cut", TCP4(22, .payload = 8000), DROP, PG_R_HDR_SPLIT, NONE }, 44 },
		{ { "tcp header cut, closed port", TCP4(24, .payload = 8000), DROP, PG_R_HDR_SPLIT,
		    NONE }, 44 },
		{ { "udp header cut", UDP4(53, .payload = 8000), DROP, PG_R_HDR_SPLIT, NONE }, 38 },
		{ { "ipv6 header cut", TCP6(22, .payload = 8000), DROP, PG_R_HDR_SPLIT, NONE }, 40 },
		{ { "ipv6 extension header cut", TCP6(22, EXT(DST, DST), .payload = 8000), DROP,
		    PG_R_HDR_SPLIT, NONE }, 14 + 40 + 12 },
		{ { "headers whole in the first buffer", TCP4(22, .payload = 8000), PASS,
		    PG_R_PASS_RULE, R_SSH }, 54 },
		{ { "headers whole, closed port", TCP4(24, .payload = 8000), DROP, PG_R_NOT_ALLOWED,
		    DEF }, 54 },
		{ { "ipv6 chain whole", TCP6(22, EXT(DST, DST), .payload = 8000), PASS,
		    PG_R_PASS_RULE, R_SSH }, 14 + 40 + 16 + 20 },
		{ { "truncated, not split: ip length beyond the frame",
		    TCP4(22, .payload = 8000, .len_delta = 1), DROP, PG_R_MALFORMED, NONE }, 54 },
	};
	static __u8 buf[PG_FRAME_MAX];
	struct pg_frame_spec probe = TCP4(22, .payload = 8000);
	struct xdp_md md = { .data_end = 54 };
	struct fx f;
	int len;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1, .ctx_in = &md,
		    .ctx_size_in = sizeof(md));

	fx_default(&f);
	fx_kind(&f, FX_FRAGS);
	len = pg_frame_build(&probe, buf, sizeof(buf));
	ASSERT_LT(0, len);
	o.data_size_in = len;
	if (bpf_prog_test_run_opts(f.prog, &o))
		SKIP("BPF_PROG_TEST_RUN here cannot size a frame's first buffer (data_end "
		     "below the frame: %s)", strerror(errno));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.linear = cases[i].linear;
		run_case(&f, &cases[i].c);
	}
	printf("# %zu frames\n", sizeof(cases) / sizeof(cases[0]));
}

/* ---- replies ---- */

static void put_flow(struct fx *f, int family, const char *laddr, const char *raddr,
		     __u16 lport, __u16 rport, __u8 proto, __u64 last_ns)
{
	struct pg_flow_key k = { .lport = lport, .rport = rport, .proto = proto };
	struct pg_flow_val v = { .last_ns = last_ns };

	if (family == 4) {
		k.laddr[10] = k.laddr[11] = k.raddr[10] = k.raddr[11] = 0xff;
		ASSERT_EQ(1, inet_pton(AF_INET, laddr, k.laddr + 12));
		ASSERT_EQ(1, inet_pton(AF_INET, raddr, k.raddr + 12));
	} else {
		ASSERT_EQ(1, inet_pton(AF_INET6, laddr, k.laddr));
		ASSERT_EQ(1, inet_pton(AF_INET6, raddr, k.raddr));
	}
	ASSERT_EQ(0, pg_flow_write(f->m.fd[PG_MAP_FLOWS], f->m.fd[PG_MAP_FLOW_PORTS], &k, &v,
				   BPF_ANY));
}

TEST(replies_to_flows_this_host_opened)
{
	/* The server at 198.18.0.2:443 answering our 198.18.0.1:40001. */
	const struct frame_case unsolicited[] = {
		{ "tcp answer before the flow exists",
		  TCP4(40001, .sport = 443, .tcp_flags = 0x12), DROP, PG_R_NOT_ALLOWED, DEF },
		{ "udp answer before the flow exists", UDP6(40002, .sport = 53), DROP,
		  PG_R_NOT_ALLOWED, DEF },
	};
	const struct frame_case replies[] = {
		{ "tcp syn-ack answers", TCP4(40001, .sport = 443, .tcp_flags = 0x12), PASS,
		  PG_R_PASS_REPLY, NONE },
		{ "tcp ack answers", TCP4(40001, .sport = 443), PASS, PG_R_PASS_REPLY, NONE },
		{ "tcp syn never answers", TCP4(40001, .sport = 443, .tcp_flags = 0x02), DROP,
		  PG_R_NOT_ALLOWED, DEF },
		{ "tcp from another remote port", TCP4(40001, .sport = 444), DROP,
		  PG_R_NOT_ALLOWED, DEF },
		{ "tcp from another remote", TCP4(40001, .sport = 443, .src = "198.18.0.3"), DROP,
		  PG_R_NOT_ALLOWED, DEF },
		{ "udp on the tcp flow's ports", UDP4(40001, .sport = 443), DROP,
		  PG_R_NOT_ALLOWED, DEF },
		{ "udp answers, ipv6", UDP6(40002, .sport = 53), PASS, PG_R_PASS_REPLY, NONE },
		{ "a deny rule still loses to a reply", TCP4(23, .sport = 443), PASS,
		  PG_R_PASS_REPLY, NONE },
	};
	const struct frame_case expired[] = {
		{ "tcp answer after the idle timeout", TCP4(40001, .sport = 443), DROP,
		  PG_R_NOT_ALLOWED, DEF },
		{ "udp answer after the idle timeout", UDP6(40002, .sport = 53), DROP,
		  PG_R_NOT_ALLOWED, DEF },
	};
	struct fx f;
	__u64 now;

	fx_default(&f);
	RUN_TABLE(&f, unsolicited);
	now = now_ns();
	put_flow(&f, 4, "198.18.0.1", "198.18.0.2", 40001, 443, IPPROTO_TCP, now);
	put_flow(&f, 4, "198.18.0.1", "198.18.0.2", 23, 443, IPPROTO_TCP, now);
	put_flow(&f, 6, "2001:db8::1", "2001:db8::2", 40002, 53, IPPROTO_UDP, now);
	RUN_TABLE(&f, replies);
	/* Last seen long before the idle timeouts (1 h TCP, 30 s UDP): expired. */
	put_flow(&f, 4, "198.18.0.1", "198.18.0.2", 40001, 443, IPPROTO_TCP,
		 now - 3601 * SEC_NS);
	put_flow(&f, 6, "2001:db8::1", "2001:db8::2", 40002, 53, IPPROTO_UDP,
		 now - 31 * SEC_NS);
	RUN_TABLE(&f, expired);
}

/* ---- dry-run ---- */

TEST(dry_run_blocks_nothing)
{
	const struct frame_case cases[] = {
		{ "default deny", TCP4(24), PASS, PG_R_NOT_ALLOWED, DEF },
		{ "deny rule", TCP6(23), PASS, PG_R_DENIED, R_TELNET },
		{ "local from off-host", TCP4(5432), PASS, PG_R_LOCAL_ONLY, R_PG },
		{ "3 vlan tags", TCP4(22, .vlans = 3), PASS, PG_R_VLAN_DEPTH, NONE },
		{ "bad ihl", TCP4(22, .ihl = 4), PASS, PG_R_BAD_IHL, NONE },
		{ "bad doff", TCP4(22, .doff = 3), PASS, PG_R_BAD_DOFF, NONE },
		{ "truncated", TCP6(22, .truncate = 20), PASS, PG_R_MALFORMED, NONE },
		{ "ext header limit", TCP6(22, EXT(DST, DST, DST, DST, DST, DST, DST)), PASS,
		  PG_R_EXT_HDR_LIMIT, NONE },
		{ "other protocol", { .family = 4, .proto = 47 }, PASS, PG_R_PROTO, DEF },
		{ "fragment without a first", F4(22, 1, 40, .payload = 8), PASS, PG_R_FRAGMENT,
		  NONE },
		{ "short first fragment", F4(22, 2, 0, .more_frags = 1, .l4_bytes = 8), PASS,
		  PG_R_FRAG_SHORT, NONE },
		{ "allowed stays allowed", TCP4(22), PASS, PG_R_PASS_RULE, R_SSH },
	};
	struct policy_opts o = { .mode = PG_MODE_DRY_RUN };
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	RUN_TABLE(&f, cases);
}

/* ---- events ---- */

struct ev_log {
	struct pg_event ev[16];
	int n;
};

static int ev_cb(void *ctx, void *data, size_t size)
{
	struct ev_log *l = ctx;

	if (size >= sizeof(struct pg_event) && l->n < 16)
		memcpy(&l->ev[l->n++], data, sizeof(struct pg_event));
	return 0;
}

static void drain(struct fx *f, struct ev_log *l)
{
	struct ring_buffer *rb;

	l->n = 0;
	rb = ring_buffer__new(f->m.fd[PG_MAP_EVENTS], ev_cb, l, NULL);
	ASSERT_TRUE(rb != NULL);
	ASSERT_LE(0, ring_buffer__consume(rb));
	ring_buffer__free(rb);
}

static __u64 event_stat(struct fx *f, __u32 which)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 v[ncpus], sum = 0;

	ASSERT_EQ(0, bpf_map_lookup_elem(f->m.fd[PG_MAP_EVENT_STATS], &which, v));
	for (int i = 0; i < ncpus; i++)
		sum += v[i];
	return sum;
}

static void mapped4(__u8 *a, const char *s)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	inet_pton(AF_INET, s, a + 12);
}

TEST(event_for_a_violation)
{
	struct pg_frame_spec blocked = TCP4(24, .sport = 41000, .tcp_flags = 0x02);
	struct pg_frame_spec logged = TCP6(80, .sport = 41001);
	struct pg_frame_spec allowed = TCP4(22);
	struct pg_frame_spec bad = TCP4(22, .ihl = 4);
	__u8 a[16];
	struct ev_log l;
	struct pg_event *e;
	struct fx f;

	fx_default(&f);
	ASSERT_EQ(XDP_DROP, run_frame(&f, &blocked, 0));
	ASSERT_EQ(XDP_PASS, run_frame(&f, &allowed, 0));
	ASSERT_EQ(XDP_PASS, run_frame(&f, &logged, 0));
	ASSERT_EQ(XDP_DROP, run_frame(&f, &bad, 0));
	drain(&f, &l);
	/* the allowed packet reports nothing */
	ASSERT_EQ(3, l.n);
	ASSERT_EQ(3, event_stat(&f, PG_EVS_SUBMITTED));

	e = &l.ev[0];
	EXPECT_EQ(PG_HOOK_XDP, e->hook);
	EXPECT_EQ(PG_R_NOT_ALLOWED, e->reason);
	EXPECT_EQ(f.gen, e->gen);
	EXPECT_EQ(PG_RULE_DEFAULT_IN, e->rule_id);
	EXPECT_EQ(1, e->ifindex); /* BPF_PROG_TEST_RUN runs on lo */
	EXPECT_EQ(PG_EV_BLOCKED, e->action);
	EXPECT_EQ(PG_DIR_IN, e->dir);
	EXPECT_EQ(IPPROTO_TCP, e->proto);
	EXPECT_EQ(4, e->family);
	EXPECT_EQ(41000, e->sport);
	EXPECT_EQ(24, e->dport);
	EXPECT_EQ(0, e->cgroup_id);
	EXPECT_EQ(0, e->pid);
	mapped4(a, "198.18.0.2");
	EXPECT_EQ(0, memcmp(a, e->saddr, 16));
	mapped4(a, "198.18.0.1");
	EXPECT_EQ(0, memcmp(a, e->daddr, 16));
	EXPECT_TRUE(e->ts_ns > 0);
	EXPECT_GE(now_ns(), e->ts_ns);

	e = &l.ev[1];
	EXPECT_EQ(PG_EV_LOGGED, e->action);
	EXPECT_EQ(PG_R_PASS_RULE, e->reason);
	EXPECT_EQ(slot_of(&f, R_HTTP), e->rule_id);
	EXPECT_EQ(6, e->family);
	EXPECT_EQ(41001, e->sport);
	EXPECT_EQ(80, e->dport);
	inet_pton(AF_INET6, "2001:db8::2", a);
	EXPECT_EQ(0, memcmp(a, e->saddr, 16));

	e = &l.ev[2];
	EXPECT_EQ(PG_EV_BLOCKED, e->action);
	EXPECT_EQ(PG_R_BAD_IHL, e->reason);
	EXPECT_EQ(PG_RULE_NONE, e->rule_id);
	EXPECT_EQ(0, e->family); /* the header was refused: its fields are not reported */
	EXPECT_EQ(0, e->dport);
}

TEST(event_in_dry_run_reports_allowed)
{
	struct pg_frame_spec s = TCP4(24);
	struct pg_frame_spec rule_dry = TCP4(25);
	struct pg_frame_spec rule_dry_closed = TCP6(25);
	struct policy_opts o = { .mode = PG_MODE_DRY_RUN };
	struct ev_log l;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	ASSERT_EQ(XDP_PASS, run_frame(&f, &s, 0));
	drain(&f, &l);
	ASSERT_EQ(1, l.n);
	EXPECT_EQ(PG_EV_ALLOWED, l.ev[0].action);
	EXPECT_EQ(PG_R_NOT_ALLOWED, l.ev[0].reason);

	/* per-rule dry-run under an enforcing policy, where an allow lets tcp 25 in */
	o.mode = PG_MODE_ENFORCE;
	fx_policy(&f, &o);
	ASSERT_EQ(XDP_PASS, run_frame(&f, &rule_dry, 0));
	drain(&f, &l);
	ASSERT_EQ(1, l.n);
	EXPECT_EQ(PG_EV_ALLOWED, l.ev[0].action);
	EXPECT_EQ(PG_R_DENIED, l.ev[0].reason);
	EXPECT_EQ(slot_of(&f, R_SMTP), l.ev[0].rule_id);

	/* ...and where the default denies it: blocked, by the default */
	ASSERT_EQ(XDP_DROP, run_frame(&f, &rule_dry_closed, 0));
	drain(&f, &l);
	ASSERT_EQ(1, l.n);
	EXPECT_EQ(PG_EV_BLOCKED, l.ev[0].action);
	EXPECT_EQ(PG_R_NOT_ALLOWED, l.ev[0].reason);
	EXPECT_EQ(PG_RULE_DEFAULT_IN, l.ev[0].rule_id);
}

TEST(event_rate_limit_suppresses_and_counts)
{
	struct pg_frame_spec s = TCP4(24), other_port = TCP4(26);
	struct policy_opts o = { .ratelimit_ns = 3600 * SEC_NS };
	__u64 before;
	struct ev_log l;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	before = read_rule(&f, f.gen, PG_RULE_DEFAULT_IN);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(XDP_DROP, run_frame(&f, &s, 0));
	ASSERT_EQ(XDP_DROP, run_frame(&f, &other_port, 0));
	drain(&f, &l);
	/* one event per (source, port, reason) within the window */
	ASSERT_EQ(2, l.n);
	EXPECT_EQ(24, l.ev[0].dport);
	EXPECT_EQ(26, l.ev[1].dport);
	EXPECT_EQ(2, event_stat(&f, PG_EVS_SUBMITTED));
	EXPECT_EQ(4, event_stat(&f, PG_EVS_RATE_LIMITED));
	/* counters stay exact */
	EXPECT_EQ(before + 6, read_rule(&f, f.gen, PG_RULE_DEFAULT_IN));
}

TEST(event_budget_suppresses_and_counts)
{
	struct pg_frame_spec s = TCP4(24);
	static __u8 buf[PG_FRAME_MAX];
	struct policy_opts o = { .events_per_sec = 2 };
	int n = 1000, len;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	/* no rate limit, a budget of 2 events per second per CPU, 1000 violations in one
	 * BPF_PROG_TEST_RUN call: whatever the time they take, every wanted event is either
	 * submitted or counted, and only a run of 1000 packets lasting 500 s could see no
	 * suppression */
	len = pg_frame_build(&s, buf, sizeof(buf));
	ASSERT_LT(0, len);
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = buf, .data_size_in = len, .repeat = n);
	ASSERT_EQ(0, bpf_prog_test_run_opts(f.prog, &t));
	ASSERT_EQ(XDP_DROP, t.retval);
	EXPECT_EQ(n, event_stat(&f, PG_EVS_SUBMITTED) + event_stat(&f, PG_EVS_BUDGET));
	EXPECT_TRUE(event_stat(&f, PG_EVS_SUBMITTED) >= 1);
	EXPECT_TRUE(event_stat(&f, PG_EVS_BUDGET) > 0);
	EXPECT_EQ(n, read_rule(&f, f.gen, PG_RULE_DEFAULT_IN));
}

TEST(event_ring_full_is_counted)
{
	struct pg_frame_spec s = TCP4(24);
	static __u8 buf[PG_FRAME_MAX];
	struct policy_opts o = { 0 };
	int n = 12000, len;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	/* more events than a 1 MiB ring holds (104-byte records + 8-byte headers), nobody
	 * reading: the rest is counted, the packets are still dropped and counted */
	len = pg_frame_build(&s, buf, sizeof(buf));
	ASSERT_LT(0, len);
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = buf, .data_size_in = len, .repeat = n);
	ASSERT_EQ(0, bpf_prog_test_run_opts(f.prog, &t));
	ASSERT_EQ(XDP_DROP, t.retval);
	EXPECT_TRUE(event_stat(&f, PG_EVS_RING_FULL) > 0);
	EXPECT_TRUE(event_stat(&f, PG_EVS_SUBMITTED) > 0);
	EXPECT_EQ(n, event_stat(&f, PG_EVS_SUBMITTED) + event_stat(&f, PG_EVS_RING_FULL));
	EXPECT_EQ(n, read_rule(&f, f.gen, PG_RULE_DEFAULT_IN));
}

TEST(events_off_reports_nothing)
{
	struct pg_frame_spec s = TCP4(24);
	struct policy_opts o = { .no_events = 1 };
	struct ev_log l;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	ASSERT_EQ(XDP_DROP, run_frame(&f, &s, 0));
	drain(&f, &l);
	ASSERT_EQ(0, l.n);
	EXPECT_EQ(0, event_stat(&f, PG_EVS_SUBMITTED));
}

/* ---- generations ---- */

/* Entries of pg_peers, pg_buckets32 and pg_class_peers. */
static __u32 count_peers(struct fx *f)
{
	static const int maps[] = { PG_MAP_PEERS, PG_MAP_BUCKETS32, PG_MAP_CLASS_PEERS };
	char k[64], next[64];
	__u32 n = 0;

	for (int i = 0; i < 3; i++) {
		void *prev = NULL;

		while (bpf_map_get_next_key(f->m.fd[maps[i]], prev, next) == 0) {
			n++;
			memcpy(k, next, sizeof(k));
			prev = k;
		}
	}
	return n;
}

TEST(generation_switch)
{
	struct frame_case allowed[] = {
		{ "tcp 24 allowed by the new policy", TCP4(24), PASS, PG_R_PASS_RULE, R_EXTRA },
	};
	struct frame_case dropped[] = {
		{ "tcp 24 dropped by the next one", TCP4(24), DROP, PG_R_NOT_ALLOWED, DEF },
	};
	struct policy_opts with = { .allow24 = 1 }, without = { 0 };
	struct pg_compiled c = { 0 };
	size_t npeers_with;
	__u32 cur, first;
	struct fx f;

	fx_setup(&f);
	ASSERT_EQ(0, pg_active_gen(&f.m, &cur));
	ASSERT_EQ(0, cur); /* fresh maps */

	fx_policy(&f, &with);
	first = f.gen;
	ASSERT_EQ(1, first);
	ASSERT_EQ(0, pg_active_gen(&f.m, &cur));
	ASSERT_EQ(first, cur);
	RUN_TABLE(&f, allowed);
	npeers_with = f.npeers;
	EXPECT_EQ(npeers_with, count_peers(&f));

	fx_policy(&f, &without);
	ASSERT_EQ(pg_other_gen(first), f.gen);
	RUN_TABLE(&f, dropped);
	/* both generations' entries are in the trie now */
	EXPECT_EQ(npeers_with + f.npeers, count_peers(&f));

	/* back to the first generation's slots, without port 24: nothing of the older policy
	 * written there survives, and its peer entries are gone */
	fx_policy(&f, &without);
	ASSERT_EQ(first, f.gen);
	RUN_TABLE(&f, dropped);
	EXPECT_EQ(2 * f.npeers, count_peers(&f));

	/* the active generation cannot be written */
	fx_compile(&f, &without, &c);
	c.gen = f.gen;
	EXPECT_EQ(-EBUSY, pg_apply(&f.m, &c));
	/* nor can a class id of the active generation be written by the other */
	c.gen = pg_other_gen(f.gen);
	c.ports[0].val.class_id ^= 1u << PG_CLASS_GEN_SHIFT;
	EXPECT_EQ(-EINVAL, pg_apply(&f.m, &c));
	pg_compiled_free(&c);
	RUN_TABLE(&f, dropped);
	EXPECT_EQ(2 * f.npeers, count_peers(&f));
}

/*
 * Every packet is decided wholly by one generation while reloads go on under traffic. Both
 * policies pass tcp 8080 from 198.18.0.2 and drop 8081, through rules with peers, in
 * different port classes and rule slots: a packet that took its port slot from one generation
 * and its peer entry from the other would find no entry and fall to `default in deny`. A child
 * swaps the two policies back and forth (bounded: 200 swaps or 5 s) while this process runs
 * frames; not one may come out otherwise.
 */
TEST(reload_under_traffic_decides_by_one_generation)
{
	static const char *const a[] = { "allow in tcp 8080 from 198.18.0.0/15" };
	static const char *const b[] = { "allow in tcp 9 from 198.18.0.9",
					 "allow in tcp 8080,8090 from 198.18.0.0/16" };
	struct pg_frame_spec pass = TCP4(8080), drop = TCP4(8081);
	unsigned long frames = 0, wrong = 0;
	int pipefd[2], st;
	__u32 swaps = 0;
	pid_t child;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &(struct policy_opts){ .rules = a, .nrules = 1 });
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		__u64 end = now_ns() + 5 * SEC_NS;
		__u32 n;

		close(pipefd[0]);
		for (n = 0; n < 200 && now_ns() < end; n++)
			fx_policy(&f, &(struct policy_opts){ .rules = n & 1 ? a : b,
							     .nrules = n & 1 ? 1 : 2 });
		if (write(pipefd[1], &n, sizeof(n)) != sizeof(n))
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	while (waitpid(child, &st, WNOHANG) == 0 && frames < 400000) {
		wrong += run_frame(&f, &pass, 0) != XDP_PASS;
		wrong += run_frame(&f, &drop, 0) != XDP_DROP;
		frames += 2;
	}
	/* At the cap the child is still swapping: it ends by its own bound. */
	if (frames >= 400000)
		ASSERT_EQ(child, waitpid(child, &st, 0));
	ASSERT_EQ(sizeof(swaps), (size_t)read(pipefd[0], &swaps, sizeof(swaps)));
	close(pipefd[0]);
	printf("# %lu frames through %u reloads\n", frames, swaps);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ(0, wrong);
	/* the traffic overlapped the reloads: at least a frame pair per swap on average */
	EXPECT_GE(frames, 2ul * swaps);
}

static struct pg_port_val port_slot(struct fx *f, __u32 pidx, __u16 port)
{
	__u32 idx = pg_port_index(f->gen, PG_DIR_IN, pidx, port);
	struct pg_port_val v;

	ASSERT_EQ(0, bpf_map_lookup_elem(f->m.fd[PG_MAP_PORTS], &idx, &v));
	return v;
}

static const char *const inline_rules[] = {
	"allow in tcp 22",			/* FIRST + 0 */
	"allow in tcp 25",			/* FIRST + 1 */
	"deny in tcp 25 dry-run",		/* FIRST + 2 */
	"local tcp 5432",			/* FIRST + 3 */
	"local tcp 8090",			/* FIRST + 4 */
	"deny in tcp 8090",			/* FIRST + 5 */
	"allow in tcp 6379",			/* FIRST + 6 */
	"local tcp 6379 dry-run",		/* FIRST + 7 */
	"allow in udp 53 from 198.18.0.0/24",	/* FIRST + 8 */
};

TEST(apply_inlines_verdicts_that_do_not_depend_on_the_peer)
{
	struct policy_opts o = {
		.rules = inline_rules,
		.nrules = sizeof(inline_rules) / sizeof(inline_rules[0]),
	};
	const __u32 lmask = PG_PORT_PEERS | PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN;
	struct pg_port_val v;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	/* `allow in tcp 22`: one verdict for every peer, in the slot, no peer lookup */
	v = port_slot(&f, PG_PIDX_TCP, 22);
	EXPECT_NE(0, v.class_id);
	EXPECT_EQ(0, v.flags & PG_PORT_PEERS);
	EXPECT_EQ(PG_ACT_ALLOW, (v.flags >> PG_PORT_V_ACTION_SHIFT) & 3);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 0), v.rule_id);
	/* a dry-run deny over an allow: the rule's flags travel along */
	v = port_slot(&f, PG_PIDX_TCP, 25);
	EXPECT_EQ(0, v.flags & PG_PORT_PEERS);
	EXPECT_EQ(PG_ACT_DENY, (v.flags >> PG_PORT_V_ACTION_SHIFT) & 3);
	EXPECT_EQ(PG_VF_DRY_RUN, (v.flags >> PG_PORT_V_FLAGS_SHIFT) & 3);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 2), v.rule_id);
	/* `local tcp 5432`: off-host peers are refused by the local rule, loopback passes by
	 * it too: one verdict, and the local flag naming the rule */
	v = port_slot(&f, PG_PIDX_TCP, 5432);
	EXPECT_EQ(PG_PORT_LOCAL, v.flags & lmask);
	EXPECT_EQ(PG_ACT_LOCAL, (v.flags >> PG_PORT_V_ACTION_SHIFT) & 3);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 3), v.rule_id);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 3), v.flags >> PG_PORT_LOCAL_RULE_SHIFT);
	/* a deny from any over `local tcp 8090`: the verdict names the deny, the local rule
	 * bits still name the local rule (for bind); both fit in the slot */
	v = port_slot(&f, PG_PIDX_TCP, 8090);
	EXPECT_EQ(PG_PORT_LOCAL, v.flags & lmask);
	EXPECT_EQ(PG_ACT_DENY, (v.flags >> PG_PORT_V_ACTION_SHIFT) & 3);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 5), v.rule_id);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 4), v.flags >> PG_PORT_LOCAL_RULE_SHIFT);
	/* `local tcp 6379 dry-run` on an open port: loopback and the rest differ, the peer
	 * decides; the local flags stay */
	v = port_slot(&f, PG_PIDX_TCP, 6379);
	EXPECT_EQ(PG_PORT_PEERS | PG_PORT_LOCAL | PG_PORT_LOCAL_DRY_RUN, v.flags & lmask);
	EXPECT_EQ(slot_of(&f, PG_RULE_FIRST + 7), v.flags >> PG_PORT_LOCAL_RULE_SHIFT);
	/* `allow in udp 53 from 198.18.0.0/24`: the peer decides */
	v = port_slot(&f, PG_PIDX_UDP, 53);
	EXPECT_NE(0, v.class_id);
	EXPECT_EQ(PG_PORT_PEERS, v.flags & PG_PORT_PEERS);
	/* no rule: class 0, nothing inlined */
	v = port_slot(&f, PG_PIDX_TCP, 24);
	EXPECT_EQ(0, v.class_id);
	EXPECT_EQ(0, v.flags);
	/* and the datapath decides each as the trie would */
	{
		const struct frame_case cases[] = {
			{ "inlined deny dry-run over an allow", TCP4(25), PASS, PG_R_DENIED,
			  PG_RULE_FIRST + 2 },
			{ "inlined local", TCP4(5432), DROP, PG_R_LOCAL_ONLY, PG_RULE_FIRST + 3 },
			{ "deny over a local, from the slot", TCP4(8090), DROP, PG_R_DENIED,
			  PG_RULE_FIRST + 5 },
			{ "deny over a local, from loopback", TCP4(8090, .src = "127.0.0.1"), DROP,
			  PG_R_DENIED, PG_RULE_FIRST + 5 },
			{ "dry-run local, off-host", TCP6(6379), PASS, PG_R_LOCAL_ONLY,
			  PG_RULE_FIRST + 7 },
			{ "dry-run local, from ::1 on lo", TCP6(6379, .src = "::1"), PASS,
			  PG_R_PASS_RULE, PG_RULE_FIRST + 6 },
		};

		RUN_TABLE(&f, cases);
	}
}

/*
 * The peer's verdict by every path of pg_decide: inline in the probed entry (a group that
 * changes one class), absent from a complete inline list (the class keeps its base verdict),
 * looked up in pg_class_peers (a group that changes three classes), and IPv6 prefixes probed
 * from the /16 bucket's own lengths, then (once a /32 makes the /16 deep) from pg_buckets32.
 */
static const char *const peer_path_rules[] = {
	"allow in tcp 22 from 198.18.5.1",		/* FIRST + 0: inline */
	"allow in tcp 80 from 198.18.6.1",		/* FIRST + 1: three classes */
	"allow in tcp 81 from 198.18.6.1",		/* FIRST + 2 */
	"allow in udp 53 from 198.18.6.1",		/* FIRST + 3 */
	"allow in tcp 443 from 2001:db8:1:2::/64",	/* FIRST + 4 */
	"allow in tcp 8443 from 2001:db8::/32",		/* FIRST + 5: the /16 goes deep */
};

TEST(peer_verdicts_inline_looked_up_and_by_bucket)
{
	const struct frame_case cases[] = {
		{ "inline verdict", TCP4(22, .src = "198.18.5.1"), PASS, PG_R_PASS_RULE,
		  PG_RULE_FIRST + 0 },
		{ "complete inline list without the class", TCP4(80, .src = "198.18.5.1"), DROP,
		  PG_R_NOT_ALLOWED, PG_RULE_DEFAULT_IN },
		{ "looked up: tcp 80", TCP4(80, .src = "198.18.6.1"), PASS, PG_R_PASS_RULE,
		  PG_RULE_FIRST + 1 },
		{ "looked up: tcp 81", TCP4(81, .src = "198.18.6.1"), PASS, PG_R_PASS_RULE,
		  PG_RULE_FIRST + 2 },
		{ "looked up: udp 53", UDP4(53, .src = "198.18.6.1"), PASS, PG_R_PASS_RULE,
		  PG_RULE_FIRST + 3 },
		{ "looked up, no entry for the class", TCP4(22, .src = "198.18.6.1"), DROP,
		  PG_R_NOT_ALLOWED, PG_RULE_DEFAULT_IN },
		{ "ipv6 /64 probed", TCP6(443, .src = "2001:db8:1:2::5"), PASS, PG_R_PASS_RULE,
		  PG_RULE_FIRST + 4 },
		{ "ipv6 outside the /64", TCP6(443, .src = "2001:db8:1:3::5"), DROP,
		  PG_R_NOT_ALLOWED, PG_RULE_DEFAULT_IN },
	};
	const struct frame_case deep[] = {
		{ "ipv6 /32 from its /32 bucket", TCP6(8443, .src = "2001:db8:ffff::1"), PASS,
		  PG_R_PASS_RULE, PG_RULE_FIRST + 5 },
		{ "ipv6 outside the /32", TCP6(8443, .src = "2001:db9::1"), DROP,
		  PG_R_NOT_ALLOWED, PG_RULE_DEFAULT_IN },
	};
	struct policy_opts o = { .rules = peer_path_rules, .nrules = 5 };
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	RUN_TABLE(&f, cases);
	o.nrules = 6;
	fx_policy(&f, &o);
	RUN_TABLE(&f, cases);
	RUN_TABLE(&f, deep);
}

TEST(rule_counters_start_at_zero_in_a_new_generation)
{
	struct pg_frame_spec s = TCP4(22);
	struct policy_opts o = { 0 };
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &o);
	ASSERT_EQ(XDP_PASS, run_frame(&f, &s, 0));
	ASSERT_EQ(1, read_rule(&f, f.gen, slot_of(&f, R_SSH)));
	fx_policy(&f, &o);
	fx_policy(&f, &o); /* the first generation again: its counters restart */
	ASSERT_EQ(0, read_rule(&f, f.gen, slot_of(&f, R_SSH)));
	ASSERT_EQ(XDP_PASS, run_frame(&f, &s, 0));
	ASSERT_EQ(1, read_rule(&f, f.gen, slot_of(&f, R_SSH)));
}

/*
 * Counters are zeroed only up to the last rule source the generation held: a rule slot that a
 * smaller policy dropped must still restart at zero when a larger one brings it back.
 */
TEST(rule_counters_of_slots_a_smaller_policy_dropped_restart_at_zero)
{
	static const char *const big[] = { "allow in tcp 1", "allow in tcp 2", "allow in tcp 3",
					   "allow in tcp 22" };
	static const char *const small[] = { "allow in tcp 1" };
	struct policy_opts ob = { .rules = big, .nrules = 4 }, os = { .rules = small, .nrules = 1 };
	struct pg_frame_spec s = TCP4(22);
	__u32 gen, slot;
	struct fx f;

	fx_setup(&f);
	fx_policy(&f, &ob);
	gen = f.gen;
	slot = slot_of(&f, PG_RULE_FIRST + 3);
	ASSERT_EQ(XDP_PASS, run_frame(&f, &s, 0));
	ASSERT_EQ(1, read_rule(&f, gen, slot));
	fx_policy(&f, &ob);
	fx_policy(&f, &os); /* the slot's generation again, without the rule */
	ASSERT_EQ(gen, f.gen);
	fx_policy(&f, &os);
	fx_policy(&f, &ob); /* and with it */
	ASSERT_EQ(gen, f.gen);
	ASSERT_EQ(slot, slot_of(&f, PG_RULE_FIRST + 3));
	EXPECT_EQ(0, read_rule(&f, gen, slot));
}

static size_t entry_size; /* of the records gen_entries sorts */

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, entry_size);
}

/* The entries of generation gen in hash map id, each its key then its value, sorted. */
static size_t gen_entries(struct fx *f, enum pg_map_id id, __u32 gen, char **out)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char key[64], prev[64], *buf = NULL;
	int fd = f->m.fd[id];
	size_t n = 0;
	bool first = true;

	ASSERT_EQ(0, bpf_obj_get_info_by_fd(fd, &info, &len));
	entry_size = info.key_size + info.value_size;
	while (bpf_map_get_next_key(fd, first ? NULL : prev, key) == 0) {
		const struct pg_class_peer_key *ck = (const void *)key;
		const struct pg_peer_key *pk = (const void *)key;
		const struct pg_bucket32_key *bk = (const void *)key;
		__u32 g = id == PG_MAP_CLASS_PEERS ? pg_class_id_gen(ck->class_id) :
			  id == PG_MAP_PEERS	   ? pk->gen :
						     bk->gen;

		if (g == gen) {
			buf = realloc(buf, (n + 1) * entry_size);
			ASSERT_TRUE(buf != NULL);
			memcpy(buf + n * entry_size, key, info.key_size);
			ASSERT_EQ(0, bpf_map_lookup_elem(fd, key, buf + n * entry_size + info.key_size));
			n++;
		}
		memcpy(prev, key, sizeof(prev));
		first = false;
	}
	qsort(buf, n, entry_size, entry_cmp);
	*out = buf;
	return n;
}

/* Slot by slot, n array slots from first hold the same in a and in b. */
static void expect_same_slots(struct fx *a, struct fx *b, enum pg_map_id id, __u32 first,
			      __u32 n, const char *what)
{
	char va[256], vb[256];
	__u32 differ = 0;

	for (__u32 k = first; k < first + n; k++) {
		memset(va, 0, sizeof(va));
		memset(vb, 0, sizeof(vb));
		ASSERT_EQ(0, bpf_map_lookup_elem(a->m.fd[id], &k, va));
		ASSERT_EQ(0, bpf_map_lookup_elem(b->m.fd[id], &k, vb));
		differ += !!memcmp(va, vb, sizeof(va));
	}
	if (differ)
		printf("# %s: %u slots differ\n", what, differ);
	EXPECT_EQ(0, differ);
}

/*
 * pg_apply writes only what differs from what the idle generation holds: what it leaves there
 * must be what a first load of the same policy writes into fresh maps. The generation held a
 * policy whose prefixes, port classes and rule sources partly stay, partly change their
 * value, partly go; the new one also brings its own.
 */
TEST(reload_leaves_the_generation_as_a_first_load_does)
{
	static const char *const before[] = {
		"allow in tcp 8080 from 198.18.0.0/15",
		"deny in tcp 8080 from 198.18.3.7",
		"allow in tcp 443 from 2001:db8:1::/48,2001:db8:1:2::/64,2001:db8:7::/56",
		"allow in udp 53 from 198.18.128.0/17,198.19.4.0/24",
		"deny in tcp 22 from 2001:db8:2::1",
		"allow in tcp 22",
	};
	static const char *const after[] = {
		"allow in tcp 8080 from 198.18.0.0/15",
		"allow in tcp 443 from 2001:db8:1::/48,2001:db8:7::/56",
		"deny in tcp 443 from 2001:db8:1:2::5",
		"allow in udp 53 from 198.18.128.0/18,198.19.4.0/24",
		"allow in tcp 9090 from 198.18.3.7",
	};
	static const enum pg_map_id hashes[] = { PG_MAP_PEERS, PG_MAP_BUCKETS32,
						 PG_MAP_CLASS_PEERS };
	struct policy_opts ob = { .rules = before, .nrules = 6 }, oa = { .rules = after, .nrules = 5 };
	struct pg_frame_spec s = TCP4(22);
	struct fx f, fresh;
	__u32 gen;

	fx_setup(&f);
	fx_policy(&f, &ob);
	gen = f.gen;
	ASSERT_EQ(XDP_PASS, run_frame(&f, &s, 0)); /* a counter to zero */
	fx_policy(&f, &ob);
	fx_policy(&f, &oa); /* over `before` */
	ASSERT_EQ(gen, f.gen);
	fx_setup(&fresh);
	fx_policy(&fresh, &oa);
	ASSERT_EQ(gen, fresh.gen);

	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		char *ea, *eb;
		size_t na = gen_entries(&f, hashes[i], gen, &ea);
		size_t nb = gen_entries(&fresh, hashes[i], gen, &eb);

		EXPECT_EQ(nb, na);
		EXPECT_TRUE(na == nb && (!na || !memcmp(ea, eb, na * entry_size)));
		free(ea);
		free(eb);
	}
	expect_same_slots(&f, &fresh, PG_MAP_PORTS, pg_port_index(gen, 0, 0, 0),
			  2 * 2 * PG_PORT_SPACE, "port slots");
	expect_same_slots(&f, &fresh, PG_MAP_BUCKETS, pg_bucket_index(gen, 0, 0), 2 * 65536,
			  "peer buckets");
	expect_same_slots(&f, &fresh, PG_MAP_RULE_META, gen * PG_MAX_RULES, PG_MAX_RULES,
			  "rule sources");
	for (__u32 r = 0; r < PG_MAX_RULES; r += 1)
		if (read_rule(&f, gen, r))
			FAIL("rule slot %u counted %llu before any packet", r,
			     (unsigned long long)read_rule(&f, gen, r));
}

/* ---- tc egress ---- */

static int run_tc(int prog, const struct pg_frame_spec *spec)
{
	static __u8 buf[PG_FRAME_MAX];
	int len = pg_frame_build(spec, buf, sizeof(buf));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1);

	ASSERT_LT(0, len);
	o.data_size_in = len;
	ASSERT_EQ(0, bpf_prog_test_run_opts(prog, &o));
	return o.retval;
}

static bool has_flow(int fd, int family, const char *laddr, const char *raddr, __u16 lport,
		     __u16 rport, __u8 proto, __u64 *last)
{
	struct pg_flow_key k = { .lport = lport, .rport = rport, .proto = proto };
	struct pg_flow_val v;

	if (family == 4) {
		mapped4(k.laddr, laddr);
		mapped4(k.raddr, raddr);
	} else {
		inet_pton(AF_INET6, laddr, k.laddr);
		inet_pton(AF_INET6, raddr, k.raddr);
	}
	if (bpf_map_lookup_elem(fd, &k, &v))
		return false;
	if (last)
		*last = v.last_ns;
	return true;
}

/* Ingress looks a flow up only on a port pg_flow_ports marks: a flow written without its mark
 * (what no writer of ours does) answers nothing, and marking the port is what lets it. */
TEST(replies_only_to_ports_marked_for_flows)
{
	const struct frame_case unmarked[] = {
		{ "flow on an unmarked port", TCP4(40003, .sport = 443), DROP, PG_R_NOT_ALLOWED,
		  DEF },
	};
	const struct frame_case marked[] = {
		{ "the same flow, its port marked", TCP4(40003, .sport = 443), PASS,
		  PG_R_PASS_REPLY, NONE },
	};
	struct pg_flow_key k = { .lport = 40003, .rport = 443, .proto = IPPROTO_TCP };
	struct pg_flow_val v = { .last_ns = 0 };
	__u32 idx = pg_flow_port_index(IPPROTO_TCP, 40003), one = 1;
	struct fx f;

	fx_default(&f);
	mapped4(k.laddr, "198.18.0.1");
	mapped4(k.raddr, "198.18.0.2");
	v.last_ns = now_ns();
	ASSERT_EQ(0, bpf_map_update_elem(f.m.fd[PG_MAP_FLOWS], &k, &v, BPF_ANY));
	RUN_TABLE(&f, unmarked);
	ASSERT_EQ(0, bpf_map_update_elem(f.m.fd[PG_MAP_FLOW_PORTS], &idx, &one, BPF_ANY));
	RUN_TABLE(&f, marked);
}

/* Load tc_egress sharing every map of the XDP object, as the loader does. */
static struct tc_egress_bpf *load_tc(struct fx *f)
{
	struct tc_egress_bpf *tc = tc_egress_bpf__open();
	struct bpf_map *map;

	ASSERT_TRUE(tc != NULL);
	bpf_object__for_each_map(map, tc->obj) {
		int fd = bpf_object__find_map_fd_by_name(f->skel->obj, bpf_map__name(map));

		if (fd >= 0)
			ASSERT_EQ(0, bpf_map__reuse_fd(map, fd));
	}
	ASSERT_EQ(0, tc_egress_bpf__load(tc));
	return tc;
}

TEST(tc_egress_records_flows_this_host_opens)
{
	/* outbound: we are 198.18.0.2 / 2001:db8::2 (the frames' default source) */
	struct pg_frame_spec syn = TCP4(443, .sport = 40001, .tcp_flags = 0x02);
	struct pg_frame_spec synack = TCP4(40002, .sport = 22, .tcp_flags = 0x12);
	struct pg_frame_spec ack_unknown = TCP4(443, .sport = 40003);
	struct pg_frame_spec syn6 = TCP6(443, .sport = 40004, .tcp_flags = 0x02, EXT(DST));
	struct pg_frame_spec udp6 = UDP6(53, .sport = 40005);
	struct pg_frame_spec udp_later = F4(53, 9, 40, .proto = IPPROTO_UDP, .payload = 8);
	struct pg_frame_spec ack = TCP4(443, .sport = 40001);
	struct pg_frame_spec dns_answer = UDP4(40006, .sport = 53);
	struct pg_frame_spec dns_answer_out = UDP4(40006, .sport = 53, .dst = "198.19.0.1");
	struct tc_egress_bpf *tc;
	int prog, fd;
	__u64 last;
	struct fx f;

	fx_default(&f);
	tc = load_tc(&f);
	prog = bpf_program__fd(tc->progs.pg_tc_egress);
	fd = f.m.fd[PG_MAP_FLOWS];

	ASSERT_EQ(0, run_tc(prog, &syn)); /* TC_ACT_OK */
	EXPECT_TRUE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 40001, 443, IPPROTO_TCP, NULL));
	/* and its port marked, which ingress asks before it looks the flow up */
	{
		__u32 idx = pg_flow_port_index(IPPROTO_TCP, 40001), m = 0;

		ASSERT_EQ(0, bpf_map_lookup_elem(f.m.fd[PG_MAP_FLOW_PORTS], &idx, &m));
		EXPECT_EQ(1, m);
		idx = pg_flow_port_index(IPPROTO_UDP, 40001);
		ASSERT_EQ(0, bpf_map_lookup_elem(f.m.fd[PG_MAP_FLOW_PORTS], &idx, &m));
		EXPECT_EQ(0, m);
	}
	ASSERT_EQ(0, run_tc(prog, &synack));
	EXPECT_FALSE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 40002, 22, IPPROTO_TCP, NULL));
	ASSERT_EQ(0, run_tc(prog, &ack_unknown));
	EXPECT_FALSE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 40003, 443, IPPROTO_TCP, NULL));
	ASSERT_EQ(0, run_tc(prog, &syn6));
	EXPECT_TRUE(has_flow(fd, 6, "2001:db8::2", "2001:db8::1", 40004, 443, IPPROTO_TCP, NULL));
	ASSERT_EQ(0, run_tc(prog, &udp6));
	EXPECT_TRUE(has_flow(fd, 6, "2001:db8::2", "2001:db8::1", 40005, 53, IPPROTO_UDP, NULL));
	/* our DNS server (udp 53, allowed from 198.18.0.0/24) answering a client the policy
	 * lets in anyway: nothing to record; answering one outside the prefix: recorded */
	ASSERT_EQ(0, run_tc(prog, &dns_answer));
	EXPECT_FALSE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 53, 40006, IPPROTO_UDP, NULL));
	ASSERT_EQ(0, run_tc(prog, &dns_answer_out));
	EXPECT_TRUE(has_flow(fd, 4, "198.18.0.2", "198.19.0.1", 53, 40006, IPPROTO_UDP, NULL));
	ASSERT_EQ(0, run_tc(prog, &udp_later));
	EXPECT_FALSE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 40000, 53, IPPROTO_UDP, NULL));

	/* any packet of a known flow refreshes a stale stamp */
	put_flow(&f, 4, "198.18.0.2", "198.18.0.1", 40001, 443, IPPROTO_TCP, 1);
	ASSERT_EQ(0, run_tc(prog, &ack));
	ASSERT_TRUE(has_flow(fd, 4, "198.18.0.2", "198.18.0.1", 40001, 443, IPPROTO_TCP, &last));
	EXPECT_TRUE(last > 1);
	tc_egress_bpf__destroy(tc);
}

TEST(reply_to_a_flow_recorded_at_egress)
{
	/* we (198.18.0.2) connect out to 198.18.0.1:443; its SYN-ACK comes back to 40010 */
	struct pg_frame_spec syn = TCP4(443, .sport = 40010, .tcp_flags = 0x02);
	const struct frame_case back[] = {
		{ "syn-ack to the port we opened from",
		  TCP4(40010, .sport = 443, .src = "198.18.0.1", .dst = "198.18.0.2",
		       .tcp_flags = 0x12),
		  PASS, PG_R_PASS_REPLY, NONE },
		{ "the same to another port of ours",
		  TCP4(40011, .sport = 443, .src = "198.18.0.1", .dst = "198.18.0.2",
		       .tcp_flags = 0x12),
		  DROP, PG_R_NOT_ALLOWED, DEF },
	};
	struct tc_egress_bpf *tc;
	struct fx f;

	fx_default(&f);
	tc = load_tc(&f);
	ASSERT_EQ(0, run_tc(bpf_program__fd(tc->progs.pg_tc_egress), &syn));
	RUN_TABLE(&f, back);
	tc_egress_bpf__destroy(tc);
}

/* ---- flow lifetimes (flow.bpf.h): refreshed both ways, shortened by FIN and RST ---- */

static struct pg_flow_val flow_of(struct fx *f, const char *laddr, const char *raddr,
				  __u16 lport, __u16 rport)
{
	struct pg_flow_key k = { .lport = lport, .rport = rport, .proto = IPPROTO_TCP };
	struct pg_flow_val v = { 0 };

	mapped4(k.laddr, laddr);
	mapped4(k.raddr, raddr);
	ASSERT_EQ(0, bpf_map_lookup_elem(f->m.fd[PG_MAP_FLOWS], &k, &v));
	return v;
}

static void put_flow_state(struct fx *f, __u16 lport, __u64 last_ns, __u8 state)
{
	struct pg_flow_key k = { .lport = lport, .rport = 443, .proto = IPPROTO_TCP };
	struct pg_flow_val v = { .last_ns = last_ns, .state = state };

	mapped4(k.laddr, "198.18.0.1");
	mapped4(k.raddr, "198.18.0.2");
	ASSERT_EQ(0, pg_flow_write(f->m.fd[PG_MAP_FLOWS], f->m.fd[PG_MAP_FLOW_PORTS], &k, &v,
				   BPF_ANY));
}

TEST(flows_refreshed_both_ways_and_shortened_by_fin_and_rst)
{
	/* The peer 198.18.0.2:443 speaks to our 198.18.0.1:4000x (idle 1 h, FIN 120 s,
	 * RST 10 s in the fixture). */
	const struct frame_case peer_speaks[] = {
		{ "peer speaks first after 50 min of silence", TCP4(40001, .sport = 443), PASS,
		  PG_R_PASS_REPLY, NONE },
	};
	const struct frame_case closing[] = {
		{ "peer's fin", TCP4(40002, .sport = 443, .tcp_flags = 0x11), PASS,
		  PG_R_PASS_REPLY, NONE },
		{ "peer's rst", TCP4(40003, .sport = 443, .tcp_flags = 0x14), PASS,
		  PG_R_PASS_REPLY, NONE },
	};
	const struct frame_case after[] = {
		{ "ack 3 min after a fin", TCP4(40004, .sport = 443), DROP, PG_R_NOT_ALLOWED, DEF },
		{ "ack 11 s after a rst", TCP4(40005, .sport = 443), DROP, PG_R_NOT_ALLOWED, DEF },
		{ "ack 1 min after a fin", TCP4(40006, .sport = 443), PASS, PG_R_PASS_REPLY, NONE },
		{ "ack 5 s after a rst", TCP4(40007, .sport = 443), PASS, PG_R_PASS_REPLY, NONE },
	};
	struct pg_frame_spec our_syn = TCP4(443, .src = "198.18.0.1", .dst = "198.18.0.2",
					    .sport = 40005, .tcp_flags = 0x02);
	struct tc_egress_bpf *tc;
	struct pg_flow_val v;
	struct fx f;
	__u64 now;

	fx_default(&f);
	now = now_ns();
	/* A reply refreshes the flow: the next idle hour counts from it, not from our send. */
	put_flow_state(&f, 40001, now - 3000 * SEC_NS, PG_FLOW_OPEN);
	RUN_TABLE(&f, peer_speaks);
	v = flow_of(&f, "198.18.0.1", "198.18.0.2", 40001, 443);
	EXPECT_TRUE(v.last_ns + 60 * SEC_NS > now);
	EXPECT_EQ(PG_FLOW_OPEN, v.state);

	put_flow_state(&f, 40002, now, PG_FLOW_OPEN);
	put_flow_state(&f, 40003, now, PG_FLOW_FIN);
	RUN_TABLE(&f, closing);
	EXPECT_EQ(PG_FLOW_FIN, flow_of(&f, "198.18.0.1", "198.18.0.2", 40002, 443).state);
	EXPECT_EQ(PG_FLOW_RST, flow_of(&f, "198.18.0.1", "198.18.0.2", 40003, 443).state);

	put_flow_state(&f, 40004, now - 180 * SEC_NS, PG_FLOW_FIN);
	put_flow_state(&f, 40005, now - 11 * SEC_NS, PG_FLOW_RST);
	put_flow_state(&f, 40006, now - 60 * SEC_NS, PG_FLOW_FIN);
	put_flow_state(&f, 40007, now - 5 * SEC_NS, PG_FLOW_RST);
	RUN_TABLE(&f, after);

	/* A bare SYN of ours on the ports of a flow that ended starts a new connection. */
	tc = load_tc(&f);
	ASSERT_EQ(0, run_tc(bpf_program__fd(tc->progs.pg_tc_egress), &our_syn));
	v = flow_of(&f, "198.18.0.1", "198.18.0.2", 40005, 443);
	EXPECT_EQ(PG_FLOW_OPEN, v.state);
	EXPECT_TRUE(v.last_ns + SEC_NS > now);
	tc_egress_bpf__destroy(tc);
}

TEST_MAIN()
