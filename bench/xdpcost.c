// SPDX-License-Identifier: GPL-2.0
/*
 * xdpcost: per-packet cost of XDP programs with BPF_PROG_TEST_RUN (issue 5, items 1 and 3).
 *
 *   xdpcost [--rules N[,N...]] [--blocklist N] [--repeat R] [--rounds K] [--cpu C]
 *           [--xdp-filter OBJ] [--tsv FILE] [--rounds-tsv FILE] [--kind KIND]
 *
 * Programs: floor (return XDP_DROP), ref (Ethernet/IPv4/TCP|UDP and one hash lookup),
 * xdp-filter (its own object, whitelist mode, the same ports), portguard (the policy parsed,
 * compiled and written by portguard's own code).
 *
 * Every run goes through bench/rotate.bpf.c, which writes the next of n frame templates over
 * the packet and tail-calls the program under test. A "mode" is the set of templates:
 *   allowed-syn   TCP SYN, IPv4, to a port a rule allows, from that rule's peer
 *   blocked-syn   TCP SYN, IPv4, to a port no rule covers
 *   blocked-udp   UDP, IPv4, to a port no rule covers
 *   ipv6-syn      TCP SYN, IPv6, allowed
 *   vlan-syn      TCP SYN, IPv4 under one 802.1Q tag, allowed
 *   mix           all five interleaved
 * Each mode has 64 variants per kind, spread over the rules of the policy, so that successive
 * packets touch different port slots and trie paths.
 *
 * Every policy (each size, and with --blocklist N the first and the last size once more with
 * a set of N prefixes denied on every port: rules "N+bl") is loaded before the first round;
 * each round runs every (policy, mode, program) triple once, in an order shuffled per round,
 * with `repeat` packets. Sizes between the first and the last run the mix alone. The cost
 * is the thread's CPU time over the run divided by
 * repeat (CLOCK_THREAD_CPUTIME_ID: time this thread was not running does not count, which
 * matters on a machine shared with other work), reported as the median over rounds with the
 * range. "net" subtracts the floor of the same mode and round: the cost of the program itself.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "rotate.h"
#include "floor.skel.h"
#include "ref.skel.h"
#include "rotate.skel.h"
#include "pkt.h"
#include "pgglue.h"
#include "xdpfilt.h"

#define VARIANTS 64
#define NKINDS 5
#define NMODES (NKINDS + 1)
#define MAX_SIZES 8
#define MAX_ROUNDS 50

enum prog_id { P_FLOOR, P_REF, P_XF, P_PG, NPROGS };
static const char *prog_names[NPROGS] = { "floor", "reference", "xdp-filter", "portguard" };
static const char *mode_names[NMODES] = { "allowed-syn", "blocked-syn", "blocked-udp",
					  "ipv6-syn", "vlan-syn", "mix" };
/* What each program must answer for each kind; checked before timing. */
static const int expect[NPROGS][NKINDS] = {
	[P_FLOOR] = { XDP_DROP, XDP_DROP, XDP_DROP, XDP_DROP, XDP_DROP },
	/* the reference does not parse IPv6 or VLAN: it passes them unexamined */
	[P_REF] = { XDP_PASS, XDP_DROP, XDP_DROP, XDP_PASS, XDP_PASS },
	[P_XF] = { XDP_PASS, XDP_DROP, XDP_DROP, XDP_PASS, XDP_PASS },
	[P_PG] = { XDP_PASS, XDP_DROP, XDP_DROP, XDP_PASS, XDP_PASS },
};

