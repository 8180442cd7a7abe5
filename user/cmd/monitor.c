// SPDX-License-Identifier: GPL-2.0
/* `portguard monitor`: stream the violations of the pinned state, with no daemon. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd/command.h"
#include "cmd/options.h"
#include "common/util.h"
#include "output/events.h"
#include "output/fanout.h"
#include "kernel/bringup.h"
#include "output/stderr.h"

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

/* A subscription to the daemon's stream: what arrives on fd, split into lines. */
struct sub {
	int fd;
	bool json;
	bool to_stdout, to_sink;
	char buf[65536];
	size_t len;
};

enum { SUB_MORE, SUB_CUT_OFF, SUB_ENDED };

/* One line from the daemon: a record, or its word to us ('#'). */
static int sub_line(struct sub *u, char *line, const char *sock)
{
	if (line[0] == '#') {
		if (!strncmp(line, "#portguard subscribed", 21)) {
			if (u->to_stdout)
				pg_notice("portguard: subscribed to the daemon's stream at %s\n",
					  sock);
			return SUB_MORE;
		}
		if (!strncmp(line, "#portguard cut-off: ", 20)) {
			fprintf(stderr, "portguard: the daemon cut this monitor off: %s\n", line + 20);
			return SUB_CUT_OFF;
		}
		if (!strncmp(line, "#portguard end: ", 16)) {
			fprintf(stderr, "portguard: the daemon's stream ended: %s\n", line + 16);
			return SUB_ENDED;
		}
		fprintf(stderr, "portguard: the daemon says: %s\n", line + 1);
		return SUB_ENDED;
	}
	if (u->to_stdout) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	if (u->to_sink)
		pg_logsink_write(line);
	return SUB_MORE;
}

/* Read what is there. Returns SUB_MORE, SUB_CUT_OFF or SUB_ENDED (an end without a word:
 * the daemon died). */
