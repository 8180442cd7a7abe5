// SPDX-License-Identifier: GPL-2.0
/*
 * portguard run POLICY: load, fill, attach, stream violations until SIGINT/SIGTERM, then
 * detach everything (or, with --keep, leave enforcement pinned). SIGHUP reloads the policy
 * file atomically. The lifecycle is libbpf-bootstrap's, with pinning for takeover.
 *
 * Interfaces come and go while it runs: one that is named but missing is awaited, and an
 * rtnetlink link event (or a look every PG_IFACE_RESYNC_MS, in case one was lost) attaches it
 * within the loop's 250 ms of appearing; one that disappears is awaited again. A reload whose
 * interface lines changed attaches the new ones before its generation goes in force, and
 * detaches the ones it dropped afterwards.
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
#include "output/fanout.h"
#include "output/stdout.h"
#include "cmd/options.h"
#include "kernel/bringup.h"
#include "kernel/confirm.h"
#include "kernel/ifaces.h"
#include "kernel/links_watch.h"
#include "common/clock.h"
#include "common/util.h"
#include "output/names.h"
#include "output/stderr.h"

#define PG_IFACE_RESYNC_MS 2000

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

/* A reload --confirm applied, confirmed, rolled back: a change record (and a word on
 * stderr when this daemon rolled it back). */
static void report_change(struct pg_stream *s, const struct pg_pending *p)
{
	struct pg_change_info c = {
		.state = pg_change_state_name(p->state),
		.policy = p->new_info.policy,
		.sha256 = p->new_info.sha256,
		.previous_policy = p->old_info.policy,
		.previous_sha256 = p->old_info.sha256,
		.deadline_ns = p->deadline_ns,
		.seconds = p->seconds,
	};

	if (p->state == PG_CHANGE_ROLLED_BACK)
		pg_notice("portguard: rolled back the change to %s: not confirmed within "
			  "%u s; %s (sha256 %.12s) is in force again\n",
			  p->new_info.policy, p->seconds, p->old_info.policy, p->old_info.sha256);
	pg_stream_change(s, &c);
}

/* An interface appeared, went, or could not be attached: say so on stderr and in the
 * stream (status and the metrics read pg_info, which the change updated). */
static void on_iface(void *ctx, const char *name, const char *state, int ifindex,
		     unsigned ifmode)
{
	struct pg_stream *s = ctx;

	if (!strcmp(state, "appeared"))
		pg_notice("portguard: %s appeared (ifindex %d): enforcing with %s\n", name, ifindex,
			  pg_ifmode_name(ifmode));
	else if (!strcmp(state, "gone"))
		pg_warning("portguard: %s disappeared: awaited until it comes back\n", name);
	else
		pg_warning("portguard: %s appeared but could not be attached: still awaited\n",
			   name);
	if (s)
		pg_stream_iface(s, name, state, ifindex, pg_ifmode_name(ifmode));
}

static void sync_ifaces(struct pg_up *up, const struct pg_up_opts *o, struct pg_stream *s)
{
	int lock = pg_lock(up->pin_dir);

	if (lock < 0)
		return;
	pg_up_sync_ifaces(up, o->xdp_mode, on_iface, s);
	pg_unlock(lock);
}

/* SIGHUP: re-read the same file. A policy with errors changes nothing. */
static void reload(struct pg_up *up, const struct pg_up_opts *o, struct pg_stream *s,
		   const char *policy)
{
	struct pg_policy_src src;
	struct pg_enforced done;
	struct pg_stream_info info;
	struct pg_up_ifaces next;
	bool ifaces_change;
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
	/* With --iface the command line names the interfaces; else the policy does, and a
	 * change of its interface lines is attached first, detached after. */
	ifaces_change = !o->nifaces && !same_ifaces(up, src.p);
	lock = pg_lock(up->pin_dir);
	/* A change awaiting confirmation keeps the generation it would restore: untouched. */
	if (lock >= 0 && pg_change_check_idle(up->pin_dir, "reload on SIGHUP")) {
		pg_unlock(lock);
		pg_policy_src_free(&src);
		notify("READY=1");
		return;
	}
	err = lock < 0 ? lock : 0;
	if (!err && ifaces_change)
		err = pg_up_ifaces_begin(up, (const char *const *)src.p->ifaces, src.p->nifaces,
					 o->xdp_mode, &next);
	if (!err) {
		err = pg_enforce(&up->l.maps, &src, &o->enforce, &done);
		if (err && ifaces_change)
			pg_up_ifaces_abort(up, &next);
		else if (ifaces_change)
			pg_up_ifaces_commit(up, &next);
	}
	pg_unlock(lock);
	if (err) {
		fprintf(stderr, "portguard: reload of %s failed; the policy in force stays\n",
			o->policy);
		pg_policy_src_free(&src);
		notify("READY=1");
		return;
	}
	pg_policy_src_free(&up->src);
	up->src = src;
	up->enforced = done;
	info_of(up, &info, policy);
	pg_stream_info(s, "reload", &info);
	notify("READY=1");
}

