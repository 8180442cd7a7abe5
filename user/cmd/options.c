// SPDX-License-Identifier: GPL-2.0
/* Options of run/monitor for metrics and logs. See options.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"

/* "1048576", "64K", "100M", "1G": binary multiples, as logrotate's size does. */
static int parse_size(const char *arg, __u64 *out)
{
	unsigned long long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		mult = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mult = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mult = 1ull << 30;
	else if (*end)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v > ~0ull / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int pg_ops_option(struct pg_ops_opts *o, int c, const char *arg)
{
	unsigned long v;
	char *end;

	switch (c) {
	case PG_OPT_METRICS:
		if (pg_metrics_addr_check(arg))
			return -EINVAL;
		o->metrics = arg;
		return 1;
	case PG_OPT_LOG_FILE:
		o->log.file = arg;
		return 1;
	case PG_OPT_LOG_MAX_SIZE:
		if (parse_size(arg, &o->log.max_size)) {
			fprintf(stderr, "portguard: bad --log-max-size '%s' (bytes, or with K, M, "
					"G; 0 turns rotation off)\n", arg);
			return -EINVAL;
		}
		return 1;
	case PG_OPT_LOG_KEEP:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v > 1000) {
			fprintf(stderr, "portguard: bad --log-keep '%s' (0-1000 rotated files)\n",
				arg);
			return -EINVAL;
		}
		o->log.keep = v;
		return 1;
	case PG_OPT_SYSLOG:
		o->log.syslog = true;
		return 1;
	case PG_OPT_SYSLOG_SOCKET:
		o->log.syslog = true;
		o->log.syslog_path = arg;
		return 1;
	}
	return 0;
}

int pg_ops_start(const struct pg_ops_opts *o)
{
	int err;

	err = pg_logsink_open(&o->log);
	if (err)
		return err;
	if (o->metrics) {
		err = pg_metrics_open(o->metrics);
		if (err) {
			pg_logsink_close();
			return err;
		}
	}
	return 0;
}

void pg_ops_stop(void)
{
	pg_metrics_close();
	pg_logsink_close();
}
