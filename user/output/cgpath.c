// SPDX-License-Identifier: GPL-2.0
/* cgroup id to path, by file handle. See cgpath.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "output/cgpath.h"

/* kernfs file handles: FILEID_KERNFS in the kernel's exportfs.h, 8 bytes of cgroup id. */
#define PG_FILEID_KERNFS 0xfe

static int mnt_fd = -1;
static char mnt[PATH_MAX];

int pg_cgroup_path(__u64 id, char *buf, size_t size)
{
	union {
		struct file_handle fh;
		char raw[sizeof(struct file_handle) + sizeof(__u64)];
	} h;
	char link[64], path[PATH_MAX];
	size_t len;
	ssize_t n;
	int fd;

	if (mnt_fd < 0) {
		if (pg_cgroup2_mount(mnt, sizeof(mnt)))
			return -ENOENT;
		mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mnt_fd < 0)
			return -errno;
	}
	h.fh.handle_bytes = sizeof(__u64);
	h.fh.handle_type = PG_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mnt_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE ? -ENOENT : -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	/* Outside the mount (another cgroup namespace's view): not a path of ours to give. */
	len = strlen(mnt);
	if (strncmp(path, mnt, len) || (path[len] && path[len] != '/'))
		return -ENOENT;
	snprintf(buf, size, "%s", path[len] ? path + len : "/");
	return 0;
}