struct ctx {
	struct rotate_bpf *rot;
	long repeat;
	int rounds;
	int only; /* --kind: measure this mode alone (for profiling one kind), else -1 */
	FILE *tsv;
	FILE *rounds_tsv; /* --rounds-tsv: every run's figure, for ratios within a round */
};

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Template of kind k, variant v, for a policy of nrules rules. */
static int make_frame(int k, int v, unsigned int nrules, struct rot_frame *f)
{
	struct pkt_spec s = {
		.smac = { 0x02, 0, 0, 0, 0, 0x01 },
		.dmac = { 0x02, 0, 0, 0, 0, 0x02 },
		.proto = IPPROTO_TCP,
		.sport = (uint16_t)(33000 + v),
		.len = ROT_FRAME_LEN,
	};
	/* Allowed variants walk the rules with a stride coprime to most sizes, so that 64
	 * packets land all over the port array and the trie. */
	unsigned int rule = nrules > 1 ? 1 + (unsigned int)(v * 7919u) % (nrules - 1) : 0;
	int len;

	memset(f, 0, sizeof(*f));
	s.daddr[0] = 198, s.daddr[1] = 18, s.daddr[2] = 0, s.daddr[3] = 2;
	switch (k) {
	case 0: /* allowed SYN */
	case 4: /* ... under a VLAN tag */
		pgg_rule_peer4(rule ? rule : 1, s.saddr);
		s.dport = pgg_rule_port(rule);
		s.vlan = k == 4 ? 100 : 0;
		break;
	case 1: /* blocked SYN */
	case 2: /* blocked UDP */
		s.saddr[0] = 198, s.saddr[1] = 18, s.saddr[2] = 100 + v / 32, s.saddr[3] = 1 + v;
		s.proto = k == 1 ? IPPROTO_TCP : IPPROTO_UDP;
		s.dport = (uint16_t)((k == 1 ? PGG_BLOCKED_TCP : PGG_BLOCKED_UDP) + v * 37);
		break;
	case 3: /* allowed SYN over IPv6 */
		s.v6 = 1;
		pgg_rule_peer6(rule ? rule : 1, s.saddr);
		memset(s.daddr, 0, 16);
		s.daddr[0] = 0x20, s.daddr[1] = 0x01, s.daddr[2] = 0x0d, s.daddr[3] = 0xb8;
		s.daddr[4] = 0xff, s.daddr[5] = 0xff, s.daddr[15] = 2;
		s.dport = pgg_rule_port(rule);
		break;
	}
	len = pkt_build(&s, f->data, sizeof(f->data));
	return len < 0 ? len : 0;
}

/* One policy as measured: a size, with or without the blocklist, and the programs given its
 * ports (the reference, xdp-filter) and its policy (portguard). Every instance is set up
 * before the first round, and each round runs every (instance, mode, program) triple once
 * in a shuffled order: so the ratios the targets are judged on (10,000 rules and the
 * blocklist against 10 rules, portguard against xdp-filter) compare runs of the same round,
 * seconds apart, not measurements taken minutes apart by different processes, which moved
 * with the machine's load (2026-12-02: the same ratio read x0.95 in one run, x1.21 in the
 * next). */
struct inst {
	unsigned int nrules;
	unsigned long nblock;
	int all_modes; /* every kind and the mix; else the mix alone */
	__u32 base;    /* its templates' first slot in rot_frames */
	char label[32]; /* the rules column: "10000", "10000+bl" */
	struct ref_bpf *ref;
	struct xf *xf;
	struct pgg *pg;
	int prog_fd[NPROGS];
	int bad[NPROGS];
};

#define MAX_INSTS (MAX_SIZES + 2)
#define INST_FRAMES (2 * NKINDS * VARIANTS)

/* Slots, from the instance's base: kind k variant v at k * VARIANTS + v; the mix at
 * NKINDS * VARIANTS onwards. */
