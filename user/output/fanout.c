// SPDX-License-Identifier: GPL-2.0
/* The subscriber socket of the daemon's event stream. See fanout.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kernel/loader.h"
#include "output/events.h"
#include "output/fanout.h"

/* Kept free in the socket's send queue for the cut-off line (and the skb overhead of the
 * records before it: the queue is counted in kernel memory, not bytes). */
#define SOCK_RESERVE (32u << 10)
#define SOCK_SNDBUF (256u << 10)
#define LISTENER UINT32_MAX

struct sub {
	int fd; /* -1: free slot */
	bool hello;
	bool json;
	pid_t pid;
	char in[64];
	size_t inlen;
	char *buf; /* records not yet in the socket: buf[off, len) */
	size_t len, off;
	size_t sndbuf;
	__u64 records;
};

static struct {
	int listen_fd, ep;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t buffer;
	bool slots; /* s[] initialised (every fd -1 or a subscriber's) */
	struct sub s[PG_FANOUT_MAX_SUBSCRIBERS];
	struct pg_fanout_stats st;
} fo = { .listen_fd = -1, .ep = -1 };

int pg_run_path(const char *pin_dir, const char *ext, char *buf, size_t size)
{
	__u64 h = 0xcbf29ce484222325ull;
	const char *p;
	int n;

	if (!strcmp(pin_dir, PG_PIN_DIR_DEFAULT)) {
		n = snprintf(buf, size, "%s/portguard.%s", PG_RUN_DIR, ext);
	} else {
		for (p = pin_dir; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		n = snprintf(buf, size, "%s/pin-%016llx.%s", PG_RUN_DIR, (unsigned long long)h,
			     ext);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int pg_run_dir_prepare(void)
{
	struct stat st;
	int err;

	if (mkdir(PG_RUN_DIR, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "portguard: failed to create %s: %s\n", PG_RUN_DIR, strerror(-err));
		return err;
	}
	if (lstat(PG_RUN_DIR, &st)) {
		err = -errno;
		fprintf(stderr, "portguard: %s: %s\n", PG_RUN_DIR, strerror(-err));
		return err;
	}
	/* Its sockets and files decide what monitors see and which policy is rolled back. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		fprintf(stderr, "portguard: refusing %s: not a directory of root's closed to "
				"others (mode %04o, owner %u)\n", PG_RUN_DIR,
			(unsigned)st.st_mode & 07777, (unsigned)st.st_uid);
		return -EPERM;
	}
	return 0;
}

static void sub_close(int i)
{
	struct sub *s = &fo.s[i];

	if (s->fd < 0)
		return;
	epoll_ctl(fo.ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->buf);
	if (s->hello)
		fo.st.subscribers--;
	*s = (struct sub){ .fd = -1 };
}

static void sub_watch(int i, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				  .data.u32 = i };

	epoll_ctl(fo.ep, EPOLL_CTL_MOD, fo.s[i].fd, &ev);
}

/* Room in the socket's send queue, keeping SOCK_RESERVE free. */
static size_t sock_room(const struct sub *s)
{
	int q = 0;

	if (ioctl(s->fd, SIOCOUTQ, &q) < 0)
		return 0;
	if ((size_t)q + SOCK_RESERVE >= s->sndbuf)
		return 0;
	return s->sndbuf - SOCK_RESERVE - q;
}

/* Move what the socket takes from the buffer into it. Returns -errno when the subscriber
 * is gone. */
static int sub_flush(int i)
{
	struct sub *s = &fo.s[i];
	size_t room;
	ssize_t n;

	while (s->off < s->len) {
		room = sock_room(s);
		if (room < 4096)
			break;
		/* Half the room at a time: the queue counts each skb's overhead too. */
		room /= 2;
		n = send(s->fd, s->buf + s->off, s->len - s->off < room ? s->len - s->off : room,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		s->off += n;
	}
	if (s->off == s->len)
		s->off = s->len = 0;
	sub_watch(i, s->off < s->len);
	return 0;
}

/* A line straight into the socket (into its reserve if need be); best effort. */
static void sub_say(int i, const char *line)
{
	send(fo.s[i].fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void cut_off(int i)
{
	struct sub *s = &fo.s[i];
	char line[256];

	snprintf(line, sizeof(line),
		 "#portguard cut-off: this monitor stopped reading and its buffer of %zu bytes "
		 "filled; the records before this line are whole, the rest of the stream did "
		 "not reach it (run --monitor-buffer sets the size)\n", fo.buffer);
	/* What is still in our buffer would come before it, but will never fit: the reader
	 * learns where its stream ends from this line, right after the last whole record
	 * the socket holds. */
	sub_say(i, line);
	fprintf(stderr, "portguard: cut off monitor pid %d: it stopped reading and its buffer of "
			"%zu bytes filled (%llu records queued to it); the daemon's own outputs "
			"lost nothing\n", (int)s->pid, fo.buffer, (unsigned long long)s->records);
	fo.st.cut_off++;
	sub_close(i);
}

static void sub_read(int i)
{
	struct sub *s = &fo.s[i];
	char buf[256];
	ssize_t n;
	char *nl;

	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			sub_close(i);
			return;
		}
		if (s->hello)
			continue; /* nothing more is expected; read and forget */
		if (s->inlen + n >= sizeof(s->in)) {
			sub_close(i); /* no hello is this long */
			return;
		}
		memcpy(s->in + s->inlen, buf, n);
		s->inlen += n;
		s->in[s->inlen] = '\0';
		nl = strchr(s->in, '\n');
		if (!nl)
			continue;
		*nl = '\0';
		if (strcmp(s->in, "subscribe json") && strcmp(s->in, "subscribe text")) {
			sub_close(i);
			return;
		}
		s->json = !strcmp(s->in, "subscribe json");
		s->hello = true;
		fo.st.subscribers++;
		fo.st.subscribed++;
		sub_say(i, "#portguard subscribed\n");
	}
}

/* Returns 0, or -EAGAIN when no connection was waiting. */
static int accept_one(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, i, sndbuf = SOCK_SNDBUF;

	fd = accept4(fo.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -EAGAIN;
	/* The socket file is root's and 0600 already; the peer's uid says so again. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		close(fd);
		return 0;
	}
	for (i = 0; i < PG_FANOUT_MAX_SUBSCRIBERS && fo.s[i].fd >= 0; i++)
		;
	if (i == PG_FANOUT_MAX_SUBSCRIBERS) {
		const char *msg = "#portguard refused: too many subscribers\n";

		send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	len = sizeof(sndbuf);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len))
		sndbuf = SOCK_SNDBUF;
	fo.s[i] = (struct sub){ .fd = fd, .pid = cred.pid, .sndbuf = sndbuf };
	epoll_ctl(fo.ep, EPOLL_CTL_ADD, fd,
		  &(struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i });
	sub_read(i);
	return 0;
}

int pg_fanout_open(const char *path, size_t buffer)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int err, i;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "portguard: socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	for (i = 0; i < PG_FANOUT_MAX_SUBSCRIBERS; i++)
		fo.s[i].fd = -1;
	fo.slots = true;
	memset(&fo.st, 0, sizeof(fo.st));
	fo.buffer = buffer;
	strcpy(sun.sun_path, path);
	strcpy(fo.path, path);
	fo.ep = epoll_create1(EPOLL_CLOEXEC);
	fo.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fo.ep < 0 || fo.listen_fd < 0)
		goto fail;
	/* A socket left by a daemon that was killed: ours now (run owns the pin directory). */
	if (unlink(path) && errno != ENOENT)
		goto fail;
	old = umask(0177); /* born 0600: no moment when others could connect */
	err = bind(fo.listen_fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (err || chmod(path, 0600) || listen(fo.listen_fd, PG_FANOUT_MAX_SUBSCRIBERS))
		goto fail;
	if (epoll_ctl(fo.ep, EPOLL_CTL_ADD, fo.listen_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = LISTENER }))
		goto fail;
	return 0;
fail:
	err = -errno;
	fprintf(stderr, "portguard: failed to serve events at %s: %s\n", path, strerror(-err));
	pg_fanout_close(NULL);
	return err;
}

int pg_fanout_fd(void)
{
	return fo.ep;
}

void pg_fanout_serve(void)
{
	struct epoll_event ev[16];
	int n, k;

	if (fo.ep < 0)
		return;
	n = epoll_wait(fo.ep, ev, 16, 0);
	for (k = 0; k < n; k++) {
		__u32 i = ev[k].data.u32;

		if (i == LISTENER) {
			accept_one();
			continue;
		}
		if (i >= PG_FANOUT_MAX_SUBSCRIBERS || fo.s[i].fd < 0)
			continue;
		if (ev[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			sub_read(i);
		if (fo.s[i].fd >= 0 && (ev[k].events & EPOLLOUT) && sub_flush(i))
			sub_close(i);
	}
}

void pg_fanout_accept_all(void)
{
	int i;

	if (fo.listen_fd < 0)
		return;
	for (i = 0; i <= PG_FANOUT_MAX_SUBSCRIBERS; i++)
		if (accept_one())
			break;
}

static void sub_send(int i, const char *rec)
{
	struct sub *s = &fo.s[i];
	size_t n = strlen(rec);

	if (s->len + n + 1 > fo.buffer) {
		/* Compact first: what was sent is gone. */
		if (s->off) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		if (s->len + n + 1 > fo.buffer) {
			cut_off(i);
			return;
		}
	}
	if (!s->buf) {
		s->buf = malloc(fo.buffer);
		if (!s->buf) {
			cut_off(i);
			return;
		}
	}
	memcpy(s->buf + s->len, rec, n);
	s->buf[s->len + n] = '\n';
	s->len += n + 1;
	s->records++;
	fo.st.records++;
	if (sub_flush(i))
		sub_close(i);
}

unsigned int pg_fanout_wants(void)
{
	unsigned int w = 0;
	int i;

	if (fo.ep < 0)
		return 0;
	for (i = 0; i < PG_FANOUT_MAX_SUBSCRIBERS; i++)
		if (fo.s[i].fd >= 0 && fo.s[i].hello)
			w |= fo.s[i].json ? PG_WANT_JSON : PG_WANT_TEXT;
	return w;
}

void pg_fanout_send(const char *json, const char *text)
{
	int i;

	if (fo.ep < 0)
		return;
	for (i = 0; i < PG_FANOUT_MAX_SUBSCRIBERS; i++) {
		const char *rec;

		if (fo.s[i].fd < 0 || !fo.s[i].hello)
			continue;
		rec = fo.s[i].json ? json : text;
		if (rec)
			sub_send(i, rec);
	}
}

void pg_fanout_close(const char *why)
{
	char line[256];
	int i;

	for (i = 0; fo.slots && i < PG_FANOUT_MAX_SUBSCRIBERS; i++) {
		if (fo.s[i].fd < 0)
			continue;
		if (why && fo.s[i].hello) {
			/* Last records first, then the word that the stream ends. */
			sub_flush(i);
			if (fo.s[i].off == fo.s[i].len) {
				snprintf(line, sizeof(line), "#portguard end: %s\n", why);
				sub_say(i, line);
			}
		}
		sub_close(i);
	}
	if (fo.listen_fd >= 0) {
		close(fo.listen_fd);
		if (fo.path[0])
			unlink(fo.path);
	}
	if (fo.ep >= 0)
		close(fo.ep);
	fo.listen_fd = fo.ep = -1;
	fo.path[0] = '\0';
}

void pg_fanout_stats(struct pg_fanout_stats *st)
{
	*st = fo.st;
}

int pg_fanout_subscribe(const char *path, bool json)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *hello = json ? "subscribe json\n" : "subscribe text\n";
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    send(fd, hello, strlen(hello), MSG_NOSIGNAL) != (ssize_t)strlen(hello)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int pg_ring_lock(const char *path, bool exclusive, int wait_ms, volatile sig_atomic_t *stop)
{
	int fd, err, waited = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB))
			return fd;
		err = -errno;
		if (err != -EWOULDBLOCK || waited >= wait_ms || (stop && *stop))
			break;
		usleep(10000);
		waited += 10;
	}
	close(fd);
	return err;
}

bool pg_fanout_serving(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;
	bool ok;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = !connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return ok;
}
