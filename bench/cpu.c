// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"

int bench_pin_cpu(const char *who, long cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (!sched_setaffinity(0, sizeof(set), &set))
		return 0;
	err = -errno;
	fprintf(stderr, "%s: failed to pin to CPU %ld: %s\n", who, cpu, strerror(-err));
	return err;
}

double bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}
