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

#endif /* PG_CLOCK_BPF_H */
