// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard status [--json | --prometheus] [--pin-dir DIR]`: what is in force, from the pinned maps alone,
 * so that it works with no daemon running (after `load`, or after `run --keep` exited).
 *
 * Exit status: 0 when a policy is loaded and the kernel runs portguard's programs at every
 * attach point it names (kernel/attached.h); 3 when it is loaded but not enforcing (an
 * interface deleted and re-created, a removed cgroup, an interrupted load: the text says
 * which); 1 when nothing is loaded under the pin directory (it says so on stderr), so that
 * `portguard status >/dev/null` answers "is portguard enforcing?" for scripts and health
 * checks; 1 on any other failure; 2 on a bad command line. --prometheus exits 0 whatever is
 * loaded: the answer is in portguard_policy_loaded and portguard_enforcing.
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
#include "kernel/attached.h"
#include "kernel/snapshot.h"

/* Loaded, but the kernel does not run portguard everywhere the state says: see above. */
#define PG_EXIT_NOT_ENFORCING 3

static const char *mode_name(const struct pg_snapshot *s)
{
	return s->config.mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce";
}

/* The name of a pg_info interface: the one its pinned link was made for when the kernel still
 * holds that link on it (true in any network namespace), else whatever has the ifindex here. */
static void iface_name(const struct pg_enforcement *e, __u32 ifindex, char *buf, size_t size)
{
	char name[IF_NAMESIZE];

	for (size_t i = 0; i < e->n; i++) {
		if (e->p[i].kind == PG_POINT_IFACE && e->p[i].ifindex == ifindex) {
			snprintf(buf, size, "%s", e->p[i].name);
			return;
		}
	}
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

static const char *point_kind(const struct pg_point *p)
{
	return p->kind == PG_POINT_IFACE ? "iface" : "cgroup";
}

static void print_text(const struct pg_snapshot *s, const struct pg_enforcement *e)
{
	char ts[40], name[IF_NAMESIZE + 1];

	printf("policy:     ");
	put_text(s->info.policy);
	printf("\n");
	printf("sha256:     %s\n", s->info.sha256);
	printf("mode:       %s\n", mode_name(s));
	printf("state:      %s\n", e->enforcing ? "enforcing" : "loaded but NOT enforcing");
	if (!e->complete)
		printf("            the load did not finish (interrupted?): run load again, or "
		       "unload\n");
	if (!e->n)
		printf("            nothing of portguard is attached\n");
	for (size_t i = 0; i < e->n; i++) {
		const struct pg_point *p = &e->p[i];

		printf("            %s ", point_kind(p));
		put_text(p->name);
		printf(": %s%s", p->enforcing ? "enforcing" : "NOT enforcing", p->why[0] ? ": " : "");
		put_text(p->why);
		printf("\n");
	}
	printf("interfaces:");
	if (!s->info.nifaces)
		printf(" none (inbound enforcement off)");
	for (__u32 i = 0; i < s->info.nifaces; i++) {
		iface_name(e, s->info.ifindex[i], name, sizeof(name));
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

static void print_json(const struct pg_snapshot *s, const struct pg_enforcement *e)
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
		iface_name(e, s->info.ifindex[i], name, sizeof(name));
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
	pg_json_str_field(&j, "state", e->enforcing ? "enforcing" : "loaded-not-enforcing");
	pg_json_bool_field(&j, "enforcing", e->enforcing);
	pg_json_bool_field(&j, "load_complete", e->complete);
	pg_json_name(&j, "attach_points");
	pg_json_array_start(&j);
	for (size_t i = 0; i < e->n; i++) {
		pg_json_object_start(&j);
		pg_json_str_field(&j, point_kind(&e->p[i]), e->p[i].name);
		pg_json_bool_field(&j, "enforcing", e->p[i].enforcing);
		pg_json_str_field(&j, "detail", e->p[i].why);
		pg_json_object_end(&j);
	}
	pg_json_array_end(&j);
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
	struct pg_enforcement e;
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
	if (err == -ENOENT && pg_pins_partial(pin_dir)) {
		if (json)
			printf("{\"state\":\"loaded-not-enforcing\",\"enforcing\":false,"
			       "\"load_complete\":false,\"missing\":\"%s\"}\n", what ? what : "");
		else
			printf("state:      loaded but NOT enforcing\n            the load did not "
			       "finish (interrupted?): %s is not pinned; run load again, or unload\n",
			       what ? what : "a map");
		return PG_EXIT_NOT_ENFORCING;
	}
	if (err == -ENOENT && (!what || !strncmp(what, "pg_", 3))) {
		fprintf(stderr, "portguard: nothing loaded under %s\n", pin_dir);
		return 1;
	}
	if (err) {
		if (what) /* else the map layer said what is wrong */
			fprintf(stderr, "portguard: failed to read %s/%s: %s\n", pin_dir, what,
				strerror(-err));
		return 1;
	}
	err = pg_enforcement_check(pin_dir, &s.info, &e);
	if (err) {
		fprintf(stderr, "portguard: failed to ask the kernel what is attached for %s: %s\n",
			pin_dir, strerror(-err));
		pg_snapshot_free(&s);
		return 1;
	}
	if (json)
		print_json(&s, &e);
	else
		print_text(&s, &e);
	pg_snapshot_free(&s);
	if (!e.enforcing && !json)
		fprintf(stderr, "portguard: loaded at %s but not enforcing (see state above)\n",
			pin_dir);
	return e.enforcing ? 0 : PG_EXIT_NOT_ENFORCING;
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
