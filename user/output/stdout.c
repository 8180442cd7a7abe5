// SPDX-License-Identifier: GPL-2.0
/* stdout behind a bounded queue. See stdout.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "output/sinkq.h"
#include "output/stdout.h"

static struct pg_sinkq *q;

int pg_stdout_open(void)
{
	fflush(stdout);
	q = pg_sinkq_new("stdout", PG_STDOUT_BUFFER, pg_sinkq_write_fd,
			 (void *)(intptr_t)STDOUT_FILENO);
	if (!q) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to start the stdout writer: %s\n",
			strerror(-err));
		return err;
	}
	/* Lines queued together go out in one write. Without the buffer they go one by one,
	 * as they did before: slower, not wrong. */
	(void)pg_sinkq_join(q);
	return 0;
}

void pg_stdout_write(const char *line, size_t len)
{
	if (q) {
		pg_sinkq_push(q, line, len);
		return;
	}
	fwrite(line, 1, len, stdout);
	fflush(stdout);
}

void pg_stdout_defer(bool on)
{
	if (q)
		pg_sinkq_defer(q, on);
}

__u64 pg_stdout_dropped(void)
{
	struct pg_sinkq_stats st;

	if (!q)
		return 0;
	pg_sinkq_stats(q, &st);
	return st.dropped;
}

void pg_stdout_close(int timeout_ms)
{
	pg_sinkq_free(q, timeout_ms);
	q = NULL;
}
