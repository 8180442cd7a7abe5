/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crafted frames for BPF_PROG_TEST_RUN and the benchmarks: Ethernet with 0 to 3 VLAN tags,
 * ARP, IPv4 (options, bad IHL, fragments), IPv6 (extension-header chains, fragments), TCP
 * (any data offset), UDP, ICMP and ICMPv6. A frame is described by a struct pg_frame_spec;
 * every field left zero takes the value of a well-formed packet, so a test names only what
 * it breaks.
 *
 * Checksums (IPv4 header, TCP, UDP, ICMP) are correct for the bytes written, so that the same
 * frames can be sent through a real stack.
 *
 * Header-only (static functions), so that any test or benchmark includes it without a
 * Makefile rule.
 */
#ifndef PG_FRAMES_H
#define PG_FRAMES_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/types.h>

#define PG_FRAME_MAX 2048
#define PG_FRAME_MAX_EXT 8

/* IPv6 extension headers a spec can chain, by their next-header value. */
#define PG_EXT_HOP 0
#define PG_EXT_ROUTING 43
#define PG_EXT_FRAG 44
#define PG_EXT_AH 51
#define PG_EXT_DSTOPTS 60

struct pg_frame_spec {
	int vlans;	   /* VLAN tags: 802.1ad outer, then 802.1Q */
	__u16 tpids[3];	   /* or these TPIDs, outer first, where set (a tag beyond 3: 802.1Q) */
	__u16 ethertype;   /* 0: from family (ARP when family is 0) */
	int family;	   /* 4, 6, or 0 for ARP */
	const char *src;   /* addresses as text; defaults from the documentation ranges */
	const char *dst;
	__u8 proto;	   /* IPPROTO_TCP (default), _UDP, _ICMP, _ICMPV6, or any */
	__u16 sport, dport;
	__u8 tcp_flags;	   /* 0: ACK */
	int doff;	   /* TCP data offset in words; 0: 5. Above 5, NOP options fill it (cut
			    * them with l4_bytes for a data offset beyond the packet) */
	int payload;	   /* bytes of data after the L4 header */
	__u8 icmp_type;	   /* 0: echo request (ICMP 8, ICMPv6 128); ICMP echo reply (0) cannot be
			    * asked for: use ICMPv6 or another type */
	__u8 icmp_code;

	/* IPv4 */
	int ip_opt_words;  /* 4-byte option words (NOPs, then EOL) */
	int ihl;	   /* 0: 5 + ip_opt_words; anything else is written as is */
	int ip_version;	   /* 0: 4 or 6; anything else is written as is */

	/* IP lengths: the total (IPv4) or payload (IPv6) length written is the correct one
	 * plus len_delta. */
	int len_delta;
	int udp_len_delta; /* the same for the UDP length */

	/* Fragments: IPv4 uses frag_off/more_frags/frag_id in the IP header; IPv6 in the
	 * fragment header, which must be in ext[]. frag_off in bytes, a multiple of 8. A
	 * fragment with frag_off > 0 carries payload only, no L4 header. */
	__u16 frag_off;
	bool more_frags;
	__u32 frag_id;

	/* IPv6 extension headers, in order (PG_EXT_*). Each is 8 bytes, AH 24. */
	__u8 ext[PG_FRAME_MAX_EXT];
	int n_ext;

	/* Bytes of the L4 header and data written (a short first fragment); 0: all of them.
	 * Lengths are computed over what is written: the datagram is short, not truncated. */
	int l4_bytes;
	/* Bytes cut off the end of the frame after everything was computed: truncation. */
	int truncate;
	/* Bytes of Ethernet padding after the datagram. */
	int pad;
};

static inline void pg_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void pg_put32(__u8 *p, __u32 v)
{
	pg_put16(p, v >> 16);
	pg_put16(p + 2, v & 0xffff);
}

