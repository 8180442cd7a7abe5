/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A read-only snapshot of what is in force, from the maps pinned under the pin directory
 * alone (PIN_DIR/<map name>, as the loader pins them): no daemon needed. Shared by `status`
 * and the Prometheus exporter.
 */
#ifndef PG_SNAPSHOT_H
#define PG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "kernel/maps.h"
#include "portguard.h"

struct pg_snapshot_rule {
	__u32 slot;	 /* rule slot in the active generation */
	struct pg_rule_meta meta;
	struct pg_counter c; /* summed over CPUs; last_ns is the latest CPU's */
	__u64 last_unix_ns; /* last_ns as CLOCK_REALTIME ns, 0 if never hit */
};

struct pg_snapshot {
	struct pg_info info;
	__u32 gen;
	struct pg_config config;
	struct pg_snapshot_rule *rules; /* slots 0 .. info.nrules-1 of the active generation */
	size_t nrules;
	struct pg_counter reasons[PG_R_MAX]; /* summed over CPUs */
	__u64 events[PG_EVS_MAX];	     /* summed over CPUs */
};

/*
 * Read the pins under pin_dir (NULL: PG_PIN_DIR_DEFAULT). Returns 0, -ENOENT when nothing is
 * loaded there (no pg_info pin), or another -errno (e.g. -EPERM without CAP_BPF).
 * On failure *what names the pin that failed (a static string) when what is not NULL; it is
 * NULL when the message was printed already (a pin that is not the map this build defines).
 */
int pg_snapshot_read(const char *pin_dir, struct pg_snapshot *s, const char **what);
void pg_snapshot_free(struct pg_snapshot *s);

/* False for a slot the policy in force does not use: no source, or the `deny raw` slot of a
 * policy without `deny raw`. */
bool pg_snapshot_rule_used(const struct pg_snapshot *s, const struct pg_snapshot_rule *r);

#endif /* PG_SNAPSHOT_H */
