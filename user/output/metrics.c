// SPDX-License-Identifier: GPL-2.0
/* Prometheus exposition over a tiny non-blocking HTTP/1.1 server. See metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "output/logsink.h"
#include "output/fanout.h"
#include "output/metrics.h"
#include "output/stdout.h"
#include "kernel/snapshot.h"

/* Enough for Prometheus and a curl or two; beyond it the oldest connection is dropped, so a
 * client that connects and says nothing cannot starve the others. */
#define MAX_CONNS 16
#define REQ_MAX 4096

struct conn {
	int fd; /* -1: free */
	unsigned long seq;
	char req[REQ_MAX];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
};

static struct {
	int ep, lfd;
	unsigned long seq;
	struct conn c[MAX_CONNS];
	/* pg_metrics_thread_start(): a thread of its own serves. */
	bool threaded;
	int stop;
	pthread_t thread;
	char pin_dir[PATH_MAX];
} m = { .ep = -1, .lfd = -1 };

static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
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
	family(f, "portguard_monitor_subscribers", "gauge",
	       "Monitors subscribed to this daemon's event stream now.");
	fprintf(f, "portguard_monitor_subscribers %llu\n", (unsigned long long)fs.subscribers);
	family(f, "portguard_monitor_cutoffs_total", "counter",
	       "Monitors disconnected because they stopped reading and their buffer filled.");
	fprintf(f, "portguard_monitor_cutoffs_total %llu\n", (unsigned long long)fs.cut_off);
}

int pg_metrics_render(const char *pin_dir, FILE *f, bool log_stats)
{
	const struct pg_logsink_stats *ls = pg_logsink_stats();
	static const char *const sinks[PG_SINK_MAX] = { "file", "syslog" };
	struct pg_snapshot s;
	const char *what = NULL;
	int err;

	err = pg_snapshot_read(pin_dir, &s, &what);
	if (err && !(err == -ENOENT && what && !strcmp(what, "pg_info")))
		return err;
	family(f, "portguard_policy_loaded", "gauge", "1 if a policy is pinned and in force.");
	fprintf(f, "portguard_policy_loaded %d\n", err ? 0 : 1);
	if (!err) {
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
				pg_snapshot_reason_name(i), (unsigned long long)s.reasons[i].packets);
		family(f, "portguard_drop_bytes_total", "counter",
		       "Bytes blocked (dry-run: that would be), by reason.");
		for (unsigned i = 0; i < PG_R_DROP_MAX; i++)
			fprintf(f, "portguard_drop_bytes_total{reason=\"%s\"} %llu\n",
				pg_snapshot_reason_name(i), (unsigned long long)s.reasons[i].bytes);
		family(f, "portguard_passes_total", "counter", "Packets and calls let through, by reason.");
		for (unsigned i = PG_R_DROP_MAX; i < PG_R_MAX; i++)
			fprintf(f, "portguard_passes_total{reason=\"%s\"} %llu\n",
				pg_snapshot_reason_name(i), (unsigned long long)s.reasons[i].packets);

		family(f, "portguard_events_submitted_total", "counter",
		       "Violation events written to the ring buffer.");
		fprintf(f, "portguard_events_submitted_total %llu\n",
			(unsigned long long)s.events[PG_EVS_SUBMITTED]);
		family(f, "portguard_events_suppressed_total", "counter",
		       "Violation events not reported, by cause; the counters stay exact.");
		for (unsigned i = PG_EVS_RING_FULL; i < PG_EVS_MAX; i++)
			fprintf(f, "portguard_events_suppressed_total{cause=\"%s\"} %llu\n",
				pg_snapshot_evs_name(i), (unsigned long long)s.events[i]);
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

static int parse_addr(const char *arg, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;
	size_t hlen;
	char *end;
	long p;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hlen = rb - arg - 1;
		arg++;
		colon = rb + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return -EINVAL;
		hlen = colon - arg;
	}
	if (hlen >= hsize)
		return -EINVAL;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
		return -EINVAL;
	snprintf(port, psize, "%ld", p);
	return 0;
}

int pg_metrics_open(const char *addr_port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *ai = NULL;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	char host[256], port[8];
	int one = 1, zero = 0, err;

	pg_metrics_close();
	for (int i = 0; i < MAX_CONNS; i++)
		m.c[i].fd = -1;
	if (parse_addr(addr_port, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "portguard: bad --metrics address '%s' (want ADDR:PORT, e.g. "
				"127.0.0.1:9464 or [::1]:9464)\n", addr_port);
		return -EINVAL;
	}
	/* ":PORT": every address of both families, on one dual-stack socket. */
	err = getaddrinfo(host[0] ? host : "::", port, &hints, &ai);
	if (err) {
		fprintf(stderr, "portguard: failed to resolve --metrics address %s: %s\n", addr_port,
			gai_strerror(err));
		return -EINVAL;
	}
	m.lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m.lfd < 0)
		goto fail_errno;
	setsockopt(m.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6 && !host[0])
		setsockopt(m.lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(m.lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m.lfd, 16) < 0)
		goto fail_errno;
	m.ep = epoll_create1(EPOLL_CLOEXEC);
	if (m.ep < 0 || epoll_ctl(m.ep, EPOLL_CTL_ADD, m.lfd, &ev) < 0)
		goto fail_errno;
	freeaddrinfo(ai);
	return 0;
fail_errno:
	err = -errno;
	fprintf(stderr, "portguard: failed to listen for metrics on %s: %s\n", addr_port,
		strerror(-err));
	freeaddrinfo(ai);
	pg_metrics_close();
	return err;
}

