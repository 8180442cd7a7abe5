// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup socket hooks on the real kernel. Each case:
 *  - moves into a fresh network namespace with lo up and "public" addresses of its own on lo
 *    (198.18.0.1, 198.18.1.1, 2001:db8::1, 2001:db8:1::1), so that nothing leaves it;
 *  - creates a child cgroup of the cgroup v2 root (found in /proc/mounts; never the root
 *    itself), loads the real sock_hooks skeleton, fills its maps from a policy through
 *    pg_compile(), and attaches every program to that child cgroup;
 *  - runs real syscalls in forked children that first move themselves into the cgroup, and
 *    asserts EPERM or success, and the events the ring buffer carries.
 * Cleanup (links, skeleton, the cgroup) runs at exit, on failure too (ASSERT exits).
 * Children of a case leave with _exit() so that they never run that cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/generation.h"
#include "kernel/percpu.h"
#include "policy/compile.h"
#include "policy/evaluate.h"
#include "harness.h"
#include "kernel_limits.h"
#include "portguard.h"
#include "policy/policy.h"
#include "sock_hooks.skel.h"
#include "sock_lsm.skel.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

#define CHILD_COMM "pg-sock-test"
/* Exit codes of a child beyond errno values: the case cannot run here. */
#define EX_NO_URING 250
#define EX_SETUP 251

/* ---- the policy ---- */

/*
 * The policy every case but two runs under, parsed by the real parser and compiled by
 * pg_compile(). SLOT(line) is the rule slot of the rule on that line, as events name it.
 * The first line is replaced per case: the mode.
 */
static const char policy_text[] =
	"mode enforce\n"						/* 1 */
	"default in deny\n"						/* 2 */
	"default out deny\n"						/* 3 */
	"allow in tcp 22\n"						/* 4 */
	"allow in udp 5353\n"						/* 5 */
	"allow in udp 5355 from 198.18.0.0/24\n"			/* 6 */
	"local tcp,udp 5432\n"						/* 7 */
	"local tcp 9000 dry-run\n"					/* 8 */
	"allow out tcp 443 to 198.18.0.0/15, 2001:db8::/32\n"		/* 9 */
	"deny out tcp 443 to 198.18.1.1\n"				/* 10 */
	"allow out tcp 8443 to 198.18.0.0/15\n"				/* 11 */
	"allow out udp 53\n"						/* 12 */
	"deny out tcp 25\n"						/* 13 */
	"deny out tcp 80 to 198.18.0.0/15 dry-run\n"			/* 14 */
	"allow out tcp 8080 to 198.18.0.0/15 log\n"			/* 15 */
	"allow out tcp 80 to 198.18.0.0/16\n"				/* 16 */
	"local tcp 9001\n"						/* 17 */
	"deny in tcp 9001 dry-run\n"					/* 18 */
	"local tcp 9002 dry-run\n"					/* 19 */
	"local tcp 9002\n"						/* 20 */
	"deny raw\n";							/* 21 */

/* Rule slots by source line, filled when the policy is compiled. */
static __u32 line_slot[32];
#define SLOT(line) (line_slot[line])

/* Parse and compile the policy; mode is "enforce" or "dry-run"; deny_raw false drops the
 * `deny raw` line. */
static void compile_policy(const char *mode, bool deny_raw, __u32 gen, struct pg_compiled *c)
{
	char text[sizeof(policy_text) + 16];
	struct pg_diags d = {};
	struct pg_policy *p = NULL;
	const char *body = strchr(policy_text, '\n') + 1;
	size_t len;

	len = (size_t)snprintf(text, sizeof(text), "mode %s\n%s", mode, body);
	if (!deny_raw) {
		char *raw = strstr(text, "deny raw\n");

		/* Blank the line, so that line numbers stay. */
		memset(raw, ' ', strlen("deny raw"));
	}
	if (pg_policy_parse("test.policy", text, len, &p, &d)) {
		pg_diags_print(&d, stdout);
		PG_FAIL_AT(1, "the test policy does not parse");
	}
	pg_diags_free(&d);
	ASSERT_EQ(0, pg_compile(p, gen, c));
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].loc.line < 32)
			line_slot[p->rules[i].loc.line] = c->rule_slot[i];
	pg_policy_free(p);
}

/* An address as the maps hold it: 16 bytes, IPv4 mapped, network order. */
static void mapped(const char *addr, __u8 out[16])
{
	memset(out, 0, 16);
	if (strchr(addr, ':')) {
		if (inet_pton(AF_INET6, addr, out) != 1)
			abort();
	} else {
		out[10] = out[11] = 0xff;
		if (inet_pton(AF_INET, addr, out + 12) != 1)
			abort();
	}
}

/* ---- the fixture ---- */

#define MAX_EVENTS 64

static struct {
	struct sock_hooks_bpf *skel;
	struct sock_lsm_bpf *lsm; /* NULL when this kernel refuses LSM programs */
	int lsm_err;
	struct bpf_link *links[8];
	int nlinks;
	struct ring_buffer *rb;
	char cg[512];
	__u64 cgid;
	struct pg_event ev[MAX_EVENTS];
	int nev;
	pid_t last_pid;
	__u32 gen; /* the generation in force */
	__u32 loads; /* policies loaded: the version of the last */
} fx;

static void fx_cleanup(void)
{
	char path[600];
	int i;

	ring_buffer__free(fx.rb);
	for (i = 0; i < fx.nlinks; i++)
		bpf_link__destroy(fx.links[i]);
	sock_lsm_bpf__destroy(fx.lsm);
	sock_hooks_bpf__destroy(fx.skel);
	if (fx.cg[0]) {
		/* Children are reaped before any assertion, so the cgroup is empty; kill any
		 * straggler anyway so that rmdir cannot fail on it. */
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", fx.cg);
		f = fopen(path, "r");
		if (f) {
			int pid;

			while (fscanf(f, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			fclose(f);
		}
		for (i = 0; i < 50 && rmdir(fx.cg) && errno == EBUSY; i++)
			usleep(20000);
	}
}

/* tests/run.sh bounds a suite with timeout(1), whose SIGTERM skips atexit(): the cgroup would
 * outlive the run (one was found hours later). The handler removes it with async-signal-safe
 * calls only; the case's children got the same signal from timeout and leave it empty. */
static void on_term(int sig)
{
	struct timespec t = { 0, 20000000 };
	int i;

	for (i = 0; fx.cg[0] && i < 50 && rmdir(fx.cg) && errno == EBUSY; i++)
		nanosleep(&t, NULL);
	_exit(128 + sig);
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct pg_event) && fx.nev < MAX_EVENTS)
		memcpy(&fx.ev[fx.nev++], data, sizeof(struct pg_event));
	return 0;
}

