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
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "output/metrics.h"
#include "common/clock.h"
#include "output/json.h"
#include "output/names.h"
#include "kernel/snapshot.h"

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

/* A string from the pins (a file or cgroup path) on the terminal: escaped. */
static void put_text(const char *s)
{
	struct pg_out out;

	pg_out_file(&out, stdout);
	pg_escape_text(&out, s, false);
}

static void print_text(const struct pg_snapshot *s)
{
	char ts[40], name[IF_NAMESIZE + 1];

	printf("policy:     ");
	put_text(s->info.policy);
	printf("\n");
	printf("sha256:     %s\n", s->info.sha256);
	printf("mode:       %s\n", mode_name(s));
	printf("interfaces:");
	if (!s->info.nifaces)
		printf(" none (inbound enforcement off)");
	for (__u32 i = 0; i < s->info.nifaces; i++) {
		iface_name(s->info.ifindex[i], name, sizeof(name));
		printf("%s %s (ifindex %u)", i ? "," : "", name, s->info.ifindex[i]);
	}
	printf("\ncgroup:     ");
	put_text(s->info.cgroup[0] ? s->info.cgroup : "none (socket hooks off)");
	printf("\n");
	pg_rfc3339(s->info.loaded_at * 1000000000LL, ts, sizeof(ts));
	printf("loaded:     %s (took %.3f ms, generation %u)\n", ts, s->info.load_ns / 1e6, s->gen);

	printf("\n%12s %14s  %-27s  %s\n", "PACKETS", "BYTES", "LAST HIT", "RULE");
	for (size_t i = 0; i < s->nrules; i++) {
		const struct pg_snapshot_rule *r = &s->rules[i];

		if (!pg_snapshot_rule_used(s, r))
			continue;
		if (r->last_unix_ns)
			pg_rfc3339(r->last_unix_ns, ts, sizeof(ts));
		else
			snprintf(ts, sizeof(ts), "never");
		printf("%12llu %14llu  %-27s  ", (unsigned long long)r->c.packets,
		       (unsigned long long)r->c.bytes, ts);
		put_text(r->meta.src);
		if (r->meta.text[0] && strcmp(r->meta.text, r->meta.src)) {
			printf(": ");
			put_text(r->meta.text);
		}
		printf("\n");
	}

	printf("\n%12s %14s  %s\n", "PACKETS", "BYTES", "DROP REASON (dry-run: would drop)");
	for (unsigned i = 0; i < PG_R_DROP_MAX; i++)
		printf("%12llu %14llu  %s\n", (unsigned long long)s->reasons[i].packets,
		       (unsigned long long)s->reasons[i].bytes, pg_reason_name(i));
	printf("\n%12s %14s  %s\n", "PACKETS", "BYTES", "PASS REASON");
	for (unsigned i = PG_R_DROP_MAX; i < PG_R_MAX; i++)
		printf("%12llu %14llu  %s\n", (unsigned long long)s->reasons[i].packets,
		       (unsigned long long)s->reasons[i].bytes, pg_reason_name(i));

	printf("\nevents:     %llu submitted, %llu suppressed (%llu %s, %llu %s, %llu %s)\n",
	       (unsigned long long)s->events[PG_EVS_SUBMITTED], (unsigned long long)suppressed(s),
	       (unsigned long long)s->events[PG_EVS_RING_FULL], pg_event_stat_name(PG_EVS_RING_FULL),
	       (unsigned long long)s->events[PG_EVS_RATE_LIMITED],
	       pg_event_stat_name(PG_EVS_RATE_LIMITED),
	       (unsigned long long)s->events[PG_EVS_BUDGET], pg_event_stat_name(PG_EVS_BUDGET));
}

