/* SPDX-License-Identifier: GPL-2.0 */
/* The shipped policies, read from the checkout (tests/../policy) for the parser's tests. */
#ifndef PG_SHIPPED_POLICY_H
#define PG_SHIPPED_POLICY_H

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

/* The text of policy/NAME, NUL-terminated, at most 1 MiB; NULL if it cannot be opened. */
static inline char *shipped_policy_read(const char *name, size_t *len)
{
	const char *tests = getenv("PG_TESTS");
	char path[4096];
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../policy/%s", tests ? tests : "tests", name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (!buf)
		exit(PG_EXIT_FAIL);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

#endif /* PG_SHIPPED_POLICY_H */