/* Collect every event submitted so far (hooks submit synchronously in the syscall). */
static void drain(void)
{
	fx.nev = 0;
	ring_buffer__consume(fx.rb);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

static void cgroup2_root(char *buf, size_t size)
{
	char dev[256], dir[512], type[64];
	FILE *f = fopen("/proc/mounts", "r");

	buf[0] = '\0';
	if (!f)
		return;
	while (fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, size, "%s", dir);
			break;
		}
	}
	fclose(f);
}

/* Load a compiled policy as the loader does (user/kernel/generation.h): into the idle generation, then
 * the switch. Every event is wanted, none suppressed: the cases count them. */
static void load_policy(const char *mode, bool deny_raw)
{
	struct pg_compiled c;
	struct pg_maps m;
	__u32 gen;

	ASSERT_EQ(0, pg_maps_from_object(&m, fx.skel->obj));
	ASSERT_EQ(0, pg_active_gen(&m, &gen));
	compile_policy(mode, deny_raw, pg_other_gen(gen), &c);
	/* A new version for every load, as pg_enforce() gives it: the hooks' remembered
	 * answers hold for one version only. */
	c.config.version = ++fx.loads;
	c.config.ratelimit_ns = 0;
	c.config.events_per_sec = 0;
	ASSERT_EQ(0, pg_apply(&m, &c));
	ASSERT_EQ(0, pg_activate(&m, c.gen));
	fx.gen = c.gen;
	pg_compiled_free(&c);
	pg_maps_close(&m);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The LSM half of `deny raw`, as the loader does it: sharing the socket hooks' maps, and
 * optional (fx.lsm stays NULL, fx.lsm_err says why). */
static void load_lsm(int cgfd)
{
	libbpf_print_fn_t old;
	struct bpf_map *m;
	int err;

	fx.lsm = sock_lsm_bpf__open();
	if (!fx.lsm) {
		fx.lsm_err = -errno;
		return;
	}
	bpf_object__for_each_map(m, fx.lsm->obj) {
		struct bpf_map *mine = bpf_object__find_map_by_name(fx.skel->obj,
								    bpf_map__name(m));

		if (mine)
			ASSERT_EQ(0, bpf_map__reuse_fd(m, bpf_map__fd(mine)));
	}
	old = libbpf_set_print(quiet);
	err = sock_lsm_bpf__load(fx.lsm);
	libbpf_set_print(old);
	if (!err) {
		fx.links[fx.nlinks] = bpf_program__attach_cgroup(fx.lsm->progs.pg_lsm_socket_create,
								 cgfd);
		err = fx.links[fx.nlinks] ? 0 : -errno;
		if (!err)
			fx.nlinks++;
	}
	if (err) {
		fx.lsm_err = err;
		sock_lsm_bpf__destroy(fx.lsm);
		fx.lsm = NULL;
	}
}

enum fx_policy {
	FX_NONE,    /* no policy loaded: the maps as the loader creates them */
	FX_ENFORCE, /* policy_text, mode enforce, deny raw */
	FX_DRY_RUN, /* policy_text, mode dry-run, deny raw */
	FX_NO_RAW,  /* policy_text, mode enforce, no deny raw */
};

static void setup(enum fx_policy which)
{
	static const char *addrs[] = {
		"ip link set lo up",
		"ip addr add 198.18.0.1/32 dev lo",
		"ip addr add 198.18.1.1/32 dev lo",
		"ip addr add 2001:db8::1/128 dev lo nodad",
		"ip addr add 2001:db8:1::1/128 dev lo nodad",
		/* ICMP ping sockets for root, to show they are not raw. */
		"sysctl -q -w net.ipv4.ping_group_range='0 0'",
	};
	char root[512];
	struct stat st;
	int cgfd, i;

	if (geteuid() != 0)
		SKIP("needs root (network namespace, cgroup BPF)");
	if (unshare(CLONE_NEWNET))
		SKIP("cannot create a network namespace: %s", strerror(errno));
	for (i = 0; i < (int)(sizeof(addrs) / sizeof(addrs[0])); i++)
		if (sh(addrs[i] /* quiet on success */))
			SKIP("'%s' failed (iproute2/procps installed?)", addrs[i]);

	cgroup2_root(root, sizeof(root));
	if (!root[0])
		SKIP("no cgroup v2 hierarchy in /proc/mounts");
	atexit(fx_cleanup);
	snprintf(fx.cg, sizeof(fx.cg), "%s/pg-test-sock-%d", root, getpid());
	if (mkdir(fx.cg, 0755)) {
		fx.cg[0] = '\0';
		SKIP("cannot create a child cgroup under %s: %s", root, strerror(errno));
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ASSERT_EQ(0, stat(fx.cg, &st));
	/* A cgroup v2 id (what bpf_get_current_cgroup_id() returns) is its kernfs inode. */
	fx.cgid = st.st_ino;

	fx.skel = sock_hooks_bpf__open_and_load();
	ASSERT_TRUE(fx.skel);
	if (which != FX_NONE)
		load_policy(which == FX_DRY_RUN ? "dry-run" : "enforce", which != FX_NO_RAW);

	cgfd = open(fx.cg, O_RDONLY | O_DIRECTORY);
	ASSERT_TRUE(cgfd >= 0);
	{
		struct bpf_program *progs[] = {
			fx.skel->progs.pg_bind4,    fx.skel->progs.pg_bind6,
			fx.skel->progs.pg_connect4, fx.skel->progs.pg_connect6,
			fx.skel->progs.pg_sendmsg4, fx.skel->progs.pg_sendmsg6,
			fx.skel->progs.pg_sock_create,
		};

		for (i = 0; i < (int)(sizeof(progs) / sizeof(progs[0])); i++) {
			fx.links[i] = bpf_program__attach_cgroup(progs[i], cgfd);
			ASSERT_TRUE(fx.links[i]);
			fx.nlinks++;
		}
	}
	load_lsm(cgfd);
	close(cgfd);
	fx.rb = ring_buffer__new(bpf_map__fd(fx.skel->maps.pg_events), on_event, NULL, NULL);
	ASSERT_TRUE(fx.rb);
}

/* ---- running a syscall inside the cgroup ---- */

typedef int (*op_fn)(const void *arg);

/* Run fn in a child moved into the test cgroup first; returns its errno (0: success). */
static int in_cgroup(op_fn fn, const void *arg, uid_t uid)
{
	char path[600];
	int status, fd, rc;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", fx.cg);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(EX_SETUP);
		close(fd);
		prctl(PR_SET_NAME, CHILD_COMM);
		if (uid && setresuid(uid, uid, uid))
			_exit(EX_SETUP);
		rc = fn(arg);
		_exit(rc);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(EX_SETUP, WEXITSTATUS(status));
	fx.last_pid = pid;
	return WEXITSTATUS(status);
}

struct sa {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static struct sa mk_sa(const char *addr, int port)
{
	struct sa s = {};

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s.ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			abort();
		s.len = sizeof(*a);
		s.family = AF_INET6;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&s.ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			abort();
		s.len = sizeof(*a);
		s.family = AF_INET;
	}
	return s;
}

struct op {
	int type;	  /* SOCK_STREAM, SOCK_DGRAM */
	const char *addr; /* what to bind or reach */
	int port;
	int v6only;	  /* IPv6 sockets: 1 v6-only, 0 dual-stack */
	int sock_family;  /* 0: the address's family; AF_INET6 for mapped addresses */
	int protocol;	  /* 0, or IPPROTO_MPTCP */
};

static int op_socket(const struct op *o, struct sa *s)
{
	int fd;

	*s = mk_sa(o->addr, o->port);
	fd = socket(o->sock_family ? o->sock_family : s->family, o->type, o->protocol);
	if (fd < 0)
		return -1;
	if ((o->sock_family ? o->sock_family : s->family) == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &o->v6only, sizeof(int)))
		return -1;
	return fd;
}

static int do_bind(const void *arg)
{
	struct sa s;
	int fd = op_socket(arg, &s);

	if (fd < 0)
		return EX_SETUP;
	return bind(fd, (struct sockaddr *)&s.ss, s.len) ? errno : 0;
}

static int do_connect(const void *arg)
{
	struct sa s;
	int fd = op_socket(arg, &s);

	if (fd < 0)
		return EX_SETUP;
	return connect(fd, (struct sockaddr *)&s.ss, s.len) ? errno : 0;
}

static int do_sendto(const void *arg)
{
	struct sa s;
	int fd = op_socket(arg, &s);

	if (fd < 0)
		return EX_SETUP;
	return sendto(fd, "x", 1, 0, (struct sockaddr *)&s.ss, s.len) == 1 ? 0 : errno;
}

/* TCP Fast Open: the connect happens inside sendto(MSG_FASTOPEN). */
static int do_tfo(const void *arg)
{
	struct sa s;
	int fd = op_socket(arg, &s);

	if (fd < 0)
		return EX_SETUP;
	return sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&s.ss, s.len) == 1 ? 0 : errno;
}

