/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule sources (pg_rule_meta) of the policy versions an event stream may still meet.
 *
 * An event names its rule by (gen, rule_id, version). The pinned sources of a generation are
 * rewritten by the reload after next, while the ring buffer may still hold that
 * generation's records; so the stream keeps a copy of each version's sources, taken when it
 * first sees the version (at start, and at every poll), and answers from the copy. A version
 * that came and went before the stream saw it is unknown (-ESTALE), never another's rule.
 */
#ifndef PG_RULEMETA_H
#define PG_RULEMETA_H

#include <linux/types.h>

#include "portguard.h"

struct pg_rule_cache;

/* meta_fd, config_fd: pg_rule_meta and pg_config, borrowed. NULL (errno) on failure. */
struct pg_rule_cache *pg_rule_cache_new(int meta_fd, int config_fd);
/* Copy the sources of every generation whose version is not copied yet. */
void pg_rule_cache_refresh(struct pg_rule_cache *c);
/* The source of slot rule_id of policy version (of generation gen). 0, -ENOENT (no such
 * slot), or -ESTALE (the version is gone and was never copied). version 0 (a record of an
 * older build) reads the generation's current sources. */
int pg_rule_cache_get(struct pg_rule_cache *c, __u32 gen, __u32 version, __u32 rule_id,
		      struct pg_rule_meta *out);
void pg_rule_cache_free(struct pg_rule_cache *c);

#endif /* PG_RULEMETA_H */
