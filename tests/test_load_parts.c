// SPDX-License-Identifier: GPL-2.0
/*
 * The loader loads the programs of what is enforced and nothing else (issue 9): without an
 * interface neither the XDP nor the tc program reaches the verifier, so a kernel refusing
 * them still enforces the socket hooks; without a cgroup the socket hooks are not loaded.
 * Observed on the skeletons themselves: a program that was not loaded has no fd.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "kernel/loader.h"
#include "sock_hooks.skel.h"
#include "tc_egress.skel.h"
#include "xdp_ingress.skel.h"

static char pin_dir[64];

/* A private bpffs in a mount and network namespace of the case's own. */
static void private_pins(void)
{
	static char dir[] = "/tmp/pg-test-parts.XXXXXX";

	if (geteuid() != 0)
		SKIP("needs root to load BPF programs");
	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		SKIP("cannot create mount and network namespaces: %s", strerror(errno));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(0, mount("bpf", dir, "bpf", 0, NULL));
	snprintf(pin_dir, sizeof(pin_dir), "%s/pg", dir);
	ASSERT_EQ(0, pg_pin_dir_prepare(pin_dir));
}

static void cleanup(void)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "%s", pin_dir);
	*strrchr(dir, '/') = '\0';
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TEST(cgroup_only_loads_no_xdp_or_tc)
{
	struct pg_loader l;

	private_pins();
	atexit(cleanup);
	ASSERT_EQ(0, pg_loader_load(&l, pin_dir, false, true, 0));
	/* The XDP object still creates the maps. */
	ASSERT_LE(0, l.maps.fd[PG_MAP_ACTIVE]);
	EXPECT_TRUE(bpf_program__fd(l.xdp->progs.pg_xdp_ingress) < 0);
	EXPECT_TRUE(l.xdpn == NULL);
	EXPECT_TRUE(l.tc == NULL);
	ASSERT_TRUE(l.sock != NULL);
	EXPECT_LE(0, bpf_program__fd(l.sock->progs.pg_bind4));
	pg_loader_close(&l);
}

TEST(interface_only_loads_no_socket_hooks)
{
	struct pg_loader l;

	private_pins();
	atexit(cleanup);
	ASSERT_EQ(0, pg_loader_load(&l, pin_dir, true, false, 0));
	ASSERT_TRUE(l.xdpn != NULL);
	EXPECT_LE(0, bpf_program__fd(l.xdpn->progs.pg_xdp_ingress));
	ASSERT_TRUE(l.tc != NULL);
	EXPECT_LE(0, bpf_program__fd(l.tc->progs.pg_tc_egress));
	/* The fallbacks (tc ingress, XDP with frags) wait for an interface that needs them. */
	EXPECT_TRUE(l.tci == NULL);
	EXPECT_TRUE(l.xdpf == NULL);
	EXPECT_TRUE(l.sock == NULL);
	EXPECT_TRUE(l.lsm == NULL);
	pg_loader_close(&l);
}

TEST_MAIN()
