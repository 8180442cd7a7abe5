/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datapath's clock: CLOCK_MONOTONIC ns at tick resolution, read through jiffies.
 *
 * bpf_jiffies64() is inlined by the verifier into one load, while every clock helper is a
 * call that costs a large share of an allowed packet's decision (and of a socket hook's allow
 * path). So the clock is read again only when jiffies changed: bpf_ktime_get_ns(), which
 * every kernel we support has, once per tick and CPU at most. The coarse clock
 * (bpf_ktime_get_coarse_ns, 5.11) would be no cheaper read that rarely, and choosing it by
 * the running kernel took CO-RE, which made libbpf load and search the kernel's BTF for
 * every object at every load (a tenth of a second of `portguard load`).
 *
 * The cache is two global variables (.bss: private to each object that includes this,
 * neither pinned nor shared), written once per tick by the first CPU to see the tick; a CPU
 * that reads the pair while another writes it gets the previous tick's time. A stamp lags the
 * precise clock by at most a tick, so a stamp written by one object or CPU and compared with
 * another's is compared with a signed difference (what one CPU stamps may look a moment "in
 * the future" to another).
 */
#ifndef PG_CLOCK_BPF_H
#define PG_CLOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

static volatile __u64 pg_clock_jiffies;
static volatile __u64 pg_clock_ns;

/* CLOCK_MONOTONIC at tick resolution (a stamp may lag by one tick): enough for counters'
 * last hit, idle timeouts and rate-limit windows. Events carry the precise time. */
static __always_inline __u64 pg_now(void)
{
	__u64 j = bpf_jiffies64();

	if (pg_clock_jiffies != j) {
		pg_clock_ns = bpf_ktime_get_ns();
		pg_clock_jiffies = j;
	}
	return pg_clock_ns;
}

#endif /* PG_CLOCK_BPF_H */
