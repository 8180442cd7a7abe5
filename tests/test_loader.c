// SPDX-License-Identifier: GPL-2.0
/*
 * Flow seeding from sock_diag against the real kernel: sockets opened over loopback in the
 * test's own network namespace (the suite runs under unshare -n) must appear in a real LRU
 * hash of the flow table's shape, keyed as the XDP program looks replies up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "kernel/seed.h"

/* Each case runs in a forked child: a network namespace of its own keeps the sockets of one
 * case (and of the host) out of the next case's dump. */
static void private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s;

	if (unshare(CLONE_NEWNET))
		SKIP("cannot create a network namespace (%s): needs root", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, ioctl(s, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags |= IFF_UP;
	ASSERT_EQ(0, ioctl(s, SIOCSIFFLAGS, &ifr));
	close(s);
}

static int flows_map(void)
{
	int fd;

	private_netns();
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pg_flows_t", sizeof(struct pg_flow_key),
				sizeof(struct pg_flow_val), 1024, NULL);

	if (fd < 0)
		SKIP("cannot create a BPF map (%s): needs root", strerror(errno));
	return fd;
}

/* A pg_flow_ports of the test's own. */
static int ports_map(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pg_flow_ports_t", sizeof(__u32),
				sizeof(__u32), PG_FLOW_PORT_SLOTS, NULL);

	if (fd < 0)
		SKIP("cannot create a BPF map (%s): needs root", strerror(errno));
	return fd;
}

static bool port_marked(int ports, const struct pg_flow_key *k)
{
	__u32 idx = pg_flow_port_index(k->proto, k->lport), v = 0;

	return !bpf_map_lookup_elem(ports, &idx, &v) && v == 1;
}

/* A connected pair over loopback: *cli and *srv are the two ends; returns the listener. */
static int tcp_pair(int family, int *cli, int *srv)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int l;

	ss.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	l = socket(family, SOCK_STREAM, 0);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&ss, &len));
	*cli = socket(family, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(*cli, (struct sockaddr *)&ss, len));
	*srv = accept(l, NULL, NULL);
	ASSERT_LE(0, *srv);
	return l;
}

/* The flow key of sock fd as this host's side sees it. */
static void key_of(int fd, int proto, struct pg_flow_key *k)
{
	struct sockaddr_storage a = { 0 }, b = { 0 };
	socklen_t la = sizeof(a), lb = sizeof(b);

	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&a, &la));
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&b, &lb));
	if (a.ss_family == AF_INET) {
		struct sockaddr_in *x = (void *)&a, *y = (void *)&b;

		pg_flow_key_make(k, AF_INET, &x->sin_addr, &y->sin_addr, x->sin_port, y->sin_port,
				 proto);
	} else {
		struct sockaddr_in6 *x = (void *)&a, *y = (void *)&b;

		pg_flow_key_make(k, AF_INET6, &x->sin6_addr, &y->sin6_addr, x->sin6_port,
				 y->sin6_port, proto);
	}
}

static bool has_flow(int map, const struct pg_flow_key *k)
{
	struct pg_flow_val v;

	return !bpf_map_lookup_elem(map, k, &v) && v.last_ns > 0;
}

TEST(key_is_mapped_and_host_order)
{
	struct in_addr l = { htonl(0xc6120001) }, r = { htonl(0xc6120002) };
	static const __u8 want_l[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1 };
	struct pg_flow_key k;

	memset(&k, 0xaa, sizeof(k));
	pg_flow_key_make(&k, AF_INET, &l, &r, htons(22), htons(50000), IPPROTO_TCP);
	ASSERT_EQ(0, memcmp(want_l, k.laddr, 16));
	ASSERT_EQ(198, k.raddr[12]);
	ASSERT_EQ(2, k.raddr[15]);
	ASSERT_EQ(22, k.lport);
	ASSERT_EQ(50000, k.rport);
	ASSERT_EQ(IPPROTO_TCP, k.proto);
	ASSERT_EQ(0, k.pad[0] | k.pad[1] | k.pad[2]); /* padding is part of a hash key */
}

TEST(tcp_established_both_ends_v4_v6)
{
	int map = flows_map(), ports = ports_map(), fam[] = { AF_INET, AF_INET6 }, i, cli, srv, l;
	struct pg_flow_key kc, ks;
	unsigned n = 0;

	for (i = 0; i < 2; i++) {
		l = tcp_pair(fam[i], &cli, &srv);
		key_of(cli, IPPROTO_TCP, &kc);
		key_of(srv, IPPROTO_TCP, &ks);
		ASSERT_FALSE(has_flow(map, &kc));
		ASSERT_FALSE(port_marked(ports, &kc));
		ASSERT_EQ(0, pg_seed_flows(map, ports, -1, &n));
		EXPECT_TRUE(has_flow(map, &kc));
		EXPECT_TRUE(has_flow(map, &ks));
		/* each flow's port is marked, or ingress would not look the flow up */
		EXPECT_TRUE(port_marked(ports, &kc));
		EXPECT_TRUE(port_marked(ports, &ks));
		ASSERT_LE(2, n);
		close(cli);
		close(srv);
		close(l);
	}
}

TEST(listener_and_time_wait_are_not_flows)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = { htonl(INADDR_LOOPBACK) } };
	int map = flows_map(), ports = ports_map(), l = socket(AF_INET, SOCK_STREAM, 0), cli, srv,
	    l2;
	struct pg_flow_key next;
	unsigned n;

	ASSERT_EQ(0, bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(l, 1));
	/* A connection closed by this side sits in TIME_WAIT: not seeded either. */
	l2 = tcp_pair(AF_INET, &cli, &srv);
	close(cli);
	close(srv);
	close(l2);
	/* The server end passes through LAST_ACK (a flow) until the client's last ACK lands;
	 * wait for that (bounded), after which only the TIME_WAIT end is left. */
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, pg_seed_flows(map, ports, -1, &n));
		if (!n)
			break;
		close(map);
		map = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pg_flows_t", sizeof(struct pg_flow_key),
				     sizeof(struct pg_flow_val), 1024, NULL);
		ASSERT_LE(0, map);
		usleep(10000);
	}
	EXPECT_EQ(0, n);
	EXPECT_EQ(-ENOENT, bpf_map_get_next_key(map, NULL, &next) ? -errno : 0);
	close(l);
}

TEST(udp_connected_only)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = { htonl(INADDR_LOOPBACK) } };
	int map = flows_map(), ports = ports_map(), u1 = socket(AF_INET, SOCK_DGRAM, 0),
	    u2 = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t len = sizeof(a);
	struct pg_flow_key k;
	unsigned n;

	/* u1 is bound, unconnected: no peer, no flow. u2 is connected to it: a flow. */
	ASSERT_EQ(0, bind(u1, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, getsockname(u1, (struct sockaddr *)&a, &len));
	ASSERT_EQ(0, connect(u2, (struct sockaddr *)&a, sizeof(a)));
	key_of(u2, IPPROTO_UDP, &k);
	ASSERT_EQ(0, pg_seed_flows(map, ports, -1, &n));
	EXPECT_TRUE(has_flow(map, &k));
	EXPECT_TRUE(port_marked(ports, &k));
	EXPECT_EQ(1, n);
	close(u1);
	close(u2);
}

TEST_MAIN()
