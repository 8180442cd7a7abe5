/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing a compiled policy into the BPF maps, and the atomic switch between generations.
 *
 * Every policy map holds two generations (PG_NGEN). The datapath reads pg_active once per
 * packet and decides entirely within that generation. A (re)load is therefore:
 *
 *	struct pg_maps m;
 *	__u32 gen;
 *
 *	pg_maps_from_object(&m, skel->obj);	// or pg_maps_from_pins(&m, "/sys/fs/bpf/portguard")
 *	pg_active_gen(&m, &gen);
 *	pg_compile(policy, pg_other_gen(gen), &c);
 *	pg_apply(&m, &c);			// fills the idle generation; nothing sees it yet
 *	pg_activate(&m, c.gen);			// one map write: the swap
 *	pg_maps_close(&m);
 *
 * If pg_apply fails, the generation in force is untouched: do not activate, keep running.
 * On fresh maps (nothing activated yet) pg_active is 0 and generation 0 is all zeroes, which
 * decides everything by "default allow": apply and activate generation 1 before attaching.
 */
#ifndef PG_GENERATION_H
#define PG_GENERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "kernel/maps.h"
#include "portguard.h"

struct pg_compiled;

/* The generation in force. */
int pg_active_gen(const struct pg_maps *m, __u32 *gen);

/* The generation a reload writes. */
static inline __u32 pg_other_gen(__u32 gen)
{
	return (gen + 1) % PG_NGEN;
}

/*
 * Write c into generation c->gen, which must not be the active one (-EBUSY). What the
 * generation holds is read back first and only what differs is written: hash entries the new
 * policy lacks are deleted, new or changed ones written, every port slot, peer bucket and
 * rule source made c's (a port no rule covers gets class 0), the counters its earlier policy
 * may have counted zeroed, its config written last. Afterwards the generation holds what a
 * first load of c into fresh maps would. -EINVAL when c is inconsistent (a port slot or a
 * class id of another generation, see pg_class_id_gen in compile.h). Errors are printed to
 * stderr with the step.
 */
int pg_apply(const struct pg_maps *m, const struct pg_compiled *c);

/* Make gen the generation in force: one write of pg_active. */
int pg_activate(const struct pg_maps *m, __u32 gen);

#endif /* PG_GENERATION_H */
