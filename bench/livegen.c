// SPDX-License-Identifier: GPL-2.0
/*
 * livegen: the XDP-frame traffic generator of the drop-rate benchmark.
 *
 * It runs bench/livegen.bpf.c through BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: the
 * kernel turns the frame into real xdp_frames in batches, the program redirects each into the
 * sending veth, and veth delivers it to its peer as an XDP frame. The receiver's NAPI poll
 * runs in softirq on this same CPU when each batch is flushed, so with the generator pinned,
 * the rate it achieves is the rate at which sender and receiver together process frames on
 * one core: a cheaper receiver shows as a higher rate.
 *
 *   livegen --dev IF --smac MAC --dmac MAC --saddr A --daddr A --dport P [--sport P]
 *           [--len BYTES] [--seconds S] [--max-frames N] [--cpu N] [--vary-src]
 *   livegen ... --hold IF    keep the generator attached to IF meanwhile (see below)
 *   livegen ... --trafgen    print the same frame as a trafgen(8) config and exit
 *
 * Output, one line: frames=N seconds=S cpu_seconds=C pps=X cpu_ns_per_frame=Y
 * (cpu_seconds: this thread's CPU time, which includes the receiver's softirq work when it
 * runs on this CPU at the batch flushes; seconds: wall time).
 * Both limits bound the run: it stops at whichever of --seconds and --max-frames comes first.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "livegen.skel.h"
#include "pkt.h"

/* Frames per test_run call adapt so that one call takes about CHUNK_NS of this thread's CPU
 * time: long enough that the syscall and the call's set-up vanish, short enough that the time
 * limit holds within tens of milliseconds whether the receiver drops 10 Mpps or 10 kpps (a
 * call cannot be cut short). CPU time, not wall time: on 6.18 here a live-frames call takes
 * about 20 ms of wall time whatever its size, most of it off the CPU, and aiming at wall time kept
 * every call at CHUNK_MIN frames, so that each frame carried a 64th of a call's set-up and
 * every receiver looked alike (measured on 2026-12-02: 1,344 frames in half a second,
 * about 10 us of CPU per frame). */
#define CHUNK_MIN 64
#define CHUNK_MAX 65536
#define CHUNK_NS 10e6

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_addr(const char *s, struct pkt_spec *spec, uint8_t *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1)
		return 0;
	if (inet_pton(AF_INET6, s, addr) == 1) {
		spec->v6 = 1;
		return 0;
	}
	return -EINVAL;
}