/* IORING_OP_CONNECT through raw io_uring syscalls (no liburing needed). */
static int do_uring_connect(const void *arg)
{
	struct io_uring_params p = {};
	struct io_uring_sqe *sqes, *sqe;
	struct io_uring_cqe *cqes;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask, idx;
	size_t sq_sz, cq_sz;
	void *sq, *cq;
	struct sa s;
	int ring, fd, res;

	fd = op_socket(arg, &s);
	if (fd < 0)
		return EX_SETUP;
	ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		return EX_NO_URING;
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(__u32);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_sz = cq_sz = sq_sz > cq_sz ? sq_sz : cq_sz;
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return EX_SETUP;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
			  IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return EX_SETUP;
	}
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sqes == MAP_FAILED)
		return EX_SETUP;
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);

	idx = *sq_tail & *sq_mask;
	sqe = &sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_CONNECT;
	sqe->fd = fd;
	sqe->addr = (unsigned long)&s.ss;
	sqe->off = s.len; /* the address length travels in off */
	sqe->user_data = 42;
	sq_array[idx] = idx;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return EX_SETUP;
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) == *cq_head)
		return EX_SETUP;
	res = cqes[*cq_head & *cq_mask].res;
	if (cqes[*cq_head & *cq_mask].user_data != 42)
		return EX_SETUP;
	return res < 0 ? -res : 0;
}

struct sock_op {
	int family, type, protocol;
};

static int do_create(const void *arg)
{
	const struct sock_op *o = arg;
	int fd = socket(o->family, o->type, o->protocol);

	return fd < 0 ? errno : 0;
}

/* ---- event checks ---- */

static const struct pg_event *find_event(__u32 hook, __u16 dport)
{
	for (int i = 0; i < fx.nev; i++)
		if (fx.ev[i].hook == hook && fx.ev[i].dport == dport)
			return &fx.ev[i];
	return NULL;
}


/* The one event of the last child: who, which hook, what, and the verdict. */
static void expect_event(__u32 hook, __u32 reason, __u8 action, const char *daddr, __u16 dport,
			 __u32 rule_id)
{
	const struct pg_event *e;
	__u8 a[16];

	drain();
	EXPECT_EQ(1, fx.nev);
	e = find_event(hook, dport);
	if (!e) {
		PG_FAIL_AT(1, "no event for hook %u port %u", hook, dport);
		return;
	}
	EXPECT_EQ(fx.last_pid, e->pid);
	EXPECT_STREQ(CHILD_COMM, e->comm);
	EXPECT_EQ(fx.cgid, e->cgroup_id);
	EXPECT_EQ(reason, e->reason);
	EXPECT_EQ(action, e->action);
	EXPECT_EQ(rule_id, e->rule_id);
	EXPECT_EQ(fx.gen, e->gen);
	if (daddr) {
		mapped(daddr, a);
		EXPECT_EQ(0, memcmp(a, e->daddr, 16));
	}
}

static void expect_no_event(void)
{
	drain();
	EXPECT_EQ(0, fx.nev);
}

/* ---- listeners outside the cgroup, for connects that must succeed ---- */

/* A dual-stack TCP listener on [::]:port in the test process (not in the cgroup). */
static int listen_tcp(int port)
{
	struct sa s = mk_sa("::", port);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;

	ASSERT_TRUE(fd >= 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&s.ss, s.len));
	ASSERT_EQ(0, listen(fd, 64));
	return fd;
}

/* ---- bind ---- */

