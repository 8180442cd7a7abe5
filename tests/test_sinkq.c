// SPDX-License-Identifier: GPL-2.0
/*
 * The bounded queue in front of a writer that may block (output/sinkq.h): every record it
 * accepts reaches the sink whole and in order, a byte stream's records queued together go out
 * in fewer writes, a batch pushed while deferred is written when the batch ends, and a record
 * that does not fit while the writer is stuck is refused and counted, never half written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "output/sinkq.h"

/* A sink that keeps what it is given, counts its calls, and can be held shut. */
struct sink {
	pthread_mutex_t mu;
	pthread_cond_t open_cv;
	int closed;  /* the writer waits while set */
	int waiting; /* the writer is waiting on it */
	char *data;
	size_t len, cap;
	unsigned int calls;
	size_t longest; /* the longest single write */
};

static struct sink sink = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.open_cv = PTHREAD_COND_INITIALIZER,
};

static int sink_write(void *ctx, const char *rec, size_t len)
{
	struct sink *s = ctx;

	pthread_mutex_lock(&s->mu);
	while (s->closed) {
		s->waiting = 1;
		pthread_cond_wait(&s->open_cv, &s->mu);
	}
	s->waiting = 0;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->data = realloc(s->data, s->cap);
	}
	memcpy(s->data + s->len, rec, len);
	s->len += len;
	s->calls++;
	if (len > s->longest)
		s->longest = len;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void sink_close(void)
{
	pthread_mutex_lock(&sink.mu);
	sink.closed = 1;
	pthread_mutex_unlock(&sink.mu);
}

static void sink_open(void)
{
	pthread_mutex_lock(&sink.mu);
	sink.closed = 0;
	pthread_cond_broadcast(&sink.open_cv);
	pthread_mutex_unlock(&sink.mu);
}

/* Until the writer is stuck in the sink (bounded: 5 s). */
static int sink_wait_stuck(void)
{
	for (int i = 0; i < 5000; i++) {
		int w;

		pthread_mutex_lock(&sink.mu);
		w = sink.waiting;
		pthread_mutex_unlock(&sink.mu);
		if (w)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* Record i: a numbered line; every 1000th is longer than a joined write may be. */
static size_t record(unsigned int i, char *buf, size_t size)
{
	int n = snprintf(buf, size, "record %u:", i);
	size_t len = i % 1000 == 999 ? 70000 : 20 + i % 50;

	if (len >= size)
		len = size - 1;
	memset(buf + n, 'a' + i % 26, len - n - 1);
	buf[len - 1] = '\n';
	return len;
}

/* Push n records with the writer held shut for the first half, then check that what reached
 * the sink is every record, in order. */
static void push_and_check(struct pg_sinkq *q, unsigned int n)
{
	static char buf[80000];
	char *want = NULL;
	size_t want_len = 0;
	unsigned int i;

	sink_close();
	for (i = 0; i < n; i++) {
		size_t len = record(i, buf, sizeof(buf));

		if (i == n / 2)
			sink_open();
		ASSERT_EQ(0, pg_sinkq_push(q, buf, len));
		want = realloc(want, want_len + len);
		memcpy(want + want_len, buf, len);
		want_len += len;
	}
	ASSERT_EQ(0, pg_sinkq_drain(q, 5000));
	ASSERT_EQ(want_len, sink.len);
	ASSERT_TRUE(!memcmp(want, sink.data, want_len));
	free(want);
}

TEST(a_byte_stream_gets_every_record_in_order_in_fewer_writes)
{
	struct pg_sinkq *q = pg_sinkq_new("test", 64 << 20, sink_write, &sink);

	ASSERT_TRUE(q != NULL);
	ASSERT_EQ(0, pg_sinkq_join(q));
	push_and_check(q, 5000);
	/* Half of them queued while the writer was held: those went out joined. */
	EXPECT_GT(5000u, sink.calls);
	/* Joined writes stay within 64 KiB; only a record longer than that goes alone. */
	EXPECT_EQ(70000u, sink.longest);
	pg_sinkq_free(q, 1000);
}

TEST(records_reach_other_sinks_one_at_a_time)
{
	struct pg_sinkq *q = pg_sinkq_new("test", 64 << 20, sink_write, &sink);

	ASSERT_TRUE(q != NULL);
	push_and_check(q, 2000);
	EXPECT_EQ(2000u, sink.calls);
	pg_sinkq_free(q, 1000);
}

/* A batch pushed while deferred wakes the writer once it ends: nothing waits for the next
 * push. Each round starts with the writer asleep on an empty queue (the drain before). */
TEST(a_deferred_batch_is_written_when_it_ends)
{
	struct pg_sinkq *q = pg_sinkq_new("test", 64 << 20, sink_write, &sink);
	char line[32];
	size_t want = 0;

	ASSERT_TRUE(q != NULL);
	ASSERT_EQ(0, pg_sinkq_join(q));
	for (int round = 0; round < 200; round++) {
		pg_sinkq_defer(q, true);
		for (int i = 0; i <= round % 7; i++) {
			int n = snprintf(line, sizeof(line), "%d.%d\n", round, i);

			ASSERT_EQ(0, pg_sinkq_push(q, line, n));
			want += n;
		}
		pg_sinkq_defer(q, false);
		ASSERT_EQ(0, pg_sinkq_drain(q, 2000));
		ASSERT_EQ(want, sink.len);
	}
	pg_sinkq_free(q, 1000);
}

TEST(a_record_that_does_not_fit_is_refused_and_counted)
{
	struct pg_sinkq *q = pg_sinkq_new("test", 1000, sink_write, &sink);
	struct pg_sinkq_stats st;
	unsigned int refused = 0, accepted = 0;
	char line[100];

	ASSERT_TRUE(q != NULL);
	ASSERT_EQ(0, pg_sinkq_join(q));
	pg_sinkq_quiet(q);
	sink_close();
	memset(line, 'x', sizeof(line));
	/* The first record takes the writer into the shut sink; the queue then holds ten. */
	ASSERT_EQ(0, pg_sinkq_push(q, line, sizeof(line)));
	ASSERT_EQ(0, sink_wait_stuck());
	for (int i = 0; i < 30; i++) {
		int err = pg_sinkq_push(q, line, sizeof(line));

		if (err == -ENOBUFS)
			refused++;
		else if (!err)
			accepted++;
		else
			FAIL("push: %s", strerror(-err));
	}
	/* The stuck record keeps its room until it is written: nine more fit. */
	EXPECT_EQ(9u, accepted);
	EXPECT_EQ(21u, refused);
	sink_open();
	ASSERT_EQ(0, pg_sinkq_drain(q, 5000));
	pg_sinkq_stats(q, &st);
	EXPECT_EQ(10u, st.pushed);
	EXPECT_EQ(21u, st.dropped);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(1000u, sink.len);
	/* Room is given back as records are written: the queue takes ten again. */
	for (int i = 0; i < 10; i++)
		EXPECT_EQ(0, pg_sinkq_push(q, line, sizeof(line)));
	ASSERT_EQ(0, pg_sinkq_drain(q, 5000));
	EXPECT_EQ(2000u, sink.len);
	pg_sinkq_free(q, 1000);
}

TEST_MAIN()
