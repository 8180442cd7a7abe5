/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers the commands share: paths, numbers, the cgroup2 mount, systemd notification. */
#ifndef PG_UTIL_H
#define PG_UTIL_H

#include <stddef.h>

/* The cgroup v2 mount point from /proc/mounts (not assumed to be /sys/fs/cgroup: hybrid
 * hosts mount it at /sys/fs/cgroup/unified). Returns 0, or -ENOENT when none is mounted. */
int pg_cgroup2_mount(char *buf, size_t size);

/* Send state ("READY=1", ...) to $NOTIFY_SOCKET (path or '@' abstract name). No socket
 * configured is not an error: returns 0. Otherwise 0 or -errno. */
int pg_notify(const char *state);

/* Copy src into dst (size bytes), truncated and always NUL-terminated. */
void pg_strlcpy(char *dst, const char *src, size_t size);

/* libbpf's own messages (warnings and the verifier log) to stderr only when verbose (-v). */
void pg_libbpf_setup(int verbose);

/* Make path absolute (relative to the working directory) without resolving links. */
int pg_abs_path(const char *path, char *buf, size_t size);

/* Parse a decimal integer in [min, max] strictly. 0 or -EINVAL/-ERANGE. */
int pg_parse_ll(const char *s, long long min, long long max, long long *out);

#endif /* PG_UTIL_H */