static int sub_read(struct sub *u, const char *sock)
{
	ssize_t n = read(u->fd, u->buf + u->len, sizeof(u->buf) - 1 - u->len);
	char *p, *nl;
	int r = SUB_MORE;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? SUB_MORE : SUB_ENDED;
	if (n == 0) {
		if (u->to_stdout)
			fprintf(stderr, "portguard: the daemon's stream at %s closed\n", sock);
		return SUB_ENDED;
	}
	u->len += n;
	u->buf[u->len] = '\0';
	for (p = u->buf; r == SUB_MORE && (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		r = sub_line(u, p, sock);
	}
	if (r != SUB_MORE)
		return r;
	u->len -= p - u->buf;
	memmove(u->buf, p, u->len);
	if (u->len == sizeof(u->buf) - 1)
		u->len = 0; /* no record is this long: a broken stream, dropped */
	return SUB_MORE;
}

/* Subscribe: one stream for stdout, and one in JSON for the log sinks when stdout is text.
 * Returns the number of subscriptions made (0: no daemon serves). */
static int subscribe(struct sub *u, const char *sock, bool json)
{
	int n = 0, fd;
	bool sink = pg_logsink_active();

	fd = pg_fanout_subscribe(sock, json);
	if (fd < 0)
		return 0;
	u[n++] = (struct sub){ .fd = fd, .json = json, .to_stdout = true, .to_sink = json && sink };
	if (sink && !json) {
		fd = pg_fanout_subscribe(sock, true);
		if (fd >= 0)
			u[n++] = (struct sub){ .fd = fd, .json = true, .to_sink = true };
	}
	return n;
}

/* Follow the daemon's stream until it ends. Returns SUB_CUT_OFF, SUB_ENDED, or SUB_MORE
 * when interrupted. */
static int follow(struct sub *u, int n, const char *sock, const char *dir)
{
	struct pollfd pfd[3];
	int i, r = SUB_MORE;

	while (!monitor_exiting && r == SUB_MORE) {
		for (i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = u[i].fd, .events = POLLIN };
		pfd[n] = (struct pollfd){ .fd = pg_metrics_fd(), .events = POLLIN };
		if (poll(pfd, n + 1, 250) < 0 && errno != EINTR)
			break;
		if (pfd[n].revents)
			pg_metrics_serve(dir);
		for (i = 0; i < n && r == SUB_MORE; i++)
			if (pfd[i].revents)
				r = sub_read(&u[i], sock);
	}
	for (i = 0; i < n; i++)
		close(u[i].fd);
	return r;
}

static int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = monitor_signal };
	struct pg_maps m = { .owned = false };
	struct pg_stream *s = NULL;
	bool json, ops_started = false;
	struct pg_ops_opts ops;
	struct pg_cmdline cl;
	char *dir = cl.pin_dir, sock[PATH_MAX], lock[PATH_MAX];
	int r, status = 1, ring_lock = -1, nsub = 0, attempt;
	struct sub *u = NULL;
	struct stat st;

	r = pg_cmdline_parse(&pg_cmd_monitor, argc, argv, &cl);
	if (r)
		return r;
	ops = cl.ops;
	json = cl.json;
	if (pg_run_path(dir, "sock", sock, sizeof(sock)) ||
	    pg_run_path(dir, "lock", lock, sizeof(lock))) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", dir, strerror(ENAMETOOLONG));
		return 2;
	}
	pg_libbpf_setup(pg_verbose);
	if (pg_pins_check_loaded(dir) != 1)
		return 1;
	if (pg_ops_start(&ops))
		return 1;
	ops_started = true;
	if (pg_maps_from_pins(&m, dir))
		goto out;
	u = calloc(2, sizeof(*u));
	if (!u)
		goto out;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Scrapes are answered by a thread of their own: the loop never waits on one. */
	pg_metrics_thread_start(dir);
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
		.no_consume = true,
	});
	if (!s) {
		fprintf(stderr, "portguard: failed to open the event ring buffer at %s: %s\n", dir,
			strerror(errno));
		goto out;
	}
	pg_notice("portguard: monitoring %s (Ctrl-C stops; enforcement stays)\n", dir);
	monitor_record(s, &m, dir);
	while (!monitor_exiting) {
		/* A daemon serves the stream: subscribe. None: read the ring, holding the
		 * consumer lock shared; a daemon that starts waits for us to hand over. */
		for (attempt = 0; attempt < 50 && !monitor_exiting; attempt++) {
			nsub = subscribe(u, sock, json);
			if (nsub)
				break;
			ring_lock = pg_ring_lock(lock, false, 0, NULL);
			if (ring_lock >= 0 || ring_lock != -EWOULDBLOCK)
				break;
			usleep(100000); /* a daemon is taking the ring and about to listen */
		}
		if (!nsub && ring_lock < 0) {
			fprintf(stderr, "portguard: a daemon reads the ring of %s but its stream at %s "
					"does not answer: %s\n", dir, sock, strerror(-ring_lock));
			goto out;
		}
		if (nsub) {
			r = follow(u, nsub, sock, dir);
			if (r == SUB_CUT_OFF)
				goto out;
			if (r == SUB_MORE)
				break; /* interrupted */
			/* The daemon is gone; what it pinned may stay (run --keep, a crash). */
			if (pg_pins_loaded(dir) == 0) {
				fprintf(stderr, "portguard: %s was unloaded\n", dir);
				break;
			}
			fprintf(stderr, "portguard: reading the ring of %s myself again\n", dir);
			continue;
		}
		pg_stream_consume(s, true);
		/* Without a daemon, several monitors share the ring's one consumer position: a
		 * record reaches one of them. */
		while (!monitor_exiting) {
			r = pg_stream_poll(s, 100);
			if (r < 0 && r != -EINTR) {
				fprintf(stderr, "portguard: failed to read events: %s\n", strerror(-r));
				goto out;
			}
			/* Unloaded under us: nothing more will come. */
			if (pg_pins_loaded(dir) == 0) {
				fprintf(stderr, "portguard: %s was unloaded\n", dir);
				monitor_exiting = 1;
				break;
			}
			/* A daemon started: subscribe while we still hold the ring, then read what
			 * it holds and let go. The daemon reads from there, for us too. */
			if (stat(sock, &st) || !S_ISSOCK(st.st_mode))
				continue;
			nsub = subscribe(u, sock, json);
			if (!nsub)
				continue;
			pg_stream_consume(s, false);
			close(ring_lock);
			ring_lock = -1;
			fprintf(stderr, "portguard: a daemon started: this monitor follows its stream "
					"at %s from the next record on\n", sock);
			r = follow(u, nsub, sock, dir);
			if (r == SUB_CUT_OFF)
				goto out;
			if (r == SUB_MORE || pg_pins_loaded(dir) == 0) {
				monitor_exiting = 1;
				break;
			}
			fprintf(stderr, "portguard: reading the ring of %s myself again\n", dir);
			break;
		}
		if (ring_lock >= 0)
			close(ring_lock);
		ring_lock = -1;
	}
	status = 0;
out:
	if (ring_lock >= 0)
		close(ring_lock);
	pg_stream_free(s);
	if (ops_started)
		pg_ops_stop();
	pg_maps_close(&m);
	free(u);
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
