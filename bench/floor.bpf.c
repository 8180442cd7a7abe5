// SPDX-License-Identifier: GPL-2.0
/* The floor: the cheapest XDP program there is. Whatever it costs is the cost of running any
 * XDP program at all (test_run loop, dispatch, the tail call of the rotating wrapper). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
