/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event stream's stdout for run and monitor: lines go through a bounded queue
 * (sinkq.h) to a writer thread, so that a reader that stops (`run | less`, a stalled
 * journald) never holds the event loop. What does not fit is dropped and counted
 * (portguard_stdout_dropped_total). Not open: pg_stdout_write prints directly.
 */
#ifndef PG_STDOUT_H
#define PG_STDOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PG_STDOUT_BUFFER (8u << 20)

/* 0 or -errno (message printed). */
int pg_stdout_open(void);
/* One line, with its newline. */
void pg_stdout_write(const char *line, size_t len);
/* Around a batch of lines written at once: the writer is woken once, at the end (sinkq.h). */
void pg_stdout_defer(bool on);
/* Records dropped so far (a full buffer); 0 when not open. */
__u64 pg_stdout_dropped(void);
/* Drain for at most timeout_ms, then stop. */
void pg_stdout_close(int timeout_ms);

#endif /* PG_STDOUT_H */