static void print_json(const struct pg_snapshot *s)
{
	char ts[40], name[IF_NAMESIZE + 1];
	struct pg_out out;
	struct pg_json j;

	pg_out_file(&out, stdout);
	pg_json_init(&j, &out);
	pg_json_object_start(&j);
	pg_json_str_field(&j, "policy", s->info.policy);
	pg_json_str_field(&j, "sha256", s->info.sha256);
	pg_json_str_field(&j, "mode", mode_name(s));
	pg_json_name(&j, "interfaces");
	pg_json_array_start(&j);
	for (__u32 i = 0; i < s->info.nifaces; i++) {
		iface_name(s->info.ifindex[i], name, sizeof(name));
		pg_json_object_start(&j);
		pg_json_uint_field(&j, "ifindex", s->info.ifindex[i]);
		pg_json_str_field(&j, "name", name);
		pg_json_object_end(&j);
	}
	pg_json_array_end(&j);
	pg_json_str_or_null_field(&j, "cgroup", s->info.cgroup);
	pg_rfc3339(s->info.loaded_at * 1000000000LL, ts, sizeof(ts));
	pg_json_str_field(&j, "loaded_at", ts);
	pg_json_name(&j, "load_seconds");
	pg_json_double(&j, "%.9f", s->info.load_ns / 1e9);
	pg_json_uint_field(&j, "generation", s->gen);
	pg_json_name(&j, "rules");
	pg_json_array_start(&j);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct pg_snapshot_rule *r = &s->rules[i];

		if (!pg_snapshot_rule_used(s, r))
			continue;
		pg_json_object_start(&j);
		pg_json_uint_field(&j, "slot", r->slot);
		pg_json_str_field(&j, "rule", r->meta.src);
		pg_json_str_field(&j, "text", r->meta.text);
		pg_json_uint_field(&j, "packets", r->c.packets);
		pg_json_uint_field(&j, "bytes", r->c.bytes);
		if (r->last_unix_ns) {
			pg_rfc3339(r->last_unix_ns, ts, sizeof(ts));
			pg_json_str_field(&j, "last_hit", ts);
		} else {
			pg_json_str_or_null_field(&j, "last_hit", NULL);
		}
		pg_json_object_end(&j);
	}
	pg_json_array_end(&j);
	pg_json_name(&j, "reasons");
	pg_json_object_start(&j);
	for (unsigned i = 0; i < PG_R_MAX; i++) {
		pg_json_name(&j, pg_reason_name(i));
		pg_json_object_start(&j);
		pg_json_bool_field(&j, "drop", PG_R_IS_DROP(i));
		pg_json_uint_field(&j, "packets", s->reasons[i].packets);
		pg_json_uint_field(&j, "bytes", s->reasons[i].bytes);
		pg_json_object_end(&j);
	}
	pg_json_object_end(&j);
	pg_json_name(&j, "events");
	pg_json_object_start(&j);
	pg_json_uint_field(&j, "submitted", s->events[PG_EVS_SUBMITTED]);
	pg_json_uint_field(&j, "suppressed", suppressed(s));
	pg_json_uint_field(&j, "ring_full", s->events[PG_EVS_RING_FULL]);
	pg_json_uint_field(&j, "rate_limited", s->events[PG_EVS_RATE_LIMITED]);
	pg_json_uint_field(&j, "budget", s->events[PG_EVS_BUDGET]);
	pg_json_object_end(&j);
	pg_json_object_end(&j);
	putchar('\n');
}

static int cmd_status(int argc, char **argv)
{
	struct pg_cmdline cl;
	const char *pin_dir = cl.pin_dir, *what = NULL;
	struct pg_snapshot s;
	bool json, prom;
	int err;

	err = pg_cmdline_parse(&pg_cmd_status, argc, argv, &cl);
	if (err)
		return err;
	json = cl.json;
	prom = cl.prometheus;
	/* The exposition /metrics serves, for node_exporter's textfile collector (written to
	 * a file by a timer): metrics without a daemon. Nothing loaded is a valid answer there
	 * (portguard_policy_loaded 0), so it exits 0. */
	if (prom) {
		err = pg_metrics_render(pin_dir, stdout, false);
		if (err) {
			if (err != -EINVAL) /* else the map layer said which pin is wrong */
				fprintf(stderr, "portguard: failed to read the pins under %s: %s\n",
					pin_dir, strerror(-err));
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
		if (what) /* else the map layer said what is wrong */
			fprintf(stderr, "portguard: failed to read %s/%s: %s\n", pin_dir, what,
				strerror(-err));
		return 1;
	}
	if (json)
		print_json(&s);
	else
		print_text(&s);
	pg_snapshot_free(&s);
	return 0;
}

static const enum pg_opt_id status_opts[] = { PG_OPT_JSON, PG_OPT_PROMETHEUS, PG_OPT_PIN_DIR, PG_OPT_END };

const struct pg_command pg_cmd_status = {
	.name = "status",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.opts = status_opts,
	.summary = "show the policy in force, its rule and drop counters (from the pins)",
	.run = cmd_status,
};
