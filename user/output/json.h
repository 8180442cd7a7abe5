/* SPDX-License-Identifier: GPL-2.0 */
/* Small formatting helpers shared by the operations commands (status, audit, metrics, logs). */
#ifndef PG_JSON_H
#define PG_JSON_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

/* s as a JSON string, quotes included. */
void pg_ops_json_str(FILE *f, const char *s);
/* CLOCK_REALTIME ns as RFC 3339 UTC with microseconds: "2026-11-29T21:30:00.123456Z". */
void pg_ops_rfc3339(__u64 unix_ns, char *buf, size_t size);

#endif /* PG_JSON_H */
