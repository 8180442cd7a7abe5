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
#include "common/clock.h"

static struct {
	bool open;
	struct pg_logsink_opts o;
	char *file;
	int fd;
	__u64 size;
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
	ls.st.failed[sink]++;
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
	ls.st.written[sink]++;
	if (ls.failing[sink])
		fprintf(stderr, "portguard: log writes to %s recovered; %llu records were lost\n",
			sink_name(sink), (unsigned long long)ls.lost_in_outage[sink]);
	ls.failing[sink] = false;
	ls.lost_in_outage[sink] = 0;
}

/* O_APPEND, so that each record is one write at the end even if someone else appends too;
 * mode 0600 because the records name the hosts and ports that probed us. */
static int file_open(void)
{
	struct stat st;

	ls.fd = open(ls.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (ls.fd < 0)
		return -errno;
	if (fstat(ls.fd, &st) < 0) {
		int err = -errno;

		close(ls.fd);
		ls.fd = -1;
		return err;
	}
	ls.size = st.st_size;
	return 0;
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
	ls.st.rotations++;
	if (err)
		fprintf(stderr, "portguard: failed to rotate %s: %s\n", ls.file, strerror(-err));
	return file_open();
}

static void file_write(const char *line, size_t len)
{
	ssize_t n;
	int err;

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
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	if (ls.sock >= 0)
		close(ls.sock);
	ls.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ls.sock < 0)
		return -errno;
	/* A stalled syslog daemon may hold the event loop 200 ms per record at most; what
	 * it then cannot take is counted as lost, and the ring buffer absorbs the rest. */
	setsockopt(ls.sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
		if (send(ls.sock, rec, n, MSG_NOSIGNAL) == n) {
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
				strerror(-err));
			free(ls.file);
			ls.file = NULL;
			return err;
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
			fprintf(stderr, "portguard: syslog socket %s not reachable yet: %s\n", path,
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
	file_write(line, len + 1);
	free(line);
}

const struct pg_logsink_stats *pg_logsink_stats(void)
{
	return &ls.st;
}

void pg_logsink_close(void)
{
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