#define BIND(exp, type, addr, port, v6only)                                              \
	do {                                                                             \
		struct op _o = { type, addr, port, v6only, 0, 0 };                          \
		int _rc = in_cgroup(do_bind, &_o, 0);                                    \
		if (_rc != (exp))                                                        \
			PG_FAIL_AT(0, "bind %s %s:%d v6only=%d: expected %s, seen %s",    \
				   type == SOCK_STREAM ? "tcp" : "udp", addr, port,       \
				   v6only, strerror(exp), strerror(_rc));                 \
	} while (0)

TEST(bind_local_port_loopback_allowed)
{
	setup(FX_ENFORCE);
	BIND(0, SOCK_STREAM, "127.0.0.1", 5432, 0);
	BIND(0, SOCK_STREAM, "127.1.2.3", 5432, 0);
	BIND(0, SOCK_STREAM, "::1", 5432, 1);
	BIND(0, SOCK_STREAM, "::1", 5432, 0);
	/* An IPv4-mapped loopback on a dual-stack socket is IPv4 loopback. */
	BIND(0, SOCK_STREAM, "::ffff:127.0.0.1", 5432, 0);
	BIND(0, SOCK_DGRAM, "127.0.0.1", 5432, 0);
	BIND(0, SOCK_DGRAM, "::1", 5432, 1);
	/* Loopback binds are not violations: no event. */
	expect_no_event();
}

TEST(bind_local_port_elsewhere_refused)
{
	setup(FX_ENFORCE);
	BIND(EPERM, SOCK_STREAM, "0.0.0.0", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "0.0.0.0", 5432, SLOT(7));
	BIND(EPERM, SOCK_STREAM, "::", 5432, 1);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "::", 5432, SLOT(7));
	/* A dual-stack :: socket listens on IPv4 too. */
	BIND(EPERM, SOCK_STREAM, "::", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "::", 5432, SLOT(7));
	/* The IPv4 wildcard spelt as IPv6. */
	BIND(EPERM, SOCK_STREAM, "::ffff:0.0.0.0", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "0.0.0.0", 5432, SLOT(7));
	/* The host's own addresses. */
	BIND(EPERM, SOCK_STREAM, "198.18.0.1", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "198.18.0.1", 5432, SLOT(7));
	BIND(EPERM, SOCK_STREAM, "::ffff:198.18.0.1", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "198.18.0.1", 5432, SLOT(7));
	BIND(EPERM, SOCK_STREAM, "2001:db8::1", 5432, 1);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "2001:db8::1", 5432,
		     SLOT(7));
	BIND(EPERM, SOCK_DGRAM, "0.0.0.0", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "0.0.0.0", 5432, SLOT(7));
	BIND(EPERM, SOCK_DGRAM, "::", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "::", 5432, SLOT(7));
}

TEST(bind_other_ports_allowed)
{
	setup(FX_ENFORCE);
	/* Not `local`: any address. Inbound rules are XDP's business, not bind's. */
	BIND(0, SOCK_STREAM, "0.0.0.0", 8080, 0);
	BIND(0, SOCK_STREAM, "::", 8080, 0);
	BIND(0, SOCK_STREAM, "198.18.0.1", 22, 0);
	/* `local tcp,udp 5432` is per protocol, `local tcp 9000` is TCP only. */
	BIND(0, SOCK_DGRAM, "0.0.0.0", 9000, 0);
	/* Port 0: an ephemeral port, nothing to judge. */
	BIND(0, SOCK_STREAM, "0.0.0.0", 0, 0);
	BIND(0, SOCK_STREAM, "::", 0, 0);
	expect_no_event();
}

/*
 * The bind hook names the port's local rule from the port slot, whatever the trie says of
 * peers (under `default in deny` the peers of a dry-run local port are decided by the
 * default, and a dry-run deny may cover them).
 */
TEST(bind_dry_run_local_rule_reports)
{
	setup(FX_ENFORCE);
	/* `local tcp 9000 dry-run`: the bind succeeds and is reported as allowed. */
	BIND(0, SOCK_STREAM, "0.0.0.0", 9000, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_ALLOWED, "0.0.0.0", 9000, SLOT(8));
	BIND(0, SOCK_STREAM, "::", 9000, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_ALLOWED, "::", 9000, SLOT(8));
	/* `local tcp 9001` with a dry-run deny from any: the local rule refuses. */
	BIND(EPERM, SOCK_STREAM, "0.0.0.0", 9001, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "0.0.0.0", 9001, SLOT(17));
	/* A dry-run and an enforcing local on one port: the enforcing one refuses, and is
	 * named, though the dry-run one comes first. */
	BIND(EPERM, SOCK_STREAM, "198.18.0.1", 9002, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "198.18.0.1", 9002,
		     SLOT(20));
	BIND(0, SOCK_STREAM, "127.0.0.1", 9002, 0);
	expect_no_event();
}

/* ---- connect ---- */

#define OUT(fn, exp, type, addr, port)                                                   \
	do {                                                                             \
		struct op _o = { type, addr, port, 0, 0, 0 };                               \
		int _rc = in_cgroup(fn, &_o, 0);                                         \
		if (_rc != (exp))                                                        \
			PG_FAIL_AT(0, "%s %s %s:%d: expected %s, seen %s", #fn,           \
				   type == SOCK_STREAM ? "tcp" : "udp", addr, port,       \
				   strerror(exp), strerror(_rc));                         \
	} while (0)

TEST(connect_tcp)
{
	setup(FX_ENFORCE);
	listen_tcp(443);
	listen_tcp(8443);
	listen_tcp(22);
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 443);
	OUT(do_connect, 0, SOCK_STREAM, "2001:db8::1", 443);
	expect_no_event();
	/* default out deny */
	OUT(do_connect, EPERM, SOCK_STREAM, "198.18.0.1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 22,
		     PG_RULE_DEFAULT_OUT);
	OUT(do_connect, EPERM, SOCK_STREAM, "2001:db8::1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 22,
		     PG_RULE_DEFAULT_OUT);
	/* deny out tcp 443 to 198.18.1.1 beats the /15 allow */
	OUT(do_connect, EPERM, SOCK_STREAM, "198.18.1.1", 443);
	expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_BLOCKED, "198.18.1.1", 443, SLOT(10));
	/* allow out tcp 8443 to 198.18.0.0/15 says nothing about IPv6 */
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 8443);
	OUT(do_connect, EPERM, SOCK_STREAM, "2001:db8::1", 8443);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 8443,
		     PG_RULE_DEFAULT_OUT);
}

