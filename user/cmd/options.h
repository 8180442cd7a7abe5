/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every option of every command, defined once: its name, its argument, how its value is
 * checked, and where it goes (one struct pg_cmdline). A command lists the options it takes
 * (struct pg_command.opts); pg_cmdline_parse() builds getopt_long's table and the usage line
 * from that list, so an option a command does not list is an error (exit 2), and usage text
 * cannot drift from what is parsed. Values are checked here, while parsing: a command line
 * that cannot be used fails before anything touches the kernel.
 *
 *	struct pg_cmdline cl;
 *	int r = pg_cmdline_parse(&pg_cmd_run, argc, argv, &cl);	// 0, or the exit code (2)
 *	if (r)
 *		return r;
 *	... cl.up (bring-up), cl.ops (metrics and logs), cl.json, cl.args[0] ...
 *	err = pg_ops_start(&cl.ops);	// before the kernel: opens log sinks and the listener
 *	... event loop: poll pg_metrics_fd() (see metrics.h), pg_logsink_write(json) per record
 *	pg_ops_stop();			// at exit, on every path
 */
#ifndef PG_OPTIONS_H
#define PG_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "kernel/bringup.h"
#include "output/logsink.h"
#include "output/metrics.h"

enum pg_opt_id {
	PG_OPT_END = 0, /* ends a command's list */
	PG_OPT_IFACE = 0x100,
	PG_OPT_CGROUP,
	PG_OPT_NO_CGROUP,
	PG_OPT_PIN_DIR,
	PG_OPT_XDP_MODE,
	PG_OPT_DRY_RUN,
	PG_OPT_JSON,
	PG_OPT_PROMETHEUS,
	PG_OPT_KEEP,
	PG_OPT_RATE_WINDOW,
	PG_OPT_RATE_LIMIT,
	PG_OPT_NO_EVENTS,
	PG_OPT_METRICS,
	PG_OPT_LOG_FILE,
	PG_OPT_LOG_MAX_SIZE,
	PG_OPT_LOG_KEEP,
	PG_OPT_SYSLOG,
	PG_OPT_SYSLOG_SOCKET,
	PG_OPT_MAX,
};

/* The metrics and log sink options run and monitor share. */
#define PG_OPTS_OPS                                                                      \
	PG_OPT_METRICS, PG_OPT_LOG_FILE, PG_OPT_LOG_MAX_SIZE, PG_OPT_LOG_KEEP, PG_OPT_SYSLOG, \
		PG_OPT_SYSLOG_SOCKET
/* The bring-up options run and load share. */
#define PG_OPTS_UP                                                                       \
	PG_OPT_IFACE, PG_OPT_CGROUP, PG_OPT_NO_CGROUP, PG_OPT_PIN_DIR, PG_OPT_XDP_MODE,  \
		PG_OPT_DRY_RUN

struct pg_ops_opts {
	const char *metrics; /* --metrics ADDR:PORT, or NULL */
	struct pg_logsink_opts log;
};

/* Everything a command line can say. */
struct pg_cmdline {
	struct pg_up_opts up;	/* --iface ... --dry-run --rate-* --no-events; up.pin_dir too */
	struct pg_ops_opts ops; /* --metrics, --log-*, --syslog* */
	bool json, prometheus, keep;
	char pin_dir[PATH_MAX]; /* --pin-dir (or the default), absolute */
	char **args;		/* the positional arguments */
	int nargs;
};

struct pg_command;

/* Parse argv (argv[0] is the command's name) for command c. Returns 0, or the exit code 2
 * after printing what is wrong and the usage. */
int pg_cmdline_parse(const struct pg_command *c, int argc, char **argv, struct pg_cmdline *cl);
/* "usage: portguard NAME ARGS [--opt ARG]...", from c's option list. */
void pg_usage_print(const struct pg_command *c, FILE *f);

/* Open what the options ask for. Returns 0 or -errno (message printed). */
int pg_ops_start(const struct pg_ops_opts *o);
void pg_ops_stop(void);

#endif /* PG_OPTIONS_H */
