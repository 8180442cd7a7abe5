/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the per-CPU counter maps: one sum over the possible CPUs, here. */
#ifndef PG_PERCPU_H
#define PG_PERCPU_H

#include <linux/types.h>

#include "portguard.h"

/* A struct pg_counter element (pg_rule_stats, pg_reason_stats) summed over the CPUs;
 * last_ns is the latest of them. 0 or -errno. */
int pg_percpu_counter(int fd, __u32 key, struct pg_counter *sum);
/* A __u64 element (pg_event_stats) summed over the CPUs. 0 or -errno. */
int pg_percpu_u64(int fd, __u32 key, __u64 *sum);

#endif /* PG_PERCPU_H */
