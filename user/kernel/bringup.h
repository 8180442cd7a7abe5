/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bringing enforcement up, as one step that run and load share: resolve the attach points,
 * prepare and lock the pin directory, load, put the policy in force, attach, record.
 */
#ifndef PG_BRINGUP_H
#define PG_BRINGUP_H

#include <net/if.h>
#include <stdbool.h>

#include "kernel/enforce.h"
#include "kernel/loader.h"

struct pg_up_opts {
	const char *policy;
	const char *ifaces[PG_MAX_IFACES]; /* --iface; none: the policy's `interface` lines */
	size_t nifaces;
	const char *cgroup; /* --cgroup; NULL: the root of the cgroup v2 hierarchy */
	bool no_cgroup;
	const char *pin_dir;
	enum pg_xdp_mode xdp_mode;
	struct pg_enforce_opts enforce;
	/* run: own the state while running. A second run on the same pin directory is
	 * refused (it would take the state over, then lose it when the first one exits). */
	bool owner;
};

struct pg_up {
	struct pg_loader l;
	struct pg_policy_src src;
	struct pg_enforced enforced;
	const char *ifaces[PG_MAX_IFACES]; /* what is attached: points into ifname */
	size_t nifaces;
	char ifname[PG_MAX_IFACES][IF_NAMESIZE];
	char cgroup[PATH_MAX];		   /* "" when no socket hooks */
	char pin_dir[PATH_MAX];		   /* absolute */
	int owner_fd;			   /* flock held on the links directory, or -1 */
};

/* Bring it all up. Errors are printed; on failure nothing new stays attached. Returns 0, or
 * -EINVAL for an invalid policy or attach point, or -errno. */
int pg_up(const struct pg_up_opts *o, struct pg_up *up);
/* Free the skeletons and the policy; what is pinned stays in force. */
void pg_up_close(struct pg_up *up);

#endif /* PG_BRINGUP_H */
