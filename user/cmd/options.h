/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The operations options that `run` and `monitor` share: metrics and log sinks. The loader's
 * commands add PG_OPS_LONG_OPTIONS to their getopt_long table and hand every option they do
 * not know to pg_ops_option():
 *
 *   static const struct option opts[] = {
 *           { "json", no_argument, NULL, 'j' },
 *           ...
 *           PG_OPS_LONG_OPTIONS,
 *           {},
 *   };
 *   struct pg_ops_opts ops = PG_OPS_OPTS_INIT;
 *   ...
 *   default:
 *           err = pg_ops_option(&ops, c, optarg);
 *           if (err == 0)
 *                   return pg_usage("run");       // not ours either
 *           if (err < 0)
 *                   return 2;                      // ours, invalid; the message is printed
 *   ...
 *   err = pg_ops_start(&ops);     // after the pins exist; opens log sinks and the listener
 *   ... event loop: poll pg_metrics_fd() (see metrics.h), pg_logsink_write(json) per record
 *   pg_ops_stop();                // at exit, on every path
 *
 * Usage text for the commands: PG_OPS_USAGE.
 */
#ifndef PG_OPTIONS_H
#define PG_OPTIONS_H

#include <getopt.h>

#include "output/logsink.h"
#include "output/metrics.h"

enum {
	PG_OPT_METRICS = 0x1000,
	PG_OPT_LOG_FILE,
	PG_OPT_LOG_MAX_SIZE,
	PG_OPT_LOG_KEEP,
	PG_OPT_SYSLOG,
	PG_OPT_SYSLOG_SOCKET,
};

#define PG_OPS_LONG_OPTIONS                                                              \
	{ "metrics", required_argument, NULL, PG_OPT_METRICS },                          \
	{ "log-file", required_argument, NULL, PG_OPT_LOG_FILE },                        \
	{ "log-max-size", required_argument, NULL, PG_OPT_LOG_MAX_SIZE },                \
	{ "log-keep", required_argument, NULL, PG_OPT_LOG_KEEP },                        \
	{ "syslog", no_argument, NULL, PG_OPT_SYSLOG },                                  \
	{ "syslog-socket", required_argument, NULL, PG_OPT_SYSLOG_SOCKET }

#define PG_OPS_USAGE                                                                     \
	"[--metrics ADDR:PORT] [--log-file PATH [--log-max-size BYTES] [--log-keep N]] "   \
	"[--syslog [--syslog-socket PATH]]"

struct pg_ops_opts {
	const char *metrics; /* --metrics ADDR:PORT, or NULL */
	struct pg_logsink_opts log;
};

#define PG_OPS_OPTS_INIT                                                                 \
	{ .log = { .max_size = PG_LOG_DEFAULT_MAX_SIZE, .keep = PG_LOG_DEFAULT_KEEP } }

/* Returns 1 if c was one of PG_OPS_LONG_OPTIONS and arg is valid, -EINVAL (message printed)
 * if it was ours but invalid, 0 if it is not ours. */
int pg_ops_option(struct pg_ops_opts *o, int c, const char *arg);
/* Open what the options ask for. Returns 0 or -errno (message printed). */
int pg_ops_start(const struct pg_ops_opts *o);
void pg_ops_stop(void);

#endif /* PG_OPTIONS_H */
