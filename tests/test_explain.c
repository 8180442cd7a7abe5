// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard explain` agrees with the datapath. The same cases go through:
 *   - `portguard explain --json` (the binary, as an operator runs it);
 *   - the compiled maps' lookup (pg_compiled_lookup: the port class, then the longest peer
 *     prefix, as decide.bpf.h does);
 *   - for `in`, the XDP program itself: BPF_PROG_TEST_RUN of crafted frames against maps
 *     filled by pg_apply, its verdict and the rule counter it bumped.
 * Cases come from the policy: every port range's edges and neighbours, for peers inside and
 * outside every prefix, both families, both protocols, both directions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/generation.h"
#include "kernel/percpu.h"
#include "policy/compile.h"
#include "explain_cases.h"
#include "frames.h"
#include "harness.h"
#include "limits.h"
#include "xdp_ingress.skel.h"

/* A policy where rules overlap in every way the language allows. */
static const char *const overlap_policy =
	"default in deny\n"
	"default out allow\n"
	"set admins = 198.18.0.0/24, 2001:db8:1::/48\n"
	"allow in tcp 22 from @admins\n"
	"allow in tcp 22 from 198.18.0.0/16 log\n"
	"deny in tcp 22 from 198.18.0.128/25\n"
	"allow in tcp 5432 from 198.18.0.0/15\n"
	"local tcp 5432\n"
	"local tcp,udp 11984 dry-run\n"
	"allow in tcp,udp 3000-3010\n"
	"deny in udp 3005 dry-run\n"
	"allow in udp 49152-49252\n"
	"deny out tcp 25\n"
	"deny out tcp,udp 1-1023 to 2001:db8:dead::/48\n"
	"allow out udp 53 to 198.19.0.53 log\n";

/* Parse "key":VALUE out of explain's one-line JSON. */
static int json_field(const char *json, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"')
			n++;
	} else {
		while (p[n] && p[n] != ',' && p[n] != '}')
			n++;
	}
	if (n >= size)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* What `portguard explain --json` answered for one case. */
struct answer {
	bool blocked;
	__u32 slot;
	char rule[128];
	char json[1024];
};

/* Every case through `portguard explain --json POLICY -`: one process, one query per line,
 * one JSON answer per line, in order. */
static struct answer *explain_all(const char *path, const struct explain_case *cases, size_t n)
{
	const char *build = getenv("BUILD");
	char bin[512], qpath[] = "/tmp/pg-explain-q-XXXXXX", cmd[1024], *line = NULL;
	struct answer *a = calloc(n, sizeof(*a));
	size_t cap = 0;
	FILE *q, *f;
	int fd;

	ASSERT_TRUE(a != NULL);
	snprintf(bin, sizeof(bin), "%s/portguard", build ? build : "build");
	if (access(bin, X_OK))
		SKIP("%s not built", bin);
	fd = mkstemp(qpath);
	ASSERT_LE(0, fd);
	q = fdopen(fd, "w");
	for (size_t i = 0; i < n; i++) {
		char addr[64];

		explain_case_addr(&cases[i], addr, sizeof(addr));
		fprintf(q, "%s %s %s %u\n", cases[i].dir == PG_DIR_IN ? "in" : "out",
			cases[i].pidx == PG_PIDX_TCP ? "tcp" : "udp", addr, cases[i].port);
	}
	fclose(q);
	snprintf(cmd, sizeof(cmd), "%s explain --json '%s' - < %s", bin, path, qpath);
	f = popen(cmd, "r");
	ASSERT_TRUE(f != NULL);
	for (size_t i = 0; i < n; i++) {
		char verdict[32], slot[16];

		ASSERT_LT(0, (long)getline(&line, &cap, f));
		snprintf(a[i].json, sizeof(a[i].json), "%s", line);
		ASSERT_EQ(0, json_field(line, "verdict", verdict, sizeof(verdict)));
		ASSERT_EQ(0, json_field(line, "rule", a[i].rule, sizeof(a[i].rule)));
		ASSERT_EQ(0, json_field(line, "rule_slot", slot, sizeof(slot)));
		a[i].blocked = !strcmp(verdict, "blocked");
		ASSERT_TRUE(a[i].blocked || !strcmp(verdict, "allowed"));
		a[i].slot = strtoul(slot, NULL, 10);
	}
	ASSERT_EQ(-1, (long)getline(&line, &cap, f));
	ASSERT_EQ(0, pclose(f));
	unlink(qpath);
	free(line);
	return a;
}

