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
#ifndef PG_APPLY_H
#define PG_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "portguard.h"

struct bpf_object;
struct pg_compiled;

/* Every map of bpf/maps.bpf.h. pg_map_names[] holds their names, which are also their pin
 * names under the pin directory. */
enum pg_map_id {
	PG_MAP_ACTIVE,
	PG_MAP_CONFIG,
	PG_MAP_PORTS,
	PG_MAP_PEERS,
	PG_MAP_RULE_STATS,
	PG_MAP_REASON_STATS,
	PG_MAP_EVENT_STATS,
	PG_MAP_FLOWS,
	PG_MAP_FRAGS,
	PG_MAP_RATELIMIT,
	PG_MAP_BUDGET,
	PG_MAP_EVENTS,
	PG_MAP_RULE_META,
	PG_MAP_INFO,
	PG_MAP_FLOW_STATS,
	PG_MAP_NR,
};

extern const char *const pg_map_names[PG_MAP_NR];

struct pg_maps {
	int fd[PG_MAP_NR]; /* -1 when not open */
	bool owned;	   /* opened from pins: pg_maps_close() closes them */
};

/* Borrow the fds of a loaded object's maps (a skeleton's skel->obj). They stay the object's:
 * pg_maps_close() does not close them. -ENOENT names the missing map on stderr. */
int pg_maps_from_object(struct pg_maps *m, const struct bpf_object *obj);
/* Open every map pinned under dir by its name. On failure nothing stays open. */
int pg_maps_from_pins(struct pg_maps *m, const char *dir);
/* Close owned fds; every fd becomes -1. Safe on a zeroed or already-closed struct. */
void pg_maps_close(struct pg_maps *m);

/* The generation in force. */
int pg_active_gen(const struct pg_maps *m, __u32 *gen);

/* The generation a reload writes. */
static inline __u32 pg_other_gen(__u32 gen)
{
	return (gen + 1) % PG_NGEN;
}

/*
 * Write c into generation c->gen, which must not be the active one (-EBUSY): its stale
 * peer entries are deleted, every one of its port slots is written (a port no rule covers
 * gets class 0), the peer entries inserted, its rule counters zeroed, its rule sources and
 * its config written. -EINVAL when c is inconsistent (a port slot or a class id of another
 * generation, see pg_class_id_gen in compile.h). Errors are printed to stderr with the step.
 */
int pg_apply(const struct pg_maps *m, const struct pg_compiled *c);

/* Make gen the generation in force: one write of pg_active. */
int pg_activate(const struct pg_maps *m, __u32 gen);

/* Sum a per-CPU counter (pg_rule_stats or pg_reason_stats) over the CPUs; last_ns is the
 * latest of them. */
int pg_counter_read(int fd, __u32 key, struct pg_counter *sum);

#endif /* PG_APPLY_H */