#define OUT6(fn, exp, type, addr, port)                                                  \
	do {                                                                             \
		struct op _o = { type, addr, port, 0, AF_INET6, 0 };                        \
		int _rc = in_cgroup(fn, &_o, 0);                                         \
		if (_rc != (exp))                                                        \
			PG_FAIL_AT(0, "%s %s [%s]:%d: expected %s, seen %s", #fn,         \
				   type == SOCK_STREAM ? "tcp" : "udp", addr, port,       \
				   strerror(exp), strerror(_rc));                         \
	} while (0)

/*
 * The connect hooks and the reference evaluator agree on every outbound query of a grid, as
 * test_explain's check_xdp holds XDP to it inbound: tcp and udp, to peers inside and outside
 * the policy's prefixes (all in the test ranges; this namespace routes none of them off lo),
 * on ports its rules name and one they do not. A connect is refused (EPERM) exactly when the
 * evaluator says blocked and not dry-run; an event comes exactly when it says blocked or
 * `log`, and names the rule the evaluator names.
 */
TEST(outbound_verdicts_agree_with_evaluator)
{
	static const char *const peers[] = { "198.18.0.1",  "198.18.1.1",  "198.18.200.7",
					     "198.19.0.5",  "2001:db8::1", "2001:db8:1::1",
					     "2001:db8:ffff::9" };
	static const int ports[] = { 22, 25, 53, 80, 443, 8080, 8443, 9000, 1234 };
	struct pg_diags d = {};
	struct pg_policy *p = NULL;
	int ran = 0, refused = 0, reported = 0;

	setup(FX_ENFORCE);
	ASSERT_EQ(0, pg_policy_parse("test.policy", policy_text, strlen(policy_text), &p, &d));
	pg_diags_free(&d);
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++)
			for (int udp = 0; udp < 2; udp++) {
				struct op o = { udp ? SOCK_DGRAM : SOCK_STREAM, peers[i], ports[j],
						0, 0, 0 };
				struct pg_eval r;
				__u8 a[16];
				int rc;

				mapped(peers[i], a);
				ASSERT_EQ(0, pg_policy_evaluate(p, PG_DIR_OUT,
								udp ? PG_PIDX_UDP : PG_PIDX_TCP,
								ports[j], a, &r));
				rc = in_cgroup(do_connect, &o, 0);
				drain();
				if ((rc == EPERM) != (r.drop && !r.dry_run) ||
				    fx.nev != (r.drop || r.log) ||
				    (fx.nev && fx.ev[0].rule_id != r.rule_slot))
					PG_FAIL_AT(0, "out %s %s:%d: evaluator %s (slot %u), hook %s "
						   "with %d events (slot %u)", udp ? "udp" : "tcp",
						   peers[i], ports[j],
						   r.drop ? (r.dry_run ? "dry-run" : "blocked") :
							    "allowed", r.rule_slot,
						   strerror(rc), fx.nev,
						   fx.nev ? fx.ev[0].rule_id : 0);
				ran++;
				refused += rc == EPERM;
				reported += fx.nev;
				pg_eval_free(&r);
			}
	pg_policy_free(p);
	printf("# %d outbound connects agree (hook, evaluator), %d refused, %d reported\n", ran,
	       refused, reported);
	/* Both verdicts, and events, were exercised. */
	EXPECT_GT(refused, 0);
	EXPECT_GT(ran, refused);
	EXPECT_GT(reported, refused);
}

TEST(connect_ipv4_mapped_judged_as_ipv4)
{
	setup(FX_ENFORCE);
	listen_tcp(443);
	listen_tcp(8443);
	listen_tcp(22);
	/* An IPv4-only allow covers the mapped form... */
	OUT6(do_connect, 0, SOCK_STREAM, "::ffff:198.18.0.1", 8443);
	OUT6(do_connect, 0, SOCK_STREAM, "::ffff:198.18.0.1", 443);
	expect_no_event();
	/* ...an IPv4 deny too... */
	OUT6(do_connect, EPERM, SOCK_STREAM, "::ffff:198.18.1.1", 443);
	expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_BLOCKED, "198.18.1.1", 443, SLOT(10));
	/* ...and the IPv4 default. The event says the traffic is IPv4. */
	OUT6(do_connect, EPERM, SOCK_STREAM, "::ffff:198.18.0.1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 22,
		     PG_RULE_DEFAULT_OUT);
	EXPECT_EQ(4, fx.ev[0].family);
	OUT6(do_connect, EPERM, SOCK_DGRAM, "::ffff:198.18.0.1", 5000);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 5000,
		     PG_RULE_DEFAULT_OUT);
	OUT6(do_sendto, EPERM, SOCK_DGRAM, "::ffff:198.18.0.1", 5000);
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 5000,
		     PG_RULE_DEFAULT_OUT);
	OUT6(do_sendto, 0, SOCK_DGRAM, "::ffff:198.18.0.1", 53);
	expect_no_event();
}

TEST(connect_udp)
{
	setup(FX_ENFORCE);
	OUT(do_connect, 0, SOCK_DGRAM, "198.18.0.1", 53);
	OUT(do_connect, 0, SOCK_DGRAM, "2001:db8::1", 53);
	expect_no_event();
	OUT(do_connect, EPERM, SOCK_DGRAM, "198.18.0.1", 5000);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 5000,
		     PG_RULE_DEFAULT_OUT);
	EXPECT_EQ(IPPROTO_UDP, fx.ev[0].proto);
	EXPECT_EQ(PG_DIR_OUT, fx.ev[0].dir);
	OUT(do_connect, EPERM, SOCK_DGRAM, "2001:db8::1", 5000);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 5000,
		     PG_RULE_DEFAULT_OUT);
	EXPECT_EQ(6, fx.ev[0].family);
}

TEST(sendto_unconnected_udp)
{
	setup(FX_ENFORCE);
	OUT(do_sendto, 0, SOCK_DGRAM, "198.18.0.1", 53);
	OUT(do_sendto, 0, SOCK_DGRAM, "2001:db8::1", 53);
	expect_no_event();
	OUT(do_sendto, EPERM, SOCK_DGRAM, "198.18.0.1", 5000);
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 5000,
		     PG_RULE_DEFAULT_OUT);
	OUT(do_sendto, EPERM, SOCK_DGRAM, "2001:db8::1", 5000);
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 5000,
		     PG_RULE_DEFAULT_OUT);
}

