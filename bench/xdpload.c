// SPDX-License-Identifier: GPL-2.0
/*
 * xdpload: attach one receiver of the drop-rate benchmark to an interface, in native
 * (driver) mode, and exit. The attachment is the netlink kind: it stays after exit and is
 * removed with `ip link set dev IF xdp off` (or --detach), and its maps live as long as it.
 *
 *   xdpload --dev IF --prog floor|pass|xdp-filter|portguard [--rules N]
 *           [--xdp-filter OBJ] [--events on|off] [--blocked-udp PORT]
 *   xdpload --dev IF --detach
 *   xdpload --policy N      print the synthetic policy of N rules and exit
 *   xdpload --load-time N [--rounds K]
 *                           time portguard's parse, compile and map writes of the N-rule
 *                           policy: the first load, then K reloads (alternate generations),
 *                           one line each: "load|reload parse=S compile=S apply=S total=S"
 *
 * xdp-filter and portguard get the synthetic policy of --rules rules (bench/pgglue.c); both
 * drop UDP to any port it does not allow.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "pass.skel.h"
#include "pgglue.h"
#include "xdpfilt.h"

static void print_times(const char *what, const struct pgg_times *t)
{
	printf("%s parse=%.6f compile=%.6f apply=%.6f total=%.6f\n", what, t->parse, t->compile,
	       t->apply, t->parse + t->compile + t->apply);
}

static int time_loads(unsigned long nrules, unsigned long rounds)
{
	struct pgg_times t = {};
	struct pgg *g = NULL;
	unsigned long i;
	int err;
	size_t len;
	char *text;

	libbpf_set_print(bench_libbpf_print);
	text = pgg_policy_text(nrules, &len);
	if (!text)
		return 1;
	err = pgg_open("bench.policy", text, len, &t, &g);
	if (!err)
		print_times("load", &t);
	for (i = 0; !err && i < rounds; i++) {
		err = pgg_reload(g, text, len, &t);
		if (!err)
			print_times("reload", &t);
	}
	if (err)
		fprintf(stderr, "xdpload: failed to time loads of %lu rules: %s\n", nrules,
			strerror(-err));
	pgg_close(g);
	free(text);
	return err ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xdpload --dev IF --prog floor|pass|xdp-filter|portguard "
			"[--rules N] [--xdp-filter OBJ] [--events on|off]\n"
			"       xdpload --dev IF --detach\n"
			"       xdpload --policy N\n"
			"       xdpload --load-time N [--rounds K]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "prog", required_argument, NULL, 'p' },
		{ "rules", required_argument, NULL, 'r' },
		{ "xdp-filter", required_argument, NULL, 'x' },
		{ "events", required_argument, NULL, 'e' },
		{ "detach", no_argument, NULL, 'D' },
		{ "policy", required_argument, NULL, 'P' },
		{ "load-time", required_argument, NULL, 'L' },
		{ "rounds", required_argument, NULL, 'k' },
		{},
	};
	const char *dev = NULL, *prog = NULL, *xf_path = NULL;
	unsigned long rules = 10, policy = 0, load_time = 0, rounds = 5;
	int opt, err = 1, detach = 0, events = 1, fd = -1, ifindex;
	struct floor_bpf *floor = NULL;
	struct pass_bpf *pass = NULL;
	struct pgg *pg = NULL;
	struct xf *xf = NULL;
	char *text = NULL, *end;
	size_t len;
	unsigned int i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 'p': prog = optarg; break;
		case 'x': xf_path = optarg; break;
		case 'D': detach = 1; break;
		case 'e':
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				usage();
				return 2;
			}
			events = !strcmp(optarg, "on");
			break;
		case 'k':
			errno = 0;
			rounds = strtoul(optarg, &end, 10);
			if (errno || *end || !rounds || rounds > 100) {
				fprintf(stderr, "xdpload: bad --rounds '%s' (1-100)\n", optarg);
				return 2;
			}
			break;
		case 'r':
		case 'P':
		case 'L':
			errno = 0;
			*(opt == 'r' ? &rules : opt == 'P' ? &policy : &load_time) =
				strtoul(optarg, &end, 10);
			if (errno || *end || !strtoul(optarg, NULL, 10) ||
			    strtoul(optarg, NULL, 10) > PGG_MAX_RULES) {
				fprintf(stderr, "xdpload: bad rule count '%s' (1-%d)\n", optarg,
					PGG_MAX_RULES);
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (policy) {
		text = pgg_policy_text(policy, &len);
		if (!text || fwrite(text, 1, len, stdout) != len) {
			fprintf(stderr, "xdpload: failed to write the policy: %s\n", strerror(errno));
			return 1;
		}
		free(text);
		return 0;
	}
	if (load_time)
		return time_loads(load_time, rounds);
	if (!dev || (!prog && !detach)) {
		usage();
		return 2;
	}
	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "xdpload: failed to find interface %s: %s\n", dev, strerror(errno));
		return 1;
	}
	libbpf_set_print(bench_libbpf_print);
	if (detach) {
		err = bpf_xdp_detach(ifindex, 0, NULL);
		if (err)
			fprintf(stderr, "xdpload: failed to detach XDP from %s: %s\n", dev,
				strerror(-err));
		return err ? 1 : 0;
	}

	if (!strcmp(prog, "floor")) {
		floor = floor_bpf__open_and_load();
		if (floor)
			fd = bpf_program__fd(floor->progs.bench_floor);
	} else if (!strcmp(prog, "pass")) {
		pass = pass_bpf__open_and_load();
		if (pass)
			fd = bpf_program__fd(pass->progs.bench_pass);
	} else if (!strcmp(prog, "xdp-filter")) {
		if (!xf_path) {
			fprintf(stderr, "xdpload: --prog xdp-filter needs --xdp-filter OBJ\n");
			return 2;
		}
		err = xf_open(xf_path, &xf);
		for (i = 0; !err && i < rules; i++)
			err = xf_set_port(xf, pgg_rule_port(i), XF_FLAG_DST | XF_FLAG_TCP);
		if (!err)
			fd = xf_prog_fd(xf);
	} else if (!strcmp(prog, "portguard")) {
		text = pgg_policy_text(rules, &len);
		err = text ? pgg_open("bench.policy", text, len, NULL, &pg) : -errno;
		if (!err && !events)
			err = pgg_set_events(pg, 0);
		if (!err)
			fd = pgg_prog_fd(pg);
	} else {
		usage();
		return 2;
	}
	if (fd < 0) {
		fprintf(stderr, "xdpload: failed to load %s\n", prog);
		err = 1;
		goto out;
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "xdpload: failed to attach %s to %s: %s\n", prog, dev,
			strerror(-err));
		err = 1;
		goto out;
	}
	err = 0;
out:
	free(text);
	pgg_close(pg);
	xf_close(xf);
	pass_bpf__destroy(pass);
	floor_bpf__destroy(floor);
	return err;
}
