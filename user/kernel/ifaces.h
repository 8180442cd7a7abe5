/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interfaces of a running state, as they come and go (run) and as a reload changes the
 * list: awaited ones are attached when they appear, attached ones that disappear become
 * awaited again, and pg_info always says which is which (status, metrics).
 */
#ifndef PG_IFACES_H
#define PG_IFACES_H

#include "kernel/bringup.h"

/* Told of each change: state is "appeared" (attached as it appeared), "gone" (it went; its
 * programs went with it) or "failed" (it appeared, attaching failed: it stays awaited). */
typedef void (*pg_iface_cb)(void *ctx, const char *name, const char *state, int ifindex,
			    unsigned ifmode);

/* Bring up->ifaces in line with the interfaces that exist now. Returns the changes made. */
int pg_up_sync_ifaces(struct pg_up *up, enum pg_xdp_mode mode, pg_iface_cb cb, void *ctx);

/* A new interface list, for a reload. */
struct pg_up_ifaces {
	size_t n;
	char name[PG_MAX_IFACES][IF_NAMESIZE];
	int ifindex[PG_MAX_IFACES];
	__u8 mode[PG_MAX_IFACES];
};

/*
 * A reload's first half, before its generation goes in force: names become next, the ones
 * that up does not attach yet are attached now (or awaited). 0, or -errno when one could not
 * be attached (printed; what this call attached is detached again, nothing else changes).
 */
int pg_up_ifaces_begin(struct pg_up *up, const char *const *names, size_t n,
		       enum pg_xdp_mode mode, struct pg_up_ifaces *next);
/* The reload failed after its first half: detach what pg_up_ifaces_begin() attached. */
void pg_up_ifaces_abort(struct pg_up *up, const struct pg_up_ifaces *next);
/* Its second half, once the new generation is in force: what next no longer names is
 * detached, next becomes up's list, pg_info records it. */
void pg_up_ifaces_commit(struct pg_up *up, const struct pg_up_ifaces *next);

#endif /* PG_IFACES_H */
