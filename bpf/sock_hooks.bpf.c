// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup socket hooks: the only place portguard sees which process tried what. They judge
 *
 *   bind4/bind6        a `local` port bound to anything but loopback       (dir in)
 *   connect4/connect6  TCP and UDP connect(), TCP Fast Open, io_uring      (dir out)
 *   sendmsg4/sendmsg6  sendto()/sendmsg() with a destination on UDP        (dir out)
 *   sock_create        `deny raw`: SOCK_RAW IPv4 and IPv6 sockets
 *                      (AF_PACKET never reaches it: see bpf/sock_lsm.bpf.c)
 *
 * from the same maps and with the same pg_decide() as XDP, and report through the same ring
 * buffer, with the process (tgid, comm, uid, cgroup id) attached.
 *
 * They run on every bind(), connect() and unconnected sendto() of the cgroup (every DNS query
 * of a resolver without a connected socket), so the allow path is kept to the decision and
 * two per-CPU counters: nothing of the socket or the process is read, no clock helper is
 * called, nothing is reserved, unless the verdict is to be reported (sock_reports()).
 * Outbound decisions go through a per-CPU cache of recent answers (sock_decide()).
 *
 * Return values are the kernel's: 1 lets the call proceed, 0 makes it fail with EPERM.
 *
 * Byte order at the boundary, all from include/uapi/linux/bpf.h:
 *   bpf_sock_addr.user_ip4, user_ip6[i], msg_src_ip*  network order
 *   bpf_sock_addr.user_port   network order, in the low 16 bits of the 32-bit load
 *   bpf_sock.src_ip4, src_ip6 network order
 *   bpf_sock.src_port         host order
 * Addresses are turned into the mapped 16-byte form of portguard.h (network order); ports into
 * host order, which is what the maps and the events hold.
 *
 * When no policy is loaded, the maps read as zeros: enforce mode, both defaults allow
 * (PG_DEFAULT_ALLOW is 0), no port class, no `local` port, `deny raw` off. So hooks attached
 * to a cgroup before (or without) a policy allow everything: they cannot brick the host.
 * pg_current() returning NULL cannot happen (pg_config is an array of PG_NGEN entries and the
 * generation is masked to 0..1); the verifier makes us handle it, and we fail closed there
 * as XDP does.
 */
#include "sock.bpf.h"

/*
 * The policy's protocol index for a socket's protocol, or -1 for protocols that are not
 * subject to port rules (ICMP ping sockets, raw sockets, SCTP). MPTCP is TCP on the wire:
 * the kernel normally runs these hooks on its first TCP subflow, but should it ever hand us
 * the MPTCP socket itself, it is judged as TCP rather than let through.
 */
static __always_inline int sock_pidx(__u32 protocol)
{
	if (protocol == PG_IPPROTO_TCP || protocol == PG_IPPROTO_MPTCP)
		return PG_PIDX_TCP;
	if (protocol == PG_IPPROTO_UDP)
		return PG_PIDX_UDP;
	return -1;
}

static __always_inline __u8 pidx_proto(int pidx)
{
	return pidx == PG_PIDX_TCP ? PG_IPPROTO_TCP : PG_IPPROTO_UDP;
}

/* IPv4 address (network order) to the mapped form ::ffff:a.b.c.d. */
static __always_inline void map4(__u8 *addr, __u32 ip4)
{
	__u32 *w = (__u32 *)addr;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = ip4;
}

/*
 * The IPv6 words of the context and of the socket, read through views of the uapi layout,
 * one 32-bit load at a constant offset each. Built with CO-RE (vmlinux.h's
 * preserve_access_index, which the Makefile turns off), clang turned ctx->user_ip6[i] into
 * "advance ctx to user_ip6, then load at 4 * i", which the verifier refuses (a ctx or socket
 * pointer must be loaded from at a constant offset, unmodified); the views keep the loads
 * in the form the verifier takes, whichever way the objects are built. These layouts are
 * uapi and never move.
 */
struct pg_sock_addr_view {
	__u32 user_family;
	__u32 user_ip4;
	__u32 user_ip6[4];
	__u32 user_port;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4;
	__u32 msg_src_ip6[4];
};

struct pg_sock_view {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
	__u32 src_ip4;
	__u32 src_ip6[4];
};

/*
 * IPv6 address (network order) to the mapped form: it already is. An IPv4-mapped
 * ::ffff:a.b.c.d given to an IPv6 socket is byte for byte the mapped form of a.b.c.d, so it
 * meets exactly the IPv4 rules and peers: no separate translation step can be forgotten.
 */
