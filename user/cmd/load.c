// SPDX-License-Identifier: GPL-2.0
/*
 * Persistent enforcement without a running process: load, unload, reload, and monitor to
 * watch the events of what is pinned. Each is safe to run twice, and they serialise on a lock
 * of the pin directory.
 */
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
#include "output/events.h"
#include "cmd/ops.h"
#include "kernel/up.h"
#include "common/util.h"

static const struct option load_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "cgroup", required_argument, NULL, 'c' },
	{ "no-cgroup", no_argument, NULL, 'C' },
	{ "pin-dir", required_argument, NULL, 'p' },
	{ "xdp-mode", required_argument, NULL, 'x' },
	{ "dry-run", no_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ 0 },
};

static void print_ifaces(const char *const *ifaces, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? "," : "", ifaces[i]);
	if (!n)
		fprintf(stderr, "no interface (inbound enforcement off)");
}

static int cmd_load(int argc, char **argv)
{
	struct pg_up_opts o = { .enforce = { .ratelimit_ms = -1, .events_per_sec = -1 } };
	struct pg_up up;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", load_opts, NULL)) != -1) {
		r = pg_up_option(&o, opt, optarg);
		if (r == 2)
			return 2;
		if (r == 1)
			continue;
		if (opt == 'd')
			o.enforce.dry_run = true;
		else
			return pg_usage(argv[0]);
	}
	if (optind != argc - 1 || (o.cgroup && o.no_cgroup))
		return pg_usage(argv[0]);
	o.policy = argv[optind];
	pg_libbpf_setup(pg_verbose);
	signal(SIGPIPE, SIG_IGN);
	if (pg_up(&o, &up))
		return 1;
	fprintf(stderr, "portguard: %s %s (%s, %u rule slots) on ", up.l.takeover ? "replaced the "
		"policy in force with" : "loaded", up.src.path, up.enforced.mode ? "dry-run" :
		"enforce", up.enforced.nrules);
	print_ifaces(up.ifaces, up.nifaces);
	fprintf(stderr, ", socket hooks %s%s; pinned at %s\n", up.cgroup[0] ? "on " : "off",
		up.cgroup, up.pin_dir);
	pg_up_close(&up);
	return 0;
}

PG_COMMAND(load, 30,
	   "POLICY [--iface IF]... [--cgroup DIR | --no-cgroup] [--dry-run] [--pin-dir DIR] "
	   "[--xdp-mode native|skb]",
	   "enforce a policy, pinned, and exit (persistent enforcement)", cmd_load)

/* --pin-dir DIR as the only option; the absolute pin directory into dir. */
static int pin_dir_arg(int argc, char **argv, int nargs, bool *json, bool *dry_run,
		       char *dir, size_t size)
{
	const char *pin = PG_PIN_DIR_DEFAULT;
	int opt;

	while ((opt = getopt_long(argc, argv, "", load_opts, NULL)) != -1) {
		if (opt == 'p')
			pin = optarg;
		else if (opt == 'j' && json)
			*json = true;
		else if (opt == 'd' && dry_run)
			*dry_run = true;
		else
			return pg_usage(argv[0]);
	}
	if (argc - optind != nargs)
		return pg_usage(argv[0]);
	if (pg_abs_path(pin, dir, size)) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", pin, strerror(ENAMETOOLONG));
		return 2;
	}
	return 0;
}

static bool loaded_at(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/pg_active", dir);
	return !access(path, F_OK);
}

static int cmd_unload(int argc, char **argv)
{
	char dir[PATH_MAX];
	int lock, r;

	r = pin_dir_arg(argc, argv, 0, NULL, NULL, dir, sizeof(dir));
	if (r)
		return r;
	pg_libbpf_setup(pg_verbose);
	lock = pg_lock(dir);
	if (lock == -ENOENT) {
		printf("portguard: nothing loaded at %s\n", dir);
		pg_unlock(lock);
		return 0;
	}
	if (lock < 0)
		return 1;
	r = pg_detach_all(dir);
	pg_unlock(lock);
	if (r < 0)
		return 1;
	if (!r)
		printf("portguard: nothing loaded at %s\n", dir);
	else
		printf("portguard: unloaded: every program detached and every pin removed at %s\n",
		       dir);
	return 0;
}

PG_COMMAND(unload, 31, "[--pin-dir DIR]",
	   "remove everything portguard attached and pinned, and only that", cmd_unload)

