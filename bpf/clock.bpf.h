/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datapath's clock: CLOCK_MONOTONIC ns, at tick resolution where the kernel has the
 * coarse clock (bpf_ktime_get_coarse_ns, 5.11), else at full resolution (bpf_ktime_get_ns).
 * Both read CLOCK_MONOTONIC: a coarse stamp lags the precise clock by at most a tick, so a
 * stamp written by one and compared with the other is compared with a signed difference
 * (what one CPU stamps may look a moment "in the future" to another).
 *
 * The choice is made when the object loads, not per packet: the enum value exists in the
 * running kernel's BTF only if the helper does, libbpf turns the test into a constant, and the
 * verifier never sees the call on a kernel without it (5.10 refuses "invalid func
 * unknown#160" otherwise). Every object that stamps with this clock makes the same choice.
 */
#ifndef PG_CLOCK_BPF_H
#define PG_CLOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

static __always_inline __u64 pg_ktime_coarse(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

/*
 * A cache of the coarse clock. The coarse clock only moves when the tick advances jiffies,
 * so it is read again only when jiffies changed: bpf_jiffies64() is inlined by the verifier
 * into one load, while even the coarse clock is a helper call that costs a large share of an
 * allowed packet's decision (and of a socket hook's allow path). Global variables (.bss:
 * private to each object that includes this, neither pinned nor shared), written once per
 * tick by the first CPU to see the tick; a CPU that reads the pair while another writes it
 * gets the previous tick's time.
 */
static volatile __u64 pg_clock_jiffies;
static volatile __u64 pg_clock_ns;

/* CLOCK_MONOTONIC at tick resolution (a stamp may lag by one tick; full resolution before
 * 5.11, see pg_ktime_coarse()): enough for counters' last hit, idle timeouts and rate-limit
 * windows. Events carry the precise time. */
static __always_inline __u64 pg_now(void)
{
	__u64 j = bpf_jiffies64();

	if (pg_clock_jiffies != j) {
		pg_clock_ns = pg_ktime_coarse();
		pg_clock_jiffies = j;
	}
	return pg_clock_ns;
}

#endif /* PG_CLOCK_BPF_H */