static __always_inline void map6(__u8 *addr, __u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	__u32 *w = (__u32 *)addr;

	w[0] = w0;
	w[1] = w1;
	w[2] = w2;
	w[3] = w3;
}

#define MAP6_CTX(addr, ctx)                                                              \
	map6(addr, ((struct pg_sock_addr_view *)(ctx))->user_ip6[0],                     \
	     ((struct pg_sock_addr_view *)(ctx))->user_ip6[1],                           \
	     ((struct pg_sock_addr_view *)(ctx))->user_ip6[2],                           \
	     ((struct pg_sock_addr_view *)(ctx))->user_ip6[3])

/* The family a mapped address travels as: an IPv4-mapped destination goes out as IPv4. */
static __always_inline __u8 mapped_family(const __u8 *addr)
{
	const __u32 *w = (const __u32 *)addr;

	return (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) ? 4 : 6;
}

/*
 * bind(): only `local` ports are judged. Such a port may be bound to loopback alone:
 * 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (pg_addr_is_loopback over the mapped form).
 * Everything else is refused with PG_R_LOCAL_ONLY, and that covers each way to listen off
 * loopback: 0.0.0.0; `::`, whether the socket is IPV6_V6ONLY or dual-stack (the dual-stack
 * socket also accepts IPv4, so it is no better); ::ffff:0.0.0.0, the IPv4 wildcard spelt as
 * IPv6; and any of the host's own addresses, which we need not enumerate because they are
 * not loopback.
 *
 * Decisions:
 * - Port 0 asks the kernel for an ephemeral port; there is no port to judge yet. Ephemeral
 *   ports come from net.ipv4.ip_local_port_range, which should not overlap `local` ports (put
 *   them in ip_local_reserved_ports); we do not add a post_bind hook that would refuse an
 *   ephemeral bind at random.
 * - `deny in` and `allow in` rules do not refuse binds: they are about peers, and XDP
 *   enforces them on every packet. Only `local` is a statement about the bound address.
 * - Protocols other than TCP and UDP are let through (sock_pidx).
 */
static __always_inline int judge_bind(struct bpf_sock_addr *ctx, const __u8 *addr, __u8 family)
{
	struct pg_decision d = {};
	const struct pg_config *cfg;
	struct pg_port_val *pv;
	__u8 zero[16] = {};
	__u16 port;
	__u32 gen;
	int pidx;

	pidx = sock_pidx(ctx->protocol);
	if (pidx < 0)
		return PG_ALLOW;
	port = bpf_ntohs((__u16)ctx->user_port);
	if (!port)
		return PG_ALLOW;
	cfg = pg_current(&gen);
	if (!cfg)
		return PG_REFUSE;
	pv = pg_port_lookup(gen, PG_DIR_IN, pidx, port);
	if (!pv || !(pv->flags & PG_PORT_LOCAL))
		return PG_ALLOW;

	d.gen = gen;
	if (pg_addr_is_loopback(addr)) {
		d.reason = PG_R_PASS_LOOPBACK;
		d.drop = 0;
	} else {
		d.reason = PG_R_LOCAL_ONLY;
		d.drop = 1;
		d.dry_run = cfg->mode == PG_MODE_DRY_RUN || (pv->flags & PG_PORT_LOCAL_DRY_RUN);
	}
	/* The `local` rule, for counters and the event's "rule", from the port slot: the peer's
	 * verdict is about peers and may name a deny, a dry-run rule or the default. */
	d.rule_id = pg_port_local_rule(pv);
	sock_report(cfg, &d, PG_HOOK_BIND, PG_DIR_IN, pidx_proto(pidx), family, zero, 0, addr,
		    port);
	return verdict(&d);
}

SEC("cgroup/bind4")
int pg_bind4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	map4(addr, ctx->user_ip4);
	return judge_bind(ctx, addr, 4);
}

SEC("cgroup/bind6")
int pg_bind6(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	MAP6_CTX(addr, ctx);
	return judge_bind(ctx, addr, mapped_family(addr));
}

/*
 * pg_decide()'s answer in one word, for the decision cache and for pg_sock_decide():
 * bits 0-31 rule_id, 32-39 reason, 40 drop, 41 dry_run, 42 log, 48-55 vflags (gen is the
 * caller's).
 */
