// SPDX-License-Identifier: GPL-2.0
/*
 * sockbench: the cost of the cgroup socket hooks (issue 5, item 4; issue 15, items 5 and 6).
 *
 *   sockbench --cgroup DIR [--iters N] [--cpu C] [--trivial] [--bind-port P] [--connect-port P]
 *             [--send-port P]
 *
 * Moves itself into DIR (a child cgroup the caller created), optionally attaches the trivial
 * hooks (bench/sock_trivial.bpf.c, return 1) to it, then times these loops on loopback:
 *   bind      socket(AF_INET, SOCK_STREAM) + SO_REUSEADDR + bind(127.0.0.1:P) + close()
 *   connect   connect() of one UDP socket to 127.0.0.1:P, again and again (no handshake: the
 *             syscall and the hook are all there is)
 *   sendmsg   sendto() of an empty datagram from one unconnected UDP socket to 127.0.0.1:P,
 *             where a socket of ours is bound and never reads: once its buffer is full the
 *             datagrams are dropped on arrival, with no ICMP error and no reader to wake
 *   sendmsg6  the same to [::1]:P (skipped, and left out of the output, when the namespace
 *             has no ::1)
 *   sendmsg_spread  the same to 1024 peers in turn, 127.0.0.1 to 127.0.4.0, port P + 1 (the
 *             receiver bound to 0.0.0.0): more peers than the hooks' per-CPU cache of recent
 *             answers holds, so that every call is decided afresh
 * Output, one line: NAME_ns=X for each loop (CPU time of this thread per iteration; the
 * caller compares configurations run the same way) and, when programs are attached to DIR,
 * NAME_prog_ns=Y: the run time per invocation of those programs alone, from the kernel's BPF run-time statistics
 * (BPF_ENABLE_STATS, on only while this process holds its fd). cgroup sock_addr programs have
 * no BPF_PROG_TEST_RUN, so these statistics over real syscalls are the way to time them.
 * A call that fails (EPERM from a hook) is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "sock_trivial.skel.h"

static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, n) != n)
		err = -errno;
	close(fd);
	return err;
}

/* Run time and count, summed over the programs attached to the cgroup for type. */
static void prog_stats(int cgfd, enum bpf_attach_type type, __u64 *ns, __u64 *cnt)
{
	__u32 ids[64], n = 64, i;

	*ns = *cnt = 0;
	if (bpf_prog_query(cgfd, type, 0, NULL, ids, &n))
		return;
	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			*ns += info.run_time_ns;
			*cnt += info.run_cnt;
		}
		close(fd);
	}
}

/* One timed loop: the syscall it repeats and the hook that judges it. */
struct loop {
	const char *name; /* the output's key: NAME_ns=, NAME_prog_ns= */
	enum bpf_attach_type type;
	int (*run)(struct loop *l, long iters, double *ns);
	int family;
	long port;
	int spread;  /* peers taken in turn (sendmsg_spread), 0: one */
	int skipped; /* sendmsg6 without ::1 */
	double ns;
	__u64 prog_ns, prog_cnt;
};

