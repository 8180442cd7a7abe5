/* SPDX-License-Identifier: GPL-2.0 */
/* CPU pinning, the same for every benchmark driver: each measurement runs on one core. */
#ifndef BENCH_CPU_H
#define BENCH_CPU_H

/* Pin the calling thread to cpu. On failure prints "WHO: failed to pin to CPU N: why" and
 * returns -errno. */
int bench_pin_cpu(const char *who, long cpu);

/* This thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID): time it did not run does not count,
 * which matters on a machine shared with other work. */
double bench_thread_cpu_ns(void);
/* qsort() comparison of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

#endif /* BENCH_CPU_H */
