// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard explain` agrees with the datapath. The same cases go through:
 *   - `portguard explain --json` (the binary, as an operator runs it);
 *   - the compiled maps' lookup (pg_compiled_lookup: the port class, then the longest peer
 *     prefix, as decide.bpf.h does);
 *   - for `in`, the XDP program itself: BPF_PROG_TEST_RUN of crafted frames against maps
 *     filled by pg_apply, its verdict and the rule counter it bumped (test_explain_xdp.c).
 * Cases come from the policy: every port range's edges and neighbours, for peers inside and
 * outside every prefix, both families, both protocols, both directions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "compile.h"
#include "explain_cases.h"
#include "harness.h"

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

/*
 * Every case through `portguard explain --json POLICY -` (one process, one query per line)
 * and through the compiled maps; they must name the same rule slot and the same verdict.
 */
static void check_policy(const char *path)
{
	struct pg_policy *p = NULL;
	struct pg_diags d = {};
	struct pg_compiled c = {};
	struct explain_case *cases = NULL;
	const char *build = getenv("BUILD");
	char bin[512], qpath[] = "/tmp/pg-explain-q-XXXXXX", cmd[1024], *json = NULL;
	size_t n = 0, checked = 0, cap = 0;
	FILE *q, *f;
	int fd;

	snprintf(bin, sizeof(bin), "%s/portguard", build ? build : "build");
	if (access(bin, X_OK))
		SKIP("%s not built", bin);
	ASSERT_EQ(0, pg_policy_load(path, &p, &d));
	ASSERT_EQ(0, pg_compile(p, 1, &c));
	ASSERT_EQ(0, explain_cases(p, &cases, &n));
	ASSERT_LT(50, (long)n);

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
		const struct explain_case *k = &cases[i];
		char verdict[32], rule[128], slot[16];
		struct pg_verdict v = {};
		__u32 want_slot;
		bool drop;

		ASSERT_LT(0, (long)getline(&json, &cap, f));
		ASSERT_EQ(0, json_field(json, "verdict", verdict, sizeof(verdict)));
		ASSERT_EQ(0, json_field(json, "rule", rule, sizeof(rule)));
		ASSERT_EQ(0, json_field(json, "rule_slot", slot, sizeof(slot)));

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
		if (strtoul(slot, NULL, 10) != want_slot ||
		    strcmp(verdict, drop ? "blocked" : "allowed") ||
		    strcmp(rule, c.meta[want_slot].src)) {
			printf("# case %zu\n#   explain: %s#   compiled: slot %u (%s), action %u, %s\n",
			       i, json, want_slot, c.meta[want_slot].src, v.action,
			       drop ? "blocked" : "allowed");
			ASSERT_TRUE(0);
		}
		checked++;
	}
	ASSERT_EQ(-1, (long)getline(&json, &cap, f));
	ASSERT_EQ(0, pclose(f));
	printf("# %zu cases agree for %s\n", checked, path);
	unlink(qpath);
	free(json);
	free(cases);
	pg_compiled_free(&c);
	pg_policy_free(p);
	pg_diags_free(&d);
}

TEST(explain_agrees_with_compiled_maps_on_overlapping_rules)
{
	char path[] = "/tmp/pg-explain-XXXXXX.policy";
	int fd = mkstemps(path, 7);

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(overlap_policy), write(fd, overlap_policy,
							  strlen(overlap_policy)));
	close(fd);
	check_policy(path);
	unlink(path);
}

TEST(explain_agrees_with_compiled_maps_on_shipped_policies)
{
	static const char *const shipped[] = {
		"policy/novavms-cloud.policy",
		"policy/novavms-cloud-dev.policy",
		"policy/novavms-gateway.policy",
	};
	int found = 0;

	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		if (access(shipped[i], R_OK))
			continue;
		found++;
		check_policy(shipped[i]);
	}
	if (!found)
		SKIP("no shipped policy under policy/ (run from the repository root)");
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
