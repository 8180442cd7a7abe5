// SPDX-License-Identifier: GPL-2.0
/* JSON Lines file with rotation, and RFC 5424 syslog. See logsink.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "output/logsink.h"
#include "output/sinkq.h"
#include "common/clock.h"
#include "output/stderr.h"

/* file_open(): something other than a regular file is at the path (no errno says it). */
#define PG_ENOTREG 4096

static struct {
	bool open;
	struct pg_logsink_opts o;
	char *file;
	int fd;
	dev_t dev;
	ino_t ino;
	__u64 size;
	/* With o.async, file records go through this queue to a writer thread: a disk that
	 * stalls holds that thread, never the event loop. */
	struct pg_sinkq *q;
	bool syslog;
	struct sockaddr_un sun;
	socklen_t sun_len;
	int sock;
	char host[256];
	/* Failing since the last success: report the start and the end of an outage once. */
	bool failing[PG_SINK_MAX];
	__u64 lost_in_outage[PG_SINK_MAX];
	struct pg_logsink_stats st;
} ls = { .fd = -1, .sock = -1 };

static const char *sink_name(int sink)
{
	return sink == PG_SINK_FILE ? ls.file : ls.sun.sun_path;
}

static void failed(int sink, int err)
{
	__atomic_add_fetch(&ls.st.failed[sink], 1, __ATOMIC_RELAXED);
	ls.lost_in_outage[sink]++;
	if (!ls.failing[sink])
		fprintf(stderr,
			"portguard: failed to write log record to %s: %s (counted; reported again "
			"when writes recover)\n",
			sink_name(sink), strerror(err));
	ls.failing[sink] = true;
}

static void succeeded(int sink)
{
	__atomic_add_fetch(&ls.st.written[sink], 1, __ATOMIC_RELAXED);
	if (ls.failing[sink])
		pg_notice("portguard: log writes to %s recovered; %llu records were lost\n",
			  sink_name(sink), (unsigned long long)ls.lost_in_outage[sink]);
	ls.failing[sink] = false;
	ls.lost_in_outage[sink] = 0;
}

/* O_APPEND, so that each record is one write at the end even if someone else appends too;
 * mode 0600 because the records name the hosts and ports that probed us, applied on every
 * open, also to a file that was there. O_NOFOLLOW and the checks after it: as root, a symlink
 * or a file of someone else's at PATH must not get our records (or their mode changed). */
