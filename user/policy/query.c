// SPDX-License-Identifier: GPL-2.0
/* Parsing an `explain` query (see query.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "policy/evaluate.h"
#include "policy/query.h"

static int parse_port(const char *s, __u16 *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

int pg_query_parse(char *const w[4], struct pg_query *q, char *err, size_t errsize)
{
	q->dir_s = w[0];
	q->proto_s = w[1];
	q->peer_s = w[2];
	if (!strcmp(w[0], "in")) {
		q->dir = PG_DIR_IN;
	} else if (!strcmp(w[0], "out")) {
		q->dir = PG_DIR_OUT;
	} else {
		snprintf(err, errsize, "direction '%s' is neither in nor out", w[0]);
		return -EINVAL;
	}
	if (!strcmp(w[1], "tcp")) {
		q->pidx = PG_PIDX_TCP;
	} else if (!strcmp(w[1], "udp")) {
		q->pidx = PG_PIDX_UDP;
	} else {
		snprintf(err, errsize, "protocol '%s' is neither tcp nor udp", w[1]);
		return -EINVAL;
	}
	if (pg_addr_parse(w[2], q->addr)) {
		snprintf(err, errsize, "peer '%s' is not an IPv4 or IPv6 address", w[2]);
		return -EINVAL;
	}
	if (parse_port(w[3], &q->port)) {
		snprintf(err, errsize, "port '%s' out of range (1-65535)", w[3]);
		return -EINVAL;
	}
	return 0;
}

int pg_query_parse_line(char *line, struct pg_query *q, char *err, size_t errsize)
{
	char *w[5], *save;
	int nw = 0;

	line[strcspn(line, "#\n")] = '\0';
	for (char *t = strtok_r(line, " \t\r", &save); t && nw < 5; t = strtok_r(NULL, " \t\r", &save))
		w[nw++] = t;
	if (!nw)
		return 1;
	if (nw != 4) {
		snprintf(err, errsize, "want DIRECTION PROTO PEER PORT");
		return -EINVAL;
	}
	return pg_query_parse(w, q, err, errsize);
}
