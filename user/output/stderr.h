/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stderr, where every diagnostic goes (the commands print them with fprintf(stderr, ...), the
 * one layer that prints an error), made a stream of lines of ours at start (main.c): each
 * complete line is rendered, then written.
 *
 * Rendered: as printed; with --json (pg_stderr_json), one JSON record a line, like the event
 * stream's, so that a journal or a pipe carrying both stays JSON Lines:
 *   {"event_type":"diagnostic","timestamp":"...","severity":"error","message":"..."}
 * ("portguard: " left out of the message; the text escaped as json.h's escaper does). When
 * stderr is the journal's stream (JOURNAL_STREAM names fd 2's device and inode, see
 * systemd.exec(5)), each line starts with its syslog priority, "<3>" error, "<4>" warning,
 * "<5>" notice: journald takes it as the record's priority (SyslogLevelPrefix=, on by default)
 * and strips it, so that `journalctl -p err` finds the errors. No informational level below
 * notice: the unit's LogLevelMax=notice would drop it (dist/portguard.service).
 *
 * A line's severity: error, unless it is printed with pg_warning() or pg_notice(), or is a
 * policy diagnostic whose kind says "warning" (pg_diags_print uses pg_warning for those).
 *
 * Written: directly to fd 2, blocking, as a command's messages always were; in the daemon
 * (pg_stderr_queue, run) through a bounded queue (sinkq.h) to a writer thread of its own, so
 * that a stderr nobody reads (a pipe whose reader stopped, a stalled journald) never holds the
 * event loop: a line that does not fit is dropped and counted, portguard_stderr_dropped_total.
 */
#ifndef PG_STDERR_H
#define PG_STDERR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PG_STDERR_BUFFER (1u << 20) /* the daemon's queue, bytes */
#define PG_STDERR_LINE 4096	    /* a longer line is cut into lines of this size */
/* A rendered line at most: every byte of the message escaped as \u00XX, and the rest. */
#define PG_STDERR_RENDERED (6 * PG_STDERR_LINE + 256)

enum pg_severity {
	PG_SEV_ERROR = 3, /* syslog's LOG_ERR ... */
	PG_SEV_WARNING = 4,
	PG_SEV_NOTICE = 5,
};

/* main(): stderr becomes our stream, flushed at exit. 0 or -errno (stderr left as it was). */
int pg_stderr_open(void);
/* --json: one JSON record a line from now on. */
void pg_stderr_json(bool on);
/* The daemon: lines through a bounded queue from now on. 0 or -errno (written directly,
 * then: nothing lost but the bound). */
int pg_stderr_queue(void);
/* Lines dropped so far (the queue was full). */
__u64 pg_stderr_dropped(void);
/* Flush, drain the queue for at most timeout_ms, then write directly again. */
void pg_stderr_close(int timeout_ms);

/* fprintf(stderr, ...) of whole lines of that severity. */
void pg_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pg_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line (without its newline) as written: prefix with a priority, json as above. Returns
 * the length written into buf (newline included, NUL-terminated): a text line is cut to fit,
 * a record needs PG_STDERR_RENDERED bytes (0 if buf is smaller). For tests. */
size_t pg_stderr_render(const char *line, size_t len, enum pg_severity sev, bool prefix,
			bool json, long long realtime_ns, char *buf, size_t size);

#endif /* PG_STDERR_H */
