/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The XDP object as every user of it opens it (loader, frame tests, benchmarks): its
 * multi-buffer program only where the kernel takes one, since a kernel before 5.18 refuses
 * the whole object otherwise.
 */
#ifndef PG_XDP_OPEN_H
#define PG_XDP_OPEN_H

#include <stdbool.h>

/* Does this kernel load xdp.frags programs (BPF_F_XDP_HAS_FRAGS, 5.18+)? */
bool pg_xdp_frags_supported(void);

struct xdp_ingress_bpf;
/* Open and load the XDP skeleton, pg_xdp_ingress_frags only where the kernel has it. NULL and
 * errno on failure. (The loader's own load also pins and sizes the maps.) */
struct xdp_ingress_bpf *pg_xdp_ingress_open_load(void);

#endif /* PG_XDP_OPEN_H */
