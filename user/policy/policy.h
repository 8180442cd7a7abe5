/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy language: parse, validate, normalize. No BPF and no libbpf here, so that the
 * parser can be unit-tested and fuzzed without privileges.
 */
#ifndef PG_POLICY_H
#define PG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "portguard.h"

#define PG_PROTO_TCP (1u << PG_PIDX_TCP)
#define PG_PROTO_UDP (1u << PG_PIDX_UDP)

/* A place in a policy file: 1-based line and column. file points into the policy's own copy. */
struct pg_loc {
	const char *file;
	int line;
	int col;
};

struct pg_diag {
	struct pg_loc loc;
	bool warning;
	char *msg; /* without "error: " or the location */
};

/* Every error and warning of one parse, in source order. */
struct pg_diags {
	struct pg_diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

/* A peer: an IPv4 or IPv6 prefix over the 128-bit mapped form (IPv4 as ::ffff:a.b.c.d, its
 * prefix length plus 96). "any" is prefixlen 0 and matches both families. */
struct pg_peer {
	__u8 addr[16]; /* network order, host bits zero */
	__u8 prefixlen; /* 0..128, over the mapped form */
	bool v4;	/* written as IPv4 (prints as a.b.c.d/len) */
};

struct pg_range {
	__u16 lo, hi; /* inclusive, 1..65535 */
};

enum pg_rule_kind {
	PG_RULE_ALLOW,
	PG_RULE_DENY,
	PG_RULE_LOCAL,
};

struct pg_rule {
	enum pg_rule_kind kind;
	enum pg_dir dir;	 /* PG_DIR_IN for `local` */
	unsigned protos;	 /* PG_PROTO_* bits */
	struct pg_range *ports;	 /* sorted by lo, merged, non-overlapping */
	size_t nports;
	struct pg_peer *peers;	 /* sets expanded, sorted, deduplicated; NULL/0 means any */
	size_t npeers;
	bool log;		 /* allow ... log */
	bool dry_run;		 /* deny/local ... dry-run */
	struct pg_loc loc;	 /* the rule's first token */
};

struct pg_set {
	char *name;
	struct pg_peer *peers;
	size_t npeers;
	struct pg_loc loc;
	bool used;
};

struct pg_policy {
	char *file; /* the name given to the parser; every pg_loc.file points here */
	enum pg_mode mode;
	enum pg_default default_in;  /* PG_DEFAULT_DENY unless the policy says otherwise */
	enum pg_default default_out; /* PG_DEFAULT_ALLOW unless the policy says otherwise */
	struct pg_loc default_in_loc, default_out_loc; /* line 0 when not written */
	char **ifaces;
	size_t nifaces;
	bool deny_raw; /* `deny raw [dry-run]` */
	bool deny_raw_dry_run;
	struct pg_loc deny_raw_loc;
	struct pg_rule *rules; /* in source order */
	size_t nrules;
	struct pg_set *sets;
	size_t nsets;
};

/*
 * Parse text (len bytes, need not be NUL-terminated) named file. Every error and warning is
 * appended to d. Returns 0 and sets *out when there are no errors; otherwise -EINVAL and *out
 * is NULL. -ENOMEM on allocation failure.
 */
int pg_policy_parse(const char *file, const char *text, size_t len, struct pg_policy **out,
		    struct pg_diags *d);
/* Read path and parse it. A file that cannot be read is one error at path:0:0. */
int pg_policy_load(const char *path, struct pg_policy **out, struct pg_diags *d);

/* A policy file larger than this is refused: a 10,000-rule policy is about 400 KiB, so this
 * is far beyond any real policy and keeps a mistaken path (a disk image) from being read
 * into memory. */
#define PG_POLICY_MAX_BYTES (64u << 20)
/* pg_policy_read_text's error for a path that is not a regular file (a FIFO, a device). */
#define PG_POLICY_ENOTREG 4096
/* Read a whole policy file (path, or "-" for stdin) into a NUL-terminated malloc'd buffer:
 * regular files only, at most PG_POLICY_MAX_BYTES. Returns 0, -EFBIG, -PG_POLICY_ENOTREG or
 * -errno; pg_policy_read_strerror() says it in words. */
int pg_policy_read_text(const char *path, char **text, size_t *len);
const char *pg_policy_read_strerror(int err);
void pg_policy_free(struct pg_policy *p);

/* Write the normalized policy: one line per effective rule, ports as ranges, sets expanded.
 * The output parses back to an equal policy. */
int pg_policy_format(const struct pg_policy *p, FILE *f);
/* One rule, normalized, into buf (always NUL-terminated). Returns 0 or -ENOSPC. */
int pg_rule_format(const struct pg_rule *r, char *buf, size_t size);
/* One peer as written in a policy: "any", "198.18.0.0/15", "2001:db8::1". */
void pg_peer_format(const struct pg_peer *peer, char *buf, size_t size);

/* Two policies say the same thing: mode, defaults, interfaces, deny raw and the rules in
 * order, compared field by field. Source places and set definitions are not compared (the
 * normalized form expands sets). */
bool pg_policy_equal(const struct pg_policy *a, const struct pg_policy *b);

/* Append one diagnostic at loc (the file name is copied). Returns 0 or -ENOMEM. */
int pg_diag_add(struct pg_diags *d, const struct pg_loc *loc, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: error: msg" (or warning), one per line, in order. A diagnostic about the
 * whole file (line 0, e.g. it cannot be read) prints as "FILE: error: msg". */
void pg_diags_print(const struct pg_diags *d, FILE *f);
void pg_diags_free(struct pg_diags *d);

#endif /* PG_POLICY_H */
