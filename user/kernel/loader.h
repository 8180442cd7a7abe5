/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Load the BPF objects, share and pin their maps, attach and detach: everything that makes
 * enforcement exist in the kernel, and the pinned state that outlives the process.
 *
 * Pinned state under the pin directory (default /sys/fs/bpf/portguard):
 *   pg_*                 every map of bpf/maps.bpf.h, by its name
 *   links/xdp-IFNAME     the XDP link on an enforced interface
 *   links/cgroup-HOOK    a socket hook's cgroup link (HOOK = program name without "pg_")
 * tc egress filters cannot be pinned (libbpf 1.1 has no tc links): they are found again by
 * their fixed handle and priority on the interfaces of the XDP links and of pg_info.
 */
#ifndef PG_LOADER_H
#define PG_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernel/generation.h"
#include "kernel/maps.h"
#include "portguard.h"

/* The tc egress filter portguard owns on an interface: unload removes exactly this one. */
#define PG_TC_HANDLE 0x7067 /* "pg" */
#define PG_TC_PRIORITY 0x7067

struct xdp_ingress_bpf;
struct tc_egress_bpf;
struct sock_hooks_bpf;
struct sock_lsm_bpf;

struct pg_loader {
	char pin_dir[PATH_MAX];
	struct xdp_ingress_bpf *xdp;
	struct tc_egress_bpf *tc;
	struct sock_hooks_bpf *sock;
	/* `deny raw` for packet sockets (lsm_cgroup). Optional: NULL when the kernel refuses
	 * LSM programs (no BPF LSM, lockdown), lsm_err says why. */
	struct sock_lsm_bpf *lsm;
	int lsm_err;
	struct pg_maps maps; /* borrowed from the XDP skeleton */
	bool takeover;	     /* the maps were pinned already: an earlier state is taken over */
};

enum pg_xdp_mode {
	PG_XDP_NATIVE = 0, /* the driver's own XDP: the default, the fast path */
	PG_XDP_SKB,	   /* generic XDP, for drivers without native support */
};

struct pg_attach {
	const char *const *ifaces;
	size_t nifaces;
	const char *cgroup; /* NULL: no socket hooks */
	enum pg_xdp_mode xdp_mode;
};

/*
 * Make dir a directory on bpffs. It must be on bpffs already, or be created (with its missing
 * parents) below a directory on bpffs. The one mount made is bpffs on /sys/fs/bpf, when dir
 * lies below it and nothing is mounted there yet; never over an ordinary directory.
 * 0 or -errno (message printed).
 */
int pg_pin_dir_prepare(const char *dir);

/*
 * Serialise commands on one pin directory: flock() on the directory itself, waiting (and
 * saying so) while another command holds it; a signal while waiting does not end the wait.
 * Until pg_unlock(), SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1/2 and SIGALRM are blocked, so
 * that no command is killed half-way through changing the pinned state: they arrive once it
 * is consistent. Returns the lock's fd, -ENOENT when dir does not exist (also when it was
 * removed while we waited), or -errno (message printed, e.g. permission denied).
 */
int pg_lock(const char *dir);
void pg_unlock(int fd);

/* Open the skeletons, create or reuse the pinned maps, share them, load every program (the
 * socket hooks only when sock: a kernel that refuses them can still run XDP). */
int pg_loader_load(struct pg_loader *l, const char *pin_dir, bool sock);
/*
 * Attach to what a names and nothing else: each interface gets XDP and tc egress, the cgroup
 * gets every socket hook. Links pinned by an earlier state are updated in place to the new
 * programs (no moment without enforcement); attachments of the earlier state that a does not
 * name any more are removed after the new ones are in force.
 */
int pg_loader_attach(struct pg_loader *l, const struct pg_attach *a);
/* Free the skeletons. What is pinned and attached stays in force. */
void pg_loader_close(struct pg_loader *l);

/*
 * Remove everything portguard attached and pinned under pin_dir, and only that. Returns 1
 * when something was removed, 0 when nothing was loaded, or -errno.
 */
int pg_detach_all(const char *pin_dir);

#endif /* PG_LOADER_H */
