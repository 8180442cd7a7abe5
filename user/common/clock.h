/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clocks, in one place: CLOCK_MONOTONIC is the clock of bpf_ktime_get_ns() (the
 * datapath's timestamps), CLOCK_REALTIME what operators read; RFC 3339 is how every output
 * (events, status, logs) writes a wall time.
 */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H

#include <stddef.h>

/* CLOCK_MONOTONIC in ns. */
long long pg_monotonic_ns(void);
/* CLOCK_REALTIME in ns. */
long long pg_realtime_ns(void);
/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns: turns bpf_ktime_get_ns() into wall time. */
long long pg_clock_offset_ns(void);
/* A CLOCK_MONOTONIC time (bpf_ktime_get_ns) as CLOCK_REALTIME ns; 0 stays 0 (never), and a
 * time in the future is taken as now. */
long long pg_mono_to_realtime_ns(long long mono_ns);

/* RFC 3339 UTC with microseconds: "2026-11-29T21:15:03.123456Z". A negative time prints
 * the epoch. Returns 0, or -ENOSPC when buf is too small (32 bytes always suffice). */
int pg_rfc3339(long long realtime_ns, char *buf, size_t size);

#endif /* PG_CLOCK_H */
