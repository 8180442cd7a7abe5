// SPDX-License-Identifier: GPL-2.0
/* Loading and configuring xdp-filter's BPF object; see xdpfilt.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpfilt.h"

struct xf {
	struct bpf_object *obj;
	int prog_fd;
	int ports_fd;
};

int bench_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || strstr(fmt, "skipping unrecognized"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int xf_open(const char *path, struct xf **out)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	struct xf *x;
	int err;

	*out = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->obj = bpf_object__open_file(path, NULL);
	if (!x->obj) {
		err = -errno;
		fprintf(stderr, "xdpfilt: failed to open %s: %s\n", path, strerror(-err));
		goto fail;
	}
	/* xdp-filter pins its maps by name under /sys/fs/bpf/xdp-filter; the benchmark keeps
	 * them private to the process instead. */
	bpf_object__for_each_map(map, x->obj)
		bpf_map__set_pin_path(map, NULL);
	err = bpf_object__load(x->obj);
	if (err) {
		fprintf(stderr, "xdpfilt: failed to load %s: %s\n", path, strerror(-err));
		goto fail;
	}
	prog = bpf_object__next_program(x->obj, NULL);
	map = bpf_object__find_map_by_name(x->obj, "filter_ports");
	if (!prog || !map) {
		err = -ENOENT;
		fprintf(stderr, "xdpfilt: %s has no program or no filter_ports map\n", path);
		goto fail;
	}
	x->prog_fd = bpf_program__fd(prog);
	x->ports_fd = bpf_map__fd(map);
	*out = x;
	return 0;
fail:
	xf_close(x);
	return err;
}

int xf_set_port(struct xf *x, uint16_t port, unsigned int flags)
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	__u32 key = htons(port); /* the program looks the header's field up as it is */
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < ncpu; i++)
		vals[i] = flags;
	if (bpf_map_update_elem(x->ports_fd, &key, vals, BPF_ANY))
		err = -errno;
	free(vals);
	return err;
}

int xf_prog_fd(const struct xf *x)
{
	return x->prog_fd;
}

void xf_close(struct xf *x)
{
	if (!x)
		return;
	bpf_object__close(x->obj);
	free(x);
}
