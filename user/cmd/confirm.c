// SPDX-License-Identifier: GPL-2.0
/* `portguard confirm`: keep the change `reload --confirm` made; it is not rolled back. */
#include <stdio.h>

#include "cmd/command.h"
#include "cmd/options.h"
#include "kernel/confirm.h"
#include "output/stderr.h"

static int cmd_confirm(int argc, char **argv)
{
	struct pg_cmdline cl;
	struct pg_pending p;
	int r;

	r = pg_cmdline_parse(&pg_cmd_confirm, argc, argv, &cl);
	if (r)
		return r;
	if (pg_change_confirm(cl.pin_dir, &p))
		return 1;
	pg_notice("portguard: confirmed: %s (sha256 %.12s) stays in force at %s\n",
		  p.new_info.policy, p.new_info.sha256, cl.pin_dir);
	return 0;
}

static const enum pg_opt_id confirm_opts[] = { PG_OPT_PIN_DIR, PG_OPT_END };

const struct pg_command pg_cmd_confirm = {
	.name = "confirm",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.opts = confirm_opts,
	.summary = "keep the change of a reload --confirm (else it is rolled back)",
	.run = cmd_confirm,
};
