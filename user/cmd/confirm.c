// SPDX-License-Identifier: GPL-2.0
/* `portguard confirm`: keep the change `reload --confirm` made; it is not rolled back. */
#include <limits.h>
#include <stdio.h>

#include "cmd/command.h"
#include "cmd/pinned.h"
#include "kernel/confirm.h"

static int cmd_confirm(int argc, char **argv)
{
	struct pg_pending p;
	char dir[PATH_MAX];
	int r;

	r = pg_pin_dir_arg(argc, argv, 0, NULL, NULL, dir, sizeof(dir));
	if (r)
		return r;
	if (pg_change_confirm(dir, &p))
		return 1;
	fprintf(stderr, "portguard: confirmed: %s (sha256 %.12s) stays in force at %s\n",
		p.new_info.policy, p.new_info.sha256, dir);
	return 0;
}

PG_COMMAND(confirm, 34, "[--pin-dir DIR]",
	   "keep the change of a reload --confirm (else it is rolled back)", cmd_confirm)
