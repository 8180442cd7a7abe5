/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel has attached, compared with what the pinned state says is in force: the
 * truth behind `status` and portguard_enforcing. A state is "enforcing" only when the kernel
 * runs portguard's programs, by program id, at every attach point the state names:
 *
 *   an interface:  its pinned XDP link is live (the kernel still holds the device) and, when
 *                  the device is in this network namespace, bpf_xdp_query() reports the
 *                  link's program there;
 *   the cgroup:    every socket hook of bpf/sock_hooks.bpf.c has its pinned link on the
 *                  cgroup of pg_info, and bpf_prog_query() on that cgroup lists its program.
 *
 * Anything else (an interface deleted and re-created, a cgroup removed, a load interrupted
 * before it recorded its attach points) is "loaded but not enforcing".
 */
#ifndef PG_ATTACHED_H
#define PG_ATTACHED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "portguard.h"

enum pg_point_kind {
	PG_POINT_IFACE,
	PG_POINT_CGROUP,
};

struct pg_point {
	enum pg_point_kind kind;
	char name[PATH_MAX]; /* interface name (or "ifindex N"), or cgroup path */
	__u32 ifindex;	     /* the link's interface, 0 when gone */
	__u32 prog_id;	     /* the XDP program of the link; 0 for a cgroup */
	bool enforcing;
	char why[256]; /* not enforcing: what the kernel shows instead; else a note or "" */
};

#define PG_MAX_POINTS (PG_MAX_IFACES * 2 + 1)

struct pg_enforcement {
	bool complete;	/* the load recorded its attach points (pg_info) */
	bool enforcing; /* complete, at least one point, and every point enforcing */
	size_t n;
	struct pg_point p[PG_MAX_POINTS];
};

/* Compare the pins under pin_dir (links/, and info as read from pg_info) with the kernel.
 * Returns 0 (the verdict is in *e) or -errno when the kernel cannot be asked. */
int pg_enforcement_check(const char *pin_dir, const struct pg_info *info,
			 struct pg_enforcement *e);

/* After a map pin was found missing: whether others are there, left by a load that was cut
 * short (SIGKILL) before it pinned them all. Loaded but not enforcing, not "nothing". */
bool pg_pins_partial(const char *pin_dir);

#endif /* PG_ATTACHED_H */