static void load_cases(const char *path, struct pg_policy **p, struct pg_compiled *c, __u32 gen,
		       struct explain_case **cases, size_t *n)
{
	struct pg_diags d = {};

	ASSERT_EQ(0, pg_policy_load(path, p, &d));
	pg_diags_free(&d);
	ASSERT_EQ(0, pg_compile(*p, gen, c));
	ASSERT_EQ(0, explain_cases(*p, cases, n));
	ASSERT_LT(50, (long)*n);
}

/* explain and the compiled maps name the same rule slot and the same verdict. */
static void check_compiled(const char *path)
{
	struct pg_policy *p = NULL;
	struct pg_compiled c = {};
	struct explain_case *cases = NULL;
	struct answer *a;
	size_t n = 0;

	load_cases(path, &p, &c, 1, &cases, &n);
	a = explain_all(path, cases, n);
	for (size_t i = 0; i < n; i++) {
		const struct explain_case *k = &cases[i];
		struct pg_verdict v = {};
		__u32 want_slot;
		bool drop;

		/* The compiled maps: which slot decides, and does it drop. */
		pg_compiled_lookup(&c, k->dir, k->pidx, k->port, k->addr, &v);
		if (v.action == PG_ACT_DEFAULT) {
			want_slot = k->dir == PG_DIR_IN ? PG_RULE_DEFAULT_IN : PG_RULE_DEFAULT_OUT;
			drop = (k->dir == PG_DIR_IN ? c.config.default_in : c.config.default_out) ==
			       PG_DEFAULT_DENY;
		} else {
			want_slot = v.rule_id;
			drop = v.action == PG_ACT_DENY ||
			       (v.action == PG_ACT_LOCAL && !explain_case_loopback(k));
		}
		drop = drop && !(v.flags & PG_VF_DRY_RUN) && c.config.mode != PG_MODE_DRY_RUN;
		if (a[i].slot != want_slot || a[i].blocked != drop ||
		    strcmp(a[i].rule, c.meta[want_slot].src)) {
			printf("# case %zu\n#   explain: %s#   compiled: slot %u (%s), action %u, %s\n",
			       i, a[i].json, want_slot, c.meta[want_slot].src, v.action,
			       drop ? "blocked" : "allowed");
			ASSERT_TRUE(0);
		}
	}
	printf("# %zu cases agree (explain, compiled maps) for %s\n", n, path);
	free(a);
	free(cases);
	pg_compiled_free(&c);
	pg_policy_free(p);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * explain and the XDP program agree on every inbound case: a crafted TCP SYN or UDP datagram
 * from the case's peer to its port, through BPF_PROG_TEST_RUN against maps that pg_apply
 * filled, is dropped exactly when explain says blocked, and bumps the counter of exactly the
 * rule slot explain names. Loopback peers are left out: on a wire a loopback source is
 * spoofed and dropped before the policy is consulted (test_xdp_frames covers that).
 */
static void check_xdp(const char *path)
{
	struct xdp_ingress_bpf *skel;
	struct pg_policy *p = NULL;
	struct pg_compiled c = {};
	struct explain_case *cases = NULL;
	struct pg_maps m = {};
	struct answer *a;
	size_t n = 0, ran = 0, dropped = 0;
	__u32 cur;
	int prog;

	if (geteuid() != 0)
		SKIP("needs root to load the XDP program");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot create a network namespace: %s", strerror(errno));
	libbpf_set_print(quiet_print);
	skel = xdp_ingress_bpf__open_and_load();
	/* No platform limit excuses it (tests/limits.h): the verifier's log is above. */
	if (!skel)
		FAIL("cannot load xdp_ingress on kernel %s: %s", pg_kernel_release(),
		     strerror(errno));
	ASSERT_EQ(0, pg_maps_from_object(&m, skel->obj));
	ASSERT_EQ(0, pg_active_gen(&m, &cur));
	load_cases(path, &p, &c, pg_other_gen(cur), &cases, &n);
	c.config.ratelimit_ns = 0;
	ASSERT_EQ(0, pg_apply(&m, &c));
	ASSERT_EQ(0, pg_activate(&m, c.gen));
	prog = bpf_program__fd(skel->progs.pg_xdp_ingress);
	a = explain_all(path, cases, n);

	for (size_t i = 0; i < n; i++) {
		const struct explain_case *k = &cases[i];
		static __u8 buf[PG_FRAME_MAX];
		char src[64];
		struct pg_frame_spec spec = {
			.family = explain_case_is_v4(k->addr) ? 4 : 6,
			.proto = k->pidx == PG_PIDX_TCP ? IPPROTO_TCP : IPPROTO_UDP,
			.src = src,
			.sport = 40000,
			.dport = k->port,
			.tcp_flags = 0x02, /* SYN: a new connection, no flow to answer */
		};
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1);
		struct pg_counter before, after;
		__u32 key = c.gen * PG_MAX_RULES + a[i].slot;
		int len;

		if (k->dir != PG_DIR_IN || explain_case_loopback(k))
			continue;
		explain_case_addr(k, src, sizeof(src));
		len = pg_frame_build(&spec, buf, sizeof(buf));
		ASSERT_LT(0, len);
		o.data_size_in = len;
		ASSERT_EQ(0, pg_percpu_counter(m.fd[PG_MAP_RULE_STATS], key, &before));
		ASSERT_EQ(0, bpf_prog_test_run_opts(prog, &o));
		ASSERT_EQ(0, pg_percpu_counter(m.fd[PG_MAP_RULE_STATS], key, &after));
		if ((int)o.retval != (a[i].blocked ? XDP_DROP : XDP_PASS) ||
		    after.packets != before.packets + 1) {
			printf("# case %zu: in %s from %s to %u\n#   explain: %s"
			       "#   xdp: %s, slot %u counter %llu -> %llu\n",
			       i, k->pidx == PG_PIDX_TCP ? "tcp" : "udp", src, k->port, a[i].json,
			       o.retval == XDP_DROP ? "XDP_DROP" : o.retval == XDP_PASS ? "XDP_PASS"
											: "other",
			       a[i].slot, (unsigned long long)before.packets,
			       (unsigned long long)after.packets);
			ASSERT_TRUE(0);
		}
		ran++;
		dropped += o.retval == XDP_DROP;
	}
	/* Both verdicts were exercised, not one of them everywhere. */
	ASSERT_LT(20, (long)ran);
	ASSERT_LT(0, (long)dropped);
	ASSERT_LT((long)dropped, (long)ran);
	printf("# %zu inbound frames agree (explain, XDP), %zu dropped, for %s\n", ran, dropped,
	       path);
	free(a);
	free(cases);
	pg_compiled_free(&c);
	pg_policy_free(p);
	pg_maps_close(&m);
	xdp_ingress_bpf__destroy(skel);
}

