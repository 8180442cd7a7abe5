/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp-filter's own BPF object from Debian's xdp-tools, loaded and configured by our code the
 * way `xdp-filter load --mode ... -w` and `xdp-filter port` configure it: whitelist mode
 * (xdpfilt_dny_all.o: what xdp-filter picks for whitelist with the tcp and udp features),
 * each allowed port a key of filter_ports (the port in network byte order, in a __u32) whose
 * per-CPU __u64 value holds the flags below. A port hit passes; everything else drops.
 * It is attached directly, without libxdp's dispatcher, like the other programs compared.
 */
#ifndef BENCH_XDPFILT_H
#define BENCH_XDPFILT_H

#include <stdint.h>

/* The flag bits of filter_ports values: xdp-filter's map ABI, restated. */
#define XF_FLAG_SRC (1u << 0)
#define XF_FLAG_DST (1u << 1)
#define XF_FLAG_TCP (1u << 2)
#define XF_FLAG_UDP (1u << 3)

struct xf;

#include <stdarg.h>
#include <bpf/libbpf.h>
/* A libbpf print callback for the drivers: warnings only, without the expected complaint
 * about the sections of xdp-filter's object that libbpf 1.1 does not know. */
int bench_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

/* Open and load the object at path, with map pinning turned off. */
int xf_open(const char *path, struct xf **out);
/* Set port's flags (XF_FLAG_*); 0 removes it. */
int xf_set_port(struct xf *x, uint16_t port, unsigned int flags);
int xf_prog_fd(const struct xf *x);
void xf_close(struct xf *x);

#endif
