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

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* xdp-filter's object has sections libbpf 1.1 does not know; that is expected. */
	if (level != LIBBPF_WARN || strstr(fmt, "skipping unrecognized"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(void)
{
	fprintf(stderr, "usage: xdpload --dev IF --prog floor|pass|xdp-filter|portguard "
			"[--rules N] [--xdp-filter OBJ] [--events on|off]\n"
			"       xdpload --dev IF --detach\n"
			"       xdpload --policy N\n");
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
		{},
	};
	const char *dev = NULL, *prog = NULL, *xf_path = NULL;
	unsigned long rules = 10, policy = 0;
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
		case 'r':
		case 'P':
			errno = 0;
			*(opt == 'r' ? &rules : &policy) = strtoul(optarg, &end, 10);
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
	if (!dev || (!prog && !detach)) {
		usage();
		return 2;
	}
	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "xdpload: failed to find interface %s: %s\n", dev, strerror(errno));
		return 1;
	}
	libbpf_set_print(libbpf_print);
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
		err = text ? pgg_open("bench.policy", text, len, &pg) : -errno;
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
