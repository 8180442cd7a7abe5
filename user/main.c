// SPDX-License-Identifier: GPL-2.0
/* portguard: CLI dispatch only, from one static table. Each command lives in cmd/NAME.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/command.h"
#include "output/stderr.h"

int pg_verbose;

static const struct pg_command *const cmds[] = {
	&pg_cmd_check,	&pg_cmd_run,	 &pg_cmd_load,	  &pg_cmd_unload, &pg_cmd_reload, &pg_cmd_confirm,
	&pg_cmd_monitor, &pg_cmd_status, &pg_cmd_explain, &pg_cmd_audit,
};

static void help(FILE *f)
{
	fprintf(f, "usage: portguard [-v] COMMAND [ARGS]\n\n"
		   "Enforce a host's port policy in the kernel with eBPF.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "\nportguard COMMAND --help shows a command's arguments; see portguard(8).\n");
}

/* With fd 0, 1 or 2 closed at start, the next file opened would take its number: a log file
 * at fd 1 would get the text stream, a socket at fd 2 the error messages. /dev/null holds
 * them. */
static void std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(1); /* nowhere to say it */
	}
}

int main(int argc, char **argv)
{
	std_fds_open();
	/* Every diagnostic a line of ours (rendered for the journal, JSON with --json); if
	 * that fails, stderr stays as it was, which only loses the rendering. */
	pg_stderr_open();
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
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const struct pg_command *c = cmds[i];

		if (strcmp(c->name, argv[1]))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			pg_usage_print(c, stdout);
			return 0;
		}
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "portguard: unknown command '%s' (portguard help lists them)\n", argv[1]);
	return 2;
}
