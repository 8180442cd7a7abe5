/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing for the datapath, shared by XDP ingress and tc egress.
 *
 * A cursor walks the frame. Every step bounds-checks what it reads against the end of the
 * frame, advances the cursor past the header and returns 0, or the pg_reason that decides a
 * packet it cannot accept (never PG_R_NOT_ALLOWED, which is 0: parsing never returns a policy
 * verdict). Nothing passes because parsing gave up: every way out is a reason the caller
 * counts, and a reason that is a drop reason drops.
 *
 * Besides the frame end, the L3 steps keep p->rem, the bytes of the IP payload still ahead of
 * the cursor according to the IP header's own length field. A frame may carry Ethernet padding
 * after the datagram; what lies there is not part of the packet, so an L4 header or an
 * extension header that only fits by reaching into the padding is truncated.
 *
 * The cursor is the context abstraction every program shares: XDP (one buffer, or a
 * multi-buffer frame), tc ingress and tc egress (an skb's linear part) all parse through it.
 * Headers are read only from the part that can be addressed directly, [pos, end); c->more
 * says how many bytes of the frame lie beyond end (the fragments of a multi-buffer XDP frame,
 * an skb's paged data), so that length fields are checked against the whole frame. A header
 * that crosses end while the frame goes on past it is split across buffers: such a frame is
 * PG_R_HDR_SPLIT (its own reason and counter), never judged on what we could not read.
 *
 * Byte order: addresses in struct pg_pkt are network order, IPv4 stored IPv4-mapped
 * (::ffff:a.b.c.d) as in every map key; ports, ids and offsets are host order.
 */
#ifndef PG_PARSE_BPF_H
#define PG_PARSE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "portguard.h"

/* vmlinux.h carries structs, not the macros of uapi headers. */
#define PG_ETH_P_IP 0x0800
#define PG_ETH_P_IPV6 0x86DD
#define PG_ETH_P_8021Q 0x8100
#define PG_ETH_P_8021AD 0x88A8

#define PG_NH_HOPOPTS 0
#define PG_NH_ICMP 1
#define PG_NH_IGMP 2
#define PG_NH_TCP 6
#define PG_NH_UDP 17
#define PG_NH_ROUTING 43
#define PG_NH_FRAGMENT 44
#define PG_NH_AH 51
#define PG_NH_ICMPV6 58
#define PG_NH_DSTOPTS 60

#define PG_IP_MF 0x2000
#define PG_IP_OFFMASK 0x1fff

#define PG_TCP_FIN 0x01
#define PG_TCP_SYN 0x02
#define PG_TCP_RST 0x04
#define PG_TCP_ACK 0x10

enum pg_frag_kind {
	PG_FRAG_NONE = 0, /* not a fragment (IPv6 atomic fragments included, RFC 6946) */
	PG_FRAG_FIRST,	  /* offset 0, more fragments follow: carries the L4 header */
	PG_FRAG_LATER,	  /* offset > 0: no L4 header, decided by its first fragment */
};

struct pg_cursor {
	void *pos;
	void *end;   /* end of the directly readable part (XDP's first buffer, skb linear) */
	__u32 more;  /* bytes of the frame after end: 0 for a frame read whole */
	__u8 cut;    /* set by pg_past: a header reached end */
};

/* Does a header ending at hdr_end reach past the readable part? Notes it in c->cut. */
static __always_inline bool pg_past(struct pg_cursor *c, void *hdr_end)
{
	if (hdr_end > c->end) {
		c->cut = 1;
		return true;
	}
	return false;
}

/* Bytes of the frame from the cursor to its end, readable part and beyond. A pointer
 * difference is a scalar the verifier does not bound, used only in comparisons; the barrier
 * keeps the compiler from adding c->more to the end pointer first, which no verifier takes. */
static __always_inline __u32 pg_frame_rem(const struct pg_cursor *c)
{
	__u64 n = (__u64)c->end - (__u64)c->pos;

	asm volatile("" : "+r"(n));
	return (__u32)n + c->more;
}

/*
 * Keep obj on the stack as one object. clang splits a zeroed struct pg_pkt into a dozen
 * scalars and, short of registers, stores every one of those zeros again on each branch of
 * the parse: 11 stores per header step, 9 ns of a 50 ns packet (BPF_PROG_TEST_RUN, every
 * frame kind, 2026-12-02). An empty asm that takes its address makes it one object in
 * memory, zeroed once.
 */
#define pg_in_memory(obj) asm volatile("" : : "r"(&(obj)) : "memory")

/* What parsing learned about one packet. Only the fields the parse reached are written. */
struct pg_pkt {
	__u32 saddr[4];	 /* mapped, network order */
	__u32 daddr[4];	 /* mapped, network order */
	__u32 frag_id;	 /* host order: IPv4 16-bit id, IPv6 32-bit identification */
	__u32 rem;	 /* bytes of the IP payload ahead of the cursor */
	__u16 sport;	 /* host order, TCP/UDP */
	__u16 dport;	 /* host order, TCP/UDP */
	__u16 frag_off;	 /* bytes, PG_FRAG_LATER: offset into the fragmentable part */
	__u16 fpos;	 /* bytes of the fragmentable part before the cursor (first fragments) */
	__u16 l4_end;	 /* PG_FRAG_FIRST: fpos + L4 header length, see pg_frag_val */
	__u8 family;	 /* 4 or 6 once L3 is parsed, else 0 */
	__u8 proto;	 /* upper-layer protocol, IPPROTO_* */
	__u8 frag;	 /* enum pg_frag_kind */
	__u8 frag_proto; /* protocol of the fragment key: IPv4 protocol, IPv6 fragment nexthdr */
	__u8 tcp_flags;	 /* PG_TCP_* */
	__u8 pad;
};

/*
 * A 16-bit length field of the packet, host order, as a value every verifier we support can
 * bound. bpf_ntohs() compiles to a byte swap (BPF_END), and the verifiers of 5.10 to 6.12
 * track no range through it: the result of pointer math with it is refused ("math between
 * pkt pointer and register with unbounded min value is not allowed"). clang knows a swapped
 * 16-bit value fits in 16 bits and would drop a plain mask; barrier_var() hides that from it,
 * so the mask reaches the verifier. The value is the same: the mask removes no bit.
 */
static __always_inline __u32 pg_len16(__be16 field)
{
	__u32 v = bpf_ntohs(field);

	barrier_var(v);
	return v & 0xffff;
}

/* A header that does not fit: in a first fragment it is the fragment that is too short (the
 * whole header chain up to and including the L4 header must be in the first fragment, RFC
 * 7112 and RFC 1858), anywhere else the packet is truncated. */
static __always_inline int pg_short(const struct pg_pkt *p)
{
	return p->frag == PG_FRAG_FIRST ? PG_R_FRAG_SHORT : PG_R_MALFORMED;
}

/*
 * Ethernet and up to PG_MAX_VLAN tags. *proto is the ethertype after the tags, host order.
 *
 * - A frame shorter than an Ethernet header, or a tag cut short: PG_R_MALFORMED.
 * - 0x8100 (802.1Q) and 0x88a8 (802.1ad) are tags, in any order: the kernel accepts both as
 *   either the outer or the inner tag. 0x9100/0x9200 (pre-standard QinQ) are not: Linux
 *   creates no VLAN device for them, so such a frame is a non-IP ethertype to every stack
 *   on this host.
 * - A third tag: PG_R_VLAN_DEPTH. We cannot look behind it within our bound, and a stack
 *   deeper than QinQ is not something a host terminates.
 * - A tag stripped by the NIC (hardware VLAN offload) is not in the frame at all: the packet
 *   is parsed as untagged, which is what the stack will see too.
 */
static __always_inline int pg_parse_eth(struct pg_cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vh;
	__be16 type;

	if (pg_past(c, eth + 1))
		return PG_R_MALFORMED;
	type = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (int i = 0; i <= PG_MAX_VLAN; i++) {
		if (type != bpf_htons(PG_ETH_P_8021Q) && type != bpf_htons(PG_ETH_P_8021AD))
			break;
		if (i == PG_MAX_VLAN)
			return PG_R_VLAN_DEPTH;
		vh = c->pos;
		if (pg_past(c, vh + 1))
			return PG_R_MALFORMED;
		type = vh->h_vlan_encapsulated_proto;
		c->pos = vh + 1;
	}
	*proto = bpf_ntohs(type);
	return 0;
}

/*
 * IPv4, options included. Fills addresses, the protocol, fragment state and p->rem.
 *
 * - Fewer than 20 bytes, or a version field that is not 4: PG_R_MALFORMED.
 * - IHL < 5, a header longer than the total length, or options running past the end of the
 *   frame: PG_R_BAD_IHL. The options are skipped, never interpreted; the source-route
 *   options are refused by the stack itself (accept_source_route is 0 by default).
 * - A total length beyond the frame: PG_R_MALFORMED (truncated). A frame longer than the
 *   total length is Ethernet padding; the datagram ends at the total length.
 * - The header checksum is not verified: the stack drops a bad one, whatever we decide.
 * - The reserved flag bit and DF are ignored, as the stack ignores them.
 * - Offset > 0: PG_FRAG_LATER, the cursor stays on the IP payload (it holds no L4 header).
 *   MF with offset 0: PG_FRAG_FIRST.
 */
static __always_inline int pg_parse_ipv4(struct pg_cursor *c, struct pg_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;
	__u16 fo;

	if (pg_past(c, ip + 1))
		return PG_R_MALFORMED;
	if (ip->version != 4)
		return PG_R_MALFORMED;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip))
		return PG_R_BAD_IHL;
	tot = pg_len16(ip->tot_len);
	if (tot < hlen)
		return PG_R_BAD_IHL;
	if (pg_past(c, c->pos + hlen))
		return PG_R_BAD_IHL;
	if (tot > pg_frame_rem(c))
		return PG_R_MALFORMED;

	p->family = 4;
	p->saddr[0] = 0;
	p->saddr[1] = 0;
	p->saddr[2] = bpf_htonl(0xffff);
	p->saddr[3] = ip->saddr;
	p->daddr[0] = 0;
	p->daddr[1] = 0;
	p->daddr[2] = bpf_htonl(0xffff);
	p->daddr[3] = ip->daddr;
	p->proto = ip->protocol;
	p->frag_proto = ip->protocol;
	p->rem = tot - hlen;

	fo = bpf_ntohs(ip->frag_off);
	if (fo & (PG_IP_MF | PG_IP_OFFMASK)) {
		p->frag_id = bpf_ntohs(ip->id);
		if (fo & PG_IP_OFFMASK) {
			p->frag = PG_FRAG_LATER;
			p->frag_off = (fo & PG_IP_OFFMASK) * 8;
		} else {
			p->frag = PG_FRAG_FIRST;
		}
	}
	c->pos += hlen;
	return 0;
}

