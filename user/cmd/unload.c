// SPDX-License-Identifier: GPL-2.0
/* `portguard unload`: detach and unpin everything portguard loaded at the pin directory. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd/command.h"
#include "common/util.h"
#include "kernel/bringup.h"

static int cmd_unload(int argc, char **argv)
{
	struct pg_cmdline cl;
	const char *dir = cl.pin_dir;
	int lock, r;

	r = pg_cmdline_parse(&pg_cmd_unload, argc, argv, &cl);
	if (r)
		return r;
	pg_libbpf_setup(pg_verbose);
	lock = pg_lock(dir);
	if (lock == -ENOENT) {
		printf("portguard: nothing loaded at %s\n", dir);
		pg_unlock(lock);
		return 0;
	}
	if (lock < 0)
		return 1;
	r = pg_detach_all(dir);
	pg_unlock(lock);
	if (r < 0)
		return 1;
	if (!r)
		printf("portguard: nothing loaded at %s\n", dir);
	else
		printf("portguard: unloaded: every program detached and every pin removed at %s\n",
		       dir);
	return 0;
}

static const enum pg_opt_id unload_opts[] = { PG_OPT_PIN_DIR, PG_OPT_END };

const struct pg_command pg_cmd_unload = {
	.name = "unload",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.opts = unload_opts,
	.summary = "remove everything portguard attached and pinned, and only that",
	.run = cmd_unload,
};
