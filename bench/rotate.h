/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by bench/rotate.bpf.c and bench/xdpcost.c. */
#ifndef BENCH_ROTATE_H
#define BENCH_ROTATE_H

#define ROT_FRAME_LEN 96
/* Templates of up to 8 policy sizes at once (bench/xdpcost.c: 640 each). */
#define ROT_MAX_FRAMES 8192

struct rot_frame {
	__u8 data[ROT_FRAME_LEN];
};

struct rot_cfg {
	__u32 first; /* first template slot */
	__u32 n;     /* templates in the rotation, from first */
};

#endif