static __always_inline bool pg_ipv6_is_ext(__u8 nh)
{
	return nh == PG_NH_HOPOPTS || nh == PG_NH_ROUTING || nh == PG_NH_DSTOPTS ||
	       nh == PG_NH_FRAGMENT || nh == PG_NH_AH;
}

/*
 * IPv6 and its extension headers. Fills addresses, the upper-layer protocol, fragment state
 * and p->rem.
 *
 * - Fewer than 40 bytes or a version that is not 6: PG_R_MALFORMED. A payload length beyond
 *   the frame: PG_R_MALFORMED. A payload length of 0 (a jumbogram) cannot be carried in one
 *   frame at XDP: the chain has no room and the packet is truncated.
 * - Walked: hop-by-hop (only as the first header, RFC 8200 4.1; elsewhere PG_R_MALFORMED,
 *   as the stack rejects it too), routing, destination options, fragment, and AH (it
 *   authenticates, it does not encrypt: the ports follow it in the clear). Each counts
 *   against PG_MAX_EXT_HDRS; one more than that: PG_R_EXT_HDR_LIMIT.
 * - ESP, "no next header" (59), and the rarer extension headers (mobility, HIP, shim6,
 *   experimental) are upper-layer protocols to us: the direction's default decides them.
 *   The stack has no handler for most of them and drops them itself.
 * - A routing header may name a later destination: the ports and the peer we judge are the
 *   packet's own; the peer is the source, which no routing header changes.
 * - Fragment header with offset > 0: PG_FRAG_LATER, the walk stops (what follows is the
 *   middle of a datagram). Offset 0 with M: PG_FRAG_FIRST, the walk goes on to the L4
 *   header, which must be in this fragment (else PG_R_FRAG_SHORT). Offset 0 without M is an
 *   atomic fragment (RFC 6946): a whole datagram, parsed as unfragmented. A second
 *   fragment header: PG_R_MALFORMED.
 */
