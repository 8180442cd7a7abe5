// SPDX-License-Identifier: GPL-2.0
/*
 * portguard run POLICY: load, fill, attach, stream violations until SIGINT/SIGTERM, then
 * detach everything (or, with --keep, leave enforcement pinned). SIGHUP reloads the policy
 * file atomically. The lifecycle is libbpf-bootstrap's, with pinning for takeover.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "cmd/command.h"
#include "output/events.h"
#include "cmd/options.h"
#include "kernel/bringup.h"
#include "common/clock.h"
#include "common/util.h"

static volatile sig_atomic_t exiting, reload_wanted;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_wanted = 1;
	else
		exiting = 1;
}

static void install_signals(void)
{
	/* No SA_RESTART: a signal must interrupt the ring buffer's epoll_wait. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout (run | head) must not kill us before we detach. */
	signal(SIGPIPE, SIG_IGN);
}

static void info_of(const struct pg_up *up, struct pg_stream_info *i, const char *policy)
{
	*i = (struct pg_stream_info){
		.policy = policy,
		.sha256 = up->src.sha256,
		.mode = up->enforced.mode,
		.nrules = up->enforced.nrules,
		.ifaces = up->ifaces,
		.nifaces = up->nifaces,
		.cgroup = up->cgroup,
		.pin_dir = up->pin_dir,
		.takeover = up->l.takeover,
		.seeded = up->enforced.seeded,
		.load_ms = up->enforced.load_ns / 1e6,
	};
}

static void notify(const char *state)
{
	int err = pg_notify(state);

	if (err)
		fprintf(stderr, "portguard: failed to notify systemd (%s): %s\n",
			getenv("NOTIFY_SOCKET"), strerror(-err));
}

static bool same_ifaces(const struct pg_up *up, const struct pg_policy *p)
{
	size_t i;

	if (p->nifaces != up->nifaces)
		return false;
	for (i = 0; i < up->nifaces; i++)
		if (strcmp(p->ifaces[i], up->ifaces[i]))
			return false;
	return true;
}

/* SIGHUP: re-read the same file. A policy with errors changes nothing. */
static void reload(struct pg_up *up, const struct pg_up_opts *o, struct pg_stream *s,
		   const char *policy)
{
	struct pg_policy_src src;
	struct pg_enforced done;
	struct pg_stream_info info;
	char msg[96];
	int lock, err;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(pg_monotonic_ns() / 1000));
	notify(msg);
	err = pg_policy_read(o->policy, &src);
	if (err) {
		fprintf(stderr, "portguard: reload of %s rejected; the policy in force stays "
				"(sha256 %.12s)\n", o->policy, up->src.sha256);
		notify("READY=1");
		return;
	}
	lock = pg_lock(up->pin_dir);
	err = lock < 0 ? lock : pg_enforce(&up->l.maps, &src, &o->enforce, &done);
	pg_unlock(lock);
	if (err) {
		fprintf(stderr, "portguard: reload of %s failed; the policy in force stays\n",
			o->policy);
		pg_policy_src_free(&src);
		notify("READY=1");
		return;
	}
	if (!o->nifaces && !same_ifaces(up, src.p))
		fprintf(stderr, "portguard: the policy's interface lines changed; the new policy is "
				"in force on the interfaces attached at start (%zu); restart to "
				"attach elsewhere\n", up->nifaces);
	pg_policy_src_free(&up->src);
	up->src = src;
	up->enforced = done;
	info_of(up, &info, policy);
	pg_stream_info(s, "reload", &info);
	notify("READY=1");
}

static void serve_metrics(void *pin_dir)
{
	pg_metrics_serve(pin_dir);
}

