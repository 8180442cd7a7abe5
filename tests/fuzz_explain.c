// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the `explain` query parser (make fuzz). For every input line:
 *   - it is no query (blank or comment), a query, or an error with a reason;
 *   - a query's fields are in range, and the query written back in canonical form
 *     (inet_ntop, decimal port) parses again to the same query.
 * Any violation aborts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/query.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_explain: check failed: %s (line %d)\n", #c, \
				__LINE__);                                                \
			abort();                                                          \
		}                                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), again[128], addr[INET6_ADDRSTRLEN], why[160] = "";
	struct pg_query q, q2;
	int r;

	CHECK(line);
	memcpy(line, data, size);
	line[size] = '\0'; /* the parser sees a C string, as getline gives it */
	r = pg_query_parse_line(line, &q, why, sizeof(why));
	CHECK(r == 0 || r == 1 || r == -EINVAL);
	if (r == -EINVAL)
		CHECK(why[0] && strlen(why) < sizeof(why));
	if (r == 0) {
		CHECK(q.dir == PG_DIR_IN || q.dir == PG_DIR_OUT);
		CHECK(q.pidx == PG_PIDX_TCP || q.pidx == PG_PIDX_UDP);
		CHECK(q.port >= 1);
		CHECK(inet_ntop(AF_INET6, q.addr, addr, sizeof(addr)));
		snprintf(again, sizeof(again), "%s %s %s %u", q.dir == PG_DIR_IN ? "in" : "out",
			 q.pidx == PG_PIDX_TCP ? "tcp" : "udp", addr, q.port);
		CHECK(pg_query_parse_line(again, &q2, why, sizeof(why)) == 0);
		CHECK(q.dir == q2.dir && q.pidx == q2.pidx && q.port == q2.port);
		CHECK(!memcmp(q.addr, q2.addr, 16));
	}
	free(line);
	return 0;
}