static int cmd_reload(int argc, char **argv)
{
	struct pg_enforce_opts o = { .ratelimit_ms = -1, .events_per_sec = -1 };
	struct pg_maps m = { .owned = false };
	struct pg_policy_src src = { 0 };
	struct pg_enforced done;
	struct pg_config cur = { .mode = 0xff };
	char dir[PATH_MAX];
	int lock = -1, r, status = 1;
	__u32 gen;

	r = pin_dir_arg(argc, argv, 1, NULL, &o.dry_run, dir, sizeof(dir));
	if (r)
		return r;
	pg_libbpf_setup(pg_verbose);
	/* The new policy is checked before anything is locked or touched. */
	if (pg_policy_read(argv[optind], &src)) {
		fprintf(stderr, "portguard: reload rejected; the policy in force stays\n");
		return 1;
	}
	lock = pg_lock(dir);
	if (lock == -ENOENT || (lock >= 0 && !loaded_at(dir))) {
		fprintf(stderr, "portguard: nothing loaded at %s (use load or run)\n", dir);
		goto out;
	}
	if (lock < 0 || pg_maps_from_pins(&m, dir))
		goto out;
	/* Event rate settings are the running state's (run --rate-window ...), not the
	 * policy's: they are kept. */
	if (!pg_active_gen(&m, &gen) && !bpf_map_lookup_elem(m.fd[PG_MAP_CONFIG], &gen, &cur)) {
		o.ratelimit_ms = cur.ratelimit_ns / 1000000ULL;
		o.events_per_sec = cur.events_per_sec;
		o.no_events = !cur.events;
	}
	if (pg_enforce(&m, &src, &o, &done)) {
		fprintf(stderr, "portguard: reload failed; the policy in force stays\n");
		goto out;
	}
	fprintf(stderr, "portguard: reloaded %s (%s, %u rule slots, generation %u) at %s\n",
		src.path, done.mode ? "dry-run" : "enforce", done.nrules, done.gen, dir);
	/* A run --dry-run overrides the policy's mode; a reload without --dry-run does not. */
	if (cur.mode != 0xff && cur.mode != done.mode)
		fprintf(stderr, "portguard: note: the mode changed from %s to %s%s\n",
			cur.mode ? "dry-run" : "enforce", done.mode ? "dry-run" : "enforce",
			done.mode ? "" : " (reload --dry-run keeps dry-run)");
	status = 0;
out:
	pg_maps_close(&m);
	pg_unlock(lock);
	pg_policy_src_free(&src);
	return status;
}

PG_COMMAND(reload, 32, "POLICY [--dry-run] [--pin-dir DIR]",
	   "swap the policy of the pinned state atomically", cmd_reload)

static const struct option monitor_opts[] = {
	{ "pin-dir", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	PG_OPS_LONG_OPTIONS,
	{ 0 },
};

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
	struct pg_ops_opts ops = PG_OPS_OPTS_INIT;
	struct pg_maps m = { .owned = false };
	const char *pin = PG_PIN_DIR_DEFAULT;
	struct pg_stream *s = NULL;
	bool json = false, ops_started = false;
	char dir[PATH_MAX];
	int opt, r, status = 1;

	while ((opt = getopt_long(argc, argv, "", monitor_opts, NULL)) != -1) {
		if (opt == 'p') {
			pin = optarg;
		} else if (opt == 'j') {
			json = true;
		} else {
			r = pg_ops_option(&ops, opt, optarg);
			if (r < 0)
				return 2;
			if (!r)
				return pg_usage(argv[0]);
		}
	}
	if (optind != argc)
		return pg_usage(argv[0]);
	if (pg_abs_path(pin, dir, sizeof(dir))) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", pin, strerror(ENAMETOOLONG));
		return 2;
	}
	pg_libbpf_setup(pg_verbose);
	if (!loaded_at(dir)) {
		fprintf(stderr, "portguard: nothing loaded at %s\n", dir);
		return 1;
	}
	if (pg_maps_from_pins(&m, dir))
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pg_ops_start(&ops))
		goto out;
	ops_started = true;
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
		if (!loaded_at(dir)) {
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

PG_COMMAND(monitor, 33, "[--json] [--pin-dir DIR] " PG_OPS_USAGE,
	   "stream the violations of the pinned state", cmd_monitor)
