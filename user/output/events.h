/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The violation stream: the consumer of the pg_events ring buffer of one pinned state. It
 * reads the records, has event_format.h turn them into lines, and writes them to stdout and
 * the JSON sink; once a second it reports what the kernel suppressed.
 */
#ifndef PG_EVENTS_H
#define PG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "output/event_format.h"
#include "portguard.h"

/* The running stream of one pinned state. */
struct pg_stream;

struct pg_stream_opts {
	bool json;
	FILE *out;
	int events_fd;	   /* pg_events ring buffer */
	int rule_meta_fd;  /* pg_rule_meta */
	int config_fd;	   /* pg_config */
	int event_stats_fd; /* pg_event_stats */
	/* Another fd the stream's wait covers (the metrics server), -1 for none; ready() is
	 * called when it is readable. */
	int extra_fd;
	void (*extra_ready)(void *ctx);
	void *extra_ctx;
	/* Every record also goes, as JSON, to this (the log sinks), whatever the stdout format. */
	void (*json_sink)(const char *json);
};

/* Returns NULL and sets errno on failure. */
struct pg_stream *pg_stream_new(const struct pg_stream_opts *o);
/* Wait up to timeout_ms for records and print them; also reports suppressed events once a
 * second. Returns the records printed, or -errno; -EINTR when a signal interrupted it. */
int pg_stream_poll(struct pg_stream *s, int timeout_ms);
/* Emit a start or reload record (re-reads each generation's mode first). */
void pg_stream_info(struct pg_stream *s, const char *event_type, const struct pg_stream_info *i);
void pg_stream_free(struct pg_stream *s);

#endif /* PG_EVENTS_H */
