/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the event stream goes besides stdout: a JSON Lines file with size-based rotation, and
 * RFC 5424 records to the local syslog socket. Nothing is lost silently: every record that
 * cannot be written is counted (pg_logsink_stats(), exported as
 * portguard_log_write_failures_total) and reported on stderr when the failure starts, when it
 * ends, and at close.
 *
 * How run/monitor use it (see also cmd/options.h, which parses the options):
 *   pg_logsink_open(&opts) once, after the options are parsed;
 *   pg_logsink_write(json) for every JSON record the event stream produces, exactly the line
 *   `--json` prints (without or with its trailing newline);
 *   pg_logsink_close() at exit.
 * Single-threaded: call it from the event loop only (with o.async, the file's writes happen
 * in a thread of the sink's own; the counters are updated atomically).
 */
#ifndef PG_LOGSINK_H
#define PG_LOGSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PG_LOG_DEFAULT_MAX_SIZE (100ull << 20) /* --log-max-size */
#define PG_LOG_DEFAULT_KEEP 5		       /* --log-keep */
#define PG_SYSLOG_DEFAULT_PATH "/dev/log"

struct pg_logsink_opts {
	const char *file;	 /* --log-file PATH, or NULL */
	__u64 max_size;		 /* rotate before a record would take the file past this; 0: never */
	unsigned keep;		 /* rotated files kept: PATH.1 (newest) .. PATH.keep */
	bool syslog;		 /* --syslog */
	const char *syslog_path; /* --syslog-socket PATH; NULL: /dev/log */
	/* Write the file from a thread of its own, behind a bounded queue (run, monitor): a
	 * stalled disk never holds the caller. Off: each write is done before it returns. */
	bool async;
};

#define PG_LOG_QUEUE_BYTES (8u << 20)

enum pg_log_sink {
	PG_SINK_FILE = 0,
	PG_SINK_SYSLOG = 1,
	PG_SINK_MAX,
};

struct pg_logsink_stats {
	__u64 written[PG_SINK_MAX];
	__u64 failed[PG_SINK_MAX]; /* records lost */
	__u64 rotations;
	__u64 reopened; /* the file was deleted or moved while in use, and opened again */
};

/* Open the sinks o asks for; a sink not asked for is off. Returns 0 or -errno (the message,
 * naming the path, is printed). Opening the syslog socket fails only on a bad path length: a
 * syslog daemon that is not up yet is a write failure, counted, and retried per record. */
int pg_logsink_open(const struct pg_logsink_opts *o);
/* True if a sink is open. */
bool pg_logsink_active(void);
/* Write one JSON record to every open sink. */
void pg_logsink_write(const char *json);
/* Around a batch of records written at once: the log file's writer is woken once, at the
 * end (sinkq.h). */
void pg_logsink_defer(bool on);
const struct pg_logsink_stats *pg_logsink_stats(void);
void pg_logsink_close(void);

/* The RFC 5424 record for json, as --syslog sends it (without a trailing newline), into buf.
 * Exposed for tests. Returns the length, or -ENOSPC. */
int pg_syslog_format(const char *json, char *buf, size_t size);

#endif /* PG_LOGSINK_H */
