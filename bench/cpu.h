/* SPDX-License-Identifier: GPL-2.0 */
/* CPU pinning, the same for every benchmark driver: each measurement runs on one core. */
#ifndef BENCH_CPU_H
#define BENCH_CPU_H

/* Pin the calling thread to cpu. On failure prints "WHO: failed to pin to CPU N: why" and
 * returns -errno. */
int bench_pin_cpu(const char *who, long cpu);

#endif /* BENCH_CPU_H */
