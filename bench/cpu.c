// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
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
