// SPDX-License-Identifier: GPL-2.0
/* Inbound enforcement at XDP. (placeholder until the datapath lands) */
#include "decide.bpf.h"
#include "events.bpf.h"

SEC("xdp")
int pg_xdp_ingress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
