/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommands register themselves with PG_COMMAND() in their own file, so that main.c is
 * only dispatch and adding a command touches no other file.
 */
#ifndef PG_COMMAND_H
#define PG_COMMAND_H

struct pg_command {
	const char *name;
	const char *usage;   /* arguments, after the name */
	const char *summary; /* one line for `portguard help` */
	int order;	     /* position in the help listing */
	/* argv[0] is the command name; returns the process exit code: 0 ok, 1 failure, 2 usage */
	int (*run)(int argc, char **argv);
	struct pg_command *next;
};

void pg_command_register(struct pg_command *c);

#define PG_COMMAND(id, ord, use, sum, fn)                                                \
	static struct pg_command pg_cmd_##id = {                                         \
		.name = #id, .usage = use, .summary = sum, .order = ord, .run = fn,       \
	};                                                                               \
	__attribute__((constructor)) static void pg_cmd_reg_##id(void)                   \
	{                                                                                \
		pg_command_register(&pg_cmd_##id);                                        \
	}

/* -v on the command line: libbpf's own messages are shown. */
extern int pg_verbose;

/* Print "usage: portguard NAME USAGE" for the command to stderr; returns 2. */
int pg_usage(const char *name);

#endif /* PG_COMMAND_H */
