// SPDX-License-Identifier: GPL-2.0
/* portguard: CLI dispatch only. Each command lives in its own file in cmd/. */
#include <stdio.h>
#include <string.h>

#include "cmd/command.h"

int pg_verbose;
static struct pg_command *commands;

void pg_command_register(struct pg_command *c)
{
	struct pg_command **p = &commands;

	while (*p && (*p)->order <= c->order)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

static void help(FILE *f)
{
	struct pg_command *c;

	fprintf(f, "usage: portguard [-v] COMMAND [ARGS]\n\n"
		   "Enforce a host's port policy in the kernel with eBPF.\n\ncommands:\n");
	for (c = commands; c; c = c->next)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nportguard COMMAND --help shows a command's arguments; see portguard(8).\n");
}

int pg_usage(const char *name)
{
	struct pg_command *c;

	for (c = commands; c; c = c->next)
		if (!strcmp(c->name, name))
			fprintf(stderr, "usage: portguard %s %s\n", c->name, c->usage);
	return 2;
}

int main(int argc, char **argv)
{
	struct pg_command *c;

	while (argc > 1 && !strcmp(argv[1], "-v")) {
		pg_verbose = 1;
		argc--;
		argv++;
	}
	if (argc < 2) {
		help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help(stdout);
		return 0;
	}
	for (c = commands; c; c = c->next) {
		if (strcmp(c->name, argv[1]))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			printf("usage: portguard %s %s\n", c->name, c->usage);
			return 0;
		}
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "portguard: unknown command '%s' (portguard help lists them)\n", argv[1]);
	return 2;
}
