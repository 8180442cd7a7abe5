// SPDX-License-Identifier: GPL-2.0
/* See json.h. */
#include <time.h>

#include "output/json.h"

void pg_ops_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void pg_ops_rfc3339(__u64 unix_ns, char *buf, size_t size)
{
	time_t sec = (time_t)(unix_ns / 1000000000ull);
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06lluZ", base, (unsigned long long)(unix_ns % 1000000000ull) / 1000);
}
