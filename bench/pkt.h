/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames for the benchmarks, built field by field: Ethernet with an optional 802.1Q tag,
 * IPv4 or IPv6, TCP (SYN) or UDP. Checksums are real (IPv4 header, TCP and UDP over the
 * pseudo-header), so that frames which reach the stack on the skb path are not dropped for a
 * bad checksum before the hook under test would have seen them.
 */
#ifndef BENCH_PKT_H
#define BENCH_PKT_H

#include <stddef.h>
#include <stdint.h>

struct pkt_spec {
	uint8_t smac[6], dmac[6];
	uint16_t vlan;	   /* 802.1Q VLAN id; 0 = untagged */
	int v6;		   /* 0: IPv4, 1: IPv6 */
	uint8_t saddr[16]; /* IPv4 in the first 4 bytes */
	uint8_t daddr[16];
	uint8_t proto;	   /* IPPROTO_TCP (a SYN) or IPPROTO_UDP */
	uint16_t sport, dport;
	size_t len;	   /* the whole frame */
	int fill;	   /* 1: zero payload fills the frame; 0: Ethernet padding after the headers */
};

/* Write the frame into buf (size bytes). Returns the frame length, or -ENOSPC / -EINVAL. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t size);
/* Parse "aa:bb:cc:dd:ee:ff". Returns 0 or -EINVAL. */
int pkt_parse_mac(const char *s, uint8_t mac[6]);

#endif
