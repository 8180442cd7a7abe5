// SPDX-License-Identifier: GPL-2.0
/* Flow seeding from sock_diag (see seed.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "seed.h"
#include "util.h"

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

static int dump(int nl, int family, int proto, __u32 states, int flows_fd, __u64 now,
		unsigned *count)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = proto,
			.idiag_states = states,
		},
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct pg_flow_val val = { .last_ns = now };
	struct pg_flow_key key;
	__u32 buf[8192];
	ssize_t n;

	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; NLMSG_OK(h, (__u32)n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *d = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
				continue;
			pg_flow_key_make(&key, d->idiag_family, d->id.idiag_src, d->id.idiag_dst,
					 d->id.idiag_sport, d->id.idiag_dport, proto);
			if (!key.rport)
				continue;
			if (bpf_map_update_elem(flows_fd, &key, &val, BPF_ANY))
				return -errno;
			(*count)++;
		}
	}
}

int pg_seed_flows(int flows_fd, unsigned *count)
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
	__u64 now = pg_monotonic_ns();
	size_t i;
	int nl, err = 0;

	*count = 0;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	for (i = 0; i < sizeof(q) / sizeof(q[0]) && !err; i++) {
		err = dump(nl, q[i].family, q[i].proto, q[i].states, flows_fd, now, count);
		/* A kernel without UDP diag (udp_diag module) has nothing to dump for UDP. */
		if (err == -ENOENT && q[i].proto == IPPROTO_UDP)
			err = 0;
	}
	close(nl);
	return err;
}
