// SPDX-License-Identifier: GPL-2.0
/* Flow recording at tc egress. (placeholder until the datapath lands) */
#include "maps.bpf.h"

SEC("tc")
int pg_tc_egress(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "GPL";
