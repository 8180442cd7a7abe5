// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard status` from pins alone: the generation in force, counters summed over every
 * CPU, rule sources, reasons and suppressed events, in text and JSON; and the answer when
 * nothing is loaded. (tests/e2e_ops.sh checks the counters against real traffic.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "ops_pins.h"

static const char *portguard(void)
{
	static char path[512];
	const char *build = getenv("BUILD");

	snprintf(path, sizeof(path), "%s/portguard", build ? build : "build");
	if (access(path, X_OK))
		SKIP("%s not built", path);
	return path;
}

/* Run cmd; returns its exit status and its stdout (and stderr, merged) in out. */
static int run(const char *cmd, char *out, size_t size)
{
	char full[1024];
	FILE *f;
	size_t n;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	ASSERT_TRUE(f != NULL);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define ASSERT_HAS(text, ...)                                                            \
	do {                                                                             \
		char _w[512];                                                            \
		snprintf(_w, sizeof(_w), __VA_ARGS__);                                   \
		if (!strstr(text, _w))                                                   \
			PG_FAIL_AT(1, "missing \"%s\" in:\n%s", _w, text);                \
	} while (0)

TEST(text_shows_the_generation_in_force)
{
	static char out[65536];
	char cmd[1024];
	struct ops_pins p;

	ops_pins_make(&p);
	snprintf(cmd, sizeof(cmd), "%s status --pin-dir %s", portguard(), p.dir);
	/* Pins alone, nothing attached: loaded but not enforcing (exit 3). */
	ASSERT_EQ(3, run(cmd, out, sizeof(out)));
	ASSERT_HAS(out, "state:      loaded but NOT enforcing\n");
	ASSERT_HAS(out, "iface lo: NOT enforcing: no XDP link is pinned for it\n");
	if (getenv("PG_SHOW"))
		printf("%s", out);
	ASSERT_HAS(out, "policy:     /etc/portguard/t.policy\n");
	ASSERT_HAS(out, "sha256:     %064d\n", 7);
	ASSERT_HAS(out, "mode:       enforce\n");
	ASSERT_HAS(out, "interfaces: lo (ifindex 1)\n");
	ASSERT_HAS(out, "cgroup:     /sys/fs/cgroup/test\n");
	ASSERT_HAS(out, "loaded:     2027-01-15T08:00:00.000000Z (took 1.500 ms, generation 1)");
	ASSERT_HAS(out, "%12llu %14llu  ", (unsigned long long)p.rule3_packets,
		   (unsigned long long)p.rule3_bytes);
	ASSERT_HAS(out, "t.policy:3: allow in tcp 22\n");
	ASSERT_HAS(out, "%12llu %14llu  never                        t.policy:4: local tcp 5432\n",
		   (unsigned long long)p.rule4_packets, (unsigned long long)p.rule4_packets * 60);
	ASSERT_HAS(out, "%12llu %14llu  not-allowed\n", (unsigned long long)p.notallowed_packets,
		   (unsigned long long)p.notallowed_packets * 60);
	ASSERT_HAS(out, "events:     0 submitted, %llu suppressed (%llu ring_full, 0 rate_limited, "
			"%llu budget)",
		   (unsigned long long)(p.ring_full + p.budget), (unsigned long long)p.ring_full,
		   (unsigned long long)p.budget);
	ASSERT_TRUE(strstr(out, "stale.policy") == NULL);
	ops_pins_remove(&p);
}

TEST(json_carries_the_same_numbers)
{
	static char out[65536];
	char cmd[1024];
	struct ops_pins p;

	ops_pins_make(&p);
	snprintf(cmd, sizeof(cmd), "%s status --json --pin-dir %s", portguard(), p.dir);
	ASSERT_EQ(3, run(cmd, out, sizeof(out)));
	ASSERT_HAS(out, "\"state\":\"loaded-not-enforcing\",\"enforcing\":false,"
			"\"load_complete\":true,\"attach_points\":[{\"iface\":\"lo\",");
	ASSERT_HAS(out, "{\"policy\":\"/etc/portguard/t.policy\",");
	ASSERT_HAS(out, "\"mode\":\"enforce\",\"interfaces\":[{\"ifindex\":1,\"name\":\"lo\"}],"
			"\"cgroup\":\"/sys/fs/cgroup/test\",\"loaded_at\":\"2027-01-15T08:00:00.000000Z\","
			"\"load_seconds\":0.001500000,\"generation\":1,");
	ASSERT_HAS(out, "{\"slot\":3,\"rule\":\"t.policy:3\",\"text\":\"allow in tcp 22\","
			"\"packets\":%llu,\"bytes\":%llu,\"last_hit\":\"",
		   (unsigned long long)p.rule3_packets, (unsigned long long)p.rule3_bytes);
	ASSERT_HAS(out, "{\"slot\":4,\"rule\":\"t.policy:4\",\"text\":\"local tcp 5432\","
			"\"packets\":%llu,\"bytes\":%llu,\"last_hit\":null}",
		   (unsigned long long)p.rule4_packets, (unsigned long long)p.rule4_packets * 60);
	ASSERT_HAS(out, "\"not-allowed\":{\"drop\":true,\"packets\":%llu,",
		   (unsigned long long)p.notallowed_packets);
	ASSERT_HAS(out, "\"events\":{\"submitted\":0,\"suppressed\":%llu,\"ring_full\":%llu,"
			"\"rate_limited\":0,\"budget\":%llu}}\n",
		   (unsigned long long)(p.ring_full + p.budget), (unsigned long long)p.ring_full,
		   (unsigned long long)p.budget);
	/* One JSON document, one line: what `jq` and SIEM pipelines want. */
	ASSERT_EQ(1, (int)(strchr(out, '\n') - out + 1 == (long)strlen(out)));
	ops_pins_remove(&p);
}

TEST(prometheus_textfile_exposition)
{
	static char out[65536];
	char cmd[1024];
	struct ops_pins p;

	ops_pins_make(&p);
	snprintf(cmd, sizeof(cmd), "%s status --prometheus --pin-dir %s", portguard(), p.dir);
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	ASSERT_HAS(out, "\nportguard_rule_packets_total{rule=\"t.policy:3\",action=\"allow\"} %llu\n",
		   (unsigned long long)p.rule3_packets);
	ASSERT_HAS(out, "\nportguard_drops_total{reason=\"not-allowed\"} %llu\n",
		   (unsigned long long)p.notallowed_packets);
	/* This process logs nothing: no log sink series that would read as "no failures". */
	ASSERT_TRUE(strstr(out, "portguard_log_") == NULL);
	snprintf(cmd, sizeof(cmd), "%s status --prometheus --json --pin-dir %s", portguard(), p.dir);
	ASSERT_EQ(2, run(cmd, out, sizeof(out)));
	ops_pins_remove(&p);
}

TEST(nothing_loaded_says_so_and_exits_1)
{
	static char out[4096];
	char cmd[1024], path[300];
	struct ops_pins p;

	ops_pins_make(&p);
	snprintf(path, sizeof(path), "%s/pg_info", p.dir);
	ASSERT_EQ(0, unlink(path));
	/* The other maps are still pinned: a load cut short, not "nothing" (exit 3). */
	snprintf(cmd, sizeof(cmd), "%s status --pin-dir %s", portguard(), p.dir);
	ASSERT_EQ(3, run(cmd, out, sizeof(out)));
	ASSERT_HAS(out, "state:      loaded but NOT enforcing\n");
	ASSERT_HAS(out, "the load did not finish (interrupted?): pg_info is not pinned");
	snprintf(cmd, sizeof(cmd), "%s status --pin-dir /nonexistent/portguard", portguard());
	ASSERT_EQ(1, run(cmd, out, sizeof(out)));
	ASSERT_HAS(out, "nothing loaded under /nonexistent/portguard");
	snprintf(cmd, sizeof(cmd), "%s status --bogus", portguard());
	ASSERT_EQ(2, run(cmd, out, sizeof(out)));
	ops_pins_remove(&p);
}

TEST_MAIN()
