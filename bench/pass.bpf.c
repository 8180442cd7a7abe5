// SPDX-License-Identifier: GPL-2.0
/* XDP_PASS for every frame. A veth only receives XDP frames (from ndo_xdp_xmit) when its
 * NAPI is enabled, which takes an XDP program or GRO; ethtool is not a dependency, so the
 * receivers that filter in the stack (none, nftables, iptables) get this program on the
 * XDP-frame path, and pay its few nanoseconds. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
