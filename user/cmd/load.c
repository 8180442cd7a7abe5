// SPDX-License-Identifier: GPL-2.0
/*
 * `portguard load POLICY`: persistent enforcement without a running process. Safe to run
 * twice: a second load takes the pinned state over. It serialises with unload, reload and
 * monitor on a lock of the pin directory.
 */
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

static void print_ifaces(const char *const *ifaces, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? "," : "", ifaces[i]);
	if (!n)
		fprintf(stderr, "no interface (inbound enforcement off)");
}

static int cmd_load(int argc, char **argv)
{
	struct pg_cmdline cl;
	struct pg_up_opts o;
	struct pg_up up;
	int r;

	r = pg_cmdline_parse(&pg_cmd_load, argc, argv, &cl);
	if (r)
		return r;
	o = cl.up;
	o.policy = cl.args[0];
	pg_libbpf_setup(pg_verbose);
	signal(SIGPIPE, SIG_IGN);
	if (pg_up(&o, &up))
		return 1;
	fprintf(stderr, "portguard: %s %s (%s, %u rule slots) on ", up.l.takeover ? "replaced the "
		"policy in force with" : "loaded", up.src.path, up.enforced.mode ? "dry-run" :
		"enforce", up.enforced.nrules);
	print_ifaces(up.ifaces, up.nifaces);
	fprintf(stderr, ", socket hooks %s%s; pinned at %s\n", up.cgroup[0] ? "on " : "off",
		up.cgroup, up.pin_dir);
	pg_up_close(&up);
	return 0;
}

static const enum pg_opt_id load_opts[] = { PG_OPTS_UP, PG_OPT_END };

const struct pg_command pg_cmd_load = {
	.name = "load",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = load_opts,
	.summary = "enforce a policy, pinned, and exit (persistent enforcement)",
	.run = cmd_load,
};
