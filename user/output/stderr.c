// SPDX-License-Identifier: GPL-2.0
/* stderr as a stream of lines, rendered and maybe queued. See stderr.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "output/json.h"
#include "output/sinkq.h"
#include "output/stderr.h"

/* Everything below is used with our stream's lock held (stdio takes it around every call
 * that writes, and so around our write function): lines of two threads never mix. */
static bool opened, json, prefix;
static struct pg_sinkq *q;
static __u64 dropped_before; /* by queues closed since */
static enum pg_severity next_sev = PG_SEV_ERROR;
static char line[PG_STDERR_LINE];
static size_t line_len;
static char rendered[PG_STDERR_RENDERED];

static const char *sev_name(enum pg_severity sev)
{
	return sev == PG_SEV_WARNING ? "warning" : sev == PG_SEV_NOTICE ? "notice" : "error";
}

/* A line printed as an error may say its own kind: "FILE:L:C: warning: ..." (a policy's
 * diagnostic, pg_diags_print) or "portguard: note: ...". The kind follows the first ": ". */
static enum pg_severity kind_of(const char *s, size_t len, enum pg_severity sev)
{
	const char *colon = memmem(s, len, ": ", 2);
	size_t rest;

	if (sev != PG_SEV_ERROR || !colon)
		return sev;
	rest = len - (colon + 2 - s);
	if (rest >= 9 && !memcmp(colon + 2, "warning: ", 9))
		return PG_SEV_WARNING;
	if (rest >= 6 && !memcmp(colon + 2, "note: ", 6))
		return PG_SEV_NOTICE;
	return sev;
}

size_t pg_stderr_render(const char *s, size_t len, enum pg_severity sev, bool with_prefix,
			bool as_json, long long realtime_ns, char *buf, size_t size)
{
	static const char me[] = "portguard: ";
	char msg[PG_STDERR_LINE], ts[40];
	struct pg_json j;
	struct pg_out o;

	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;
	sev = kind_of(s, len, sev);
	pg_out_buf(&o, buf, size);
	if (with_prefix)
		pg_out_printf(&o, "<%d>", sev);
	if (!as_json) {
		/* Cut to what fits with the newline (and the NUL pg_out keeps). */
		if (len + 2 > size - o.len)
			len = size - o.len > 2 ? size - o.len - 2 : 0;
		pg_out_write(&o, s, len);
	} else {
		if (len >= sizeof(me) - 1 && !memcmp(s, me, sizeof(me) - 1)) {
			s += sizeof(me) - 1;
			len -= sizeof(me) - 1;
		}
		memcpy(msg, s, len);
		msg[len] = '\0';
		pg_rfc3339(realtime_ns, ts, sizeof(ts));
		pg_json_init(&j, &o);
		pg_json_object_start(&j);
		pg_json_str_field(&j, "event_type", "diagnostic");
		pg_json_str_field(&j, "timestamp", ts);
		pg_json_str_field(&j, "severity", sev_name(sev));
		pg_json_str_field(&j, "message", msg);
		pg_json_object_end(&j);
	}
	pg_out_write(&o, "\n", 1);
	return o.len;
}

static void write_fd2(const char *s, size_t len)
{
	pg_sinkq_write_fd((void *)(intptr_t)STDERR_FILENO, s, len);
}

static void emit(void)
{
	struct timespec now;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	n = pg_stderr_render(line, line_len, next_sev, prefix, json,
			     now.tv_sec * 1000000000LL + now.tv_nsec, rendered, sizeof(rendered));
	line_len = 0;
	/* A full queue drops and counts (quietly: its message would be a line of ours). */
	if (q)
		pg_sinkq_push(q, rendered, n);
	else
		write_fd2(rendered, n);
}

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			emit();
			continue;
		}
		line[line_len++] = buf[i];
		if (line_len == sizeof(line) - 1)
			emit();
	}
	return size;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected, inherited by every
 * child: it says the journal only if fd 2 is still that stream. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	return !fstat(STDERR_FILENO, &st) && st.st_dev == dev && st.st_ino == ino;
}

static void at_exit(void)
{
	pg_stderr_close(200);
}

int pg_stderr_open(void)
{
	cookie_io_functions_t fns = { .write = stream_write };
	FILE *f;

	if (opened)
		return 0;
	f = fopencookie(NULL, "w", fns);
	if (!f)
		return -errno;
	/* Line-buffered, as a terminal's stderr behaves: a line is out when it is printed. */
	setvbuf(f, NULL, _IOLBF, BUFSIZ);
	fflush(stderr);
	prefix = stderr_is_journal();
	stderr = f;
	opened = true;
	atexit(at_exit);
	return 0;
}

void pg_stderr_json(bool on)
{
	flockfile(stderr);
	json = on;
	funlockfile(stderr);
}

int pg_stderr_queue(void)
{
	struct pg_sinkq *nq;
	int err = 0;

	if (!opened)
		return -EBADF;
	nq = pg_sinkq_new("stderr", PG_STDERR_BUFFER, pg_sinkq_write_fd,
			  (void *)(intptr_t)STDERR_FILENO);
	if (!nq)
		return -errno;
	pg_sinkq_quiet(nq);
	flockfile(stderr);
	fflush(stderr);
	if (q)
		err = -EBUSY;
	else
		q = nq;
	funlockfile(stderr);
	if (err)
		pg_sinkq_free(nq, 0);
	return err;
}

__u64 pg_stderr_dropped(void)
{
	struct pg_sinkq_stats st = { 0 };

	flockfile(stderr);
	if (q)
		pg_sinkq_stats(q, &st);
	st.dropped += dropped_before;
	funlockfile(stderr);
	return st.dropped;
}

void pg_stderr_close(int timeout_ms)
{
	struct pg_sinkq_stats st;
	struct pg_sinkq *old;

	flockfile(stderr);
	fflush(stderr);
	if (line_len)
		emit();
	old = q;
	q = NULL;
	if (old) {
		pg_sinkq_stats(old, &st);
		dropped_before += st.dropped;
	}
	funlockfile(stderr);
	pg_sinkq_free(old, timeout_ms);
}

static void vprint(enum pg_severity sev, const char *fmt, va_list ap)
{
	flockfile(stderr);
	next_sev = sev;
	vfprintf(stderr, fmt, ap);
	fflush(stderr);
	next_sev = PG_SEV_ERROR;
	funlockfile(stderr);
}

void pg_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(PG_SEV_WARNING, fmt, ap);
	va_end(ap);
}

void pg_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(PG_SEV_NOTICE, fmt, ap);
	va_end(ap);
}