int pg_metrics_fd(void)
{
	/* Served by its own thread: nothing for the caller's loop to wait on. */
	return m.threaded ? -1 : m.ep;
}

static void *serve_thread(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&m.stop, __ATOMIC_RELAXED)) {
		struct pollfd p = { .fd = m.ep, .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			pg_metrics_serve(m.pin_dir[0] ? m.pin_dir : NULL);
	}
	return NULL;
}

int pg_metrics_thread_start(const char *pin_dir)
{
	sigset_t all, old;
	int err;

	if (m.ep < 0 || m.threaded)
		return 0;
	snprintf(m.pin_dir, sizeof(m.pin_dir), "%s", pin_dir ? pin_dir : "");
	m.stop = 0;
	/* Signals stay with the event loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&m.thread, NULL, serve_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "portguard: failed to start the metrics server: %s\n",
			strerror(err));
		return -err;
	}
	m.threaded = true;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(m.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->req_len = c->out_len = c->out_off = 0;
}

static void conn_accept(void)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c = NULL, *oldest = NULL;
		int fd = accept4(m.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN: all taken; anything else: the client went away */
		for (int i = 0; i < MAX_CONNS && !c; i++) {
			if (m.c[i].fd < 0)
				c = &m.c[i];
			else if (!oldest || m.c[i].seq < oldest->seq)
				oldest = &m.c[i];
		}
		if (!c) {
			conn_close(oldest);
			c = oldest;
		}
		c->fd = fd;
		c->seq = ++m.seq;
		ev.data.u32 = (__u32)(c - m.c) + 1;
		if (epoll_ctl(m.ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(c);
	}
}

/* The whole answer, built before the first byte goes out. */
static void respond(struct conn *c, const char *pin_dir)
{
	const char *status = "200 OK", *ctype = "text/plain; version=0.0.4; charset=utf-8";
	char *body = NULL, method[8] = "", path[256] = "";
	size_t body_len = 0;
	FILE *f;
	int err = 0;

	c->req[c->req_len] = '\0';
	if (sscanf(c->req, "%7s %255s", method, path) != 2)
		status = "400 Bad Request";
	else if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		status = "405 Method Not Allowed";
	else if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9))
		status = "404 Not Found";
	if (!strcmp(status, "200 OK")) {
		f = open_memstream(&body, &body_len);
		if (!f)
			goto fail;
		err = pg_metrics_render(pin_dir, f, true);
		fclose(f);
		if (err) {
			free(body);
			body = NULL;
			status = "500 Internal Server Error";
		}
	}
	if (strcmp(status, "200 OK")) {
		ctype = "text/plain; charset=utf-8";
		if (asprintf(&body, "%s%s%s\n", status, err ? ": failed to read the pins: " : "",
			     err ? strerror(-err) : "") < 0) {
			body = NULL;
			goto fail;
		}
	}
	f = open_memstream(&c->out, &c->out_len);
	if (!f)
		goto fail;
	fprintf(f, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Connection: close\r\n\r\n", status, ctype, strlen(body));
	if (strcmp(method, "HEAD"))
		fputs(body, f);
	fclose(f);
	free(body);
	c->out_off = 0;
	return;
fail:
	free(body);
	conn_close(c);
}

static void conn_io(struct conn *c, __u32 events, const char *pin_dir)
{
	if (!c->out) {
		ssize_t n = read(c->fd, c->req + c->req_len, REQ_MAX - 1 - c->req_len);

		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				conn_close(c);
			return;
		}
		c->req_len += n;
		c->req[c->req_len] = '\0';
		if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
			if (c->req_len >= REQ_MAX - 1)
				conn_close(c); /* headers that large are not a scraper's */
			return;
		}
		respond(c, pin_dir);
		if (!c->out)
			return;
	} else if (!(events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		return;
	}
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN) {
				struct epoll_event ev = {
					.events = EPOLLOUT,
					.data.u32 = (__u32)(c - m.c) + 1,
				};

				epoll_ctl(m.ep, EPOLL_CTL_MOD, c->fd, &ev);
				return;
			}
			break;
		}
		c->out_off += n;
	}
	conn_close(c);
}

void pg_metrics_serve(const char *pin_dir)
{
	struct epoll_event evs[MAX_CONNS + 1];
	int n;

	if (m.ep < 0)
		return;
	/* A few rounds, so that a connection accepted now whose request is already queued is
	 * answered in this same call: a caller that serves only between ring-buffer polls
	 * still answers a scrape at once. Bounded, so that it never spins. */
	for (int round = 0; round < 4; round++) {
		n = epoll_wait(m.ep, evs, MAX_CONNS + 1, 0);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			__u32 id = evs[i].data.u32;

			if (id == 0)
				conn_accept();
			else if (id <= MAX_CONNS && m.c[id - 1].fd >= 0)
				conn_io(&m.c[id - 1], evs[i].events, pin_dir);
		}
	}
}

void pg_metrics_close(void)
{
	if (m.threaded) {
		__atomic_store_n(&m.stop, 1, __ATOMIC_RELAXED);
		pthread_join(m.thread, NULL);
		m.threaded = false;
	}
	if (m.ep < 0 && m.lfd < 0)
		return; /* never opened: the connection slots are not initialized */
	for (int i = 0; i < MAX_CONNS; i++)
		if (m.c[i].fd >= 0 || m.c[i].out)
			conn_close(&m.c[i]);
	if (m.lfd >= 0)
		close(m.lfd);
	if (m.ep >= 0)
		close(m.ep);
	m.lfd = m.ep = -1;
}
