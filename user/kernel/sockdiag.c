// SPDX-License-Identifier: GPL-2.0
/* Sockets from netlink sock_diag, owners from /proc. See sockdiag.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "kernel/sockdiag.h"

static void map_addr(int family, const __be32 *src, __u8 out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, src, 4);
	} else {
		memcpy(out, src, 16);
	}
}

static int parse_one(const struct nlmsghdr *h, int proto, pg_sock_fn fn, void *ctx)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a;
	struct pg_sock s = {};

	if (len < 0)
		return -EBADMSG;
	s.family = m->idiag_family;
	s.proto = proto;
	s.state = m->idiag_state;
	map_addr(s.family, m->id.idiag_src, s.laddr);
	map_addr(s.family, m->id.idiag_dst, s.raddr);
	s.lport = ntohs(m->id.idiag_sport);
	s.rport = ntohs(m->id.idiag_dport);
	s.ifindex = m->id.idiag_if;
	s.uid = m->idiag_uid;
	s.inode = m->idiag_inode;
	for (a = (const struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(a) >= 1)
			s.v6only = *(const __u8 *)RTA_DATA(a);
	}
	return fn(&s, ctx);
}

int pg_sockdiag_each(int family, int proto, __u32 states, pg_sock_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
		.h = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = family,
			.sdiag_protocol = proto,
			.idiag_states = states,
		},
	};
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	/* Aligned for nlmsghdr; a dump comes in messages of a few pages. */
	static __thread long buf[8192 / sizeof(long)];
	int fd, err = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0) {
			err = -EPIPE;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error ? e->error : -EPROTO;
				goto out;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			err = parse_one(h, proto, fn, ctx);
			if (err)
				goto out;
		}
	}
out:
	close(fd);
	return err;
}

struct sock_vec {
	struct pg_sock *v;
	size_t n, cap;
};

static int collect(const struct pg_sock *s, void *ctx)
{
	struct sock_vec *vec = ctx;

	/* A connected UDP socket is a client's, not a listener. */
	if (s->proto == IPPROTO_UDP && s->rport)
		return 0;
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 32;
		struct pg_sock *v = realloc(vec->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *s;
	return 0;
}

static int sock_cmp(const void *a, const void *b)
{
	const struct pg_sock *x = a, *y = b;
	int c;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lport != y->lport)
		return x->lport < y->lport ? -1 : 1;
	c = memcmp(x->laddr, y->laddr, 16);
	if (c)
		return c;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

int pg_sockdiag_listeners(struct pg_sock **out, size_t *n)
{
	static const struct {
		int family, proto;
		__u32 states;
	} q[] = {
		{ AF_INET, IPPROTO_TCP, 1u << TCP_LISTEN },
		{ AF_INET6, IPPROTO_TCP, 1u << TCP_LISTEN },
		/* UDP reports TCP_CLOSE for an unconnected socket, TCP_ESTABLISHED once
		 * connected; collect() drops connected ones by their peer port as well. */
		{ AF_INET, IPPROTO_UDP, 1u << TCP_CLOSE },
		{ AF_INET6, IPPROTO_UDP, 1u << TCP_CLOSE },
	};
	struct sock_vec vec = {};
	int err = 0;

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		err = pg_sockdiag_each(q[i].family, q[i].proto, q[i].states, collect, &vec);
		/* A kernel without IPv6 or UDP diag support has nothing of that kind. */
		if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT)
			err = 0;
		if (err)
			goto fail;
	}
	qsort(vec.v, vec.n, sizeof(*vec.v), sock_cmp);
	*out = vec.v;
	*n = vec.n;
	return 0;
fail:
	free(vec.v);
	return err;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct pg_sock_owner *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void read_comm(pid_t pid, char comm[16])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, 16, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, 15);
	close(fd);
	if (n <= 0) {
		snprintf(comm, 16, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

int pg_sock_owners_read(struct pg_sock_owners *o)
{
	size_t cap = 0;
	struct dirent *pe, *fe;
	DIR *proc, *fds;
	int err = 0;

	o->v = NULL;
	o->n = 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((pe = readdir(proc))) {
		char path[PATH_MAX], comm[16];
		pid_t pid;
		bool have_comm = false;

		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		pid = (pid_t)strtol(pe->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue; /* gone, or not ours to read */
		while ((fe = readdir(fds))) {
			unsigned long long ino;
			char target[64];
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), fe->d_name, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (sscanf(target, "socket:[%llu]", &ino) != 1)
				continue;
			if (!have_comm) {
				read_comm(pid, comm);
				have_comm = true;
			}
			if (o->n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct pg_sock_owner *v = realloc(o->v, ncap * sizeof(*v));

				if (!v) {
					err = -ENOMEM;
					closedir(fds);
					goto out;
				}
				o->v = v;
				cap = ncap;
			}
			o->v[o->n].inode = ino;
			o->v[o->n].pid = pid;
			memcpy(o->v[o->n].comm, comm, 16);
			o->n++;
		}
		closedir(fds);
	}
	qsort(o->v, o->n, sizeof(*o->v), owner_cmp);
out:
	closedir(proc);
	if (err)
		pg_sock_owners_free(o);
	return err;
}

const struct pg_sock_owner *pg_sock_owner_find(const struct pg_sock_owners *o, __u64 inode)
{
	size_t lo = 0, hi = o->n;

	/* Lower bound: the first entry of this inode is the lowest pid. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->v[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n && o->v[lo].inode == inode ? &o->v[lo] : NULL;
}

void pg_sock_owners_free(struct pg_sock_owners *o)
{
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
