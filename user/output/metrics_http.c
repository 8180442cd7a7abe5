// SPDX-License-Identifier: GPL-2.0
/*
 * The /metrics HTTP server (see metrics.h): a tiny non-blocking HTTP/1.1 server that the
 * event loop polls; each answer is pg_metrics_render()'s exposition.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/types.h>

#include "output/metrics.h"

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
} m = { .ep = -1, .lfd = -1 };

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

int pg_metrics_addr_check(const char *addr_port)
{
	char host[256], port[8];

	if (parse_addr(addr_port, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "portguard: bad --metrics address '%s' (want ADDR:PORT, e.g. "
				"127.0.0.1:9464 or [::1]:9464)\n", addr_port);
		return -EINVAL;
	}
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
	if (pg_metrics_addr_check(addr_port))
		return -EINVAL;
	parse_addr(addr_port, host, sizeof(host), port, sizeof(port));
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
	return m.ep;
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
