/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Load the BPF objects, share and pin their maps, attach and detach: everything that makes
 * enforcement exist in the kernel, and the pinned state that outlives the process.
 *
 * Pinned state under the pin directory (default /sys/fs/bpf/portguard):
 *   pg_*                 every map of bpf/maps.bpf.h, by its name
 *   links/xdp-IFNAME     the XDP link on an interface enforced by XDP
 *   links/cgroup-HOOK    a socket hook's cgroup link (HOOK = program name without "pg_")
 * tc filters (egress everywhere, ingress where XDP cannot attach) cannot be pinned (libbpf
 * 1.1 has no tc links): they are found again by their fixed handle and priority, and their
 * program's name, on the interfaces of the XDP links and of pg_info.
 */
#ifndef PG_LOADER_H
#define PG_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernel/generation.h"
#include "kernel/maps.h"
#include "kernel/xdp_open.h"
#include "portguard.h"

/* The tc egress filter portguard owns on an interface: unload removes exactly this one. */
#define PG_TC_HANDLE 0x7067 /* "pg" */
#define PG_TC_PRIORITY 0x7067

struct xdp_ingress_bpf;
struct tc_egress_bpf;
struct tc_ingress_bpf;
struct sock_hooks_bpf;
struct sock_lsm_bpf;
struct pg_xdp_job;

struct pg_loader {
	char pin_dir[PATH_MAX];
	struct xdp_ingress_bpf *xdp;  /* the maps, without programs */
	struct xdp_ingress_bpf *xdpn; /* pg_xdp_ingress alone, with an interface to enforce */
	struct pg_xdp_job *xdp_job;   /* xdpn's load, while in flight (pg_loader_wait) */
	struct tc_egress_bpf *tc;
	struct tc_ingress_bpf *tci;  /* the tc ingress fallback, loaded on first use */
	struct xdp_ingress_bpf *xdpf; /* pg_xdp_ingress_frags alone, loaded on first use */
	bool frags;		     /* the kernel takes xdp.frags programs (5.18+) */
	__u32 max_flows;	     /* pg_flows' size, as created or as pinned */
	struct sock_hooks_bpf *sock;
	/* `deny raw` for packet sockets (lsm_cgroup). Optional: NULL when the kernel refuses
	 * LSM programs (no BPF LSM, lockdown), lsm_err says why. */
	struct sock_lsm_bpf *lsm;
	int lsm_err;
	char lsm_reason[256]; /* the verifier's reason, or strerror(lsm_err) */
	struct pg_maps maps; /* borrowed from the XDP skeleton */
	bool takeover;	     /* the maps were pinned already: an earlier state is taken over */
	/* The state pinned is another version's (maps of other layouts): these maps are new,
	 * unpinned until pg_loader_repin(); its links are updated in place. */
	bool replace;
};

/* --xdp-mode: how inbound enforcement attaches to each interface. */
enum pg_xdp_mode {
	PG_XDP_AUTO = 0, /* native XDP; where the driver refuses it (an MTU beyond a page), native
			  * XDP with frags; where that is refused or missing (before 5.18), tc */
	PG_XDP_NATIVE,	 /* native XDP, one buffer per frame, only */
	PG_XDP_FRAGS,	 /* native XDP with frags (multi-buffer) only */
	PG_XDP_SKB,	 /* generic XDP, for drivers without native support */
	PG_XDP_TC,	 /* tc ingress only */
};

