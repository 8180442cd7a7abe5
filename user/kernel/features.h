/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers portguard beyond the stated minimum (5.10), probed the same
 * way by every command: `load` and `run` say at start what is missing, `status` (text and
 * --json) and the metrics (portguard_feature{feature="..."} 0/1) say it for the state in
 * force. None of them is needed to enforce a policy: without one, portguard does what
 * pg_feature_without() says, except lsm_cgroup when a policy asks for `deny raw` on a
 * cgroup, which then fails to load instead of leaving packet sockets open.
 */
#ifndef PG_FEATURES_H
#define PG_FEATURES_H

#include <stdbool.h>
#include <sys/utsname.h>

enum pg_feature {
	PG_FEAT_XDP_FRAGS,    /* XDP programs that take multi-buffer frames (xdp.frags), 5.18 */
	PG_FEAT_LSM_CGROUP,   /* per-cgroup BPF LSM programs, 6.0, and a kernel that loads them */
	PG_FEAT_TCX,	      /* tcx attachment of tc programs, 6.6 */
	PG_FEAT_MAX,
};

struct pg_features {
	char release[sizeof(((struct utsname *)0)->release)];
	bool has[PG_FEAT_MAX];
};

/* Probe the running kernel (as root: probes load tiny programs), once per process. Never
 * fails: a probe that cannot run reads as absent. */
void pg_features_probe(struct pg_features *f);
/* "xdp_frags", "lsm_cgroup", "tcx": the metric label and JSON key. */
const char *pg_feature_name(enum pg_feature feat);
/* The first kernel with it and what portguard does without it, e.g. "5.18: no multi-buffer
 * ...". */
const char *pg_feature_without(enum pg_feature feat);
/* "5.10.0-32-amd64 lacks xdp_frags (5.18: ...), ..." into buf; false when nothing
 * is missing. */
bool pg_features_missing(const struct pg_features *f, char *buf, size_t size);

#endif /* PG_FEATURES_H */
