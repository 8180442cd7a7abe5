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

#define PG_STREAM_MORE 4

/* What the record sink's readers want (record_wants). */
#define PG_WANT_JSON 1u
#define PG_WANT_TEXT 2u

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
	/* More of them (the subscriber socket, ...); a NULL ready() ends the list. */
	struct pg_stream_extra {
		int fd;
		void (*ready)(void *ctx);
		void *ctx;
	} more[PG_STREAM_MORE];
	/* Every record also goes, as JSON, to this (the log sinks), whatever the stdout format. */
	void (*json_sink)(const char *json);
	/* When set, the stdout lines go here (with their newline) instead of to out: a queue
	 * that never blocks the loop (sinkq.h). */
	void (*out_sink)(const char *line, size_t len);
	/* Every record in both renderings, JSON and text (without newlines), for the
	 * subscribers of the daemon's stream (fanout.h); a rendering no subscriber reads comes
	 * as NULL, when record_wants says which (PG_WANT_*: NULL means both). */
	void (*record_sink)(const char *json, const char *text);
	unsigned int (*record_wants)(void);
	/* Called with true before a pass over the ring and false after it: the sinks may hold
	 * the records of one pass and write them at once (sinkq.h's defer). */
	void (*batch)(bool begin);
	/* Start without reading the ring (pg_stream_consume turns it on). */
	bool no_consume;
};

/* Returns NULL and sets errno on failure. */
struct pg_stream *pg_stream_new(const struct pg_stream_opts *o);
/* Wait up to timeout_ms for records and print them; also reports suppressed events once a
 * second. Returns the records printed, or -errno; -EINTR when a signal interrupted it. */
int pg_stream_poll(struct pg_stream *s, int timeout_ms);
/* Stop or start reading the ring (the rest of the stream goes on: records given to it,
 * the extra fds). Stopping reads what the ring holds first: the consumer that takes over
 * starts right after the last record this one printed. */
void pg_stream_consume(struct pg_stream *s, bool on);
/* Emit a start or reload record (re-reads each generation's mode first). */
void pg_stream_info(struct pg_stream *s, const char *event_type, const struct pg_stream_info *i);
/* Emit a change record. */
void pg_stream_change(struct pg_stream *s, const struct pg_change_info *c);
/* Emit an interface record (see pg_event_format_iface). */
void pg_stream_iface(struct pg_stream *s, const char *name, const char *state, int ifindex,
		     const char *ifmode);
void pg_stream_free(struct pg_stream *s);

#endif /* PG_EVENTS_H */