static __always_inline int pg_parse_ipv6(struct pg_cursor *c, struct pg_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *oh;
	struct frag_hdr *fh;
	bool seen_frag = false;
	__u32 len, plen;
	__u16 fo;
	__u8 nh;

	if (pg_past(c, ip6 + 1))
		return PG_R_MALFORMED;
	if (ip6->version != 6)
		return PG_R_MALFORMED;
	plen = pg_len16(ip6->payload_len);
	if (plen + sizeof(*ip6) > pg_frame_rem(c))
		return PG_R_MALFORMED;

	p->family = 6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	p->rem = plen;
	nh = ip6->nexthdr;
	c->pos = ip6 + 1;

#pragma unroll
	for (int i = 0; i < PG_MAX_EXT_HDRS; i++) {
		switch (nh) {
		case PG_NH_HOPOPTS:
			if (i != 0)
				return PG_R_MALFORMED;
			/* fallthrough */
		case PG_NH_ROUTING:
		case PG_NH_DSTOPTS:
		case PG_NH_AH:
			oh = c->pos;
			if (p->rem < sizeof(*oh) || pg_past(c, oh + 1))
				return pg_short(p);
			/* Options headers count 8-octet units after the first 8; AH counts
			 * 4-octet units minus 2 (RFC 4302 2.2). */
			if (nh == PG_NH_AH)
				len = (oh->hdrlen + 2) * 4;
			else
				len = (oh->hdrlen + 1) * 8;
			if (len > p->rem || pg_past(c, c->pos + len))
				return pg_short(p);
			nh = oh->nexthdr;
			c->pos += len;
			p->rem -= len;
			if (p->frag == PG_FRAG_FIRST)
				p->fpos += len;
			break;
		case PG_NH_FRAGMENT:
			if (seen_frag)
				return PG_R_MALFORMED;
			seen_frag = true;
			fh = c->pos;
			if (p->rem < sizeof(*fh) || pg_past(c, fh + 1))
				return PG_R_MALFORMED;
			fo = bpf_ntohs(fh->frag_off);
			nh = fh->nexthdr;
			c->pos = fh + 1;
			p->rem -= sizeof(*fh);
			if (fo & 0xfff8) {
				p->frag = PG_FRAG_LATER;
				p->frag_off = fo & 0xfff8;
				p->frag_id = bpf_ntohl(fh->identification);
				p->frag_proto = nh;
				p->proto = nh;
				return 0;
			}
			if (fo & 1) {
				p->frag = PG_FRAG_FIRST;
				p->frag_id = bpf_ntohl(fh->identification);
				p->frag_proto = nh;
			}
			break;
		default:
			p->proto = nh;
			return 0;
		}
	}
	if (pg_ipv6_is_ext(nh))
		return PG_R_EXT_HDR_LIMIT;
	p->proto = nh;
	return 0;
}

