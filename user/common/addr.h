/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Addresses in the mapped form every map, event and socket record uses: 16 bytes, network
 * order, IPv4 as ::ffff:a.b.c.d. The one place that knows the prefix, loopback, parsing and
 * printing. No libbpf: the policy library uses it too.
 */
#ifndef PG_ADDR_H
#define PG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* The 12 bytes in front of a mapped IPv4 address. */
extern const __u8 pg_addr_v4_prefix[12];

/* addr is IPv4 (::ffff:a.b.c.d). */
bool pg_addr_is_v4(const __u8 addr[16]);
/* 127.0.0.0/8 (mapped) or ::1: the peers that may reach a `local` port, as the datapath
 * judges them. */
bool pg_addr_loopback(const __u8 addr[16]);
/* Parse "203.0.113.7", "2001:db8::1", "::ffff:198.18.0.1" into the mapped 16 bytes. Returns 0,
 * or -EINVAL when s is not an IPv4 or IPv6 address. */
int pg_addr_parse(const char *s, __u8 addr[16]);
/* IPv4 prints dotted, the rest as IPv6, without brackets (INET6_ADDRSTRLEN suffices). */
void pg_addr_format(const __u8 addr[16], char *buf, size_t size);

#endif /* PG_ADDR_H */
