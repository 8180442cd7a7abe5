// SPDX-License-Identifier: GPL-2.0
/* Flow seeding from sock_diag (see seed.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/seed.h"
#include "kernel/sockdiag.h"
#include "common/clock.h"
#include "common/util.h"

void pg_flow_key_make(struct pg_flow_key *k, int family, const void *laddr, const void *raddr,
		      __u16 lport_be, __u16 rport_be, __u8 proto)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET) {
		k->laddr[10] = k->laddr[11] = 0xff;
		k->raddr[10] = k->raddr[11] = 0xff;
		memcpy(k->laddr + 12, laddr, 4);
		memcpy(k->raddr + 12, raddr, 4);
	} else {
		memcpy(k->laddr, laddr, 16);
		memcpy(k->raddr, raddr, 16);
	}
	k->lport = ntohs(lport_be);
	k->rport = ntohs(rport_be);
	k->proto = proto;
}

/*
 * TCP: every state in which the peer still has something to send us: SYN_SENT, SYN_RECV,
 * ESTABLISHED, the FIN_WAITs, CLOSE_WAIT, LAST_ACK, CLOSING. Not LISTEN (no peer), CLOSE, or
 * TIME_WAIT: a busy server holds thousands of those, and they would crowd live flows out of
 * the LRU table for the sake of a retransmitted FIN. UDP: connected sockets, which sock_diag
 * shows as ESTABLISHED; an unconnected UDP socket has no peer to seed.
 */
#define TCP_STATES \
	(0xfffu & ~((1u << TCP_LISTEN) | (1u << TCP_CLOSE) | (1u << TCP_TIME_WAIT)))
#define UDP_STATES (1u << TCP_ESTABLISHED)

int pg_flow_write(int flows_fd, int ports_fd, const struct pg_flow_key *k,
		  const struct pg_flow_val *v, __u64 flags)
{
	__u32 idx = pg_flow_port_index(k->proto, k->lport), one = 1;

	if (bpf_map_update_elem(ports_fd, &idx, &one, BPF_ANY) ||
	    bpf_map_update_elem(flows_fd, k, v, flags))
		return -errno;
	return 0;
}

struct seed_ctx {
	int flows_fd;
	int ports_fd;
	struct pg_flow_val val;
	unsigned *count;
	__u64 added; /* flows that were not in the table */
};

static int seed_one(const struct pg_sock *s, void *ctx)
{
	struct seed_ctx *c = ctx;
	struct pg_flow_key key = { .lport = s->lport, .rport = s->rport, .proto = s->proto };
	int err;

	/* A socket with no peer port (unconnected UDP caught mid-connect) has no flow. */
	if (!key.rport)
		return 0;
	memcpy(key.laddr, s->laddr, 16);
	memcpy(key.raddr, s->raddr, 16);
	err = pg_flow_write(c->flows_fd, c->ports_fd, &key, &c->val, BPF_NOEXIST);
	if (!err)
		c->added++;
	else if (err != -EEXIST ||
		 (err = pg_flow_write(c->flows_fd, c->ports_fd, &key, &c->val, BPF_EXIST)))
		return err;
	(*c->count)++;
	return 0;
}

/* Add n to CPU 0's PG_FLS_SEEDED: the datapath never writes that slot, so this
 * read-modify-write races with nothing but another portguard command, which the pin
 * directory's lock excludes. */
static void count_seeded(int stats_fd, __u64 n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = PG_FLS_SEEDED;
	__u64 *v;

	if (stats_fd < 0 || ncpu <= 0 || !n)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return;
	if (!bpf_map_lookup_elem(stats_fd, &key, v)) {
		v[0] += n;
		bpf_map_update_elem(stats_fd, &key, v, BPF_ANY);
	}
	free(v);
}

int pg_seed_flows(int flows_fd, int ports_fd, int stats_fd, unsigned *count)
{
	static const struct {
		int family, proto;
		__u32 states;
	} q[] = {
		{ AF_INET, IPPROTO_TCP, TCP_STATES },
		{ AF_INET6, IPPROTO_TCP, TCP_STATES },
		{ AF_INET, IPPROTO_UDP, UDP_STATES },
		{ AF_INET6, IPPROTO_UDP, UDP_STATES },
	};
	struct seed_ctx c = { .flows_fd = flows_fd,
			      .ports_fd = ports_fd,
			      .val = { .last_ns = pg_monotonic_ns() },
			      .count = count };
	size_t i;
	int err = 0;

	*count = 0;
	for (i = 0; i < sizeof(q) / sizeof(q[0]) && !err; i++) {
		err = pg_sockdiag_each(q[i].family, q[i].proto, q[i].states, seed_one, &c);
		/* A kernel without UDP diag (udp_diag module) has nothing to dump for UDP. */
		if (err == -ENOENT && q[i].proto == IPPROTO_UDP)
			err = 0;
	}
	count_seeded(stats_fd, c.added);
	return err;
}