TEST(connect_loopback)
{
	setup(FX_ENFORCE);
	listen_tcp(6000);
	listen_tcp(25);
	/* Nothing but `default out deny` covers it: loopback never leaves the host. */
	OUT(do_connect, 0, SOCK_STREAM, "127.0.0.1", 6000);
	OUT(do_connect, 0, SOCK_STREAM, "::1", 6000);
	OUT(do_sendto, 0, SOCK_DGRAM, "127.0.0.1", 6000);
	expect_no_event();
	/* An explicit deny applies to loopback too. */
	OUT(do_connect, EPERM, SOCK_STREAM, "127.0.0.1", 25);
	expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_BLOCKED, "127.0.0.1", 25, SLOT(13));
}

TEST(connect_tcp_fast_open)
{
	setup(FX_ENFORCE);
	listen_tcp(443);
	OUT(do_tfo, 0, SOCK_STREAM, "198.18.0.1", 443);
	OUT(do_tfo, 0, SOCK_STREAM, "2001:db8::1", 443);
	expect_no_event();
	OUT(do_tfo, EPERM, SOCK_STREAM, "198.18.0.1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 22,
		     PG_RULE_DEFAULT_OUT);
	OUT(do_tfo, EPERM, SOCK_STREAM, "2001:db8::1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 22,
		     PG_RULE_DEFAULT_OUT);
}

TEST(connect_io_uring)
{
	struct op probe = { SOCK_STREAM, "198.18.0.1", 443, 0, 0, 0 };

	setup(FX_ENFORCE);
	listen_tcp(443);
	if (in_cgroup(do_uring_connect, &probe, 0) == EX_NO_URING)
		SKIP("io_uring_setup failed (kernel.io_uring_disabled?)");
	expect_no_event();
	OUT(do_uring_connect, 0, SOCK_STREAM, "2001:db8::1", 443);
	OUT(do_uring_connect, EPERM, SOCK_STREAM, "198.18.0.1", 22);
	drain();
	EXPECT_EQ(1, fx.nev);
	/* The connect may complete in an io_uring worker of the same process: the tgid is the
	 * process's, the comm may be the worker's. */
	EXPECT_EQ(fx.last_pid, fx.ev[0].pid);
	EXPECT_EQ(PG_HOOK_CONNECT, fx.ev[0].hook);
	EXPECT_EQ(22, fx.ev[0].dport);
	EXPECT_EQ(PG_EV_BLOCKED, fx.ev[0].action);
	OUT(do_uring_connect, EPERM, SOCK_STREAM, "2001:db8::1", 22);
}

/* MPTCP is TCP on the wire: its binds and connects are judged as TCP. */
TEST(mptcp_judged_as_tcp)
{
	struct op o;
	int fd;

	setup(FX_ENFORCE);
	listen_tcp(443);
	listen_tcp(22);
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0)
		SKIP("no MPTCP sockets here: %s", strerror(errno));
	close(fd);
	o = (struct op){ SOCK_STREAM, "0.0.0.0", 5432, 0, 0, IPPROTO_MPTCP };
	EXPECT_EQ(EPERM, in_cgroup(do_bind, &o, 0));
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_BLOCKED, "0.0.0.0", 5432, SLOT(7));
	EXPECT_EQ(IPPROTO_TCP, fx.ev[0].proto);
	o = (struct op){ SOCK_STREAM, "127.0.0.1", 5432, 0, 0, IPPROTO_MPTCP };
	EXPECT_EQ(0, in_cgroup(do_bind, &o, 0));
	o = (struct op){ SOCK_STREAM, "198.18.0.1", 443, 0, 0, IPPROTO_MPTCP };
	EXPECT_EQ(0, in_cgroup(do_connect, &o, 0));
	expect_no_event();
	o = (struct op){ SOCK_STREAM, "198.18.0.1", 22, 0, 0, IPPROTO_MPTCP };
	EXPECT_EQ(EPERM, in_cgroup(do_connect, &o, 0));
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 22,
		     PG_RULE_DEFAULT_OUT);
	/* MPTCP takes TCP Fast Open from 6.2 (tests/kernel_limits.h): before, sendto() fails
	 * with EOPNOTSUPP before any hook runs, and there is no verdict to check. */
	if (pg_kernel_older(6, 2))
		return;
	o = (struct op){ SOCK_STREAM, "2001:db8::1", 22, 0, 0, IPPROTO_MPTCP };
	EXPECT_EQ(EPERM, in_cgroup(do_tfo, &o, 0));
}

/* ---- UDP replies ---- */

struct reply_op {
	const char *bind_addr;
	int port;	/* the server's port */
	int client_fd;	/* a socket of the test process, outside the cgroup */
	struct sa client_to;
};

/* A UDP server in the cgroup receives one datagram and answers it with sendto(). */
static int do_udp_reply(const void *arg)
{
	const struct reply_op *o = arg;
	struct sa s = mk_sa(o->bind_addr, o->port), peer;
	struct pollfd pfd;
	char buf[16];
	int fd;

	fd = socket(s.family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&s.ss, s.len))
		return EX_SETUP;
	/* The client's socket was created outside the cgroup: no hook judges its send. */
	if (sendto(o->client_fd, "q", 1, 0, (struct sockaddr *)&o->client_to.ss,
		   o->client_to.len) != 1)
		return EX_SETUP;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1)
		return EX_SETUP;
	peer.len = sizeof(peer.ss);
	if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer.ss, &peer.len) != 1)
		return EX_SETUP;
	if (sendto(fd, "r", 1, 0, (struct sockaddr *)&peer.ss, peer.len) != 1)
		return errno;
	/* The answer arrives. */
	pfd = (struct pollfd){ .fd = o->client_fd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || recv(o->client_fd, buf, sizeof(buf), 0) != 1 ||
	    buf[0] != 'r')
		return EX_SETUP;
	return 0;
}

static int udp_client(const char *addr, int port)
{
	struct sa s = mk_sa(addr, port);
	int fd = socket(s.family, SOCK_DGRAM, 0);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&s.ss, s.len));
	return fd;
}

static int udp_reply(const char *server_addr, int server_port, const char *client_addr)
{
	struct reply_op o = { server_addr, server_port, udp_client(client_addr, 40000),
			      mk_sa(server_addr, server_port) };
	int rc = in_cgroup(do_udp_reply, &o, 0);

	close(o.client_fd);
	return rc;
}