static inline __u32 pg_csum_add(__u32 sum, const __u8 *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static inline __u16 pg_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The Internet checksum of an L4 segment with its pseudo-header. */
static inline __u16 pg_l4_csum(int family, const __u8 *saddr, const __u8 *daddr, __u8 proto,
			       const __u8 *l4, size_t len)
{
	__u32 sum = 0;

	if (family == 4) {
		sum = pg_csum_add(sum, saddr, 4);
		sum = pg_csum_add(sum, daddr, 4);
	} else {
		sum = pg_csum_add(sum, saddr, 16);
		sum = pg_csum_add(sum, daddr, 16);
	}
	sum += proto;
	sum += (__u32)len;
	return pg_csum_fold(pg_csum_add(sum, l4, len));
}

/* The L4 part (or a later fragment's payload) into l4; returns its length. */
static inline int pg_frame_l4(const struct pg_frame_spec *s, __u8 proto, __u8 *l4)
{
	int len, hlen;

	if (s->frag_off) {
		/* A later fragment: the middle of a datagram, no header of its own. */
		len = s->payload;
	} else if (proto == IPPROTO_TCP) {
		/* doff < 5 is written as is over a 20-byte header; doff > 5 adds NOP options,
		 * unless l4_bytes cuts them off. */
		hlen = (s->doff > 5 ? s->doff : 5) * 4;
		pg_put16(l4, s->sport ? s->sport : 40000);
		pg_put16(l4 + 2, s->dport);
		pg_put32(l4 + 4, 1000);
		l4[12] = (s->doff ? s->doff : 5) << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		if (l4[13] & 0x10)
			pg_put32(l4 + 8, 2000);
		pg_put16(l4 + 14, 65535);
		memset(l4 + 20, 1, hlen - 20);
		len = hlen + s->payload;
	} else if (proto == IPPROTO_UDP) {
		pg_put16(l4, s->sport ? s->sport : 40000);
		pg_put16(l4 + 2, s->dport);
		pg_put16(l4 + 4, 8 + s->payload + s->udp_len_delta);
		len = 8 + s->payload;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		l4[0] = s->icmp_type ? s->icmp_type : proto == IPPROTO_ICMP ? 8 : 128;
		l4[1] = s->icmp_code;
		pg_put16(l4 + 4, 1);
		pg_put16(l4 + 6, 1);
		len = 8 + s->payload;
	} else {
		len = s->payload;
	}
	for (int i = len - s->payload; i < len; i++)
		l4[i] = (__u8)i;
	if (s->l4_bytes && s->l4_bytes < len)
		len = s->l4_bytes;
	return len;
}

/* Build the frame into buf (size bytes, at least PG_FRAME_MAX). Returns its length, or
 * -EINVAL for an address that does not parse, -ENOSPC for a frame over PG_FRAME_MAX. */
static inline int pg_frame_build(const struct pg_frame_spec *s, __u8 *buf, size_t size)
{
	const char *src = s->src, *dst = s->dst;
	__u8 saddr[16], daddr[16], l4[PG_FRAME_MAX];
	__u8 proto = s->proto ? s->proto : IPPROTO_TCP;
	int family = s->family, l4len, af;
	bool frag = s->frag_off || s->more_frags;
	__u8 *p = buf;
	__u16 sum;

	if (size < PG_FRAME_MAX || s->vlans < 0 || s->vlans > 8 || s->n_ext > PG_FRAME_MAX_EXT ||
	    s->payload < 0 || s->payload > 1400 || s->ip_opt_words > 10)
		return -EINVAL;
	memset(buf, 0, size);
	memset(l4, 0, sizeof(l4));
	if (!src)
		src = family == 6 ? "2001:db8::2" : "198.18.0.2";
	if (!dst)
		dst = family == 6 ? "2001:db8::1" : "198.18.0.1";
	af = family == 6 ? AF_INET6 : AF_INET;
	if (inet_pton(af, src, saddr) != 1 || inet_pton(af, dst, daddr) != 1)
		return -EINVAL;

	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	p += 12;
	for (int i = 0; i < s->vlans; i++) {
		pg_put16(p, i < 3 && s->tpids[i] ? s->tpids[i] :
			    i == 0 && s->vlans > 1 ? 0x88a8 : 0x8100);
		pg_put16(p + 2, 100 + i);
		p += 4;
	}
	pg_put16(p, s->ethertype ? s->ethertype
				 : family == 4 ? 0x0800 : family == 6 ? 0x86dd : 0x0806);
	p += 2;

	if (family == 0) {
		/* ARP request: who has dst, tell src. */
		pg_put16(p, 1);
		pg_put16(p + 2, 0x0800);
		p[4] = 6;
		p[5] = 4;
		pg_put16(p + 6, 1);
		memcpy(p + 8, "\x02\x00\x00\x00\x00\x02", 6);
		memcpy(p + 14, saddr, 4);
		memcpy(p + 24, daddr, 4);
		p += 28;
		goto done;
	}

	l4len = pg_frame_l4(s, proto, l4);
	if (!frag && (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
		      (proto == IPPROTO_ICMPV6 && family == 6) || proto == IPPROTO_ICMP)) {
		int off = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;

		if (proto == IPPROTO_ICMP) {
			sum = pg_csum_fold(pg_csum_add(0, l4, l4len));
		} else {
			sum = pg_l4_csum(family, saddr, daddr, proto, l4, l4len);
			if (proto == IPPROTO_UDP && !sum)
				sum = 0xffff;
		}
		pg_put16(l4 + off, sum);
	}

	if (family == 4) {
		int optlen = s->ip_opt_words * 4, hlen = 20 + optlen;

		p[0] = (s->ip_version ? s->ip_version : 4) << 4 |
		       ((s->ihl ? s->ihl : 5 + s->ip_opt_words) & 0xf);
		pg_put16(p + 2, hlen + l4len + s->len_delta);
		pg_put16(p + 4, s->frag_id & 0xffff);
		pg_put16(p + 6, (s->frag_off / 8) | (s->more_frags ? 0x2000 : 0));
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, saddr, 4);
		memcpy(p + 16, daddr, 4);
		memset(p + 20, 1, optlen); /* NOP options... */
		if (optlen)
			p[hlen - 1] = 0; /* ...and an end-of-options */
		pg_put16(p + 10, pg_csum_fold(pg_csum_add(0, p, hlen)));
		p += hlen;
	} else {
		__u8 *ip6 = p, *e;
		int extlen = 0;

		pg_put32(p, (__u32)(s->ip_version ? s->ip_version : 6) << 28);
		p[6] = s->n_ext ? s->ext[0] : proto;
		p[7] = 64;
		memcpy(p + 8, saddr, 16);
		memcpy(p + 24, daddr, 16);
		p += 40;
		for (int i = 0; i < s->n_ext; i++) {
			e = p;
			e[0] = i + 1 < s->n_ext ? s->ext[i + 1] : proto;
			switch (s->ext[i]) {
			case PG_EXT_FRAG:
				pg_put16(e + 2, s->frag_off | (s->more_frags ? 1 : 0));
				pg_put32(e + 4, s->frag_id);
				p += 8;
				break;
			case PG_EXT_AH:
				e[1] = 4; /* (4 + 2) * 4 = 24 bytes: SPI, sequence, 96-bit ICV */
				pg_put32(e + 4, 0x100);
				pg_put32(e + 8, 1);
				p += 24;
				break;
			case PG_EXT_ROUTING:
				/* type 4 (segment routing), no segments left: a no-op to the stack */
				e[2] = 4;
				p += 8;
				break;
			default:
				/* hop-by-hop or destination options: one PadN of 4 */
				e[2] = 1;
				e[3] = 4;
				p += 8;
				break;
			}
		}
		extlen = p - (ip6 + 40);
		pg_put16(ip6 + 4, extlen + l4len + s->len_delta);
	}
	if (p - buf + l4len > PG_FRAME_MAX)
		return -ENOSPC;
	memcpy(p, l4, l4len);
	p += l4len;
done:
	p += s->pad;
	if (p - buf > PG_FRAME_MAX || s->truncate > p - buf)
		return -ENOSPC;
	return p - buf - s->truncate;
}

#endif /* PG_FRAMES_H */
