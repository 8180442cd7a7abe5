// SPDX-License-Identifier: GPL-2.0
/* portguard check FILE...: validate policies and print their normalized form. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/command.h"
#include "policy/compile.h"
#include "policy/policy.h"

/*
 * Each file is parsed on its own, then compiled as `load` compiles it: a policy that does not
 * fit the maps (include/portguard.h's capacity limits) is an error at the rule that overflows,
 * naming the limit, so that what check accepts, load loads.
 * Diagnostics go to stderr as they are found, file by file;
 * the normalized policy of each valid file goes to stdout, under a "# FILE" header when more
 * than one file is given. With --json the diagnostics are JSON records (stderr.h), as the unit's
 * journal wants; the normalized policy stays text. The exit code is 1 if any file has an error,
 * whatever the others.
 */
static int cmd_check(int argc, char **argv)
{
	struct pg_cmdline cl;
	int status;

	status = pg_cmdline_parse(&pg_cmd_check, argc, argv, &cl);
	if (status)
		return status;
	argc = cl.nargs + 1;
	argv = cl.args - 1;
	for (int i = 1; i < argc; i++) {
		struct pg_diags d = { 0 };
		struct pg_policy *p = NULL;
		int err;

		err = pg_policy_load(argv[i], &p, &d);
		if (!err) {
			struct pg_compiled c;

			err = pg_compile_diag(p, 1, &c, &d);
			pg_compiled_free(&c);
			if (err == -E2BIG)
				err = -EINVAL;
		}
		pg_diags_print(&d, stderr);
		if (err == -ENOMEM) {
			fprintf(stderr, "portguard: failed to check %s: %s\n", argv[i],
				strerror(ENOMEM));
			status = 1;
		} else if (err) {
			status = 1;
		} else {
			if (argc > 2)
				printf("%s# %s\n", i > 1 ? "\n" : "", argv[i]);
			err = pg_policy_format(p, stdout);
			if (err) {
				fprintf(stderr, "portguard: failed to write the policy of %s: %s\n",
					argv[i], strerror(-err));
				status = 1;
			}
		}
		pg_diags_free(&d);
		pg_policy_free(p);
	}
	if (fflush(stdout)) {
		fprintf(stderr, "portguard: failed to write to stdout: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}

static const enum pg_opt_id check_opts[] = { PG_OPT_JSON, PG_OPT_END };

const struct pg_command pg_cmd_check = {
	.name = "check",
	.args = "FILE...",
	.min_args = 1,
	.max_args = -1,
	.opts = check_opts,
	.summary = "validate policy files and print their normalized form ('-' reads stdin)",
	.run = cmd_check,
};