static __always_inline __u64 sock_pack(const struct pg_decision *d)
{
	return (__u64)d->rule_id | (__u64)d->reason << 32 | (__u64)(d->drop & 1) << 40 |
	       (__u64)(d->dry_run & 1) << 41 | (__u64)(d->log & 1) << 42 |
	       (__u64)d->vflags << 48;
}

static __always_inline void sock_unpack(__u64 answer, __u32 gen, struct pg_decision *d)
{
	d->gen = gen;
	d->rule_id = (__u32)answer;
	d->reason = (__u8)(answer >> 32);
	d->drop = (answer >> 40) & 1;
	d->dry_run = (answer >> 41) & 1;
	d->log = (answer >> 42) & 1;
	d->vflags = (__u8)(answer >> 48);
}

/*
 * pg_decide() for the socket hooks, as a global function: the verifier checks it once, on
 * its own, with every argument unknown, and the caller goes on with an answer it knows
 * nothing of. Inlined, each constant verdict pg_decide() can reach was followed through the
 * rest of the hook separately, and again through the UDP-reply decision: connect6 and
 * sendmsg6 took 213,000 instructions to verify, and 415,000 with the decision cache, which
 * is load time on every kernel (minutes on 5.10 under emulation); now 23,000. 5.10 passes a
 * global function scalars only (and the context), five at the most: hence the question
 * packed in three words (sock_decide_packed()) and the config looked up again inside. The
 * config cannot be missing (see the top of this file); if it were, the answer is the
 * default-out refusal, failing closed as the hooks do.
 */
__noinline __u64 pg_sock_decide(__u32 q, __u64 a01, __u64 a23)
{
	struct pg_decision d = { .rule_id = PG_RULE_DEFAULT_OUT, .reason = PG_R_NOT_ALLOWED,
				 .drop = 1 };
	__u32 gen = (q >> 18) & 1, dir = (q >> 17) & 1, pidx = (q >> 16) & 1;
	const struct pg_config *cfg;
	__u64 addr[2] = { a01, a23 };

	cfg = bpf_map_lookup_elem(&pg_config, &gen);
	if (cfg)
		pg_decide(gen, cfg, dir, pidx, (__u16)q, (const __u8 *)addr, &d);
	return sock_pack(&d);
}

/* The question for pg_sock_decide(): gen, dir and pidx (one bit each) and the port in one
 * word, the address (mapped, network order) in two, as the bytes lie. */
static __always_inline __u64 sock_decide_packed(__u32 gen, __u32 dir, __u32 pidx, __u16 port,
						const __u8 *addr)
{
	const __u64 *w = (const __u64 *)addr;

	return pg_sock_decide((gen & 1) << 18 | (dir & 1) << 17 | (pidx & 1) << 16 | port, w[0],
			      w[1]);
}

/*
 * pg_decide() for connect and sendmsg, through a per-CPU cache of its recent answers
 * (pg_sock_cache). Why: where a rule names peers, pg_decide() looks the peer up in hash maps
 * of up to millions of entries (pg_peers, pg_class_peers); from a syscall, with the caches
 * and TLB cold, those lookups were most of the hook's cost (measured on 2026-12-01:
 * connect4 ran 245 ns over the trivial hook, 150 ns of it the peer lookups), and a process
 * talks to the same few peers again and again (its DNS resolver, its NTP server, its
 * database). A hit reads pg_active and one per-CPU slot, and makes two atomic adds: not even
 * the generation's config, which only a call to report needs (judge_out()).
 *
 * Correctness, decided here:
 * - A slot answers only for the policy version it was filled under, and a lookup only for
 *   the version pg_active says is in force (written with the generation, in one write). A
 *   version is never reused (each load gives the generation it writes one more than either
 *   had), so a reload retires every slot at once, with no flush. An answer made while its
 *   generation's maps were being rewritten (two reloads during one call) is stored under
 *   the version read before, which that generation never has again. Version 0 (no policy,
 *   or a state of an older build) is never cached. (Versions wrap after 2^32 loads; no slot
 *   lives that long.) The slot keeps the generation that decided, whose rule slots count
 *   its hits.
 * - The key is compared whole: a collision is a miss, never another key's answer.
 * - Preemption: a hook runs with migration disabled, not preemption, so on a preemptible
 *   kernel another hook run on this CPU may start inside this one's use of the slot, and a
 *   slot written by two runs at once could pair one key with the other's verdict. busy makes
 *   the slot exclusive: every run adds 1 (an atomic add, which 5.10 has; an atomic fetch or
 *   compare-exchange it has not), and only the run that then reads 1 uses the slot; the
 *   others decide without it. The counts, the loopback and UDP-reply rules and the report
 *   are the caller's, on every call, hit or miss.
 */
