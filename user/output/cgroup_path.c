// SPDX-License-Identifier: GPL-2.0
/* Cgroup paths from cgroup ids (see cgroup_path.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "output/cgroup_path.h"

#define CG_CACHE 256

struct cg_entry {
	__u64 id;
	char *path; /* relative to the cgroup2 root, "/" for the root; NULL: not found */
};

struct pg_cgroup_names {
	char root[4096];
	int mnt_fd; /* the cgroup2 mount, opened once; -1 until then */
	struct cg_entry cg[CG_CACHE];
	unsigned next;
};

struct pg_cgroup_names *pg_cgroup_names_new(void)
{
	struct pg_cgroup_names *n = calloc(1, sizeof(*n));

	if (n)
		n->mnt_fd = -1;
	return n;
}

void pg_cgroup_names_free(struct pg_cgroup_names *n)
{
	if (!n)
		return;
	for (int i = 0; i < CG_CACHE; i++)
		free(n->cg[i].path);
	if (n->mnt_fd >= 0)
		close(n->mnt_fd);
	free(n);
}

/* kernfs file handles: FILEID_KERNFS in the kernel's exportfs.h, 8 bytes of cgroup id. */
#define PG_FILEID_KERNFS 0xfe

/*
 * The kernel opens the cgroup by its id (open_by_handle_at() on the cgroup2 mount, the id as
 * a kernfs file handle), and /proc/self/fd names what it opened: one lookup per id, whatever
 * the size of the tree; nothing walks it. Needs CAP_DAC_READ_SEARCH (root; the unit has it).
 */
static int lookup(struct pg_cgroup_names *s, __u64 id, char *buf, size_t size)
{
	union {
		struct file_handle fh;
		char raw[sizeof(struct file_handle) + sizeof(__u64)];
	} h;
	char link[64], path[PATH_MAX];
	size_t len;
	ssize_t n;
	int fd;

	if (s->mnt_fd < 0) {
		if (!s->root[0] && pg_cgroup2_mount(s->root, sizeof(s->root)))
			return -ENOENT;
		s->mnt_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->mnt_fd < 0)
			return -errno;
	}
	h.fh.handle_bytes = sizeof(__u64);
	h.fh.handle_type = PG_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(s->mnt_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE ? -ENOENT : -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	/* Outside the mount (another cgroup namespace's view): not a path of ours to give. */
	len = strlen(s->root);
	if (strncmp(path, s->root, len) || (path[len] && path[len] != '/'))
		return -ENOENT;
	snprintf(buf, size, "%s", path[len] ? path + len : "/");
	return 0;
}

/* Results, misses included, are cached: events come in bursts from one service. */
int pg_cgroup_path(struct pg_cgroup_names *s, __u64 id, char *buf, size_t size)
{
	char path[PATH_MAX];
	struct cg_entry *e;
	unsigned i;

	for (i = 0; i < CG_CACHE; i++) {
		if (s->cg[i].id == id && id) {
			if (!s->cg[i].path)
				return -ENOENT;
			snprintf(buf, size, "%s", s->cg[i].path);
			return 0;
		}
	}
	e = &s->cg[s->next++ % CG_CACHE];
	free(e->path);
	e->id = id;
	e->path = lookup(s, id, path, sizeof(path)) ? NULL : strdup(path);
	if (!e->path)
		return -ENOENT;
	snprintf(buf, size, "%s", e->path);
	return 0;
}
