/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Seed the flow table from the sockets already open on this host (netlink sock_diag), so that
 * starting enforcement, or switching from dry-run to enforce, never cuts a connection that is
 * already up: the administrator's SSH session first of all.
 */
#ifndef PG_SEED_H
#define PG_SEED_H

#include "portguard.h"

/* Add every established TCP socket and connected UDP socket, IPv4 and IPv6, of this network
 * namespace to pg_flows (flows_fd), each marking its port in pg_flow_ports (ports_fd) first.
 * *count gets the flows written. Returns 0 or -errno. */
int pg_seed_flows(int flows_fd, int ports_fd, int stats_fd, unsigned *count);

/* Write flow k to pg_flows as a writer must: its port marked in pg_flow_ports first
 * (include/portguard.h). flags as bpf_map_update_elem's. Returns 0 or -errno. */
int pg_flow_write(int flows_fd, int ports_fd, const struct pg_flow_key *k,
		  const struct pg_flow_val *v, __u64 flags);

/* The flow key of one socket: addresses as the socket sees them (mapped to 16 bytes when
 * family is AF_INET), ports in network order as sock_diag reports them. */
void pg_flow_key_make(struct pg_flow_key *k, int family, const void *laddr, const void *raddr,
		      __u16 lport_be, __u16 rport_be, __u8 proto);

#endif /* PG_SEED_H */