TEST(udp_server_reply_allowed)
{
	setup(FX_ENFORCE);
	/* `allow in udp 5353`: the server may answer any client, on any client port, although
	 * `default out deny` covers udp/40000. */
	EXPECT_EQ(0, udp_reply("198.18.0.1", 5353, "198.18.0.1"));
	EXPECT_EQ(0, udp_reply("2001:db8::1", 5353, "2001:db8:1::1"));
	/* `allow in udp 5355 from 198.18.0.0/24`: only those clients. */
	EXPECT_EQ(0, udp_reply("198.18.0.1", 5355, "198.18.0.1"));
	expect_no_event();
	EXPECT_EQ(EPERM, udp_reply("198.18.0.1", 5355, "198.18.1.1"));
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.1.1", 40000,
		     PG_RULE_DEFAULT_OUT);
	EXPECT_EQ(5355, fx.ev[0].sport);
	/* A port nobody may reach is no server: its sends are judged as outbound. */
	EXPECT_EQ(EPERM, udp_reply("198.18.0.1", 5354, "198.18.0.1"));
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 40000,
		     PG_RULE_DEFAULT_OUT);
}

/* ---- dry-run, attribution, logging ---- */

TEST(dry_run_mode_allows_and_reports)
{
	struct sock_op raw = { AF_INET, SOCK_RAW, IPPROTO_ICMP };

	setup(FX_DRY_RUN);
	listen_tcp(22);
	BIND(0, SOCK_STREAM, "0.0.0.0", 5432, 0);
	expect_event(PG_HOOK_BIND, PG_R_LOCAL_ONLY, PG_EV_ALLOWED, "0.0.0.0", 5432, SLOT(7));
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 22);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_ALLOWED, "198.18.0.1", 22,
		     PG_RULE_DEFAULT_OUT);
	OUT(do_sendto, 0, SOCK_DGRAM, "2001:db8::1", 5000);
	expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_ALLOWED, "2001:db8::1", 5000,
		     PG_RULE_DEFAULT_OUT);
	EXPECT_EQ(0, in_cgroup(do_create, &raw, 0));
	expect_event(PG_HOOK_SOCK_CREATE, PG_R_RAW_SOCKET, PG_EV_ALLOWED, NULL, 0,
		     PG_RULE_DENY_RAW);
}

TEST(dry_run_rule_allows_and_reports)
{
	setup(FX_ENFORCE);
	listen_tcp(80);
	/* deny out tcp 80 to 198.18.0.0/15 dry-run, where `allow out tcp 80 to 198.18.0.0/16`
	 * lets it through: reported, allowed */
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 80);
	expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_ALLOWED, "198.18.0.1", 80, SLOT(14));
	/* covered by the dry-run deny but by no allow: the enforcing default blocks, the
	 * dry-run rule opens nothing */
	OUT(do_connect, EPERM, SOCK_STREAM, "198.19.0.1", 80);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.19.0.1", 80,
		     PG_RULE_DEFAULT_OUT);
	/* not covered by that rule: the enforcing default */
	OUT(do_connect, EPERM, SOCK_STREAM, "2001:db8::1", 80);
	expect_event(PG_HOOK_CONNECT, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "2001:db8::1", 80,
		     PG_RULE_DEFAULT_OUT);
}

/*
 * The hooks remember recent outbound answers per CPU (pg_sock_cache, bpf/sock_hooks.bpf.c),
 * for the policy version they were made under; every load must retire them. Pinned to one
 * CPU, so that the children's calls meet the answers the earlier ones left. Three loads, so
 * that the last writes the generation the first did: the first's answers must not be taken
 * for the last's because the generation matches (only the version tells them apart). Both
 * kinds of question: one whose verdict depends on the peer (tcp 443 to 198.18.1.1, denied by
 * a rule naming it) and one only the default decides (tcp 22).
 */
TEST(reload_retires_remembered_decisions)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	setup(FX_ENFORCE);
	listen_tcp(443);
	listen_tcp(22);
	for (int i = 0; i < 2; i++) {
		OUT(do_connect, EPERM, SOCK_STREAM, "198.18.1.1", 443);
		expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_BLOCKED, "198.18.1.1", 443,
			     SLOT(10));
		OUT(do_sendto, EPERM, SOCK_DGRAM, "198.18.0.1", 22);
		expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_BLOCKED, "198.18.0.1", 22,
			     PG_RULE_DEFAULT_OUT);
	}
	load_policy("enforce", true);
	OUT(do_connect, EPERM, SOCK_STREAM, "198.18.1.1", 443);
	expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_BLOCKED, "198.18.1.1", 443, SLOT(10));
	load_policy("dry-run", true);
	for (int i = 0; i < 2; i++) {
		OUT(do_connect, 0, SOCK_STREAM, "198.18.1.1", 443);
		expect_event(PG_HOOK_CONNECT, PG_R_DENIED, PG_EV_ALLOWED, "198.18.1.1", 443,
			     SLOT(10));
		OUT(do_sendto, 0, SOCK_DGRAM, "198.18.0.1", 22);
		expect_event(PG_HOOK_SENDMSG, PG_R_NOT_ALLOWED, PG_EV_ALLOWED, "198.18.0.1", 22,
			     PG_RULE_DEFAULT_OUT);
	}
}

TEST(events_name_the_process)
{
	struct op o = { SOCK_STREAM, "198.18.0.1", 22, 0, 0, 0 };
	const struct pg_event *e;
	__u8 a[16];

	setup(FX_ENFORCE);
	/* As an unprivileged user: connect needs no privilege. */
	EXPECT_EQ(EPERM, in_cgroup(do_connect, &o, 65534));
	drain();
	ASSERT_EQ(1, fx.nev);
	e = &fx.ev[0];
	EXPECT_EQ(fx.last_pid, e->pid);
	EXPECT_EQ(65534, e->uid);
	EXPECT_STREQ(CHILD_COMM, e->comm);
	EXPECT_EQ(fx.cgid, e->cgroup_id);
	EXPECT_EQ(PG_HOOK_CONNECT, e->hook);
	EXPECT_EQ(PG_DIR_OUT, e->dir);
	EXPECT_EQ(IPPROTO_TCP, e->proto);
	EXPECT_EQ(4, e->family);
	EXPECT_EQ(22, e->dport);
	EXPECT_EQ(PG_EV_BLOCKED, e->action);
	EXPECT_NE(0, e->ts_ns);
	mapped("198.18.0.1", a);
	EXPECT_EQ(0, memcmp(a, e->daddr, 16));
}