static int cmd_run(int argc, char **argv)
{
	bool json, keep, unloaded = false, ops_started = false;
	char active[PATH_MAX + 16];
	struct pg_stream_info info;
	struct pg_stream *s = NULL;
	struct pg_ops_opts ops;
	struct pg_cmdline cl;
	char policy[PATH_MAX];
	struct pg_up_opts o;
	struct pg_up up;
	int r, err, lock;

	r = pg_cmdline_parse(&pg_cmd_run, argc, argv, &cl);
	if (r)
		return r;
	o = cl.up;
	ops = cl.ops;
	json = cl.json;
	keep = cl.keep;
	o.policy = cl.args[0];
	o.owner = true;
	if (pg_abs_path(o.policy, policy, sizeof(policy)))
		snprintf(policy, sizeof(policy), "%s", o.policy);
	pg_libbpf_setup(pg_verbose);
	install_signals();

	/* Every option is checked, and the sinks and the metrics listener opened, before
	 * anything touches the kernel: a bad --metrics or --log-file exits 2 and leaves the
	 * state in force as it was. */
	if (pg_ops_start(&ops))
		return 1;
	ops_started = true;
	err = pg_up(&o, &up);
	if (err) {
		pg_ops_stop();
		return 1;
	}
	if (!up.nifaces)
		fprintf(stderr, "portguard: inbound enforcement is off: no interface named "
				"(--iface or an `interface` line)\n");
	if (!up.cgroup[0])
		fprintf(stderr, "portguard: socket enforcement is off (--no-cgroup)\n");
	if (up.l.takeover)
		fprintf(stderr, "portguard: took over the enforcement pinned at %s\n", up.pin_dir);

	s = pg_stream_new(&(struct pg_stream_opts){
		.json = json,
		.out = stdout,
		.events_fd = up.l.maps.fd[PG_MAP_EVENTS],
		.rule_meta_fd = up.l.maps.fd[PG_MAP_RULE_META],
		.config_fd = up.l.maps.fd[PG_MAP_CONFIG],
		.event_stats_fd = up.l.maps.fd[PG_MAP_EVENT_STATS],
		.extra_fd = pg_metrics_fd(),
		.extra_ready = serve_metrics,
		.extra_ctx = up.pin_dir,
		.json_sink = pg_logsink_active() ? pg_logsink_write : NULL,
	});
	if (!s) {
		fprintf(stderr, "portguard: failed to open the event ring buffer: %s\n",
			strerror(errno));
		err = -errno;
		goto out;
	}
	snprintf(active, sizeof(active), "%s/pg_active", up.pin_dir);
	info_of(&up, &info, policy);
	pg_stream_info(s, "start", &info);
	notify("READY=1\nSTATUS=enforcing");

	while (!exiting) {
		if (reload_wanted) {
			reload_wanted = 0;
			reload(&up, &o, s, policy);
			continue;
		}
		r = pg_stream_poll(s, 250);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "portguard: failed to read events: %s\n", strerror(-r));
			err = r;
			break;
		}
		if (access(active, F_OK)) {
			fprintf(stderr, "portguard: the state at %s was unloaded (portguard unload); "
					"exiting\n", up.pin_dir);
			unloaded = true;
			break;
		}
	}
out:
	notify("STOPPING=1");
	pg_stream_free(s);
	if (ops_started)
		pg_ops_stop();
	if (unloaded) {
		/* Nothing of ours is left to detach. */
	} else if (err && up.l.takeover) {
		/* A failure after taking over: the state that was in force stays in force. */
		fprintf(stderr, "portguard: exiting; the enforcement taken over stays in force, "
				"pinned at %s\n", up.pin_dir);
	} else if (keep) {
		fprintf(stderr, "portguard: exiting; enforcement stays in force, pinned at %s\n",
			up.pin_dir);
	} else {
		lock = pg_lock(up.pin_dir);
		if (lock >= 0 || lock == -ENOENT)
			pg_detach_all(up.pin_dir);
		pg_unlock(lock);
		fprintf(stderr, "portguard: detached; enforcement removed\n");
	}
	pg_up_close(&up);
	return err ? 1 : 0;
}

static const enum pg_opt_id run_opts[] = { PG_OPTS_UP, PG_OPT_JSON, PG_OPT_KEEP, PG_OPT_RATE_WINDOW, PG_OPT_RATE_LIMIT, PG_OPT_NO_EVENTS, PG_OPTS_OPS, PG_OPT_END };

const struct pg_command pg_cmd_run = {
	.name = "run",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = run_opts,
	.summary = "enforce a policy and stream violations until interrupted",
	.run = cmd_run,
};
