/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The violation stream: pg_events ring buffer records to one text line or one JSON Lines
 * record each (Suricata EVE style field names), plus the start, reload and suppressed
 * records.
 *
 * Formatting is pure: a record and a struct pg_event_fmt (callbacks for what needs the
 * kernel: rule sources, interface names, cgroup paths) to a line, so that it is tested
 * without root. The stream part (pg_stream_*) reads the pinned maps.
 */
#ifndef PG_EVENTS_H
#define PG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "portguard.h"

struct pg_event_fmt {
	bool json;
	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns: turns bpf_ktime_get_ns() into wall time. */
	long long clock_offset_ns;
	/* Policy mode of each generation: the mode of a `logged` event. */
	__u8 gen_mode[PG_NGEN];
	/* Each callback returns 0 or -errno; NULL or a failure leaves the field to a fallback. */
	int (*rule_meta)(void *ctx, __u32 gen, __u32 rule_id, struct pg_rule_meta *out);
	int (*ifname)(void *ctx, __u32 ifindex, char *buf, size_t size);
	int (*cgroup_path)(void *ctx, __u64 cgroup_id, char *buf, size_t size);
	void *ctx;
};

/* What the start and reload records tell. */
struct pg_stream_info {
	const char *policy;  /* path */
	const char *sha256;  /* hex digest of the policy text */
	__u32 mode;	     /* enum pg_mode in force */
	__u32 nrules;
	const char *const *ifaces;
	size_t nifaces;
	const char *cgroup;  /* "" or NULL: no socket hooks */
	const char *pin_dir;
	bool takeover;	     /* pinned state of an earlier run was taken over */
	unsigned seeded;     /* flows seeded from the sockets open at (re)load */
	double load_ms;
};

/* What a {"event_type":"change"} record tells: a reload --confirm applied (state
 * "pending"), confirmed, or rolled back (confirm.h). */
struct pg_change_info {
	const char *state;
	const char *policy, *sha256;		 /* the change */
	const char *previous_policy, *previous_sha256; /* what a rollback restores */
	long long deadline_ns;			 /* CLOCK_REALTIME */
	unsigned seconds;			 /* --confirm SECONDS */
};

/*
 * Format one ring buffer record as a line (no trailing newline) into buf. Returns the length,
 * or -ENOSPC when buf is too small (512 bytes always suffice; 1024 with long cgroup paths).
 */
int pg_event_format(const struct pg_event *e, const struct pg_event_fmt *f, char *buf,
		    size_t size);
/* The {"event_type":"start"} / "reload" record (or its text line), at wall time now_ns. */
int pg_event_format_info(const char *event_type, const struct pg_stream_info *info,
			 long long now_ns, const struct pg_event_fmt *f, char *buf, size_t size);
/* The {"event_type":"suppressed","count":N} record: delta[] indexed by enum pg_event_stat. */
int pg_event_format_suppressed(const __u64 delta[PG_EVS_MAX], long long now_ns,
			       const struct pg_event_fmt *f, char *buf, size_t size);
/* The {"event_type":"change"} record. */
int pg_event_format_change(const struct pg_change_info *c, long long now_ns,
			   const struct pg_event_fmt *f, char *buf, size_t size);
/* RFC 3339 UTC with microseconds: 2026-11-29T21:15:03.123456Z. */
int pg_format_timestamp(long long realtime_ns, char *buf, size_t size);
/* An address from an event (mapped, network order): IPv4-mapped prints dotted. */
void pg_format_addr(const __u8 addr[16], char *buf, size_t size);

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns. */
long long pg_clock_offset_ns(void);
long long pg_realtime_ns(void);

/* The running stream of one pinned state. */
struct pg_stream;

#define PG_STREAM_MORE 4

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
	 * subscribers of the daemon's stream (fanout.h). */
	void (*record_sink)(const char *json, const char *text);
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
void pg_stream_free(struct pg_stream *s);

#endif /* PG_EVENTS_H */
