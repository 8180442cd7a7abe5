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
#include "policy/compile.h"
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
	/* --flow-timeouts, ns; 0: the default (compile.h) */
	__u64 flow_tcp_idle_ns, flow_tcp_fin_ns, flow_tcp_rst_ns, flow_udp_idle_ns;
};

/* Parse --flow-timeouts "tcp=5d,tcp-fin=2m,tcp-rst=10s,udp=2m" (any subset; a duration is a
 * number with ms, s, m, h or d, seconds without) into o. 0 or -EINVAL (printed). */
int pg_flow_timeouts_parse(const char *arg, struct pg_enforce_opts *o);

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

/*
 * pg_enforce() in steps, for a caller with work to overlap between them (bring-up compiles
 * while it creates the maps, and writes the idle generation while the XDP program is still
 * being verified). compile compiles src for generation gen, printing what the compiler says;
 * stage compiles (unless s holds a compile for the idle generation already: zero s before
 * the first step), seeds and writes the idle generation, which nothing reads yet; commit
 * switches to it and records it. A staged generation that is never committed changes nothing
 * in force: free it. Each step frees s on failure; commit frees it always.
 */
struct pg_staged {
	struct pg_compiled c;
	bool compiled;
	unsigned seeded;
	long long t0;
};
int pg_enforce_compile(const struct pg_policy_src *src, __u32 gen, struct pg_staged *s);
int pg_enforce_stage(const struct pg_maps *m, const struct pg_policy_src *src,
		     const struct pg_enforce_opts *o, struct pg_staged *s);
int pg_enforce_commit(const struct pg_maps *m, const struct pg_policy_src *src,
		      struct pg_staged *s, struct pg_enforced *out);
void pg_staged_free(struct pg_staged *s);

/* Record the attach points in pg_info (the policy fields are left as they are): each
 * interface's name, ifindex (0: awaited) and enum pg_ifmode, the cgroup, the flow table's
 * size. */
int pg_info_set_attach(const struct pg_maps *m, const char *const *ifaces, const int *ifindex,
		       const __u8 *mode, size_t nifaces, const char *cgroup, __u32 max_flows);
/* Count an awaited interface that appeared and was attached, or one that went. */
int pg_info_count_iface(const struct pg_maps *m, bool appeared);

#endif /* PG_ENFORCE_H */
