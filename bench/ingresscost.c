// SPDX-License-Identifier: GPL-2.0
/*
 * ingresscost: what the tc ingress fallback costs next to XDP (issue 13), per packet, with
 * BPF_PROG_TEST_RUN on the same frames and the same policy (portguard's 10-rule synthetic
 * one, pgglue.h):
 *
 *   ingresscost [--repeat R] [--rounds K] [--cpu C] [--tsv FILE]
 *
 * Programs: pg_xdp_ingress, pg_xdp_ingress_frags (when the kernel has it), pg_tc_ingress, and a
 * floor for each hook (XDP_DROP; a tc program that returns TC_ACT_SHOT). Frames: an allowed
 * TCP SYN, a blocked TCP SYN, a blocked UDP datagram, and an allowed 1500-byte TCP segment.
 * Each (frame, program) pair runs `repeat` packets per round, rounds in a shuffled order; the
 * cost is the thread's CPU time per packet, the median over rounds with its range. "net" is
 * the cost over the floor of the same hook: what portguard's decision costs there. The test
 * run builds its skb once and runs the program on it `repeat` times: what a real tc path pays
 * before the program (the skb) is not in these numbers, which compare the programs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "floor.skel.h"
#include "frames.h"
#include "pgglue.h"
#include "tc_ingress.skel.h"
#include "tcfloor.skel.h"

#define MAX_ROUNDS 50

enum { P_XDP_FLOOR, P_XDP, P_FRAGS, P_TC_FLOOR, P_TC, NPROGS };
static const char *const prog_names[NPROGS] = { "xdp-floor", "xdp", "xdp-frags", "tc-floor",
						 "tc" };
enum { F_ALLOWED, F_BLOCKED, F_UDP, F_BIG, NFRAMES };
static const char *const frame_names[NFRAMES] = { "allowed-syn", "blocked-syn", "blocked-udp",
						   "allowed-1500" };

static double run(int prog, const void *frame, int len, unsigned repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = repeat);
	double t0 = bench_thread_cpu_ns();

	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	return (bench_thread_cpu_ns() - t0) / repeat;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repeat", required_argument, NULL, 'r' }, { "rounds", required_argument, NULL, 'k' },
		{ "cpu", required_argument, NULL, 'c' },	   { "tsv", required_argument, NULL, 't' },
		{},
	};
	static double cost[NFRAMES][NPROGS][MAX_ROUNDS];
	static __u8 frames[NFRAMES][PG_FRAME_MAX];
	unsigned repeat = 1000000, rounds = 3, order[NFRAMES * NPROGS];
	struct pg_frame_spec spec[NFRAMES] = {
		[F_ALLOWED] = { .family = 4, .dport = 22, .tcp_flags = 0x02 },
		[F_BLOCKED] = { .family = 4, .dport = PGG_BLOCKED_TCP, .tcp_flags = 0x02 },
		[F_UDP] = { .family = 4, .proto = IPPROTO_UDP, .dport = PGG_BLOCKED_UDP },
		[F_BIG] = { .family = 4, .dport = 22, .payload = 1500 - 40 },
	};
	int len[NFRAMES], prog[NPROGS], c, cpu = -1, err = 1;
	struct tc_ingress_bpf *tci = NULL;
	struct tcfloor_bpf *tcf = NULL;
	struct floor_bpf *xf = NULL;
	const char *tsv = NULL;
	struct pgg *g = NULL;
	struct bpf_map *map;
	FILE *out = NULL;
	size_t len_text;
	char *text;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			repeat = strtoul(optarg, NULL, 10);
		else if (c == 'k')
			rounds = strtoul(optarg, NULL, 10);
		else if (c == 'c')
			cpu = atoi(optarg);
		else if (c == 't')
			tsv = optarg;
		else
			return 2;
	}
	if (!repeat || !rounds || rounds > MAX_ROUNDS)
		return 2;
	if (cpu >= 0 && bench_pin_cpu("ingresscost", cpu))
		return 1;
	text = pgg_policy_text(10, &len_text);
	if (!text || pgg_open("bench.policy", text, len_text, NULL, &g))
		goto out;
	xf = floor_bpf__open_and_load();
	tcf = tcfloor_bpf__open_and_load();
	tci = tc_ingress_bpf__open();
	if (!xf || !tcf || !tci)
		goto out;
	bpf_object__for_each_map(map, tci->obj) {
		int fd = bpf_map__is_internal(map) ? -1 : pgg_map_fd(g, bpf_map__name(map));

		if (fd >= 0 && bpf_map__reuse_fd(map, fd))
			goto out;
	}
	if (tc_ingress_bpf__load(tci))
		goto out;
	prog[P_XDP_FLOOR] = bpf_program__fd(xf->progs.bench_floor);
	prog[P_XDP] = pgg_prog_fd(g);
	prog[P_FRAGS] = pgg_frags_fd(g);
	prog[P_TC_FLOOR] = bpf_program__fd(tcf->progs.bench_tc_floor);
	prog[P_TC] = bpf_program__fd(tci->progs.pg_tc_ingress);
	for (int f = 0; f < NFRAMES; f++) {
		len[f] = pg_frame_build(&spec[f], frames[f], sizeof(frames[f]));
		if (len[f] < 0)
			goto out;
	}
	for (int i = 0; i < NFRAMES * NPROGS; i++)
		order[i] = i;
	srand(13);
	for (unsigned r = 0; r < rounds; r++) {
		for (int i = NFRAMES * NPROGS - 1; i > 0; i--) {
			int j = rand() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < NFRAMES * NPROGS; i++) {
			int f = order[i] / NPROGS, p = order[i] % NPROGS;

			cost[f][p][r] = prog[p] < 0 ? -1 : run(prog[p], frames[f], len[f], repeat);
		}
	}
	out = tsv ? fopen(tsv, "w") : NULL;
	printf("# frame\tprogram\tns median\tmin\tmax\tnet\n");
	if (out)
		fprintf(out, "# frame\tprogram\tns median\tmin\tmax\tnet (over the hook's floor)\n");
	for (int f = 0; f < NFRAMES; f++) {
		double med[NPROGS];

		for (int p = 0; p < NPROGS; p++) {
			qsort(cost[f][p], rounds, sizeof(double), bench_cmp_double);
			med[p] = cost[f][p][rounds / 2];
		}
		for (int p = 0; p < NPROGS; p++) {
			double floor = p < P_TC_FLOOR ? med[P_XDP_FLOOR] : med[P_TC_FLOOR];
			char line[256];

			if (cost[f][p][0] < 0)
				continue;
			snprintf(line, sizeof(line), "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\n",
				 frame_names[f], prog_names[p], med[p], cost[f][p][0],
				 cost[f][p][rounds - 1], med[p] - floor);
			fputs(line, stdout);
			if (out)
				fputs(line, out);
		}
	}
	err = 0;
out:
	if (err)
		fprintf(stderr, "ingresscost: setup failed: %s\n", strerror(errno));
	if (out)
		fclose(out);
	tc_ingress_bpf__destroy(tci);
	tcfloor_bpf__destroy(tcf);
	floor_bpf__destroy(xf);
	pgg_close(g);
	free(text);
	return err;
}
