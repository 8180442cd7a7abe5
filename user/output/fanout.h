/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's event stream for every reader: `run` is the ring buffer's only consumer and
 * serves each record it prints on a unix socket, to every `monitor` subscribed there.
 *
 * The files of a pin directory's runtime state live in PG_RUN_DIR (mode 0700, root's):
 *   NAME.sock     the subscriber socket, mode 0600 (run listens there)
 *   NAME.lock     the ring consumer's lock: the one process reading the ring holds it
 *   NAME.pending  a policy change awaiting `portguard confirm` (confirm.h)
 * NAME is "portguard" for the default pin directory, "pin-HASH" for any other (HASH: 16 hex
 * digits of the FNV-1a hash of its absolute path), so that every pin directory has its own.
 *
 * The protocol is lines. A subscriber sends one line, "subscribe json" or "subscribe text";
 * the daemon answers "#portguard subscribed" and from then on sends every record it prints,
 * one line each, in that format. Lines that start with '#' are the daemon's word to the
 * subscriber, never a record: "#portguard cut-off ..." (it fell behind; see below) and
 * "#portguard end ..." (the daemon stops).
 *
 * A subscriber that stops reading costs the daemon nothing but memory, bounded: its records
 * wait in a buffer of its own (PG_FANOUT_DEFAULT_BUFFER, run --monitor-buffer) on top of the
 * socket's; when a record does not fit, the subscriber is cut off: it gets the cut-off line
 * (room for it is kept in the socket), the connection is closed, stderr says so and
 * portguard_monitor_cutoffs_total counts it. The daemon's own sinks never wait for it.
 *
 * Single-threaded: the event loop calls pg_fanout_* only.
 */
#ifndef PG_FANOUT_H
#define PG_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PG_RUN_DIR "/run/portguard"
#define PG_FANOUT_DEFAULT_BUFFER (4u << 20)
#define PG_FANOUT_MAX_SUBSCRIBERS 64

/* PG_RUN_DIR/NAME.ext for the (absolute) pin directory. 0 or -ENAMETOOLONG. */
int pg_run_path(const char *pin_dir, const char *ext, char *buf, size_t size);
/* Create PG_RUN_DIR (0700) if missing; refuse one that is not a root-owned directory
 * closed to others (a symlink included). 0 or -errno, the message printed. */
int pg_run_dir_prepare(void);

/* Listen at path (a stale socket there is replaced). 0 or -errno, the message printed. */
int pg_fanout_open(const char *path, size_t buffer);
/* The fd to poll for POLLIN (an epoll fd over the listener and the subscribers), or -1. */
int pg_fanout_fd(void);
/* Accept, read hellos, write what the subscribers can take; never blocks. */
void pg_fanout_serve(void);
/* One record, in both renderings (either may be NULL), to every subscriber. */
void pg_fanout_send(const char *json, const char *text);
/* The renderings the subscribers read now: PG_WANT_JSON, PG_WANT_TEXT (output/events.h). */
unsigned int pg_fanout_wants(void);
/* Take every pending connection whose hello has arrived (the handover, monitor.c): they
 * receive every record from the next one on. */
void pg_fanout_accept_all(void);
/* Tell the subscribers the stream ends, close, remove the socket. */
void pg_fanout_close(const char *why);

struct pg_fanout_stats {
	__u64 subscribers;   /* now */
	__u64 subscribed;    /* since start */
	__u64 cut_off;	     /* fell behind and were disconnected */
	__u64 records;	     /* records queued to subscribers */
};
void pg_fanout_stats(struct pg_fanout_stats *st);

/* Subscriber side: connect to path and send the hello. Returns the fd, or -errno
 * (-ENOENT/-ECONNREFUSED: no daemon serves there). */
int pg_fanout_subscribe(const char *path, bool json);
/* Whether a daemon listens at path. */
bool pg_fanout_serving(const char *path);


#include <signal.h>

/*
 * The ring consumer's lock, NAME.lock. A monitor reading the ring holds it shared; run takes
 * it exclusively, waiting up to wait_ms (or until *stop) while such monitors hand over: each
 * sees the socket appear, reads what the ring holds, subscribes, and only then lets go.
 * Returns the fd (close it to release), -EWOULDBLOCK when not had in time, or -errno.
 */
int pg_ring_lock(const char *path, bool exclusive, int wait_ms, volatile sig_atomic_t *stop);
#endif /* PG_FANOUT_H */