TEST(allow_log_reports)
{
	setup(FX_ENFORCE);
	listen_tcp(8080);
	/* allow out tcp 8080 to 198.18.0.0/15 log */
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 8080);
	expect_event(PG_HOOK_CONNECT, PG_R_PASS_RULE, PG_EV_LOGGED, "198.18.0.1", 8080, SLOT(15));
}

TEST(verdicts_are_counted)
{
	struct op o = { SOCK_STREAM, "0.0.0.0", 5432, 0, 0, 0 };
	struct pg_counter c;

	setup(FX_ENFORCE);
	EXPECT_EQ(EPERM, in_cgroup(do_bind, &o, 0));
	EXPECT_EQ(EPERM, in_cgroup(do_bind, &o, 0));
	ASSERT_EQ(0, pg_percpu_counter(bpf_map__fd(fx.skel->maps.pg_reason_stats),
				     PG_R_LOCAL_ONLY, &c));
	EXPECT_EQ(2, c.packets);
	ASSERT_EQ(0, pg_percpu_counter(bpf_map__fd(fx.skel->maps.pg_rule_stats),
				     fx.gen * PG_MAX_RULES + SLOT(7), &c));
	EXPECT_EQ(2, c.packets);
	o.addr = "127.0.0.1";
	EXPECT_EQ(0, in_cgroup(do_bind, &o, 0));
	ASSERT_EQ(0, pg_percpu_counter(bpf_map__fd(fx.skel->maps.pg_reason_stats),
				     PG_R_PASS_LOOPBACK, &c));
	EXPECT_EQ(1, c.packets);
}

/* ---- deny raw ---- */

#define CREATE(exp, fam, type, proto)                                                    \
	do {                                                                             \
		struct sock_op _o = { fam, type, proto };                                \
		int _rc = in_cgroup(do_create, &_o, 0);                                  \
		if (_rc != (exp))                                                        \
			PG_FAIL_AT(0, "socket(%s, %s, %s): expected %s, seen %s", #fam,   \
				   #type, #proto, strerror(exp), strerror(_rc));          \
	} while (0)

TEST(deny_raw_refuses_raw_sockets)
{
	setup(FX_ENFORCE);
	CREATE(EPERM, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	expect_event(PG_HOOK_SOCK_CREATE, PG_R_RAW_SOCKET, PG_EV_BLOCKED, NULL, 0,
		     PG_RULE_DENY_RAW);
	EXPECT_EQ(4, fx.ev[0].family);
	EXPECT_EQ(IPPROTO_ICMP, fx.ev[0].proto);
	CREATE(EPERM, AF_INET, SOCK_RAW, IPPROTO_RAW);
	drain();
	CREATE(EPERM, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	expect_event(PG_HOOK_SOCK_CREATE, PG_R_RAW_SOCKET, PG_EV_BLOCKED, NULL, 0,
		     PG_RULE_DENY_RAW);
	EXPECT_EQ(6, fx.ev[0].family);
	/* Ordinary sockets, and ICMP ping sockets, are not raw. */
	CREATE(0, AF_INET, SOCK_STREAM, 0);
	CREATE(0, AF_INET6, SOCK_DGRAM, 0);
	CREATE(0, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	CREATE(0, AF_UNIX, SOCK_STREAM, 0);
	/* Netlink sockets are SOCK_RAW too, and ip(8) and every resolver need them. */
	CREATE(0, AF_NETLINK, SOCK_RAW, 0);
	expect_no_event();
}

/* Is the BPF LSM active? Read from securityfs, mounted privately if it is not mounted. */
static bool bpf_lsm_active(void)
{
	char dir[] = "/tmp/pg-secfs.XXXXXX", buf[512] = "", path[64];
	bool made = false, mounted = false;
	FILE *f;

	f = fopen("/sys/kernel/security/lsm", "r");
	if (!f && mkdtemp(dir)) {
		made = true;
		mounted = !mount("securityfs", dir, "securityfs", 0, NULL);
		snprintf(path, sizeof(path), "%s/lsm", dir);
		f = fopen(path, "r");
	}
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	if (mounted)
		umount2(dir, MNT_DETACH);
	if (made)
		rmdir(dir);
	for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
		if (!strcmp(t, "bpf"))
			return true;
	return false;
}

TEST(deny_raw_refuses_packet_sockets)
{
	setup(FX_ENFORCE);
	if (!bpf_lsm_active())
		SKIP("the BPF LSM is not active (lsm= lacks bpf): packet sockets cannot be refused");
	if (!fx.lsm && pg_known_limit("sock_lsm", fx.lsm_err))
		SKIP("this kernel refuses the lsm_cgroup program (%s): %s: packet sockets cannot "
		     "be refused here", strerror(-fx.lsm_err), pg_known_limit("sock_lsm", fx.lsm_err));
	if (!fx.lsm)
		FAIL("cannot load sock_lsm on kernel %s: %s", pg_kernel_release(),
		     strerror(-fx.lsm_err));
	CREATE(EPERM, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	expect_event(PG_HOOK_SOCK_CREATE, PG_R_RAW_SOCKET, PG_EV_BLOCKED, NULL, 0,
		     PG_RULE_DENY_RAW);
	EXPECT_EQ(0, fx.ev[0].family);
	CREATE(EPERM, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	drain();
	CREATE(EPERM, AF_XDP, SOCK_RAW, 0);
	expect_event(PG_HOOK_SOCK_CREATE, PG_R_RAW_SOCKET, PG_EV_BLOCKED, NULL, 0,
		     PG_RULE_DENY_RAW);
}

TEST(raw_sockets_allowed_without_deny_raw)
{
	setup(FX_NO_RAW);
	CREATE(0, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	expect_no_event();
	/* Without the LSM program nothing could refuse AF_PACKET: its allow path says nothing. */
	if (!fx.lsm)
		SKIP("this kernel refuses the lsm_cgroup program (%s): the AF_PACKET allow path is "
		     "not exercised here", strerror(-fx.lsm_err));
	CREATE(0, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	expect_no_event();
}

/* ---- no policy ---- */

TEST(no_policy_loaded_allows_everything)
{
	setup(FX_NONE);
	listen_tcp(22);
	/* Hooks attached before any policy (zeroed maps) must not brick the cgroup. */
	BIND(0, SOCK_STREAM, "0.0.0.0", 5432, 0);
	OUT(do_connect, 0, SOCK_STREAM, "198.18.0.1", 22);
	OUT(do_sendto, 0, SOCK_DGRAM, "2001:db8::1", 5000);
	CREATE(0, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	expect_no_event();
}

TEST_MAIN()
