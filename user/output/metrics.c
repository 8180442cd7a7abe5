// SPDX-License-Identifier: GPL-2.0
/* The Prometheus exposition of the pinned state (see metrics.h); metrics_http.c serves it. */
#include <errno.h>
#include <stdint.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/json.h"
#include "output/logsink.h"
#include "output/fanout.h"
#include "output/metrics.h"
#include "output/stderr.h"
#include "output/stdout.h"
#include "output/names.h"
#include "kernel/attached.h"
#include "kernel/features.h"
#include "kernel/snapshot.h"

/* A label value from a file name or the pins: through the one escaper. */
static void label_value(FILE *f, const char *s)
{
	struct pg_out o;

	pg_out_file(&o, f);
	pg_escape_label(&o, s);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* allow, deny or local from the rule's normalized text; the default slots are "default". */
static const char *rule_action(const struct pg_rule_meta *meta)
{
	static const char *const kinds[] = { "allow", "deny", "local" };

	if (!strncmp(meta->src, "default", 7))
		return "default";
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i]);

		if (!strncmp(meta->text, kinds[i], n) && (meta->text[n] == ' ' || !meta->text[n]))
			return kinds[i];
	}
	return "other";
}

/* One sample per (rule source, action): a source line that compiled to several slots is
 * summed, so that no two samples of a scrape share their labels. Linear in the rules: one
 * pass groups the slots by (source, action) in a hash table, in order of first appearance;
 * a second prints the groups. */
struct group {
	size_t first; /* the rule that names the group; SIZE_MAX: free bucket */
	__u64 v;
};

static __u64 group_hash(const char *src, const char *act)
{
	__u64 h = 0xcbf29ce484222325ull;

	for (; *src; src++)
		h = (h ^ (unsigned char)*src) * 0x100000001b3ull;
	for (; *act; act++)
		h = (h ^ (unsigned char)*act) * 0x100000001b3ull;
	return h;
}

static void rule_samples(FILE *f, const struct pg_snapshot *s, const char *name, int what)
{
	size_t nb = 16, i, k, *order = NULL, norder = 0;
	struct group *g = NULL;

	while (nb < 2 * s->nrules)
		nb *= 2;
	g = malloc(nb * sizeof(*g));
	order = malloc((s->nrules + 1) * sizeof(*order));
	if (!g || !order)
		goto out;
	for (k = 0; k < nb; k++)
		g[k] = (struct group){ .first = SIZE_MAX };
	for (i = 0; i < s->nrules; i++) {
		const struct pg_snapshot_rule *r = &s->rules[i];
		const char *act = rule_action(&r->meta);
		__u64 v;

		if (!pg_snapshot_rule_used(s, r))
			continue;
		for (k = group_hash(r->meta.src, act) & (nb - 1); g[k].first != SIZE_MAX;
		     k = (k + 1) & (nb - 1)) {
			const struct pg_snapshot_rule *o = &s->rules[g[k].first];

			if (!strcmp(o->meta.src, r->meta.src) && !strcmp(rule_action(&o->meta), act))
				break;
		}
		if (g[k].first == SIZE_MAX) {
			g[k].first = i;
			order[norder++] = k;
		}
		if (what == 0)
			g[k].v += r->c.packets;
		else if (what == 1)
			g[k].v += r->c.bytes;
		else if ((v = r->last_unix_ns / 1000000000ull) > g[k].v)
			g[k].v = v;
	}
	for (i = 0; i < norder; i++) {
		const struct group *e = &g[order[i]];
		const struct pg_snapshot_rule *r = &s->rules[e->first];

		fprintf(f, "%s{rule=\"", name);
		label_value(f, r->meta.src);
		fprintf(f, "\",action=\"%s\"} %llu\n", rule_action(&r->meta),
			(unsigned long long)e->v);
	}
out:
	free(g);
	free(order);
}

/* This process's event stream: stdout and the subscribed monitors (fanout.h). */
static void stream_samples(FILE *f)
{
	struct pg_fanout_stats fs;

	pg_fanout_stats(&fs);
	family(f, "portguard_stdout_dropped_total", "counter",
	       "Event records stdout could not take in time (its reader stopped), dropped.");
	fprintf(f, "portguard_stdout_dropped_total %llu\n",
		(unsigned long long)pg_stdout_dropped());
	family(f, "portguard_stderr_dropped_total", "counter",
	       "Diagnostic lines stderr could not take in time (its reader stopped), dropped.");
	fprintf(f, "portguard_stderr_dropped_total %llu\n",
		(unsigned long long)pg_stderr_dropped());
	family(f, "portguard_monitor_subscribers", "gauge",
	       "Monitors subscribed to this daemon's event stream now.");
	fprintf(f, "portguard_monitor_subscribers %llu\n", (unsigned long long)fs.subscribers);
	family(f, "portguard_monitor_cutoffs_total", "counter",
	       "Monitors disconnected because they stopped reading and their buffer filled.");
	fprintf(f, "portguard_monitor_cutoffs_total %llu\n", (unsigned long long)fs.cut_off);
}