static __always_inline void sock_decide(__u32 gen, __u32 version, __u32 dir, __u32 pidx,
					__u16 port, const __u8 *addr, struct pg_decision *d)
{
	struct pg_sock_cache_key k = { .port = port, .dir = dir, .pidx = pidx };
	struct pg_sock_cache_slot *s = NULL;
	bool own = false;
	__u64 answer;
	__u32 idx;

	__builtin_memcpy(k.addr, addr, 16);
	if (version) {
		idx = pg_hash5(&k) & (PG_SOCK_CACHE_SLOTS - 1);
		s = bpf_map_lookup_elem(&pg_sock_cache, &idx);
	}
	if (s) {
		__sync_fetch_and_add(&s->busy, 1);
		own = *(volatile __u32 *)&s->busy == 1;
	}
	if (own && s->version == version && pg_same5(&s->key, &k)) {
		answer = s->answer;
		gen = s->gen & 1;
	} else {
		answer = sock_decide_packed(gen, dir, pidx, port, addr);
		if (own) {
			s->key = k;
			s->answer = answer;
			s->gen = gen;
			s->version = version;
		}
	}
	if (s)
		__sync_fetch_and_add(&s->busy, -1);
	sock_unpack(answer, gen, d);
}

/*
 * The socket's local address (mapped, network order), for a report: read only then. Every
 * word is loaded before the family is tested, each at its constant offset: left to choose
 * by family, clang sinks the loads into the branches and computes one pointer into the
 * socket for them, which the verifier refuses ("pointer arithmetic on sock prohibited").
 * barrier_var() pins each load before the test.
 */
static __always_inline void sock_local(struct bpf_sock *sk, __u8 *laddr)
{
	struct pg_sock_view *sv = (struct pg_sock_view *)sk;
	__u32 fam = sk->family, ip4 = sv->src_ip4;
	__u32 w0 = sv->src_ip6[0], w1 = sv->src_ip6[1];
	__u32 w2 = sv->src_ip6[2], w3 = sv->src_ip6[3];

	barrier_var(ip4);
	barrier_var(w0);
	barrier_var(w1);
	barrier_var(w2);
	barrier_var(w3);
	if (fam == PG_AF_INET)
		map4(laddr, ip4);
	else
		map6(laddr, w0, w1, w2, w3);
}

/*
 * connect() and sendmsg(): outbound, judged by the remote port and the peer exactly as the
 * policy's `out` rules say, with two exceptions that keep the host working:
 *
 * - Loopback peers. Outbound rules are about the host talking to the network. Traffic to
 *   127.0.0.0/8 or ::1 never leaves the host, and a `local` port exists precisely to be
 *   reached over loopback; under `default out deny` a local client of the loopback-only
 *   database would otherwise be refused. So when nothing but the default would block a
 *   loopback destination, it passes (PG_R_PASS_LOOPBACK). An explicit `deny out` rule still
 *   applies to loopback.
 *
 * - UDP replies. A UDP server answers with sendto() from its bound port to the client's
 *   address, which the `out` policy may not allow (default out deny, a client on any port).
 *   The policy language lets replies to allowed flows through. The hook cannot see the
 *   request, so it judges the reply by what it can see: the socket's bound port is a port
 *   the `in` policy allows from this peer (pg_decide(PG_DIR_IN, udp, local port, peer)
 *   passes). A datagram from that port to that peer is then traffic the policy allows in
 *   the other direction: the peer may send to this port, and this port may answer it.
 *   Limit: a process that binds a port open to the world can send from it to anyone,
 *   without having heard from them first. The same holds for UDP connect(), which servers
 *   use to give each client its own socket. TCP has no such case: replies on accepted
 *   sockets pass no hook.
 */