/*
 * TCP or UDP at the cursor: ports (host order), TCP flags, and for a first fragment the end
 * of the L4 header within the fragmentable part (p->l4_end).
 *
 * - TCP shorter than 20 bytes: PG_R_MALFORMED (PG_R_FRAG_SHORT in a first fragment).
 * - TCP data offset < 5: PG_R_BAD_DOFF. A data offset past the end of the IP payload:
 *   PG_R_BAD_DOFF, or PG_R_FRAG_SHORT in a first fragment (the options must be in it too:
 *   a later fragment could otherwise rewrite them).
 * - UDP shorter than 8 bytes: PG_R_MALFORMED (PG_R_FRAG_SHORT in a first fragment). In an
 *   unfragmented datagram, a UDP length below 8 or beyond the IP payload is PG_R_MALFORMED
 *   (the stack drops it as a short packet); a UDP length below the IP payload is trailing
 *   data the stack trims. In a first fragment the UDP length covers the whole datagram and
 *   is not checked.
 */
static __always_inline int pg_parse_l4(struct pg_cursor *c, struct pg_pkt *p)
{
	struct tcphdr *th;
	struct udphdr *uh;
	__u32 hlen, ulen;

	if (p->proto == PG_NH_TCP) {
		th = c->pos;
		if (p->rem < sizeof(*th) || pg_past(c, th + 1))
			return pg_short(p);
		hlen = th->doff * 4;
		if (hlen < sizeof(*th))
			return PG_R_BAD_DOFF;
		/* p->rem never reaches past the frame: L3 checked the datagram's length. */
		if (hlen > p->rem)
			return p->frag == PG_FRAG_FIRST ? PG_R_FRAG_SHORT : PG_R_BAD_DOFF;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		uh = c->pos;
		if (p->rem < sizeof(*uh) || pg_past(c, uh + 1))
			return pg_short(p);
		hlen = sizeof(*uh);
		if (p->frag == PG_FRAG_NONE) {
			ulen = bpf_ntohs(uh->len);
			if (ulen < sizeof(*uh) || ulen > p->rem)
				return PG_R_MALFORMED;
		}
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
	}
	p->l4_end = p->fpos + hlen;
	return 0;
}

