/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One piece of traffic to decide, as `explain` takes it: DIRECTION PROTO PEER PORT, e.g.
 * "in tcp 203.0.113.7 5432". No libbpf; fuzzed by tests/fuzz_explain.c.
 */
#ifndef PG_QUERY_H
#define PG_QUERY_H

#include <stddef.h>

#include "policy/policy.h"

struct pg_query {
	enum pg_dir dir;
	enum pg_proto_idx pidx;
	__u8 addr[16]; /* the peer, IPv4 mapped as ::ffff:a.b.c.d, network order */
	__u16 port;    /* this host's for `in`, the remote one for `out` */
	const char *dir_s, *proto_s, *peer_s; /* the words as given, for the output */
};

/* The four words w[0..3]. Returns 0, or -EINVAL with why in err ("port '0' out of range
 * (1-65535)"). q's strings point into w. */
int pg_query_parse(char *const w[4], struct pg_query *q, char *err, size_t errsize);

/* One line of `explain POLICY -`: blank and # comment lines are no query (returns 1); else
 * the line is split in place into words and parsed (0, or -EINVAL with why in err). */
int pg_query_parse_line(char *line, struct pg_query *q, char *err, size_t errsize);

#endif /* PG_QUERY_H */