static void usage(void)
{
	fprintf(stderr, "usage: livegen --dev IF --smac MAC --dmac MAC --saddr A --daddr A "
			"--dport P [--sport P] [--len BYTES] [--seconds S] [--max-frames N] "
			"[--cpu N] [--vary-src] [--trafgen]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "smac", required_argument, NULL, 's' },
		{ "dmac", required_argument, NULL, 'm' },
		{ "saddr", required_argument, NULL, 'a' },
		{ "daddr", required_argument, NULL, 'b' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "len", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 't' },
		{ "max-frames", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "trafgen", no_argument, NULL, 'T' },
		{ "tcp", no_argument, NULL, 'P' },
		{ "vary-src", no_argument, NULL, 'V' },
		{ "hold", required_argument, NULL, 'H' },
		{},
	};
	struct pkt_spec spec = { .proto = IPPROTO_UDP, .sport = 40000, .len = 60, .fill = 1 };
	unsigned long v, max_frames = 100000000, cpu = 0;
	const char *dev = NULL, *hold = NULL;
	double seconds = 1.0, t0, t1, c0, c1;
	int opt, idx = 0, err, len, trafgen = 0, pinned = 0, ifindex, i, vary = 0, hold_ifindex = 0;
	unsigned long long sent = 0;
	double chunk = CHUNK_MIN, tc;
	struct livegen_bpf *skel = NULL;
	uint8_t frame[256];
	int have = 0;

	while ((opt = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		err = 0;
		switch (opt) {
		case 'd': dev = optarg; break;
		case 's': err = pkt_parse_mac(optarg, spec.smac); have |= 1; break;
		case 'm': err = pkt_parse_mac(optarg, spec.dmac); have |= 2; break;
		case 'a': err = parse_addr(optarg, &spec, spec.saddr); have |= 4; break;
		case 'b': err = parse_addr(optarg, &spec, spec.daddr); have |= 8; break;
		case 'S': err = parse_u(optarg, 65535, &v); spec.sport = v; break;
		case 'D': err = parse_u(optarg, 65535, &v); spec.dport = v; have |= 16; break;
		case 'l': err = parse_u(optarg, 1500, &v); spec.len = v; break;
		case 'n': err = parse_u(optarg, ~0UL, &max_frames); break;
		case 'c': err = parse_u(optarg, CPU_SETSIZE - 1, &cpu); pinned = 1; break;
		case 'T': trafgen = 1; break;
		case 'V': vary = 1; break;
		case 'H': hold = optarg; break;
		case 'P': spec.proto = IPPROTO_TCP; spec.fill = 0; break;
		case 't': {
			char *end;

			errno = 0;
			seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || seconds <= 0 || seconds > 600)
				err = -EINVAL;
			break;
		}
		default:
			usage();
			return 2;
		}
		if (err) {
			fprintf(stderr, "livegen: invalid value '%s' for --%s\n", optarg,
				opts[idx].name);
			return 2;
		}
	}
	if (have != 31 || (!dev && !trafgen)) {
		usage();
		return 2;
	}
	len = pkt_build(&spec, frame, sizeof(frame));
	if (len < 0) {
		fprintf(stderr, "livegen: failed to build the frame: %s\n", strerror(-len));
		return 2;
	}
	if (trafgen) {
		printf("/* %d-byte frame, built by bench/livegen */\n{", len);
		for (i = 0; i < len; i++)
			printf("%s0x%02x", i ? ", " : " ", frame[i]);
		printf(" }\n");
		return 0;
	}

	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "livegen: failed to find interface %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if (pinned && bench_pin_cpu("livegen", (long)cpu))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	err = 1;
	skel = livegen_bpf__open();
	if (!skel) {
		fprintf(stderr, "livegen: failed to open the generator program: %s\n",
			strerror(errno));
		goto out;
	}
	skel->rodata->out_ifindex = ifindex;
	skel->rodata->vary_src = vary;
	if (livegen_bpf__load(skel)) {
		fprintf(stderr, "livegen: failed to load the generator program: %s\n",
			strerror(errno));
		goto out;
	}
	/* Each test_run of an XDP program puts it into the kernel's XDP dispatcher and takes it
	 * out again, and each change waits for an RCU grace period: two per call, 20-40 ms of
	 * wall time off the CPU on 6.18 here (seen in /proc/PID/stack, 2026-12-02), against
	 * ~10 ms of work. A program that is attached to an interface stays in the dispatcher, and
	 * a test_run of it then changes nothing. So the bench gives us a spare interface that
	 * sees no traffic, and the generator keeps the core busy as a real flood would. Without
	 * it the run still measures, per CPU-second, only slower: said, not fatal. */
	if (hold) {
		hold_ifindex = if_nametoindex(hold);
		if (!hold_ifindex || bpf_xdp_attach(hold_ifindex,
						   bpf_program__fd(skel->progs.bench_livegen),
						   XDP_FLAGS_DRV_MODE, NULL)) {
			fprintf(stderr, "livegen: cannot keep the generator attached to %s (%s): "
					"each call waits for the XDP dispatcher\n", hold,
				strerror(errno));
			hold_ifindex = 0;
		}
	}

	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	while (!stop && sent < max_frames) {
		unsigned long long left = max_frames - sent;
		LIBBPF_OPTS(bpf_test_run_opts, topts,
			.data_in = frame,
			.data_size_in = len,
			.repeat = left < chunk ? (int)left : (int)chunk,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		);

		tc = now(CLOCK_THREAD_CPUTIME_ID);
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bench_livegen), &topts)) {
			if (errno == EINTR)
				break;
			fprintf(stderr, "livegen: failed to run the generator on %s: %s\n", dev,
				strerror(errno));
			goto out;
		}
		sent += topts.repeat;
		tc = (now(CLOCK_THREAD_CPUTIME_ID) - tc) * 1e9;
		t1 = now(CLOCK_MONOTONIC);
		if (t1 - t0 >= seconds)
			break;
		/* Aim the next call at CHUNK_NS, growing at most 4x at a time. */
		chunk = tc > 0 && chunk * CHUNK_NS / tc < chunk * 4 ? chunk * CHUNK_NS / tc : chunk * 4;
		chunk = chunk > CHUNK_MAX ? CHUNK_MAX : chunk < CHUNK_MIN ? CHUNK_MIN : chunk;
	}
	t1 = now(CLOCK_MONOTONIC);
	c1 = now(CLOCK_THREAD_CPUTIME_ID);
	printf("frames=%llu seconds=%.6f cpu_seconds=%.6f pps=%.0f cpu_ns_per_frame=%.2f\n", sent,
	       t1 - t0, c1 - c0, sent / (t1 - t0), sent ? (c1 - c0) * 1e9 / sent : 0.0);
	err = 0;
out:
	if (hold_ifindex)
		bpf_xdp_detach(hold_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	livegen_bpf__destroy(skel);
	return err;
}
