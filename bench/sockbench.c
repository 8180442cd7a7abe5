// SPDX-License-Identifier: GPL-2.0
/*
 * sockbench: the cost of the cgroup socket hooks (issue 5, item 4).
 *
 *   sockbench --cgroup DIR [--iters N] [--cpu C] [--trivial] [--bind-port P] [--connect-port P]
 *
 * Moves itself into DIR (a child cgroup the caller created), optionally attaches the trivial
 * hooks (bench/sock_trivial.bpf.c, return 1) to it, then times two loops on loopback:
 *   bind     socket(AF_INET, SOCK_STREAM) + SO_REUSEADDR + bind(127.0.0.1:P) + close()
 *   connect  connect() of one UDP socket to 127.0.0.1:P, again and again (no handshake: the
 *            syscall and the hook are all there is)
 * Output, one line: bind_ns=X connect_ns=Y (CPU time of this thread per iteration; the caller
 * compares configurations run the same way) and, when programs are attached to DIR, bind_prog_ns and
 * connect_prog_ns: the run time per invocation of those programs alone, from the kernel's
 * BPF run-time statistics (BPF_ENABLE_STATS, on only while this process holds its fd).
 * A call that fails (EPERM from a hook) is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "sock_trivial.skel.h"

/* The thread's CPU time: on a machine shared with other work, the time this thread waited
 * for the CPU says nothing about the syscalls. */
static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

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

static int loop_bind(long iters, int port, double *ns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	double t0;
	long i;
	int s, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t0 = mono();
	for (i = 0; i < iters; i++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return -errno;
		/* The same port every time: a closed, never-listening socket frees it at once,
		 * but under load the kernel has been seen to report it busy now and then. */
		if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
			int err = -errno;

			close(s);
			return err;
		}
		if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
			int err = -errno;

			close(s);
			return err;
		}
		close(s);
	}
	*ns = (mono() - t0) / iters;
	return 0;
}

static int loop_connect(long iters, int port, double *ns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	double t0;
	long i;
	int s, err = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	t0 = mono();
	for (i = 0; i < iters; i++) {
		if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
			err = -errno;
			break;
		}
	}
	*ns = (mono() - t0) / iters;
	close(s);
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
		{},
	};
	long iters = 100000, cpu = -1, bport = 20000, cport = 20001;
	struct sock_trivial_bpf *skel = NULL;
	struct bpf_link *links[4] = {};
	const char *cg = NULL;
	int opt, trivial = 0, cgfd = -1, statsfd = -1, err = 1, i;
	double bind_ns = 0, connect_ns = 0;
	__u64 b0, bc0, b1, bc1, c0, cc0, c1, cc1;
	char *end;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long *dst = NULL, max = 0, min = 1;

		switch (opt) {
		case 'g': cg = optarg; continue;
		case 't': trivial = 1; continue;
		case 'n': dst = &iters, max = 100000000; break;
		case 'c': dst = &cpu, max = CPU_SETSIZE - 1, min = 0; break;
		case 'b': dst = &bport, max = 65535; break;
		case 'p': dst = &cport, max = 65535; break;
		default:
			fprintf(stderr, "usage: sockbench --cgroup DIR [--iters N] [--cpu C] "
					"[--trivial] [--bind-port P] [--connect-port P]\n");
			return 2;
		}
		errno = 0;
		*dst = strtol(optarg, &end, 10);
		if (errno || *end || *dst < min || *dst > max) {
			fprintf(stderr, "sockbench: bad value '%s'\n", optarg);
			return 2;
		}
	}
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
		for (i = 0; i < 4; i++) {
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
	prog_stats(cgfd, BPF_CGROUP_INET4_BIND, &b0, &bc0);
	prog_stats(cgfd, BPF_CGROUP_INET4_CONNECT, &c0, &cc0);
	err = loop_bind(iters / 10 + 1, bport, &bind_ns);
	if (!err)
		err = loop_connect(iters / 10 + 1, cport, &connect_ns);
	prog_stats(cgfd, BPF_CGROUP_INET4_BIND, &b1, &bc1);
	prog_stats(cgfd, BPF_CGROUP_INET4_CONNECT, &c1, &cc1);
	if (statsfd >= 0)
		close(statsfd);
	if (!err)
		err = loop_bind(iters, bport, &bind_ns);
	if (err) {
		fprintf(stderr, "sockbench: failed to bind 127.0.0.1:%ld: %s\n", bport,
			strerror(-err));
		err = 1;
		goto out;
	}
	err = loop_connect(iters, cport, &connect_ns);
	if (err) {
		fprintf(stderr, "sockbench: failed to connect to 127.0.0.1:%ld: %s\n", cport,
			strerror(-err));
		err = 1;
		goto out;
	}
	printf("bind_ns=%.1f connect_ns=%.1f", bind_ns, connect_ns);
	if (statsfd >= 0 && bc1 > bc0 && cc1 > cc0)
		printf(" bind_prog_ns=%.1f connect_prog_ns=%.1f", (double)(b1 - b0) / (bc1 - bc0),
		       (double)(c1 - c0) / (cc1 - cc0));
	printf("\n");
	err = 0;
out:
	for (i = 0; i < 4; i++)
		bpf_link__destroy(links[i]);
	sock_trivial_bpf__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	return err;
}