/*
 * Parse a frame from the Ethernet header to the L4 ports. *ethertype is set once Ethernet
 * parsed (host order). Returns 0 or a pg_reason. On 0 with an IP ethertype, p describes the
 * packet: a PG_FRAG_LATER fragment stops at L3, TCP and UDP have their ports, any other
 * protocol stops at L3.
 *
 * A header cut by the end of the readable part when the frame goes on beyond it (c->more):
 * PG_R_HDR_SPLIT, whatever truncation reason the step gave, since the header is there, only
 * not where we read. Drivers put at least a page in a multi-buffer frame's first buffer and
 * the stack builds an skb's headers linear, so a real frame meets this only when someone
 * crafts it; reading the rest with bpf_xdp_load_bytes() would need 5.18 and a copy on every
 * packet for a frame no peer we want sends.
 */
static __always_inline int pg_parse(struct pg_cursor *c, struct pg_pkt *p, __u16 *ethertype)
{
	int r;

	c->cut = 0;
	p->family = 0;
	p->proto = 0;
	p->frag = PG_FRAG_NONE;
	p->fpos = 0;
	p->l4_end = 0;
	p->sport = 0;
	p->dport = 0;
	p->tcp_flags = 0;

	r = pg_parse_eth(c, ethertype);
	if (!r && *ethertype == PG_ETH_P_IP)
		r = pg_parse_ipv4(c, p);
	else if (!r && *ethertype == PG_ETH_P_IPV6)
		r = pg_parse_ipv6(c, p);
	if (!r && p->family && p->frag != PG_FRAG_LATER && (p->proto == PG_NH_TCP || p->proto == PG_NH_UDP))
		r = pg_parse_l4(c, p);
	if (r && c->cut && c->more)
		return PG_R_HDR_SPLIT;
	return r;
}

#endif /* PG_PARSE_BPF_H */
