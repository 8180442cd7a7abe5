// SPDX-License-Identifier: GPL-2.0
/* Cgroup paths from cgroup ids (see cgroup_path.h). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "output/cgroup_path.h"

#define CG_CACHE 256

struct cg_entry {
	__u64 id;
	char *path; /* relative to the cgroup2 root, "/" for the root; NULL: not found */
};

struct pg_cgroup_names {
	char root[4096];
	struct cg_entry cg[CG_CACHE];
	unsigned next;
};

struct pg_cgroup_names *pg_cgroup_names_new(void)
{
	return calloc(1, sizeof(struct pg_cgroup_names));
}

void pg_cgroup_names_free(struct pg_cgroup_names *n)
{
	if (!n)
		return;
	for (int i = 0; i < CG_CACHE; i++)
		free(n->cg[i].path);
	free(n);
}

/* nftw has no user pointer: the walk's target and result live here. */
static __u64 cg_walk_id;
static char cg_walk_found[4096];

static int cg_walk_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && st->st_ino == cg_walk_id) {
		snprintf(cg_walk_found, sizeof(cg_walk_found), "%s", path);
		return 1;
	}
	return 0;
}

/*
 * The cgroup v2 id of a task is the inode number of its cgroup directory, so the path is found
 * by walking the cgroup2 mount for that inode. Results, misses included, are cached: a walk
 * costs a directory read per cgroup and events can come in bursts from one service.
 */
int pg_cgroup_path(struct pg_cgroup_names *s, __u64 id, char *buf, size_t size)
{
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
	if (!s->root[0] && pg_cgroup2_mount(s->root, sizeof(s->root)))
		return -ENOENT;
	cg_walk_id = id;
	cg_walk_found[0] = '\0';
	nftw(s->root, cg_walk_fn, 16, FTW_PHYS | FTW_MOUNT);
	e = &s->cg[s->next++ % CG_CACHE];
	free(e->path);
	e->id = id;
	e->path = NULL;
	if (cg_walk_found[0]) {
		const char *rel = cg_walk_found + strlen(s->root);

		e->path = strdup(*rel ? rel : "/");
	}
	if (!e->path)
		return -ENOENT;
	snprintf(buf, size, "%s", e->path);
	return 0;
}