static const char enforcing_help[] =
	"1 if the kernel runs portguard's programs at this attach point, as the pinned state "
	"says; load=\"incomplete\" is 0 for an interrupted load.";

int pg_metrics_render(const char *pin_dir, FILE *f, bool log_stats)
{
	const struct pg_logsink_stats *ls = pg_logsink_stats();
	static const char *const sinks[PG_SINK_MAX] = { "file", "syslog" };
	struct pg_features feat;
	struct pg_snapshot s;
	const char *what = NULL;
	int err;

	err = pg_snapshot_read(pin_dir, &s, &what);
	if (err && err != -ENOENT)
		return err;
	pg_features_probe(&feat);
	family(f, "portguard_feature", "gauge",
	       "1 if the running kernel offers the feature (see portguard status), else 0.");
	for (int i = 0; i < PG_FEAT_MAX; i++)
		fprintf(f, "portguard_feature{feature=\"%s\"} %d\n", pg_feature_name(i),
			feat.has[i]);
	family(f, "portguard_policy_loaded", "gauge",
	       "1 if a policy is pinned (portguard_enforcing says where it is attached).");
	fprintf(f, "portguard_policy_loaded %d\n", err ? 0 : 1);
	if (err && pg_pins_partial(pin_dir ? pin_dir : PG_PIN_DIR_DEFAULT)) {
		/* Some maps pinned, not all: a load cut short. */
		family(f, "portguard_enforcing", "gauge", enforcing_help);
		fprintf(f, "portguard_enforcing{load=\"incomplete\"} 0\n");
	}
	if (!err) {
		struct pg_enforcement e;

		err = pg_enforcement_check(pin_dir ? pin_dir : PG_PIN_DIR_DEFAULT, &s.info, &e);
		if (err) {
			pg_snapshot_free(&s);
			return err;
		}
		family(f, "portguard_enforcing", "gauge", enforcing_help);
		if (!e.complete || !e.n)
			fprintf(f, "portguard_enforcing{load=\"incomplete\"} 0\n");
		for (size_t i = 0; i < e.n; i++) {
			fprintf(f, "portguard_enforcing{%s=\"",
				e.p[i].kind == PG_POINT_IFACE ? "iface" : "cgroup");
			label_value(f, e.p[i].name);
			fprintf(f, "\"} %d\n", e.p[i].enforcing);
		}
		family(f, "portguard_policy_info", "gauge",
		       "The policy in force: its file, its SHA-256 and its mode.");
		fprintf(f, "portguard_policy_info{policy=\"");
		label_value(f, s.info.policy);
		fprintf(f, "\",sha256=\"");
		label_value(f, s.info.sha256);
		fprintf(f, "\",mode=\"%s\"} 1\n",
			s.config.mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce");
		family(f, "portguard_policy_load_seconds", "gauge",
		       "Time the last load or reload of the policy took.");
		fprintf(f, "portguard_policy_load_seconds %.9f\n", s.info.load_ns / 1e9);
		family(f, "portguard_policy_loaded_timestamp_seconds", "gauge",
		       "Unix time of the last load or reload of the policy.");
		fprintf(f, "portguard_policy_loaded_timestamp_seconds %llu\n",
			(unsigned long long)s.info.loaded_at);

		family(f, "portguard_rule_packets_total", "counter",
		       "Packets and socket calls decided by each rule of the policy in force.");
		rule_samples(f, &s, "portguard_rule_packets_total", 0);
		family(f, "portguard_rule_bytes_total", "counter",
		       "Bytes decided by each rule of the policy in force.");
		rule_samples(f, &s, "portguard_rule_bytes_total", 1);
		family(f, "portguard_rule_last_hit_timestamp_seconds", "gauge",
		       "Unix time of the last packet a rule decided, 0 if none.");
		rule_samples(f, &s, "portguard_rule_last_hit_timestamp_seconds", 2);

		family(f, "portguard_drops_total", "counter",
		       "Packets and calls blocked (dry-run: that would be), by reason.");
		for (unsigned i = 0; i < PG_R_DROP_MAX; i++)
			fprintf(f, "portguard_drops_total{reason=\"%s\"} %llu\n",
				pg_reason_name(i), (unsigned long long)s.reasons[i].packets);
		family(f, "portguard_drop_bytes_total", "counter",
		       "Bytes blocked (dry-run: that would be), by reason.");
		for (unsigned i = 0; i < PG_R_DROP_MAX; i++)
			fprintf(f, "portguard_drop_bytes_total{reason=\"%s\"} %llu\n",
				pg_reason_name(i), (unsigned long long)s.reasons[i].bytes);
		family(f, "portguard_passes_total", "counter", "Packets and calls let through, by reason.");
		for (unsigned i = PG_R_DROP_MAX; i < PG_R_MAX; i++)
			fprintf(f, "portguard_passes_total{reason=\"%s\"} %llu\n",
				pg_reason_name(i), (unsigned long long)s.reasons[i].packets);

		family(f, "portguard_events_submitted_total", "counter",
		       "Violation events written to the ring buffer.");
		fprintf(f, "portguard_events_submitted_total %llu\n",
			(unsigned long long)s.events[PG_EVS_SUBMITTED]);
		family(f, "portguard_events_suppressed_total", "counter",
		       "Violation events not reported, by cause; the counters stay exact.");
		for (unsigned i = PG_EVS_RING_FULL; i < PG_EVS_MAX; i++)
			fprintf(f, "portguard_events_suppressed_total{cause=\"%s\"} %llu\n",
				pg_event_stat_name(i), (unsigned long long)s.events[i]);

		family(f, "portguard_interface_attached", "gauge",
		       "1 for an interface enforced in the mode labelled, 0 for one awaited "
		       "(named, absent: not enforced).");
		for (__u32 i = 0; i < s.info.nifaces; i++) {
			char name[IF_NAMESIZE + 1];

			snprintf(name, sizeof(name), "%.*s", IF_NAMESIZE - 1, s.info.ifname[i]);
			fprintf(f, "portguard_interface_attached{interface=\"");
			label_value(f, name);
			fprintf(f, "\",mode=\"%s\"} %d\n",
				s.info.ifindex[i] ? pg_ifmode_name(s.info.ifmode[i]) : "awaited",
				s.info.ifindex[i] ? 1 : 0);
		}
		family(f, "portguard_interface_appeared_total", "counter",
		       "Awaited interfaces attached as they appeared (portguard run).");
		fprintf(f, "portguard_interface_appeared_total %u\n", s.info.ifaces_appeared);
		family(f, "portguard_interface_gone_total", "counter",
		       "Attached interfaces that disappeared (awaited again).");
		fprintf(f, "portguard_interface_gone_total %u\n", s.info.ifaces_gone);

		family(f, "portguard_flows", "gauge",
		       "Entries in the flow table (expired ones included until reused).");
		fprintf(f, "portguard_flows %llu\n", (unsigned long long)s.flows);
		family(f, "portguard_flows_max", "gauge", "Size of the flow table (--max-flows).");
		fprintf(f, "portguard_flows_max %llu\n", (unsigned long long)s.flows_max);
		family(f, "portguard_flow_evictions_total", "counter",
		       "Flows the full table's LRU pushed out to make room.");
		fprintf(f, "portguard_flow_evictions_total %llu\n",
			(unsigned long long)s.flows_evicted);
		family(f, "portguard_flows_written_total", "counter",
		       "Flows written to the table, by how.");
		fprintf(f, "portguard_flows_written_total{how=\"recorded\"} %llu\n",
			(unsigned long long)s.flows_written[PG_FLS_RECORDED]);
		fprintf(f, "portguard_flows_written_total{how=\"rerecorded\"} %llu\n",
			(unsigned long long)s.flows_written[PG_FLS_RERECORDED]);
		fprintf(f, "portguard_flows_written_total{how=\"seeded\"} %llu\n",
			(unsigned long long)s.flows_written[PG_FLS_SEEDED]);
		pg_snapshot_free(&s);
	}
	if (!log_stats)
		return 0;
	family(f, "portguard_log_records_total", "counter",
	       "Event records written to each log sink by this process.");
	for (int i = 0; i < PG_SINK_MAX; i++)
		fprintf(f, "portguard_log_records_total{sink=\"%s\"} %llu\n", sinks[i],
			(unsigned long long)ls->written[i]);
	family(f, "portguard_log_write_failures_total", "counter",
	       "Event records that could not be written to a log sink (lost).");
	for (int i = 0; i < PG_SINK_MAX; i++)
		fprintf(f, "portguard_log_write_failures_total{sink=\"%s\"} %llu\n", sinks[i],
			(unsigned long long)ls->failed[i]);
	family(f, "portguard_log_reopens_total", "counter",
	       "Times the log file was found deleted or moved while in use, and opened again.");
	fprintf(f, "portguard_log_reopens_total %llu\n", (unsigned long long)ls->reopened);
	stream_samples(f);
	return 0;
}

