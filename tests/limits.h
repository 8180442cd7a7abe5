/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Known platform limits: the only reasons a test may skip because the kernel did not take one
 * of our BPF programs. Every object portguard ships loads on every kernel from 5.10 (the
 * stated minimum) unless a line below says otherwise; a program that the running kernel
 * should load and does not is a failure, whatever the verifier says, so that a rejection on
 * one kernel of the matrix fails the suite there instead of skipping the tests that would say
 * which decision broke.
 *
 *   sock_lsm, kernel before 6.0   lsm_cgroup programs (BPF_LSM_CGROUP) do not exist yet
 *   sock_lsm, EPERM               the kernel refuses BPF LSM programs (lockdown, a sandbox):
 *                                 this machine's 6.18 does
 *   sock_lsm, BPF LSM inactive    "bpf" is not in lsm= (Debian 11's default list lacks it);
 *                                 tested where the LSM list is read (test_sock_hooks)
 *
 * A skip these allow must also match tests/platform-limits, which tests/run.sh applies to
 * every SKIP line as root.
 */
#ifndef PG_LIMITS_H
#define PG_LIMITS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

/* The running kernel's release, and whether it is older than major.minor. */
static inline const char *pg_kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u) < 0)
		return "unknown";
	return u.release;
}

static inline int pg_kernel_older(int major, int minor)
{
	int ma = 0, mi = 0;

	if (sscanf(pg_kernel_release(), "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma < major || (ma == major && mi < minor);
}

/* Why the kernel may refuse program object obj with err (a negative errno), or NULL: then the
 * refusal is a failure. */
static inline const char *pg_known_limit(const char *obj, int err)
{
	if (!strcmp(obj, "sock_lsm")) {
		if (pg_kernel_older(6, 0))
			return "lsm_cgroup programs need kernel 6.0";
		if (err == -EPERM)
			return "lockdown or a sandbox refuses BPF LSM programs";
	}
	return NULL;
}

#endif /* PG_LIMITS_H */
