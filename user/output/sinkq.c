// SPDX-License-Identifier: GPL-2.0
/* Bounded record queue drained by a writer thread. See sinkq.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/sinkq.h"
#include "output/stderr.h"

struct rec {
	struct rec *next;
	size_t len;
	char data[];
};

/* A byte stream's writes join the records queued at once, up to this much. */
#define JOIN_BYTES (64 << 10)

struct pg_sinkq {
	char name[64];
	size_t cap;
	pg_sinkq_write_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more;	/* a record was queued, or stop */
	pthread_cond_t written; /* the queue got shorter, or the writer stopped */
	struct rec *head, *tail;
	size_t bytes;
	bool busy;    /* the writer holds records it is writing */
	bool waiting; /* the writer sleeps on more: a push must wake it */
	bool stop, stopped;
	bool dropping; /* in an outage: said once */
	bool quiet;    /* nothing said on stderr (pg_sinkq_quiet) */
	bool deferred; /* pushes do not wake the writer (pg_sinkq_defer) */
	char *join;    /* JOIN_BYTES, for a byte stream (pg_sinkq_join); else NULL */
	/* The writer's own: the batch it is writing, and the bytes of it joined so far. */
	struct rec *batch;
	size_t joined;
	struct pg_sinkq_stats st;
};

static void unlock(void *mu)
{
	pthread_mutex_unlock(mu);
}

/* On a normal exit and on cancellation (pg_sinkq_free) alike: say so to the waiter. */
static void mark_stopped(void *arg)
{
	struct pg_sinkq *q = arg;

	pthread_mutex_lock(&q->mu);
	q->stopped = true;
	pthread_cond_broadcast(&q->written);
	pthread_mutex_unlock(&q->mu);
}

/*
 * Every record queued now, taken at once, or NULL once stopped and empty. One lock and at
 * most one wake-up per batch, not per record: under a flood of events the writer otherwise
 * cost a futex call or two for every line (measured on 2026-12-02: 2.4 per event). A push
 * wakes it only when it sleeps, once (the pusher clears waiting), and not at all while the
 * queue is deferred: the event loop defers it while it drains the ring, and wakes it once.
 */
static struct rec *next_batch(struct pg_sinkq *q)
{
	struct rec *r;

	pthread_mutex_lock(&q->mu);
	pthread_cleanup_push(unlock, &q->mu);
	while (!q->head && !q->stop) {
		q->waiting = true;
		pthread_cond_wait(&q->more, &q->mu);
	}
	q->waiting = false;
	r = q->head;
	q->head = q->tail = NULL;
	q->busy = r != NULL;
	pthread_cleanup_pop(1);
	return r;
}

/* The rest of the batch, on cancellation. */
static void free_batch(void *arg)
{
	struct pg_sinkq *q = arg;
	struct rec *r;

	while ((r = q->batch)) {
		q->batch = r->next;
		free(r);
	}
}

/* Hand len bytes to the sink, and give their room in the queue back. */
static void hand_over(struct pg_sinkq *q, const char *data, size_t len)
{
	q->fn(q->ctx, data, len);
	pthread_mutex_lock(&q->mu);
	q->bytes -= len;
	pthread_mutex_unlock(&q->mu);
}

/* Write q->batch in order: each record on its own, or for a byte stream, as few writes as
 * JOIN_BYTES allows (a record longer than that goes alone). The records are freed as they
 * are written; a cancelled write (pg_sinkq_free) frees the rest. The state lives in q, not
 * in locals, which the cancellation's unwinding may not preserve. */
static void write_batch(struct pg_sinkq *q)
{
	struct rec *r;

	q->joined = 0;
	pthread_cleanup_push(free_batch, q);
	while ((r = q->batch)) {
		if (q->join && q->joined && q->joined + r->len > JOIN_BYTES) {
			hand_over(q, q->join, q->joined);
			q->joined = 0;
		}
		if (q->join && r->len <= JOIN_BYTES) {
			memcpy(q->join + q->joined, r->data, r->len);
			q->joined += r->len;
		} else {
			hand_over(q, r->data, r->len);
		}
		q->batch = r->next;
		free(r);
	}
	if (q->joined)
		hand_over(q, q->join, q->joined);
	pthread_cleanup_pop(0);
	pthread_mutex_lock(&q->mu);
	q->busy = false;
	pthread_cond_broadcast(&q->written);
	pthread_mutex_unlock(&q->mu);
}

static void *writer(void *arg)
{
	struct pg_sinkq *q = arg;

	pthread_cleanup_push(mark_stopped, q);
	while ((q->batch = next_batch(q)))
		write_batch(q);
	pthread_cleanup_pop(1);
	return NULL;
}

