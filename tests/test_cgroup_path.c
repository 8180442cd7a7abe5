// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup id to path (output/cgroup_path.h): opened by id, never found by walking the tree. The
 * proof of "never walks" is a seccomp filter that fails every directory read (getdents,
 * getdents64) with EPERM: a walk of the cgroup tree finds nothing under it, a lookup by id
 * still answers. Each test runs in a child of its own (harness.h), so the filter stays there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "common/util.h"
#include "output/cgroup_path.h"

static char root[4096], top[4200], leaf[4300];

/* One lookup through a fresh cache: the kernel is asked. */
static int path_of(__u64 id, char *buf, size_t size)
{
	struct pg_cgroup_names *n = pg_cgroup_names_new();
	int err;

	ASSERT_TRUE(n != NULL);
	err = pg_cgroup_path(n, id, buf, size);
	pg_cgroup_names_free(n);
	return err;
}

/* A cgroup two levels below one of ours, among siblings; returns the leaf's id. */
static __u64 make_tree(void)
{
	char d[4400];
	struct stat st;

	if (getuid())
		SKIP("needs root (open_by_handle_at needs CAP_DAC_READ_SEARCH)");
	if (pg_cgroup2_mount(root, sizeof(root)))
		SKIP("no cgroup2 mount");
	snprintf(top, sizeof(top), "%s/pg-cgpath-%d", root, (int)getpid());
	ASSERT_EQ(0, mkdir(top, 0755));
	for (int i = 0; i < 20; i++) {
		snprintf(d, sizeof(d), "%s/sib%d", top, i);
		mkdir(d, 0755);
	}
	snprintf(leaf, sizeof(leaf), "%s/sib7/leaf", top);
	ASSERT_EQ(0, mkdir(leaf, 0755));
	ASSERT_EQ(0, stat(leaf, &st));
	return st.st_ino; /* a cgroup v2 id is its directory's inode number */
}

static void remove_tree(void)
{
	char d[4400];

	rmdir(leaf);
	for (int i = 0; i < 20; i++) {
		snprintf(d, sizeof(d), "%s/sib%d", top, i);
		rmdir(d);
	}
	rmdir(top);
}

static void deny_directory_reads(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents64, 2, 0),
#ifdef SYS_getdents
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents, 1, 0),
#else
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents64, 1, 0),
#endif
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	ASSERT_EQ(0, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	ASSERT_EQ(0, prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
}

TEST(path_of_a_nested_cgroup)
{
	__u64 id = make_tree();
	char want[4400], got[4096];
	int err;

	snprintf(want, sizeof(want), "%s", leaf + strlen(root));
	err = path_of(id, got, sizeof(got));
	remove_tree();
	ASSERT_EQ(0, err);
	ASSERT_STREQ(want, got);
}

TEST(resolved_without_reading_a_directory)
{
	__u64 id = make_tree();
	char want[4400], got[4096];
	int err;

	snprintf(want, sizeof(want), "%s", leaf + strlen(root));
	deny_directory_reads();
	err = path_of(id, got, sizeof(got));
	remove_tree(); /* rmdir is no directory read */
	ASSERT_EQ(0, err);
	ASSERT_STREQ(want, got);
}

TEST(removed_cgroup_is_not_found)
{
	__u64 id = make_tree();
	char got[4096];

	remove_tree();
	EXPECT_EQ(-ENOENT, path_of(id, got, sizeof(got)));
}

TEST(root_is_slash)
{
	struct stat st;
	char got[4096];

	if (getuid())
		SKIP("needs root");
	if (pg_cgroup2_mount(root, sizeof(root)))
		SKIP("no cgroup2 mount");
	ASSERT_EQ(0, stat(root, &st));
	ASSERT_EQ(0, path_of(st.st_ino, got, sizeof(got)));
	EXPECT_STREQ("/", got);
}

TEST_MAIN()