static void write_policy(char *path)
{
	int fd = mkstemps(path, 7);

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(overlap_policy), write(fd, overlap_policy,
							  strlen(overlap_policy)));
	close(fd);
}

static const char *const shipped[] = {
	"policy/novavms-cloud.policy",
	"policy/novavms-cloud-dev.policy",
	"policy/novavms-gateway.policy",
};

TEST(explain_agrees_with_compiled_maps_on_overlapping_rules)
{
	char path[] = "/tmp/pg-explain-XXXXXX.policy";

	write_policy(path);
	check_compiled(path);
	unlink(path);
}

TEST(explain_agrees_with_xdp_on_overlapping_rules)
{
	char path[] = "/tmp/pg-explain-XXXXXX.policy";

	write_policy(path);
	check_xdp(path);
	unlink(path);
}

TEST(explain_agrees_with_compiled_maps_and_xdp_on_shipped_policies)
{
	int found = 0, xdp_skipped = 0;

	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		if (access(shipped[i], R_OK))
			continue;
		found++;
		check_compiled(shipped[i]);
		/* Each policy in its own child: check_xdp unshares and loads a fresh program. */
		fflush(stdout);
		pid_t pid = fork();
		int st;

		ASSERT_LE(0, pid);
		if (pid == 0) {
			check_xdp(shipped[i]);
			exit(pg_test_failed ? 1 : 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == PG_EXIT_SKIP));
		/* A child that skipped checked nothing against XDP: that is not a pass. */
		xdp_skipped |= WIFEXITED(st) && WEXITSTATUS(st) == PG_EXIT_SKIP;
	}
	if (!found)
		SKIP("no shipped policy under policy/ (run from the repository root)");
	if (xdp_skipped)
		SKIP("the compiled maps agree; XDP was not checked (needs root and a network "
		     "namespace)");
}