struct pg_sinkq *pg_sinkq_new(const char *name, size_t cap, pg_sinkq_write_fn fn, void *ctx)
{
	struct pg_sinkq *q = calloc(1, sizeof(*q));
	sigset_t all, old;
	int err;

	if (!q)
		return NULL;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->cap = cap;
	q->fn = fn;
	q->ctx = ctx;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->written, NULL);
	/* The thread inherits this mask: signals stay with the event loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&q->thread, NULL, writer, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(q);
		errno = err;
		return NULL;
	}
	return q;
}

void pg_sinkq_quiet(struct pg_sinkq *q)
{
	q->quiet = true;
}

int pg_sinkq_join(struct pg_sinkq *q)
{
	char *buf = malloc(JOIN_BYTES);

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&q->mu);
	/* Under the lock: the writer reads q->join only while it holds a batch, which it
	 * took under the same lock. Only called before the first push. */
	q->join = buf;
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void pg_sinkq_defer(struct pg_sinkq *q, bool on)
{
	pthread_mutex_lock(&q->mu);
	q->deferred = on;
	if (!on && q->head && q->waiting) {
		q->waiting = false;
		pthread_cond_signal(&q->more);
	}
	pthread_mutex_unlock(&q->mu);
}

int pg_sinkq_push(struct pg_sinkq *q, const char *rec, size_t len)
{
	struct rec *r;
	bool full;

	pthread_mutex_lock(&q->mu);
	full = q->bytes + len > q->cap;
	if (full) {
		q->st.dropped++;
		if (!q->dropping && !q->quiet)
			pg_warning("portguard: %s is not keeping up: its buffer of %zu bytes is "
				   "full; records are dropped and counted until it drains\n",
				   q->name, q->cap);
		q->dropping = true;
		pthread_mutex_unlock(&q->mu);
		return -ENOBUFS;
	}
	pthread_mutex_unlock(&q->mu);
	r = malloc(sizeof(*r) + len);
	if (!r) {
		__atomic_add_fetch(&q->st.dropped, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	r->next = NULL;
	r->len = len;
	memcpy(r->data, rec, len);
	pthread_mutex_lock(&q->mu);
	if (q->dropping && q->bytes == 0) {
		if (!q->quiet)
			pg_notice("portguard: %s drained; writes resumed\n", q->name);
		q->dropping = false;
	}
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->bytes += len;
	q->st.pushed++;
	if (q->waiting && !q->deferred) {
		q->waiting = false;
		pthread_cond_signal(&q->more);
	}
	pthread_mutex_unlock(&q->mu);
	return 0;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int pg_sinkq_drain(struct pg_sinkq *q, int timeout_ms)
{
	struct timespec ts;
	int err = 0;

	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&q->mu);
	while ((q->head || q->busy) && !q->stopped && !err)
		err = pthread_cond_timedwait(&q->written, &q->mu, &ts);
	err = q->head || q->busy ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&q->mu);
	return err;
}

void pg_sinkq_stats(struct pg_sinkq *q, struct pg_sinkq_stats *st)
{
	pthread_mutex_lock(&q->mu);
	*st = q->st;
	st->queued = q->bytes;
	pthread_mutex_unlock(&q->mu);
}

void pg_sinkq_free(struct pg_sinkq *q, int timeout_ms)
{
	struct timespec ts;
	struct rec *r;
	int err = 0;

	if (!q)
		return;
	pg_sinkq_drain(q, timeout_ms);
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->more);
	if (q->head || q->busy) {
		/* Still stuck in a write: cancel it (write is a cancellation point). */
		pthread_cancel(q->thread);
		if ((q->head || q->busy) && !q->quiet)
			fprintf(stderr, "portguard: %s: %zu bytes of records could not be written "
					"before exit\n", q->name, q->bytes);
	}
	deadline_in(&ts, 100);
	while (!q->stopped && !err)
		err = pthread_cond_timedwait(&q->written, &q->mu, &ts);
	pthread_mutex_unlock(&q->mu);
	if (err) {
		/* Cancelled inside the kernel, or in uninterruptible sleep: leave it (and q). */
		pthread_detach(q->thread);
		return;
	}
	pthread_join(q->thread, NULL);
	while ((r = q->head)) {
		q->head = r->next;
		free(r);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->written);
	free(q->join);
	free(q);
}

int pg_sinkq_write_fd(void *ctx, const char *rec, size_t len)
{
	int fd = (int)(intptr_t)ctx;
	ssize_t n;

	while (len) {
		n = write(fd, rec, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		rec += n;
		len -= n;
	}
	return 0;
}