/* The loopback address of l's family, port l->port. */
static socklen_t loop_addr(const struct loop *l, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (l->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(l->port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(l->port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
}

static int loop_bind(struct loop *l, long iters, double *ns)
{
	struct sockaddr_storage a;
	socklen_t alen = loop_addr(l, &a);
	double t0;
	long i;
	int s, one = 1;

	t0 = bench_thread_cpu_ns();
	for (i = 0; i < iters; i++) {
		s = socket(l->family, SOCK_STREAM, 0);
		if (s < 0)
			return -errno;
		/* The same port every time: a closed, never-listening socket frees it at once,
		 * but under load the kernel has been seen to report it busy now and then. */
		if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
			int err = -errno;

			close(s);
			return err;
		}
		if (bind(s, (struct sockaddr *)&a, alen)) {
			int err = -errno;

			close(s);
			return err;
		}
		close(s);
	}
	*ns = (bench_thread_cpu_ns() - t0) / iters;
	return 0;
}

static int loop_connect(struct loop *l, long iters, double *ns)
{
	struct sockaddr_storage a;
	socklen_t alen = loop_addr(l, &a);
	double t0;
	long i;
	int s, err = 0;

	s = socket(l->family, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	t0 = bench_thread_cpu_ns();
	for (i = 0; i < iters; i++) {
		if (connect(s, (struct sockaddr *)&a, alen)) {
			err = -errno;
			break;
		}
	}
	*ns = (bench_thread_cpu_ns() - t0) / iters;
	close(s);
	return err;
}

/*
 * The receiver is bound for the whole loop so that the datagrams have somewhere to go
 * without an ICMP port unreachable each (which would time the ICMP path, not the hook); its
 * receive buffer is the smallest the kernel allows, so it fills at once and the rest are
 * dropped on arrival. A namespace without ::1 skips the IPv6 loop rather than fail the run.
 */
static int loop_sendmsg(struct loop *l, long iters, double *ns)
{
	struct sockaddr_storage a;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a; /* the spread loop is IPv4 */
	socklen_t alen = loop_addr(l, &a);
	int r = -1, s = -1, err = 0, small = 1;
	double t0;
	long i;

	r = socket(l->family, SOCK_DGRAM, 0);
	if (r < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(r, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (l->spread)
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(r, (struct sockaddr *)&a, alen)) {
		err = -errno;
		goto out;
	}
	s = socket(l->family, SOCK_DGRAM, 0);
	if (s < 0) {
		err = -errno;
		goto out;
	}
	t0 = bench_thread_cpu_ns();
	for (i = 0; i < iters; i++) {
		if (l->spread)
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK + i % l->spread);
		if (sendto(s, "", 0, 0, (struct sockaddr *)&a, alen) < 0) {
			err = -errno;
			break;
		}
	}
	*ns = (bench_thread_cpu_ns() - t0) / iters;
out:
	if (err && l->family == AF_INET6 && (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)) {
		l->skipped = 1;
		err = 0;
	}
	if (s >= 0)
		close(s);
	if (r >= 0)
		close(r);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'g' },
		{ "iters", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "trivial", no_argument, NULL, 't' },
		{ "bind-port", required_argument, NULL, 'b' },
		{ "connect-port", required_argument, NULL, 'p' },
		{ "send-port", required_argument, NULL, 's' },
		{},
	};
	struct loop loops[] = {
		{ .name = "bind", .type = BPF_CGROUP_INET4_BIND, .run = loop_bind,
		  .family = AF_INET, .port = 20000 },
		{ .name = "connect", .type = BPF_CGROUP_INET4_CONNECT, .run = loop_connect,
		  .family = AF_INET, .port = 20001 },
		{ .name = "sendmsg", .type = BPF_CGROUP_UDP4_SENDMSG, .run = loop_sendmsg,
		  .family = AF_INET },
		{ .name = "sendmsg6", .type = BPF_CGROUP_UDP6_SENDMSG, .run = loop_sendmsg,
		  .family = AF_INET6 },
		{ .name = "sendmsg_spread", .type = BPF_CGROUP_UDP4_SENDMSG, .run = loop_sendmsg,
		  .family = AF_INET, .spread = 1024 },
	};
	const int nloops = sizeof(loops) / sizeof(loops[0]);
	long iters = 100000, cpu = -1, sport = 20002;
	struct sock_trivial_bpf *skel = NULL;
	struct bpf_link *links[6] = {};
	const int nlinks = sizeof(links) / sizeof(links[0]);
	const char *cg = NULL;
	int opt, trivial = 0, cgfd = -1, statsfd = -1, err = 1, i;
	char *end;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long *dst = NULL, max = 0, min = 1;

		switch (opt) {
		case 'g': cg = optarg; continue;
		case 't': trivial = 1; continue;
		case 'n': dst = &iters, max = 100000000; break;
		case 'c': dst = &cpu, max = CPU_SETSIZE - 1, min = 0; break;
		case 'b': dst = &loops[0].port, max = 65535; break;
		case 'p': dst = &loops[1].port, max = 65535; break;
		case 's': dst = &sport, max = 65535; break;
		default:
			fprintf(stderr, "usage: sockbench --cgroup DIR [--iters N] [--cpu C] "
					"[--trivial] [--bind-port P] [--connect-port P] "
					"[--send-port P]\n");
			return 2;
		}
		errno = 0;
		*dst = strtol(optarg, &end, 10);
		if (errno || *end || *dst < min || *dst > max) {
			fprintf(stderr, "sockbench: bad value '%s'\n", optarg);
			return 2;
		}
	}
	loops[2].port = loops[3].port = sport;
	loops[4].port = sport + 1 > 65535 ? 1 : sport + 1;
	if (!cg) {
		fprintf(stderr, "sockbench: --cgroup DIR is required (a child cgroup you made)\n");
		return 2;
	}
	if (cpu >= 0 && bench_pin_cpu("sockbench", cpu))
		return 1;
	cgfd = open(cg, O_RDONLY | O_DIRECTORY);
	if (cgfd < 0) {
		fprintf(stderr, "sockbench: failed to open cgroup %s: %s\n", cg, strerror(errno));
		return 1;
	}
	if (trivial) {
		skel = sock_trivial_bpf__open_and_load();
		if (!skel) {
			fprintf(stderr, "sockbench: failed to load the trivial hooks: %s\n",
				strerror(errno));
			goto out;
		}
		links[0] = bpf_program__attach_cgroup(skel->progs.bench_bind4, cgfd);
		links[1] = bpf_program__attach_cgroup(skel->progs.bench_bind6, cgfd);
		links[2] = bpf_program__attach_cgroup(skel->progs.bench_connect4, cgfd);
		links[3] = bpf_program__attach_cgroup(skel->progs.bench_connect6, cgfd);
		links[4] = bpf_program__attach_cgroup(skel->progs.bench_sendmsg4, cgfd);
		links[5] = bpf_program__attach_cgroup(skel->progs.bench_sendmsg6, cgfd);
		for (i = 0; i < nlinks; i++) {
			if (!links[i]) {
				fprintf(stderr, "sockbench: failed to attach the trivial hooks to %s: "
						"%s\n", cg, strerror(errno));
				goto out;
			}
		}
	}
	err = join_cgroup(cg);
	if (err) {
		fprintf(stderr, "sockbench: failed to join cgroup %s: %s\n", cg, strerror(-err));
		err = 1;
		goto out;
	}
	/* Statistics cost a clock read per program run: they are on only for the warm-up
	 * passes, which give the per-program figures; the timed passes run without them. */
	statsfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	for (i = 0; i < nloops && !err; i++) {
		struct loop *l = &loops[i];
		__u64 ns0, cnt0;

		prog_stats(cgfd, l->type, &ns0, &cnt0);
		err = l->run(l, iters / 10 + 1, &l->ns);
		prog_stats(cgfd, l->type, &l->prog_ns, &l->prog_cnt);
		l->prog_ns -= ns0;
		l->prog_cnt -= cnt0;
	}
	if (statsfd >= 0)
		close(statsfd);
	for (i = 0; i < nloops && !err; i++)
		if (!loops[i].skipped)
			err = loops[i].run(&loops[i], iters, &loops[i].ns);
	if (err) {
		struct loop *l = &loops[i - 1];

		fprintf(stderr, "sockbench: %s loop to %s port %ld failed: %s\n", l->name,
			l->family == AF_INET6 ? "::1" : "127.0.0.1", l->port, strerror(-err));
		err = 1;
		goto out;
	}
	for (i = 0; i < nloops; i++)
		if (!loops[i].skipped)
			printf("%s%s_ns=%.1f", i ? " " : "", loops[i].name, loops[i].ns);
	for (i = 0; i < nloops; i++)
		if (statsfd >= 0 && !loops[i].skipped && loops[i].prog_cnt)
			printf(" %s_prog_ns=%.1f", loops[i].name,
			       (double)loops[i].prog_ns / loops[i].prog_cnt);
	printf("\n");
	err = 0;
out:
	for (i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	sock_trivial_bpf__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	return err;
}
