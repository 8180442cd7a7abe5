// SPDX-License-Identifier: GPL-2.0
/*
 * Inbound enforcement at XDP: every frame that arrives on an enforced interface is parsed,
 * decided by the generation in force, counted per rule and per reason, and reported when it
 * is a violation (or a logged allow). The decision is ingress.bpf.h's, shared with tc ingress.
 *
 * Two programs, one decision:
 * - pg_xdp_ingress: a frame in one buffer. A driver refuses it where the MTU does not fit a
 *   page (veth: ERANGE), which is what pg_xdp_ingress_frags is for.
 * - pg_xdp_ingress_frags (xdp.frags, kernel 5.18+): a frame may come in several buffers; the
 *   headers are read from the first one, lengths are checked against the whole frame
 *   (bpf_xdp_get_buff_len), and headers that do not fit the first buffer are PG_R_HDR_SPLIT.
 *   The loader does not load it on a kernel without multi-buffer XDP.
 */
#include "ingress.bpf.h"

SEC("xdp")
int pg_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pg_cursor c = { .pos = data, .end = data_end };

	return pg_ingress(&c, ctx->ingress_ifindex, data_end - data) ? XDP_DROP : XDP_PASS;
}

SEC("xdp.frags")
int pg_xdp_ingress_frags(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pg_cursor c = { .pos = data, .end = data_end };
	__u64 len = bpf_xdp_get_buff_len(ctx), head = data_end - data;

	/* The first buffer is part of the frame: len >= head, always. */
	c.more = len > head ? len - head : 0;
	return pg_ingress(&c, ctx->ingress_ifindex, len) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