static int file_open(void)
{
	struct stat st;
	int err;

	ls.fd = open(ls.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
				      O_NONBLOCK, 0600);
	/* ELOOP: PATH is a symlink; ENXIO: a FIFO nobody reads (O_NONBLOCK does not wait for
	 * one), or a device. */
	if (ls.fd < 0)
		return errno == ELOOP ? -EMLINK : errno == ENXIO ? -PG_ENOTREG : -errno;
	if (fstat(ls.fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -PG_ENOTREG;
		goto fail;
	}
	if (st.st_uid != 0) {
		err = -EPERM;
		goto fail;
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(ls.fd, 0600) < 0) {
		err = -errno;
		goto fail;
	}
	ls.dev = st.st_dev;
	ls.ino = st.st_ino;
	ls.size = st.st_size;
	return 0;
fail:
	close(ls.fd);
	ls.fd = -1;
	return err;
}

/* What a file_open() error means, for the message. */
static const char *open_error(int err)
{
	if (err == -EMLINK)
		return "it is a symbolic link (refused)";
	if (err == -PG_ENOTREG)
		return "not a regular file (refused)";
	if (err == -EPERM)
		return "not owned by root (refused)";
	return strerror(-err);
}

/* Deleted or moved away since we opened it (logrotate without copytruncate, an operator's
 * rm): records written to the old inode would reach nobody. Open PATH again, counted. */
static void file_check(void)
{
	struct stat st, fst;
	int err;

	if (ls.fd < 0)
		return;
	if (!fstat(ls.fd, &fst) && fst.st_nlink > 0 && !lstat(ls.file, &st) &&
	    st.st_dev == ls.dev && st.st_ino == ls.ino)
		return;
	close(ls.fd);
	ls.fd = -1;
	__atomic_add_fetch(&ls.st.reopened, 1, __ATOMIC_RELAXED);
	err = file_open();
	pg_warning("portguard: log file %s was deleted or moved; %s\n", ls.file,
		   err ? "reopening it failed" : "reopened it");
	if (err)
		fprintf(stderr, "portguard: failed to reopen log file %s: %s\n", ls.file,
			open_error(err));
}

/* PATH -> PATH.1 -> ... -> PATH.keep; the oldest is overwritten by the rename. keep 0 means
 * no history: PATH starts over. */
static int rotate(void)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err = 0;

	if (ls.fd >= 0)
		close(ls.fd);
	ls.fd = -1;
	for (unsigned i = ls.o.keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", ls.file, i - 1);
		snprintf(to, sizeof(to), "%s.%u", ls.file, i);
		if (rename(from, to) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	if (ls.o.keep) {
		snprintf(to, sizeof(to), "%s.1", ls.file);
		if (rename(ls.file, to) < 0 && errno != ENOENT && !err)
			err = -errno;
	} else if (unlink(ls.file) < 0 && errno != ENOENT && !err) {
		err = -errno;
	}
	__atomic_add_fetch(&ls.st.rotations, 1, __ATOMIC_RELAXED);
	if (err)
		fprintf(stderr, "portguard: failed to rotate %s: %s\n", ls.file, strerror(-err));
	return file_open();
}

static void file_write(const char *line, size_t len);

/* The writer thread's side of the queue. */
static int file_write_q(void *ctx, const char *rec, size_t len)
{
	(void)ctx;
	file_write(rec, len);
	return 0;
}

static void file_write(const char *line, size_t len)
{
	ssize_t n;
	int err;

	file_check();
	if (ls.o.max_size && ls.size && ls.size + len > ls.o.max_size) {
		err = rotate();
		if (err) {
			failed(PG_SINK_FILE, -err);
			return;
		}
	}
	if (ls.fd < 0) {
		/* Reopen after an earlier failure (the directory came back, the disk freed). */
		err = file_open();
		if (err) {
			failed(PG_SINK_FILE, -err);
			return;
		}
	}
	n = write(ls.fd, line, len);
	if (n == (ssize_t)len) {
		ls.size += len;
		succeeded(PG_SINK_FILE);
		return;
	}
	err = n < 0 ? errno : ENOSPC;
	/* A short write (a full disk) would leave half a record: cut it off so that the file
	 * stays valid JSON Lines. */
	if (n > 0 && ftruncate(ls.fd, ls.size) < 0)
		err = errno;
	failed(PG_SINK_FILE, err);
}

/* The event_type of a record, for MSGID and severity. The records are ours, written by one
 * formatter, so a search for the key is exact. */
static void event_type(const char *json, char *buf, size_t size)
{
	const char *p = strstr(json, "\"event_type\":\"");
	size_t n = 0;

	if (p) {
		p += strlen("\"event_type\":\"");
		while (p[n] && p[n] != '"' && n + 1 < size && p[n] > ' ' && p[n] < 127)
			n++;
	}
	if (!n) {
		snprintf(buf, size, "-");
		return;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
}

int pg_syslog_format(const char *json, char *buf, size_t size)
{
	char ts[40], msgid[33];
	size_t len = strlen(json);
	int sev, n;

	while (len && (json[len - 1] == '\n' || json[len - 1] == '\r'))
		len--;
	event_type(json, msgid, sizeof(msgid));
	/* Violations and lost events need attention; start/reload are informational. */
	sev = !strcmp(msgid, "violation") || !strcmp(msgid, "suppressed") ? LOG_WARNING
									   : LOG_INFO;
	pg_rfc3339(pg_realtime_ns(), ts, sizeof(ts));
	if (!ls.host[0] && gethostname(ls.host, sizeof(ls.host) - 1) < 0)
		snprintf(ls.host, sizeof(ls.host), "-");
	/* RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG. No structured
	 * data: the JSON message carries every field. No BOM before MSG: collectors that
	 * parse the JSON choke on it. Facility daemon. */
	n = snprintf(buf, size, "<%d>1 %s %s portguard %d %s - %.*s", LOG_DAEMON | sev, ts,
		     ls.host[0] ? ls.host : "-", (int)getpid(), msgid, (int)len, json);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

static int syslog_connect(void)
{
	if (ls.sock >= 0)
		close(ls.sock);
	/* Non-blocking: a syslog daemon that stopped reading never holds the event loop. The
	 * socket's queue is the sink's bounded buffer; what does not fit is counted lost. */
	ls.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ls.sock < 0)
		return -errno;
	if (connect(ls.sock, (struct sockaddr *)&ls.sun, ls.sun_len) < 0) {
		int err = -errno;

		close(ls.sock);
		ls.sock = -1;
		return err;
	}
	return 0;
}

static void syslog_write(const char *json)
{
	/* The common limit of syslog datagrams is 8 KiB; our records are far smaller. */
	char rec[8192];
	int n, err = 0;

	n = pg_syslog_format(json, rec, sizeof(rec));
	if (n < 0) {
		failed(PG_SINK_SYSLOG, EMSGSIZE);
		return;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ls.sock < 0) {
			err = -syslog_connect();
			if (err)
				continue;
		}
		if (send(ls.sock, rec, n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) {
			succeeded(PG_SINK_SYSLOG);
			return;
		}
		err = errno;
		/* The daemon restarted: its socket is new. Reconnect once. */
		if (err != ECONNREFUSED && err != ENOTCONN && err != ENOENT)
			break;
		close(ls.sock);
		ls.sock = -1;
	}
	failed(PG_SINK_SYSLOG, err ? err : EIO);
}

int pg_logsink_open(const struct pg_logsink_opts *o)
{
	const char *path;
	int err;

	pg_logsink_close();
	memset(&ls.st, 0, sizeof(ls.st));
	ls.o = *o;
	if (o->file) {
		ls.file = strdup(o->file);
		if (!ls.file)
			return -ENOMEM;
		err = file_open();
		if (err) {
			fprintf(stderr, "portguard: failed to open log file %s: %s\n", o->file,
				open_error(err));
			free(ls.file);
			ls.file = NULL;
			return err;
		}
		if (o->async) {
			ls.q = pg_sinkq_new(ls.file, PG_LOG_QUEUE_BYTES, file_write_q, NULL);
			if (!ls.q) {
				err = -errno;
				fprintf(stderr, "portguard: failed to start the writer of %s: %s\n",
					o->file, strerror(-err));
				pg_logsink_close();
				return err;
			}
		}
	}
	if (o->syslog) {
		path = o->syslog_path ? o->syslog_path : PG_SYSLOG_DEFAULT_PATH;
		if (strlen(path) >= sizeof(ls.sun.sun_path)) {
			fprintf(stderr, "portguard: syslog socket path too long: %s\n", path);
			pg_logsink_close();
			return -ENAMETOOLONG;
		}
		memset(&ls.sun, 0, sizeof(ls.sun));
		ls.sun.sun_family = AF_UNIX;
		strcpy(ls.sun.sun_path, path);
		ls.sun_len = sizeof(ls.sun);
		ls.syslog = true;
		/* Not yet up is not fatal: every record retries, and failures are counted. */
		err = syslog_connect();
		if (err)
			pg_warning("portguard: syslog socket %s not reachable yet: %s\n", path,
				   strerror(-err));
	}
	ls.open = ls.file || ls.syslog;
	return 0;
}

bool pg_logsink_active(void)
{
	return ls.open;
}

void pg_logsink_write(const char *json)
{
	size_t len;
	char *line;

	if (!ls.open)
		return;
	if (ls.syslog)
		syslog_write(json);
	if (!ls.file)
		return;
	len = strlen(json);
	while (len && (json[len - 1] == '\n' || json[len - 1] == '\r'))
		len--;
	line = malloc(len + 1);
	if (!line) {
		failed(PG_SINK_FILE, ENOMEM);
		return;
	}
	memcpy(line, json, len);
	line[len] = '\n';
	if (!ls.q)
		file_write(line, len + 1);
	else if (pg_sinkq_push(ls.q, line, len + 1))
		failed(PG_SINK_FILE, ENOBUFS);
	free(line);
}

void pg_logsink_defer(bool on)
{
	if (ls.q)
		pg_sinkq_defer(ls.q, on);
}

const struct pg_logsink_stats *pg_logsink_stats(void)
{
	return &ls.st;
}

void pg_logsink_close(void)
{
	/* The writer first: what it still holds is written or, if the disk does not answer
	 * within the bound, given up. */
	pg_sinkq_free(ls.q, 500);
	ls.q = NULL;
	/* Only the sinks open now: a second close reports nothing twice. */
	if (ls.file && ls.st.failed[PG_SINK_FILE])
		fprintf(stderr, "portguard: %llu log records could not be written to %s\n",
			(unsigned long long)ls.st.failed[PG_SINK_FILE], ls.file);
	if (ls.syslog && ls.st.failed[PG_SINK_SYSLOG])
		fprintf(stderr, "portguard: %llu log records could not be written to %s\n",
			(unsigned long long)ls.st.failed[PG_SINK_SYSLOG], ls.sun.sun_path);
	if (ls.fd >= 0)
		close(ls.fd);
	if (ls.sock >= 0)
		close(ls.sock);
	free(ls.file);
	ls.fd = ls.sock = -1;
	ls.file = NULL;
	ls.syslog = false;
	ls.open = false;
	memset(ls.failing, 0, sizeof(ls.failing));
	memset(ls.lost_in_outage, 0, sizeof(ls.lost_in_outage));
}