TEST(explain_text_names_the_rule_the_covering_rules_and_why)
{
	char path[] = "/tmp/pg-explain-XXXXXX.policy", cmd[512], out[4096], want[256];
	const char *build = getenv("BUILD");
	int fd = mkstemps(path, 7);
	size_t len;
	FILE *f;

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(overlap_policy), write(fd, overlap_policy,
							  strlen(overlap_policy)));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/portguard explain %s in tcp 198.18.0.200 22 2>&1",
		 build ? build : "build", path);
	f = popen(cmd, "r");
	ASSERT_TRUE(f != NULL);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = '\0';
	ASSERT_EQ(0, pclose(f));
	snprintf(want, sizeof(want),
		 "in tcp from 198.18.0.200 to port 22\n"
		 "verdict: blocked (denied)\n"
		 "rule:    %s:6: deny in tcp 22 from 198.18.0.128/25\n"
		 "covering rules (3):\n", path);
	ASSERT_TRUE(!strncmp(out, want, strlen(want)));
	snprintf(want, sizeof(want), "  * %s:6: deny in tcp 22 from 198.18.0.128/25\n", path);
	ASSERT_TRUE(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "    %s:4: allow in tcp 22 from ", path);
	ASSERT_TRUE(strstr(out, want) != NULL);
	ASSERT_TRUE(strstr(out, "why:     deny takes precedence over allow") != NULL);

	/* A bad command line is exit 2; a bad policy exit 1. */
	snprintf(cmd, sizeof(cmd), "%s/portguard explain %s sideways tcp 1.2.3.4 22 2>/dev/null",
		 build ? build : "build", path);
	ASSERT_EQ(2, WEXITSTATUS(system(cmd)));
	snprintf(cmd, sizeof(cmd), "%s/portguard explain %s in tcp 1.2.3.4 70000 2>/dev/null",
		 build ? build : "build", path);
	ASSERT_EQ(2, WEXITSTATUS(system(cmd)));
	snprintf(cmd, sizeof(cmd), "%s/portguard explain %s in tcp 1.2.3.x 22 2>/dev/null",
		 build ? build : "build", path);
	ASSERT_EQ(2, WEXITSTATUS(system(cmd)));
	snprintf(cmd, sizeof(cmd), "%s/portguard explain /nonexistent in tcp 1.2.3.4 22 2>/dev/null",
		 build ? build : "build");
	ASSERT_EQ(1, WEXITSTATUS(system(cmd)));
	unlink(path);
}

TEST_MAIN()
