/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounded queue of records in front of a writer that may block (a pipe whose reader
 * stopped, a log file on a stalled disk): the event loop pushes and never waits, a thread of
 * the queue's own writes. A record that does not fit is dropped and counted, never half
 * queued.
 *
 *   q = pg_sinkq_new("stdout", 4 << 20, pg_sinkq_write_fd, (void *)(intptr_t)1);
 *   pg_sinkq_push(q, line, len);       // from the event loop; -ENOBUFS: dropped, counted
 *   pg_sinkq_free(q, 200);             // at exit: drain for at most 200 ms, then give up
 *
 * The writer thread blocks every signal: SIGTERM and SIGHUP reach the event loop, whatever a
 * write is stuck in.
 */
#ifndef PG_SINKQ_H
#define PG_SINKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct pg_sinkq;

/* Called in the writer thread, one record at a time, or for a byte stream (pg_sinkq_join)
 * with records queued together joined into one write. Returns 0 or -errno (the callback
 * counts and reports its own failures). */
typedef int (*pg_sinkq_write_fn)(void *ctx, const char *rec, size_t len);

struct pg_sinkq_stats {
	__u64 pushed;  /* records accepted */
	__u64 dropped; /* records refused: the queue was full */
	__u64 queued;  /* bytes waiting now */
};

/* cap: bytes of records waiting at most. name: for messages. NULL and errno on failure. */
struct pg_sinkq *pg_sinkq_new(const char *name, size_t cap, pg_sinkq_write_fn fn, void *ctx);
/* Say nothing on stderr about drops: for the queue that is stderr itself (stderr.h), whose
 * message would be queued in it. Its counter counts all the same. */
void pg_sinkq_quiet(struct pg_sinkq *q);
/* The sink is a byte stream (a pipe, a terminal): records queued together may reach fn as
 * one write, whole records only. Call before the first push. 0 or -ENOMEM. */
int pg_sinkq_join(struct pg_sinkq *q);
/* on: pushes queue their records without waking the writer, for a batch pushed at once (the
 * records of one pass over the ring); off: wake it for what was queued meanwhile. */
void pg_sinkq_defer(struct pg_sinkq *q, bool on);
/* Queue a copy of rec. 0, or -ENOBUFS when it does not fit (the drop is counted, and said on
 * stderr once per outage), -ENOMEM. */
int pg_sinkq_push(struct pg_sinkq *q, const char *rec, size_t len);
/* Wait until every queued record is written, at most timeout_ms. 0 or -ETIMEDOUT. */
int pg_sinkq_drain(struct pg_sinkq *q, int timeout_ms);
void pg_sinkq_stats(struct pg_sinkq *q, struct pg_sinkq_stats *st);
/* Drain for at most timeout_ms, then stop the writer. A writer stuck in the kernel (a disk
 * that does not answer) is abandoned, with what it holds: the process is exiting. */
void pg_sinkq_free(struct pg_sinkq *q, int timeout_ms);

/* A pg_sinkq_write_fn for a plain fd (ctx: the fd): every byte, retried on EINTR. */
int pg_sinkq_write_fd(void *ctx, const char *rec, size_t len);

#endif /* PG_SINKQ_H */
