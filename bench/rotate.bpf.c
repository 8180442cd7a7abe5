// SPDX-License-Identifier: GPL-2.0
/*
 * The rotating wrapper of the per-packet cost benchmark. BPF_PROG_TEST_RUN runs one frame
 * `repeat` times; on its own that keeps one frame, one port slot and one trie path hot in
 * every cache and in the branch predictor, which flatters any program. This wrapper writes
 * the next of n frame templates (different kinds, ports and peers spread over the whole
 * policy) over the packet before every run and then tail-calls the program under test, so
 * consecutive packets differ as they do on a real link. Its own cost (a 96-byte copy, a
 * per-CPU counter and the tail call) is measured by wrapping the floor program, and
 * subtracted where the results say "net".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rotate.h"

/* Frame templates, key = slot. Written by bench/xdpcost.c before each measurement. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ROT_MAX_FRAMES);
	__type(key, __u32);
	__type(value, struct rot_frame);
} rot_frames SEC(".maps");

/* Key 0: which templates to rotate over. Written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rot_cfg);
} rot_cfg SEC(".maps");

/* Position in the rotation; per CPU so that the wrapper adds no shared cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rot_pos SEC(".maps");

/* Slot 0: the program under test. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rot_target SEC(".maps");

SEC("xdp")
int bench_rotate(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rot_frame *f;
	struct rot_cfg *cfg;
	__u32 zero = 0, *pos, slot;

	cfg = bpf_map_lookup_elem(&rot_cfg, &zero);
	pos = bpf_map_lookup_elem(&rot_pos, &zero);
	if (!cfg || !pos || !cfg->n)
		return XDP_ABORTED;
	if (*pos >= cfg->n)
		*pos = 0;
	slot = cfg->first + *pos;
	(*pos)++;
	f = bpf_map_lookup_elem(&rot_frames, &slot);
	if (!f)
		return XDP_ABORTED;
	/* The test frame is exactly ROT_FRAME_LEN bytes; templates are padded to it (Ethernet
	 * padding after the IP datagram), so no tail adjustment is needed. */
	if (data + ROT_FRAME_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, f->data, ROT_FRAME_LEN);
	bpf_tail_call(ctx, &rot_target, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
