// SPDX-License-Identifier: GPL-2.0
/* The clocks and the one RFC 3339 formatter (see clock.h). */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "common/clock.h"

static long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long pg_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

long long pg_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

long long pg_clock_offset_ns(void)
{
	/* Bracket the realtime read with two monotonic reads: the offset errs by at most the
	 * time between them, a microsecond or so. */
	long long m1 = pg_monotonic_ns(), r = pg_realtime_ns(), m2 = pg_monotonic_ns();

	return r - (m1 + (m2 - m1) / 2);
}

long long pg_mono_to_realtime_ns(long long mono_ns)
{
	long long now = pg_monotonic_ns();

	if (!mono_ns)
		return 0;
	if (mono_ns > now)
		mono_ns = now;
	return mono_ns + pg_clock_offset_ns();
}

int pg_rfc3339(long long realtime_ns, char *buf, size_t size)
{
	time_t sec = realtime_ns / 1000000000LL;
	long usec = (realtime_ns % 1000000000LL) / 1000;
	struct tm tm;
	int n;

	if (realtime_ns < 0)
		sec = 0, usec = 0;
	if (!gmtime_r(&sec, &tm))
		return -EINVAL;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}
