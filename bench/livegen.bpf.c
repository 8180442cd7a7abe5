// SPDX-License-Identifier: GPL-2.0
/*
 * The traffic generator of the XDP-frame path. Run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, it redirects every frame into the sending veth; veth's
 * ndo_xdp_xmit hands it to the peer as an XDP frame, so the receiver's XDP program sees it
 * exactly as it would see a frame from a NIC driver, with no skb ever built.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Set by bench/livegen.c before load: the sending veth, in the generator's namespace. */
const volatile __u32 out_ifindex = 0;

SEC("xdp")
int bench_livegen(struct xdp_md *ctx)
{
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
