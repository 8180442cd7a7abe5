/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A subcommand: its name, arguments, options and entry point. Each command defines its
 * struct pg_command in its own file (cmd/NAME.c); main.c lists them in one static table, as
 * bpftool's cmds[] does.
 */
#ifndef PG_COMMAND_H
#define PG_COMMAND_H

#include "cmd/options.h"

struct pg_command {
	const char *name;
	const char *args;	    /* the positional arguments, for the usage line */
	int min_args, max_args;	    /* how many positional arguments; max -1: any number */
	const enum pg_opt_id *opts; /* the options it takes, PG_OPT_END-terminated */
	const char *summary;	    /* one line for `portguard help` */
	/* argv[0] is the command name; returns the process exit code: 0 ok, 1 failure, 2 usage */
	int (*run)(int argc, char **argv);
};

extern const struct pg_command pg_cmd_check, pg_cmd_run, pg_cmd_load, pg_cmd_unload,
	pg_cmd_reload, pg_cmd_monitor, pg_cmd_status, pg_cmd_explain, pg_cmd_audit;

/* -v on the command line: libbpf's own messages are shown. */
extern int pg_verbose;

#endif /* PG_COMMAND_H */
