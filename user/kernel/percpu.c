// SPDX-License-Identifier: GPL-2.0
/* Per-CPU sums (see percpu.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/percpu.h"

/* One value per possible CPU, each rounded up to 8 bytes by the kernel: both element types
 * already are a multiple of 8. Returns the CPU count, or -errno; *vals is malloc'd. */
static int lookup(int fd, __u32 key, size_t size, void **vals)
{
	int ncpus = libbpf_num_possible_cpus();

	*vals = NULL;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	*vals = calloc(ncpus, size);
	if (!*vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, *vals)) {
		int err = -errno;

		free(*vals);
		*vals = NULL;
		return err;
	}
	return ncpus;
}

int pg_percpu_counter(int fd, __u32 key, struct pg_counter *sum)
{
	struct pg_counter *v;
	int n = lookup(fd, key, sizeof(*v), (void **)&v);

	memset(sum, 0, sizeof(*sum));
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
		if (v[i].last_ns > sum->last_ns)
			sum->last_ns = v[i].last_ns;
	}
	free(v);
	return 0;
}

int pg_percpu_u64(int fd, __u32 key, __u64 *sum)
{
	__u64 *v;
	int n = lookup(fd, key, sizeof(*v), (void **)&v);

	*sum = 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		*sum += v[i];
	free(v);
	return 0;
}