/* The records of one pass over the ring reach the stdout and log-file writers at once. */
static void sinks_batch(bool begin)
{
	pg_stdout_defer(begin);
	pg_logsink_defer(begin);
}

static void serve_metrics(void *pin_dir)
{
	pg_metrics_serve(pin_dir);
}

static void serve_subscribers(void *unused)
{
	(void)unused;
	pg_fanout_serve();
}

/*
 * Become the ring's only consumer and serve the stream to monitors: listen on the pin
 * directory's socket, then wait for the monitors that read the ring without a daemon to
 * subscribe and let go of it. A failure here costs the monitors, not enforcement: it is said
 * and the daemon goes on. Returns the consumer lock's fd, or -1.
 */
static int serve_stream(const char *pin_dir, size_t buffer)
{
	char sock[PATH_MAX], lock[PATH_MAX];
	int fd;

	if (pg_run_path(pin_dir, "sock", sock, sizeof(sock)) ||
	    pg_run_path(pin_dir, "lock", lock, sizeof(lock)) || pg_run_dir_prepare() ||
	    pg_fanout_open(sock, buffer)) {
		pg_warning("portguard: monitors cannot subscribe to this daemon; events are "
			   "still written to its own outputs\n");
		return -1;
	}
	fd = pg_ring_lock(lock, true, 5000, &exiting);
	if (fd == -EWOULDBLOCK)
		pg_warning("portguard: a monitor reading the ring did not hand over within "
			   "5 s (stopped?); until it exits, it may read records this daemon "
			   "does not\n");
	else if (fd < 0)
		fprintf(stderr, "portguard: failed to lock %s: %s\n", lock, strerror(-fd));
	/* The monitors that handed over are waiting in the backlog, hello sent: they get
	 * every record from the first this daemon reads. */
	pg_fanout_accept_all();
	return fd;
}

