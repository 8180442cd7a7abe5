/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The path of a cgroup v2 from its id, as events carry it (bpf_get_current_cgroup_id()): the
 * kernel opens the cgroup by id (open_by_handle_at() on the cgroup2 mount, the id as a
 * kernfs file handle), and /proc/self/fd names what was opened. One lookup per id, whatever
 * the size of the tree: nothing walks it. Needs CAP_DAC_READ_SEARCH (root).
 */
#ifndef PG_CGPATH_H
#define PG_CGPATH_H

#include <stddef.h>
#include <linux/types.h>

/* The path relative to the cgroup2 mount ("/" for its root) into buf. 0, -ENOENT (no such
 * cgroup, or it was removed: ESTALE from the kernel), or -errno. */
int pg_cgroup_path(__u64 id, char *buf, size_t size);

#endif /* PG_CGPATH_H */
