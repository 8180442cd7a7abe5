// SPDX-License-Identifier: GPL-2.0
/* `portguard monitor`: stream the violations of the pinned state, with no daemon. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd/command.h"
#include "cmd/options.h"
#include "common/util.h"
#include "output/events.h"
#include "kernel/bringup.h"

static void serve_metrics(void *pin_dir)
{
	pg_metrics_serve(pin_dir);
}

/* A {"event_type":"monitor"} record first: what the pinned state enforces, from pg_info. */
static void monitor_record(struct pg_stream *s, const struct pg_maps *m, const char *dir)
{
	char names[PG_MAX_IFACES][IF_NAMESIZE];
	const char *ifaces[PG_MAX_IFACES];
	struct pg_stream_info i = { .pin_dir = dir };
	struct pg_info info;
	struct pg_config cfg;
	__u32 zero = 0, gen, n;

	if (bpf_map_lookup_elem(m->fd[PG_MAP_INFO], &zero, &info))
		return;
	info.policy[sizeof(info.policy) - 1] = '\0';
	info.sha256[sizeof(info.sha256) - 1] = '\0';
	info.cgroup[sizeof(info.cgroup) - 1] = '\0';
	for (n = 0; n < info.nifaces && n < PG_MAX_IFACES; n++) {
		if (!if_indextoname(info.ifindex[n], names[n]))
			snprintf(names[n], sizeof(names[n]), "if%u", info.ifindex[n]);
		ifaces[n] = names[n];
	}
	if (!pg_active_gen(m, &gen) && !bpf_map_lookup_elem(m->fd[PG_MAP_CONFIG], &gen, &cfg))
		i.mode = cfg.mode;
	i.policy = info.policy;
	i.sha256 = info.sha256;
	i.nrules = info.nrules;
	i.ifaces = ifaces;
	i.nifaces = n;
	i.cgroup = info.cgroup;
	i.load_ms = info.load_ns / 1e6;
	pg_stream_info(s, "monitor", &i);
}

static volatile sig_atomic_t monitor_exiting;

static void monitor_signal(int sig)
{
	(void)sig;
	monitor_exiting = 1;
}

static int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = monitor_signal };
	struct pg_maps m = { .owned = false };
	struct pg_stream *s = NULL;
	bool json, ops_started = false;
	struct pg_ops_opts ops;
	struct pg_cmdline cl;
	char *dir = cl.pin_dir;
	int r, status = 1;

	r = pg_cmdline_parse(&pg_cmd_monitor, argc, argv, &cl);
	if (r)
		return r;
	ops = cl.ops;
	json = cl.json;
	pg_libbpf_setup(pg_verbose);
	if (pg_pins_check_loaded(dir) != 1)
		return 1;
	if (pg_ops_start(&ops))
		return 1;
	ops_started = true;
	if (pg_maps_from_pins(&m, dir))
		goto out;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	s = pg_stream_new(&(struct pg_stream_opts){
		.json = json,
		.out = stdout,
		.events_fd = m.fd[PG_MAP_EVENTS],
		.rule_meta_fd = m.fd[PG_MAP_RULE_META],
		.config_fd = m.fd[PG_MAP_CONFIG],
		.event_stats_fd = m.fd[PG_MAP_EVENT_STATS],
		.extra_fd = pg_metrics_fd(),
		.extra_ready = serve_metrics,
		.extra_ctx = dir,
		.json_sink = pg_logsink_active() ? pg_logsink_write : NULL,
	});
	if (!s) {
		fprintf(stderr, "portguard: failed to open the event ring buffer at %s: %s\n", dir,
			strerror(errno));
		goto out;
	}
	fprintf(stderr, "portguard: monitoring %s (Ctrl-C stops; enforcement stays)\n", dir);
	monitor_record(s, &m, dir);
	/* The ring buffer has one consumer position, shared by every reader: with a run
	 * streaming the same state, a record may reach either of us, or both. */
	while (!monitor_exiting) {
		r = pg_stream_poll(s, 250);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "portguard: failed to read events: %s\n", strerror(-r));
			goto out;
		}
		/* Unloaded under us: nothing more will come. */
		if (pg_pins_loaded(dir) == 0) {
			fprintf(stderr, "portguard: %s was unloaded\n", dir);
			break;
		}
	}
	status = 0;
out:
	pg_stream_free(s);
	if (ops_started)
		pg_ops_stop();
	pg_maps_close(&m);
	return status;
}

static const enum pg_opt_id monitor_opts[] = { PG_OPT_JSON, PG_OPT_PIN_DIR, PG_OPTS_OPS, PG_OPT_END };

const struct pg_command pg_cmd_monitor = {
	.name = "monitor",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.opts = monitor_opts,
	.summary = "stream the violations of the pinned state",
	.run = cmd_monitor,
};