static int cmd_run(int argc, char **argv)
{
	bool json, keep, unloaded = false, ops_started = false;
	bool stdout_queued = false;
	struct pg_change_watch cw;
	struct pg_pending change;
	char active[PATH_MAX + 16];
	struct pg_stream_info info;
	struct pg_stream *s = NULL;
	struct pg_ops_opts ops;
	struct pg_cmdline cl;
	char policy[PATH_MAX];
	struct pg_up_opts o;
	long long next_sync;
	struct pg_up up;
	int r, err, lock, ring_lock = -1, watch = -1;
	size_t monitor_buffer;

	r = pg_cmdline_parse(&pg_cmd_run, argc, argv, &cl);
	if (r)
		return r;
	o = cl.up;
	ops = cl.ops;
	json = cl.json;
	keep = cl.keep;
	monitor_buffer = cl.monitor_buffer ? cl.monitor_buffer : PG_FANOUT_DEFAULT_BUFFER;
	o.policy = cl.args[0];
	o.owner = true;
	o.await = true; /* run is what attaches an interface that appears later */
	if (pg_abs_path(o.policy, policy, sizeof(policy)))
		snprintf(policy, sizeof(policy), "%s", o.policy);
	pg_libbpf_setup(pg_verbose);
	install_signals();
	/* The daemon's diagnostics through a bounded queue: a stderr nobody reads holds a
	 * thread of its own, never the loop (stderr.h). Failing that, written directly. */
	pg_stderr_queue();

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
		pg_warning("portguard: inbound enforcement is off: no interface named "
			   "(--iface or an `interface` line)\n");
	if (!up.cgroup[0])
		pg_warning("portguard: socket enforcement is off (--no-cgroup)\n");
	if (up.l.takeover)
		pg_notice("portguard: took over the enforcement pinned at %s\n", up.pin_dir);
	pg_up_print_ifaces(&up);
	watch = pg_links_watch_open();
	if (watch < 0)
		fprintf(stderr, "portguard: failed to watch link events (rtnetlink): %s; awaited "
				"interfaces are looked for every %d ms\n", strerror(-watch),
			PG_IFACE_RESYNC_MS);

	/* Scrapes are answered by a thread of their own: the loop never waits on one. */
	pg_metrics_thread_start(up.pin_dir);
	if (!pg_stdout_open())
		stdout_queued = true;
	ring_lock = serve_stream(up.pin_dir, monitor_buffer);
	s = pg_stream_new(&(struct pg_stream_opts){
		.json = json,
		.out = stdout,
		.out_sink = stdout_queued ? pg_stdout_write : NULL,
		.record_sink = pg_fanout_send,
		.record_wants = pg_fanout_wants,
		.batch = sinks_batch,
		.more = { { pg_fanout_fd(), serve_subscribers, NULL } },
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
	if (pg_change_watch_start(&cw, up.pin_dir, &change) == 1)
		report_change(s, &change);
	for (size_t i = 0; i < up.nifaces; i++)
		if (!up.ifindex[i])
			pg_stream_iface(s, up.ifaces[i], "awaited", 0, "awaited");
	notify("READY=1\nSTATUS=enforcing");
	next_sync = pg_monotonic_ns() + PG_IFACE_RESYNC_MS * 1000000LL;

	while (!exiting) {
		if (reload_wanted) {
			reload_wanted = 0;
			reload(&up, &o, s, policy);
			continue;
		}
		/* 100 ms at most between two looks at the flags the signals set. */
		r = pg_stream_poll(s, 100);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "portguard: failed to read events: %s\n", strerror(-r));
			err = r;
			break;
		}
		if (pg_change_tick(&cw, up.pin_dir, &change))
			report_change(s, &change);
		if (access(active, F_OK)) {
			pg_notice("portguard: the state at %s was unloaded (portguard unload); "
				  "exiting\n",
				  up.pin_dir);
			unloaded = true;
			break;
		}
		if ((watch >= 0 && pg_links_watch_drain(watch) > 0) ||
		    pg_monotonic_ns() >= next_sync) {
			sync_ifaces(&up, &o, s);
			next_sync = pg_monotonic_ns() + PG_IFACE_RESYNC_MS * 1000000LL;
		}
	}
out:
	notify("STOPPING=1");
	pg_fanout_close(unloaded ? "the state was unloaded" : "the daemon stopped");
	pg_links_watch_close(watch);
	pg_stream_free(s);
	if (ring_lock >= 0)
		close(ring_lock);
	if (stdout_queued)
		pg_stdout_close(200);
	if (ops_started)
		pg_ops_stop();
	if (unloaded) {
		/* Nothing of ours is left to detach. */
	} else if (err && up.l.takeover) {
		/* A failure after taking over: the state that was in force stays in force. */
		pg_warning("portguard: exiting; the enforcement taken over stays in force, "
			   "pinned at %s\n",
			   up.pin_dir);
	} else if (keep) {
		pg_notice("portguard: exiting; enforcement stays in force, pinned at %s\n",
			  up.pin_dir);
	} else {
		lock = pg_lock(up.pin_dir);
		if (lock >= 0 || lock == -ENOENT)
			pg_detach_all(up.pin_dir);
		pg_unlock(lock);
		pg_notice("portguard: detached; enforcement removed\n");
	}
	pg_up_close(&up);
	return err ? 1 : 0;
}

static const enum pg_opt_id run_opts[] = { PG_OPTS_UP, PG_OPT_JSON, PG_OPT_KEEP, PG_OPT_RATE_WINDOW, PG_OPT_RATE_LIMIT, PG_OPT_NO_EVENTS,
					   PG_OPT_MONITOR_BUFFER, PG_OPTS_OPS, PG_OPT_END };

const struct pg_command pg_cmd_run = {
	.name = "run",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = run_opts,
	.summary = "enforce a policy and stream violations until interrupted",
	.run = cmd_run,
};
