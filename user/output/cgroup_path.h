/* SPDX-License-Identifier: GPL-2.0 */
/* The path of a cgroup from its id, as a socket-hook event names it, with a cache. */
#ifndef PG_CGROUP_PATH_H
#define PG_CGROUP_PATH_H

#include <stddef.h>
#include <linux/types.h>

struct pg_cgroup_names;

/* Returns NULL and sets errno on failure. */
struct pg_cgroup_names *pg_cgroup_names_new(void);
/* The path of cgroup id relative to the cgroup2 root ("/" for the root) into buf. Returns 0,
 * or -ENOENT when no cgroup has that id. */
int pg_cgroup_path(struct pg_cgroup_names *n, __u64 id, char *buf, size_t size);
void pg_cgroup_names_free(struct pg_cgroup_names *n);

#endif /* PG_CGROUP_PATH_H */