static __always_inline int judge_out(struct bpf_sock_addr *ctx, const __u8 *raddr, __u8 family,
				     __u32 hook)
{
	const struct pg_config *cfg = NULL;
	struct bpf_sock *sk = ctx->sk;
	struct pg_decision d = {};
	const struct pg_active *a;
	__u8 laddr[16] = {};
	__u16 rport, lport = 0;
	__u32 zero = 0;
	int pidx;

	pidx = sock_pidx(ctx->protocol);
	if (pidx < 0)
		return PG_ALLOW;
	rport = bpf_ntohs((__u16)ctx->user_port);
	a = bpf_map_lookup_elem(&pg_active, &zero);
	if (!a)
		return PG_REFUSE;
	sock_decide(a->gen & 1, a->version, PG_DIR_OUT, pidx, rport, raddr, &d);
	/* The config only for a call that is refused or logged: what reports need. */
	if (d.drop || d.log) {
		cfg = bpf_map_lookup_elem(&pg_config, &d.gen);
		if (!cfg)
			return PG_REFUSE;
	}

	if (d.drop && d.reason == PG_R_NOT_ALLOWED && pg_addr_is_loopback(raddr)) {
		d.reason = PG_R_PASS_LOOPBACK;
		d.drop = 0;
		d.dry_run = 0;
	}
	/* The bound port matters to a UDP datagram the policy would block (a reply?) and to a
	 * report; an allowed call needs nothing of the socket. */
	if (sk && (d.drop || (cfg && sock_reports(cfg, &d))))
		lport = sk->src_port;
	if (d.drop && pidx == PG_PIDX_UDP && lport) {
		struct pg_decision in = {};

		sock_unpack(sock_decide_packed(d.gen, PG_DIR_IN, pidx, lport, raddr), d.gen, &in);
		if (!in.drop) {
			/* Counted against the `in` rule that lets the peer reach this port. */
			d.rule_id = in.rule_id;
			d.reason = PG_R_PASS_REPLY;
			d.drop = 0;
			d.dry_run = 0;
			d.log = 0;
		}
	}
	if (sk && cfg && sock_reports(cfg, &d))
		sock_local(sk, laddr);
	sock_report(cfg, &d, hook, PG_DIR_OUT, pidx_proto(pidx), family, laddr, lport, raddr,
		    rport);
	return verdict(&d);
}

SEC("cgroup/connect4")
int pg_connect4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	map4(addr, ctx->user_ip4);
	return judge_out(ctx, addr, 4, PG_HOOK_CONNECT);
}

SEC("cgroup/connect6")
int pg_connect6(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	MAP6_CTX(addr, ctx);
	return judge_out(ctx, addr, mapped_family(addr), PG_HOOK_CONNECT);
}

/*
 * The kernel runs sendmsg hooks only for datagrams with a destination on an unconnected
 * socket (a connected socket was judged at connect()). An IPv4-mapped destination on an
 * IPv6 socket is handed to the IPv4 path by udpv6_sendmsg and arrives at pg_sendmsg4.
 */
SEC("cgroup/sendmsg4")
int pg_sendmsg4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	map4(addr, ctx->user_ip4);
	return judge_out(ctx, addr, 4, PG_HOOK_SENDMSG);
}

SEC("cgroup/sendmsg6")
int pg_sendmsg6(struct bpf_sock_addr *ctx)
{
	__u8 addr[16];

	MAP6_CTX(addr, ctx);
	return judge_out(ctx, addr, mapped_family(addr), PG_HOOK_SENDMSG);
}

/*
 * `deny raw`: raw IP sockets and packet sockets see and forge traffic below the port rules,
 * so a policy can forbid creating them in the cgroup. Two hooks share the work:
 *
 * - cgroup/sock_create runs in inet_create()/inet6_create() only: it refuses SOCK_RAW of
 *   AF_INET and AF_INET6. ICMP ping sockets (SOCK_DGRAM, IPPROTO_ICMP) are not raw and stay
 *   allowed.
 * - AF_PACKET sockets never reach cgroup/sock_create (packet_create() runs no cgroup hook;
 *   measured on 6.18). bpf/sock_lsm.bpf.c refuses them from the LSM hook socket_create,
 *   attached per cgroup, where the kernel lets an LSM program load. It is a separate object
 *   so that a kernel that refuses it costs that one refusal, not the socket hooks.
 *
 * Both report with hook sock_create; the event's family is 4, 6, or 0 for a packet or XDP
 * socket, proto is the IP protocol of a raw IP socket.
 */
SEC("cgroup/sock_create")
int pg_sock_create(struct bpf_sock *ctx)
{
	__u32 family = ctx->family;

	if (ctx->type != PG_SOCK_RAW && family != PG_AF_PACKET)
		return PG_ALLOW;
	return judge_raw(family == PG_AF_INET ? 4 : family == PG_AF_INET6 ? 6 : 0,
			 (__u8)ctx->protocol);
}

char LICENSE[] SEC("license") = "GPL";
