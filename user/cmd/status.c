// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard status [--json | --prometheus] [--pin-dir DIR]`: what is in force, from the pinned maps alone,
 * so that it works with no daemon running (after `load`, or after `run --keep` exited).
 *
 * Exit status: 0 when a policy is loaded; 1 when nothing is loaded under the pin directory
 * (it says so on stderr), so that `portguard status >/dev/null` answers "is portguard
 * enforcing?" for scripts and health checks; 1 on any other failure; 2 on a bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "output/metrics.h"
#include "output/opsfmt.h"
#include "kernel/confirm.h"
#include "kernel/snapshot.h"
#include "kernel/up.h"
#include "output/events.h"

/* The change awaiting confirmation at pin_dir, or NULL. */
static struct pg_pending *pending_of(const char *pin_dir, struct pg_pending *p)
{
	char dir[PATH_MAX];

	if (pg_abs_path(pin_dir, dir, sizeof(dir)) || pg_pending_read(dir, p) ||
	    p->state != PG_CHANGE_PENDING)
		return NULL;
	return p;
}

static long long pending_left(const struct pg_pending *p)
{
	__u64 now = pg_boottime_ns();

	return now >= p->deadline_boot_ns ? 0 : (p->deadline_boot_ns - now + 999999999) / 1000000000;
}

static const char *mode_name(const struct pg_snapshot *s)
{
	return s->config.mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce";
}

static void iface_name(__u32 ifindex, char *buf, size_t size)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(ifindex, name))
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "?"); /* gone since it was attached, or another namespace */
}

static __u64 suppressed(const struct pg_snapshot *s)
{
	return s->events[PG_EVS_RING_FULL] + s->events[PG_EVS_RATE_LIMITED] +
	       s->events[PG_EVS_BUDGET];
}

static void print_text(const struct pg_snapshot *s, const struct pg_pending *pc)
{
	char ts[40], name[IF_NAMESIZE + 1];

	printf("policy:     %s\n", s->info.policy);
	printf("sha256:     %s\n", s->info.sha256);
	printf("mode:       %s\n", mode_name(s));
	printf("interfaces:");
	if (!s->info.nifaces)
		printf(" none (inbound enforcement off)");
	for (__u32 i = 0; i < s->info.nifaces; i++) {
		iface_name(s->info.ifindex[i], name, sizeof(name));
		printf("%s %s (ifindex %u)", i ? "," : "", name, s->info.ifindex[i]);
	}
	printf("\ncgroup:     %s\n", s->info.cgroup[0] ? s->info.cgroup : "none (socket hooks off)");
	pg_ops_rfc3339(s->info.loaded_at * 1000000000ull, ts, sizeof(ts));
	printf("loaded:     %s (took %.3f ms, generation %u)\n", ts, s->info.load_ns / 1e6, s->gen);
	if (pc) {
		pg_format_timestamp(pc->deadline_ns, ts, sizeof(ts));
		printf("pending:    this change awaits `portguard confirm`; rolled back at %s "
		       "(in %lld s) to %s (sha256 %.12s) otherwise, by %s\n", ts,
		       pending_left(pc), pc->old_info.policy, pc->old_info.sha256,
		       pc->keeper ? "a detached keeper" : "the daemon");
	}

	printf("\n%12s %14s  %-27s  %s\n", "PACKETS", "BYTES", "LAST HIT", "RULE");
	for (size_t i = 0; i < s->nrules; i++) {
		const struct pg_snapshot_rule *r = &s->rules[i];

		if (!pg_snapshot_rule_used(s, r))
			continue;
		if (r->last_unix_ns)
			pg_ops_rfc3339(r->last_unix_ns, ts, sizeof(ts));
		else
			snprintf(ts, sizeof(ts), "never");
		printf("%12llu %14llu  %-27s  %s", (unsigned long long)r->c.packets,
		       (unsigned long long)r->c.bytes, ts, r->meta.src);
		if (r->meta.text[0] && strcmp(r->meta.text, r->meta.src))
			printf(": %s", r->meta.text);
		printf("\n");
	}

	printf("\n%12s %14s  %s\n", "PACKETS", "BYTES", "DROP REASON (dry-run: would drop)");
	for (unsigned i = 0; i < PG_R_DROP_MAX; i++)
		printf("%12llu %14llu  %s\n", (unsigned long long)s->reasons[i].packets,
		       (unsigned long long)s->reasons[i].bytes, pg_snapshot_reason_name(i));
	printf("\n%12s %14s  %s\n", "PACKETS", "BYTES", "PASS REASON");
	for (unsigned i = PG_R_DROP_MAX; i < PG_R_MAX; i++)
		printf("%12llu %14llu  %s\n", (unsigned long long)s->reasons[i].packets,
		       (unsigned long long)s->reasons[i].bytes, pg_snapshot_reason_name(i));

	printf("\nevents:     %llu submitted, %llu suppressed (%llu %s, %llu %s, %llu %s)\n",
	       (unsigned long long)s->events[PG_EVS_SUBMITTED], (unsigned long long)suppressed(s),
	       (unsigned long long)s->events[PG_EVS_RING_FULL], pg_snapshot_evs_name(PG_EVS_RING_FULL),
	       (unsigned long long)s->events[PG_EVS_RATE_LIMITED],
	       pg_snapshot_evs_name(PG_EVS_RATE_LIMITED),
	       (unsigned long long)s->events[PG_EVS_BUDGET], pg_snapshot_evs_name(PG_EVS_BUDGET));
}