static int load_frames(struct ctx *c, const struct inst *in)
{
	int fd = bpf_map__fd(c->rot->maps.rot_frames), k, v, err;
	struct rot_frame f;
	__u32 slot;

	for (k = 0; k < NKINDS; k++) {
		for (v = 0; v < VARIANTS; v++) {
			err = make_frame(k, v, in->nrules, &f);
			if (err)
				return err;
			slot = in->base + k * VARIANTS + v;
			if (bpf_map_update_elem(fd, &slot, &f, BPF_ANY))
				return -errno;
			slot = in->base + NKINDS * VARIANTS + v * NKINDS + k;
			if (bpf_map_update_elem(fd, &slot, &f, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

static int select_frames(struct ctx *c, __u32 first, __u32 n)
{
	struct rot_cfg cfg = { .first = first, .n = n };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(c->rot->maps.rot_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static void mode_slots(const struct inst *in, int mode, __u32 *first, __u32 *n)
{
	if (mode < NKINDS) {
		*first = in->base + mode * VARIANTS;
		*n = VARIANTS;
	} else {
		*first = in->base + NKINDS * VARIANTS;
		*n = NKINDS * VARIANTS;
	}
}

/* One test_run of repeat packets; the cost per packet in ns of thread CPU time. */
static int run_once(struct ctx *c, int prog_fd, long repeat, double *ns, __u32 *retval)
{
	__u8 pkt[ROT_FRAME_LEN] = {};
	__u32 zero = 0;
	double t0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = (int)repeat);

	if (bpf_map_update_elem(bpf_map__fd(c->rot->maps.rot_target), &zero, &prog_fd, BPF_ANY))
		return -errno;
	t0 = bench_thread_cpu_ns();
	if (bpf_prog_test_run_opts(bpf_program__fd(c->rot->progs.bench_rotate), &o))
		return -errno;
	*ns = (bench_thread_cpu_ns() - t0) / repeat;
	*retval = o.retval;
	return 0;
}

static const char *verdict(__u32 v)
{
	switch (v) {
	case XDP_ABORTED: return "ABORTED";
	case XDP_DROP: return "DROP";
	case XDP_PASS: return "PASS";
	case XDP_TX: return "TX";
	case XDP_REDIRECT: return "REDIRECT";
	}
	return "?";
}

/* Every kind's first and last variant, once, against the expected verdict. */
static int check_verdicts(struct ctx *c, struct inst *in)
{
	int p, k, i, err;
	double ns;
	__u32 rv;

	for (p = 0; p < NPROGS; p++) {
		if (in->prog_fd[p] < 0)
			continue;
		in->bad[p] = 0;
		for (k = 0; k < NKINDS; k++) {
			for (i = 0; i < 2; i++) {
				int v = i ? VARIANTS - 1 : 0;

				err = select_frames(c, in->base + k * VARIANTS + v, 1);
				if (!err)
					err = run_once(c, in->prog_fd[p], 1, &ns, &rv);
				if (err)
					return err;
				if ((int)rv != expect[p][k]) {
					in->bad[p]++;
					printf("# verdict: %s rules, %s, %s variant %d: expected %s, "
					       "got %s\n", in->label, prog_names[p], mode_names[k], v,
					       verdict(expect[p][k]), verdict(rv));
				}
			}
		}
	}
	return 0;
}

static int wanted(const struct ctx *c, const struct inst *in, int m, int p)
{
	return in->prog_fd[p] >= 0 && (in->all_modes || m == NMODES - 1) &&
	       (c->only < 0 || c->only == m);
}

/* Every round over every (instance, mode, program), then one row per triple. */
static int measure(struct ctx *c, struct inst *insts, int ninsts)
{
	static double ns[MAX_INSTS][NMODES][NPROGS][MAX_ROUNDS], net[MAX_ROUNDS];
	static int order[MAX_INSTS * NMODES * NPROGS];
	int n = 0, r, i, j, m, p, x, err;
	unsigned int seed = 12345;
	__u32 first, cnt, rv;
	struct inst *in;

	for (x = 0; x < ninsts; x++) {
		err = check_verdicts(c, &insts[x]);
		if (err)
			return err;
		for (m = 0; m < NMODES; m++)
			for (p = 0; p < NPROGS; p++)
				if (wanted(c, &insts[x], m, p))
					order[n++] = (x * NMODES + m) * NPROGS + p;
	}

	for (r = 0; r < c->rounds; r++) {
		/* A fresh order each round, so that no program always runs first, or always
		 * right after the same neighbour. */
		for (i = n - 1; i > 0; i--) {
			j = rand_r(&seed) % (i + 1);
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < n; i++) {
			x = order[i] / (NMODES * NPROGS);
			m = order[i] / NPROGS % NMODES;
			p = order[i] % NPROGS;
			in = &insts[x];
			mode_slots(in, m, &first, &cnt);
			err = select_frames(c, first, cnt);
			if (!err)
				err = run_once(c, in->prog_fd[p], c->repeat, &ns[x][m][p][r], &rv);
			if (err) {
				fprintf(stderr, "xdpcost: failed to run %s on %s at %s rules: %s\n",
					prog_names[p], mode_names[m], in->label, strerror(-err));
				return err;
			}
		}
		fprintf(stderr, "xdpcost: round %d/%d done\n", r + 1, c->rounds);
	}

	for (x = 0; x < ninsts; x++) {
		in = &insts[x];
		for (m = 0; m < NMODES; m++) {
			for (p = 0; p < NPROGS; p++) {
				if (!wanted(c, in, m, p))
					continue;
				for (r = 0; r < c->rounds; r++) {
					net[r] = ns[x][m][p][r] - ns[x][m][P_FLOOR][r];
					if (c->rounds_tsv)
						fprintf(c->rounds_tsv, "%s\t%s\t%s\t%d\t%.2f\n",
							in->label, mode_names[m], prog_names[p], r + 1,
							ns[x][m][p][r]);
				}
				/* rules mode prog median min max net_median net_min net_max bad */
				fprintf(c->tsv, "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\n",
					in->label, mode_names[m], prog_names[p],
					median(ns[x][m][p], c->rounds), vmin(ns[x][m][p], c->rounds),
					vmax(ns[x][m][p], c->rounds), median(net, c->rounds),
					vmin(net, c->rounds), vmax(net, c->rounds), in->bad[p]);
			}
		}
	}
	fflush(c->tsv);
	if (c->rounds_tsv)
		fflush(c->rounds_tsv);
	return 0;
}

static int setup_inst(struct ctx *c, struct inst *in, const char *xf_path, int floor_fd)
{
	__u8 one = 1;
	unsigned int i;
	char *text;
	size_t len;
	__u32 key;
	int err, fd;

	for (i = 0; i < NPROGS; i++)
		in->prog_fd[i] = -1;
	in->prog_fd[P_FLOOR] = floor_fd;
	/* The reference and xdp-filter allow the same TCP ports as the policy; neither can
	 * express the peers, so they are given the ports alone. */
	in->ref = ref_bpf__open_and_load();
	if (!in->ref)
		return -errno;
	fd = bpf_map__fd(in->ref->maps.ref_ports);
	for (i = 0; i < in->nrules; i++) {
		key = (IPPROTO_TCP << 16) | pgg_rule_port(i);
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			return -errno;
	}
	in->prog_fd[P_REF] = bpf_program__fd(in->ref->progs.bench_ref);

	if (xf_path) {
		err = xf_open(xf_path, &in->xf);
		for (i = 0; !err && i < in->nrules; i++)
			err = xf_set_port(in->xf, pgg_rule_port(i), XF_FLAG_DST | XF_FLAG_TCP);
		if (err)
			fprintf(stderr, "xdpcost: xdp-filter left out at %s rules: %s\n", in->label,
				strerror(-err));
		else
			in->prog_fd[P_XF] = xf_prog_fd(in->xf);
	}

	if (pgg_available()) {
		text = pgg_policy_text_bl(in->nrules, in->nblock, &len);
		if (!text)
			return -errno;
		err = pgg_open("bench.policy", text, len, NULL, &in->pg);
		free(text);
		if (err)
			fprintf(stderr, "xdpcost: portguard left out at %s rules: %s\n", in->label,
				strerror(-err));
		else
			in->prog_fd[P_PG] = pgg_prog_fd(in->pg);
	} else {
		fprintf(stderr, "xdpcost: portguard left out: its parser/compiler are not built\n");
	}
	return load_frames(c, in);
}

static void close_inst(struct inst *in)
{
	pgg_close(in->pg);
	xf_close(in->xf);
	ref_bpf__destroy(in->ref);
}

static void usage(void)
{
	fprintf(stderr, "usage: xdpcost [--rules N[,N...]] [--blocklist N] [--repeat R] "
			"[--rounds K] [--cpu C] [--xdp-filter OBJ] [--tsv FILE] "
			"[--rounds-tsv FILE] [--kind KIND]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "xdp-filter", required_argument, NULL, 'x' },
		{ "tsv", required_argument, NULL, 't' },
		{ "kind", required_argument, NULL, 'K' },
		{ "blocklist", required_argument, NULL, 'b' },
		{ "rounds-tsv", required_argument, NULL, 'T' },
		{},
	};
	unsigned int sizes[MAX_SIZES] = { 10, 1000, 10000 }, nsizes = 3;
	struct ctx c = { .repeat = 10000000, .rounds = 5, .only = -1, .tsv = stdout };
	const char *xf_path = NULL, *tsv_path = NULL, *rounds_path = NULL;
	static struct inst insts[MAX_INSTS];
	struct floor_bpf *floor = NULL;
	unsigned long nblock = 0;
	int opt, err = 1, ninsts = 0, x;
	long cpu = -1;
	unsigned int i;
	char *end, *tok;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		errno = 0;
		switch (opt) {
		case 'r':
			nsizes = 0;
			for (tok = strtok(optarg, ","); tok && nsizes < MAX_SIZES;
			     tok = strtok(NULL, ",")) {
				unsigned long v = strtoul(tok, &end, 10);

				if (errno || *end || !v || v > PGG_MAX_RULES) {
					fprintf(stderr, "xdpcost: bad rule count '%s' (1-%d)\n", tok,
						PGG_MAX_RULES);
					return 2;
				}
				sizes[nsizes++] = v;
			}
			break;
		case 'R':
			c.repeat = strtol(optarg, &end, 10);
			if (errno || *end || c.repeat < 1 || c.repeat > 2000000000) {
				fprintf(stderr, "xdpcost: bad --repeat '%s'\n", optarg);
				return 2;
			}
			break;
		case 'k':
			c.rounds = (int)strtol(optarg, &end, 10);
			if (errno || *end || c.rounds < 1 || c.rounds > MAX_ROUNDS) {
				fprintf(stderr, "xdpcost: bad --rounds '%s' (1-%d)\n", optarg,
					MAX_ROUNDS);
				return 2;
			}
			break;
		case 'c':
			cpu = strtol(optarg, &end, 10);
			if (errno || *end || cpu < 0 || cpu >= CPU_SETSIZE) {
				fprintf(stderr, "xdpcost: bad --cpu '%s'\n", optarg);
				return 2;
			}
			break;
		case 'x':
			xf_path = optarg;
			break;
		case 't':
			tsv_path = optarg;
			break;
		case 'T':
			rounds_path = optarg;
			break;
		case 'b':
			nblock = strtoul(optarg, &end, 10);
			if (errno || *end || nblock > 2000000) {
				fprintf(stderr, "xdpcost: bad --blocklist '%s' (0-2000000)\n", optarg);
				return 2;
			}
			break;
		case 'K':
			/* One kind alone, every size, for a profile of that kind's path. */
			for (c.only = 0; c.only < NMODES; c.only++)
				if (!strcmp(optarg, mode_names[c.only]))
					break;
			if (c.only == NMODES) {
				fprintf(stderr, "xdpcost: unknown --kind '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!nsizes) {
		usage();
		return 2;
	}
	if (cpu >= 0 && bench_pin_cpu("xdpcost", cpu))
		return 1;
	if (tsv_path) {
		c.tsv = fopen(tsv_path, "w");
		if (!c.tsv) {
			fprintf(stderr, "xdpcost: failed to open %s: %s\n", tsv_path,
				strerror(errno));
			return 1;
		}
	}
	if (rounds_path) {
		c.rounds_tsv = fopen(rounds_path, "w");
		if (!c.rounds_tsv) {
			fprintf(stderr, "xdpcost: failed to open %s: %s\n", rounds_path,
				strerror(errno));
			goto out;
		}
		fprintf(c.rounds_tsv, "# rules\tmode\tprogram\tround\tns\n");
	}

	/* The sizes; the first and the last measure every kind, the others the mix alone (to
	 * keep `make bench` within its time); with --blocklist, the first and the last once
	 * more with the blocklist. */
	for (i = 0; i < nsizes; i++) {
		insts[ninsts].nrules = sizes[i];
		insts[ninsts].all_modes = i == 0 || i == nsizes - 1;
		snprintf(insts[ninsts].label, sizeof(insts[ninsts].label), "%u", sizes[i]);
		ninsts++;
	}
	for (i = 0; nblock && i < nsizes; i += i == nsizes - 1 ? 1 : nsizes - 1) {
		insts[ninsts].nrules = sizes[i];
		insts[ninsts].nblock = nblock;
		insts[ninsts].all_modes = 1;
		snprintf(insts[ninsts].label, sizeof(insts[ninsts].label), "%u+bl", sizes[i]);
		ninsts++;
	}

	libbpf_set_print(bench_libbpf_print);
	floor = floor_bpf__open_and_load();
	c.rot = rotate_bpf__open_and_load();
	if (!floor || !c.rot) {
		fprintf(stderr, "xdpcost: failed to load the benchmark programs: %s\n",
			strerror(errno));
		goto out;
	}

	fprintf(c.tsv, "# rules\tmode\tprogram\tns_median\tns_min\tns_max\tnet_median\tnet_min"
		       "\tnet_max\tbad_verdicts\n");
	for (x = 0; x < ninsts; x++) {
		/* Instances of one size share its templates. */
		for (i = 0; i < (unsigned int)x && insts[i].nrules != insts[x].nrules; i++)
			;
		insts[x].base = (i < (unsigned int)x ? i : (unsigned int)x) * INST_FRAMES;
		err = setup_inst(&c, &insts[x], xf_path,
				 bpf_program__fd(floor->progs.bench_floor));
		if (err) {
			fprintf(stderr, "xdpcost: failed to set up %s rules: %s\n", insts[x].label,
				strerror(-err));
			err = 1;
			goto out;
		}
	}
	err = measure(&c, insts, ninsts) ? 1 : 0;
out:
	for (x = 0; x < ninsts; x++)
		close_inst(&insts[x]);
	rotate_bpf__destroy(c.rot);
	floor_bpf__destroy(floor);
	if (c.rounds_tsv)
		fclose(c.rounds_tsv);
	if (c.tsv && c.tsv != stdout)
		fclose(c.tsv);
	return err;
}
