/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Putting a policy in force in loaded maps: read and parse it, compile it into the idle
 * generation, seed the flow table, write, switch pg_active, record it in pg_info. Shared by
 * run (start and SIGHUP), load and reload.
 */
#ifndef PG_ENFORCE_H
#define PG_ENFORCE_H

#include <stdbool.h>

#include "kernel/generation.h"
#include "policy/policy.h"
#include "policy/sha256.h"

/* A policy as read from its file: the text is hashed as read, then parsed. */
struct pg_policy_src {
	char *path;
	char *text;
	size_t len;
	char sha256[PG_SHA256_HEX_LEN];
	struct pg_policy *p;
};

/* Read and parse path. Errors and warnings are printed to stderr as FILE:LINE:COL lines.
 * Returns 0, -EINVAL for a policy with errors, or -errno (the file, memory). */
int pg_policy_read(const char *path, struct pg_policy_src *src);
void pg_policy_src_free(struct pg_policy_src *src);

struct pg_enforce_opts {
	bool dry_run;		/* --dry-run: the whole policy in dry-run, whatever it says */
	bool no_events;		/* counters only */
	long long ratelimit_ms;	/* -1: the policy's default */
	long long events_per_sec; /* -1: the policy's default */
};

struct pg_enforced {
	__u32 gen;
	__u32 mode;   /* enum pg_mode in force */
	__u32 nrules; /* rule slots used */
	unsigned seeded; /* flows seeded from open sockets */
	long long load_ns;
};

/* Compile src into the generation not in force, seed flows, write it, activate it, and
 * record policy, hash and timing in pg_info. On failure the generation in force stays. */
int pg_enforce(const struct pg_maps *m, const struct pg_policy_src *src,
	       const struct pg_enforce_opts *o, struct pg_enforced *out);

/* Record the attach points in pg_info (the policy fields are left as they are). */
int pg_info_set_attach(const struct pg_maps *m, const char *const *ifaces, size_t nifaces,
		       const char *cgroup);

#endif /* PG_ENFORCE_H */