static void print_json(const struct pg_snapshot *s, const struct pg_pending *pc)
{
	char ts[40], name[IF_NAMESIZE + 1];

	printf("{\"policy\":");
	pg_ops_json_str(stdout, s->info.policy);
	printf(",\"sha256\":");
	pg_ops_json_str(stdout, s->info.sha256);
	printf(",\"mode\":\"%s\",\"interfaces\":[", mode_name(s));
	for (__u32 i = 0; i < s->info.nifaces; i++) {
		iface_name(s->info.ifindex[i], name, sizeof(name));
		printf("%s{\"ifindex\":%u,\"name\":", i ? "," : "", s->info.ifindex[i]);
		pg_ops_json_str(stdout, name);
		printf("}");
	}
	printf("],\"cgroup\":");
	if (s->info.cgroup[0])
		pg_ops_json_str(stdout, s->info.cgroup);
	else
		printf("null");
	pg_ops_rfc3339(s->info.loaded_at * 1000000000ull, ts, sizeof(ts));
	printf(",\"loaded_at\":\"%s\",\"load_seconds\":%.9f,\"generation\":%u,\"rules\":[", ts,
	       s->info.load_ns / 1e9, s->gen);
	for (size_t i = 0, n = 0; i < s->nrules; i++) {
		const struct pg_snapshot_rule *r = &s->rules[i];

		if (!pg_snapshot_rule_used(s, r))
			continue;
		printf("%s{\"slot\":%u,\"rule\":", n++ ? "," : "", r->slot);
		pg_ops_json_str(stdout, r->meta.src);
		printf(",\"text\":");
		pg_ops_json_str(stdout, r->meta.text);
		printf(",\"packets\":%llu,\"bytes\":%llu,\"last_hit\":",
		       (unsigned long long)r->c.packets, (unsigned long long)r->c.bytes);
		if (r->last_unix_ns) {
			pg_ops_rfc3339(r->last_unix_ns, ts, sizeof(ts));
			printf("\"%s\"}", ts);
		} else {
			printf("null}");
		}
	}
	printf("],\"pending\":");
	if (pc) {
		pg_format_timestamp(pc->deadline_ns, ts, sizeof(ts));
		printf("{\"deadline\":\"%s\",\"seconds_left\":%lld,\"confirm_seconds\":%u,"
		       "\"keeper\":\"%s\",\"keeper_pid\":%d,\"previous_policy\":", ts,
		       pending_left(pc), pc->seconds, pc->keeper ? "detached" : "daemon",
		       (int)pc->keeper);
		pg_ops_json_str(stdout, pc->old_info.policy);
		printf(",\"previous_sha256\":");
		pg_ops_json_str(stdout, pc->old_info.sha256);
		printf("}");
	} else {
		printf("null");
	}
	printf(",\"reasons\":{");
	for (unsigned i = 0; i < PG_R_MAX; i++)
		printf("%s\"%s\":{\"drop\":%s,\"packets\":%llu,\"bytes\":%llu}", i ? "," : "",
		       pg_snapshot_reason_name(i), PG_R_IS_DROP(i) ? "true" : "false",
		       (unsigned long long)s->reasons[i].packets,
		       (unsigned long long)s->reasons[i].bytes);
	printf("},\"events\":{\"submitted\":%llu,\"suppressed\":%llu,\"ring_full\":%llu,"
	       "\"rate_limited\":%llu,\"budget\":%llu}}\n",
	       (unsigned long long)s->events[PG_EVS_SUBMITTED], (unsigned long long)suppressed(s),
	       (unsigned long long)s->events[PG_EVS_RING_FULL],
	       (unsigned long long)s->events[PG_EVS_RATE_LIMITED],
	       (unsigned long long)s->events[PG_EVS_BUDGET]);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "prometheus", no_argument, NULL, 'P' },
		{},
	};
	const char *pin_dir = PG_DEFAULT_PIN_DIR, *what = NULL;
	struct pg_pending change, *pc;
	struct pg_snapshot s;
	bool json = false, prom = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		case 'P':
			prom = true;
			break;
		default:
			return pg_usage("status");
		}
	}
	if (optind != argc)
		return pg_usage("status");

	if (json && prom)
		return pg_usage("status");
	/* The exposition /metrics serves, for node_exporter's textfile collector (written to
	 * a file by a timer): metrics without a daemon. Nothing loaded is a valid answer there
	 * (portguard_policy_loaded 0), so it exits 0. */
	if (prom) {
		err = pg_metrics_render(pin_dir, stdout, false);
		if (err) {
			fprintf(stderr, "portguard: failed to read the pins under %s: %s\n", pin_dir,
				strerror(-err));
			return 1;
		}
		return fflush(stdout) ? 1 : 0;
	}
	err = pg_snapshot_read(pin_dir, &s, &what);
	if (err == -ENOENT && what && !strcmp(what, "pg_info")) {
		fprintf(stderr, "portguard: nothing loaded under %s\n", pin_dir);
		return 1;
	}
	if (err) {
		fprintf(stderr, "portguard: failed to read %s/%s: %s\n", pin_dir, what ? what : "",
			strerror(-err));
		return 1;
	}
	pc = pending_of(pin_dir, &change);
	if (json)
		print_json(&s, pc);
	else
		print_text(&s, pc);
	pg_snapshot_free(&s);
	return 0;
}

PG_COMMAND(status, 50, "[--json | --prometheus] [--pin-dir DIR]",
	   "show the policy in force, its rule and drop counters (from the pins)", cmd_status)
