// SPDX-License-Identifier: GPL-2.0
/* The tc floor: the cheapest tc program there is, for ingresscost. What it costs is the cost
 * of running any tc program on a test_run skb at all. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int bench_tc_floor(struct __sk_buff *skb)
{
	return 2; /* TC_ACT_SHOT */
}

char LICENSE[] SEC("license") = "GPL";