struct pg_attach {
	const char *const *ifaces;
	size_t nifaces;
	const char *cgroup; /* NULL: no socket hooks */
	enum pg_xdp_mode xdp_mode;
	bool await;	    /* a missing interface is awaited (PG_IFMODE_AWAITED), not an error */
	/* Out, per interface: its ifindex (0 when awaited) and enum pg_ifmode. */
	int ifindex[PG_MAX_IFACES];
	__u8 mode[PG_MAX_IFACES];
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

/*
 * Open the skeletons, create or reuse the pinned maps, share them, and load the programs of
 * what is enforced: XDP (with its frags program where the kernel takes one), tc ingress and
 * tc egress when net (an interface is named), the socket hooks when sock (a cgroup), so that
 * a kernel refusing one part can still run the other. A refusal is printed in one line naming
 * the part, the kernel and the verifier's reason. max_flows sizes a new flow table (0: the
 * default).
 */
int pg_loader_load(struct pg_loader *l, const char *pin_dir, bool net, bool sock,
		   __u32 max_flows);
/*
 * pg_loader_load() in steps. pg_loader_maps() creates the maps, or PINNED reuses the ones
 * pinned under pin_dir and pins what it creates; AHEAD it only creates them, touching
 * nothing under pin_dir, and the caller pins them with pg_loader_pin() once it holds the pin
 * directory's lock and finds no state there (bring-up creates them while it parses the
 * policy), quietly: on failure the caller makes them the pinned way, which says why.
 * pg_loader_progs() loads the programs on those maps; the XDP program may still be verifying
 * on a thread of its own when it returns: the caller can write the policy meanwhile, then
 * must call pg_loader_wait() before it puts that policy in force (pg_loader_attach() and
 * pg_loader_close() wait too). On failure pg_loader_maps() has closed l; after
 * pg_loader_pin() or pg_loader_progs() fails the caller closes it. pg_loader_pin() returns
 * -EEXIST, printing nothing, when a map of that name is pinned already (a state that died
 * half-way): the caller then makes the maps the pinned way.
 */
enum pg_maps_how {
	PG_MAPS_PINNED,	   /* reuse the pinned maps, pin what is created */
	PG_MAPS_AHEAD,	   /* create, unpinned and quietly, ahead of pg_loader_pin() */
	PG_MAPS_REPLACING, /* create, unpinned, to replace another version's (pg_loader_repin) */
};
int pg_loader_maps(struct pg_loader *l, const char *pin_dir, __u32 max_flows,
		   enum pg_maps_how how);
int pg_loader_pin(struct pg_loader *l);
/*
 * PG_MAPS_REPLACING, once this version's programs are attached: pin l's maps in place of
 * the other version's, each in one rename (a reader of a pin opens the old map or the new,
 * never none), pg_active last, then remove that version's pins of maps this one does not
 * define. Returns 0 or -errno, printed.
 */
int pg_loader_repin(struct pg_loader *l);
/* Whether any map of this build pinned under dir is not the map this build defines
 * (another version's layout): 1, and what[] says which and how; 0 when every pinned one
 * fits what libbpf reuses (a map not pinned at all is made); -errno when one cannot be
 * read. Prints nothing. */
int pg_pins_other_version(const char *dir, char *what, size_t len);
int pg_loader_progs(struct pg_loader *l, bool net, bool sock);
/* Wait for the XDP program's load: 0, or its refusal (printed). 0 when none is in flight. */
int pg_loader_wait(struct pg_loader *l);
/*
 * Attach to what a names and nothing else: each interface gets XDP and tc egress, the cgroup
 * gets every socket hook. Links pinned by an earlier state are updated in place to the new
 * programs (no moment without enforcement); attachments of the earlier state that a does not
 * name any more are removed after the new ones are in force.
 */
int pg_loader_attach(struct pg_loader *l, struct pg_attach *a);
/*
 * Attach inbound enforcement and tc egress to one interface, in the mode mode asks (see enum
 * pg_xdp_mode; a link pinned by an earlier state is updated in place), and remove what an
 * earlier state attached there in another mode, once the new one is in force. *ifindex and
 * *ifmode say where and how. -ENODEV (nothing printed) when the interface does not exist;
 * other errors are printed.
 */
int pg_loader_attach_iface(struct pg_loader *l, const char *name, enum pg_xdp_mode mode,
			   int *ifindex, __u8 *ifmode);
/* Remove everything of ours from interface name (ifindex, if it still exists). */
void pg_loader_detach_iface(const char *pin_dir, const char *name, int ifindex);
/* Interfaces of an earlier state (as pg_info lists them) that a does not name: detached. */
void pg_loader_prune(struct pg_loader *l, const struct pg_attach *a,
		     const struct pg_info *before);
/* Free the skeletons. What is pinned and attached stays in force. */
void pg_loader_close(struct pg_loader *l);

/*
 * Remove everything portguard attached and pinned under pin_dir, and only that. Returns 1
 * when something was removed, 0 when nothing was loaded, or -errno.
 */
int pg_detach_all(const char *pin_dir);

#endif /* PG_LOADER_H */
