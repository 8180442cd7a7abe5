/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sockets of this network namespace, from netlink sock_diag (what `ss` reads), and the
 * processes that own them, from /proc/PID/fd. Used by `audit` and by flow seeding (seed.c);
 * no BPF here.
 */
#ifndef PG_SOCKDIAG_H
#define PG_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct pg_sock {
	__u8 family;	   /* AF_INET or AF_INET6: the socket's own family */
	__u8 proto;	   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 state;	   /* TCP_* state as the kernel reports it (UDP: 7 = unconnected) */
	__u8 v6only;	   /* AF_INET6 only: IPV6_V6ONLY, so `::` does not take IPv4 */
	__u8 laddr[16];	   /* IPv4 mapped as ::ffff:a.b.c.d, network order */
	__u8 raddr[16];
	__u16 lport;	   /* host order */
	__u16 rport;
	__u32 ifindex;	   /* SO_BINDTODEVICE, or 0 */
	__u32 uid;
	__u64 inode;
};

/* Called once per socket; a non-zero return stops the walk and is returned. */
typedef int (*pg_sock_fn)(const struct pg_sock *s, void *ctx);

/*
 * Every socket of protocol proto (IPPROTO_TCP or IPPROTO_UDP) and family (AF_INET or AF_INET6)
 * whose TCP state is in the bit mask states (1 << TCP_LISTEN, ...). Returns 0, the callback's
 * non-zero value, or -errno.
 */
int pg_sockdiag_each(int family, int proto, __u32 states, pg_sock_fn fn, void *ctx);

/* Listening TCP and bound, unconnected UDP sockets of both families, in one array sorted by
 * protocol, port and address. Returns 0 or -errno; *out is freed by the caller. */
int pg_sockdiag_listeners(struct pg_sock **out, size_t *n);

/* Socket inode -> owning process, from /proc/PID/fd. */
struct pg_sock_owner {
	__u64 inode;
	pid_t pid;
	char comm[16];
};

struct pg_sock_owners {
	struct pg_sock_owner *v; /* sorted by inode */
	size_t n;
};

/* Read every /proc/PID/fd. Processes that vanish or that we may not read are skipped: the
 * listing is best effort by nature. Returns 0 or -ENOMEM. */
int pg_sock_owners_read(struct pg_sock_owners *o);
/* The first owner of inode, or NULL. A socket shared by several processes (a forking server)
 * names the lowest pid. */
const struct pg_sock_owner *pg_sock_owner_find(const struct pg_sock_owners *o, __u64 inode);
void pg_sock_owners_free(struct pg_sock_owners *o);

#endif /* PG_SOCKDIAG_H */
