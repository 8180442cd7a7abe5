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
#include "cmd/options.h"
#include "common/util.h"
#include "kernel/bringup.h"

static const struct option load_opts[] = {
	{ "iface", required_argument, NULL, 'i' },
	{ "cgroup", required_argument, NULL, 'c' },
	{ "no-cgroup", no_argument, NULL, 'C' },
	{ "pin-dir", required_argument, NULL, 'p' },
	{ "xdp-mode", required_argument, NULL, 'x' },
	{ "dry-run", no_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ 0 },
};

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
	struct pg_up_opts o = { .enforce = { .ratelimit_ms = -1, .events_per_sec = -1 } };
	struct pg_up up;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", load_opts, NULL)) != -1) {
		r = pg_up_option(&o, opt, optarg);
		if (r == 2)
			return 2;
		if (r == 1)
			continue;
		if (opt == 'd')
			o.enforce.dry_run = true;
		else
			return pg_usage(argv[0]);
	}
	if (optind != argc - 1 || (o.cgroup && o.no_cgroup))
		return pg_usage(argv[0]);
	o.policy = argv[optind];
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

PG_COMMAND(load, 30,
	   "POLICY [--iface IF]... [--cgroup DIR | --no-cgroup] [--dry-run] [--pin-dir DIR] "
	   "[--xdp-mode native|skb]",
	   "enforce a policy, pinned, and exit (persistent enforcement)", cmd_load)
