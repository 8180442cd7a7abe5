// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the policy parser (make fuzz). For every input:
 *   - parsing returns 0 with no errors, or -EINVAL with at least one;
 *   - every diagnostic has a place (line, column >= 1) and they come in source order;
 *   - a valid policy formats, the normalized text parses back with no error and no warning
 *     about sets, to an equal policy, and formatting that gives the same text again.
 * Any violation aborts, which libFuzzer reports as a finding.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_policy: check failed: %s (line %d)\n", #c,  \
				__LINE__);                                                \
			abort();                                                          \
		}                                                                         \
	} while (0)

static char *format(const struct pg_policy *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	CHECK(f);
	CHECK(pg_policy_format(p, f) == 0);
	CHECK(fclose(f) == 0);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_diags d = { 0 }, d2 = { 0 };
	struct pg_policy *p = NULL, *q = NULL;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	int err;

	err = pg_policy_parse("fuzz", (const char *)data, size, &p, &d);
	CHECK(err == 0 || err == -EINVAL);
	CHECK((err == 0) == (d.nerrors == 0));
	CHECK((err == 0) == (p != NULL));
	for (size_t i = 0; i < d.n; i++) {
		CHECK(d.v[i].loc.line >= 1 && d.v[i].loc.col >= 1);
		CHECK(d.v[i].msg && d.v[i].msg[0]);
		if (i)
			CHECK(d.v[i - 1].loc.line < d.v[i].loc.line ||
			      (d.v[i - 1].loc.line == d.v[i].loc.line &&
			       d.v[i - 1].loc.col <= d.v[i].loc.col));
	}
	if (p) {
		char small[24];

		for (size_t i = 0; i < p->nrules; i++) {
			int r = pg_rule_format(&p->rules[i], small, sizeof(small));

			CHECK(r == 0 || r == -ENOSPC);
			CHECK(strlen(small) < sizeof(small));
		}
		text = format(p, &len);
		err = pg_policy_parse("normalized", text, len, &q, &d2);
		if (err) {
			pg_diags_print(&d2, stderr);
			fprintf(stderr, "--- normalized text:\n%.*s", (int)len, text);
		}
		CHECK(err == 0);
		CHECK(pg_policy_equal(p, q));
		text2 = format(q, &len2);
		CHECK(len == len2 && !memcmp(text, text2, len));
	}
	free(text);
	free(text2);
	pg_policy_free(p);
	pg_policy_free(q);
	pg_diags_free(&d);
	pg_diags_free(&d2);
	return 0;
}
