/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the socket hooks share (bpf/sock_hooks.bpf.c, bpf/sock_lsm.bpf.c): reporting a verdict
 * with the calling process, and the `deny raw` decision.
 */
#ifndef PG_SOCK_BPF_H
#define PG_SOCK_BPF_H

#include "clock.bpf.h"
#include "decide.bpf.h"
#include "events.bpf.h"

/* Not in vmlinux.h: they are macros in the kernel's uapi headers. */
#define PG_AF_INET 2
#define PG_AF_INET6 10
#define PG_AF_PACKET 17
#define PG_SOCK_RAW 3
#define PG_IPPROTO_TCP 6
#define PG_IPPROTO_UDP 17
#define PG_IPPROTO_MPTCP 262

#define PG_REFUSE 0
#define PG_ALLOW 1

/*
 * The counters' and the rate limiter's clock: pg_now() (bpf/clock.bpf.h) in the cgroup
 * hooks; the precise clock in an object that defines PG_SOCK_PRECISE_CLOCK (the LSM object:
 * it runs once per socket() call, and a tracing program's helpers are another set, so it
 * keeps the one clock every kernel gives them).
 */
static __always_inline __u64 sock_now(void)
{
#ifdef PG_SOCK_PRECISE_CLOCK
	return bpf_ktime_get_ns();
#else
	return pg_now();
#endif
}

/*
 * Whether a verdict is reported (a violation: blocked, or let through by dry-run; or an allow
 * with `log`) rather than only counted. Everything a report needs and a verdict does not (the
 * socket's local address, the process's identity, the precise clock, the rate limiter, the
 * ring) is read behind this test: the allow path is the decision and two counters.
 */
static __always_inline bool sock_reports(const struct pg_config *cfg, const struct pg_decision *d)
{
	return (d->drop || d->log) && cfg->events;
}

/*
 * Count the verdict and, when sock_reports(), report it with the calling process (cfg may be
 * NULL for a verdict that is neither refused nor logged: it is only counted). The event's
 * "destination" is always the port the rule judged: the bound port for bind, the remote port
 * for connect and sendmsg, as it is this host's port for inbound packets in XDP.
 *
 * Clocks: the counters' last-hit stamp and the rate limiter use sock_now(), in the cgroup
 * hooks pg_now(), the tick-resolution clock read through jiffies, as XDP does
 * (bpf/clock.bpf.h: a tick's resolution is plenty for "last hit" and for rate limits of a
 * second, and on every verdict it costs one load where a clock helper costs a call); only
 * the event's own time stamp is precise.
 */
static __always_inline void sock_report(const struct pg_config *cfg, const struct pg_decision *d,
					__u32 hook, __u32 dir, __u8 proto, __u8 family,
					const __u8 *saddr, __u16 sport, const __u8 *daddr,
					__u16 dport)
{
	__u64 now = sock_now();
	struct pg_rl_key rk = {};
	struct pg_event *e;

	pg_count_verdict(d->gen, d->rule_id, d->reason, 0, now);
	if (!cfg || !sock_reports(cfg, d))
		return;

	/* Socket hooks rate-limit by the peer (the bound address for bind) and the port. */
	__builtin_memcpy(rk.addr, daddr, 16);
	rk.port = dport;
	rk.reason = d->reason;
	rk.hook = hook;
	e = pg_event_new(cfg, &rk, now, hook, d->gen, d->rule_id, d->reason,
			 !d->drop ? PG_EV_LOGGED : d->dry_run ? PG_EV_ALLOWED : PG_EV_BLOCKED, dir,
			 proto, family, saddr, sport, daddr, dport);
	if (!e)
		return;
	/* The process's identity: read only for a record the limits admitted and the ring
	 * had room for. */
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	pg_event_submit(e);
}

/*
 * The hook's return value, PG_REFUSE or PG_ALLOW, in a form every verifier we support proves
 * to be 0 or 1 (5.10 wants (0; 0x1) at bind4's exit, 6.1 (0; 0x3)). Left to itself, clang
 * returns d->dry_run as the verdict, spilled and filled as a byte: 5.10 and 6.1 track no
 * range through that stack slot and saw (0x0; 0xff). barrier_var() keeps clang from folding
 * the test back into the byte, so each exit returns a constant. Bind's bit 1 (2 and 3: skip
 * the CAP_NET_BIND_SERVICE check), which 5.10 refuses, is never used.
 */
static __always_inline int verdict(const struct pg_decision *d)
{
	int refuse = d->drop && !d->dry_run;

	barrier_var(refuse);
	return refuse ? PG_REFUSE : PG_ALLOW;
}

/* `deny raw`: a raw or packet socket is being created (family 4, 6, or 0 for packet/XDP). */
static __always_inline int judge_raw(__u8 family, __u8 proto)
{
	struct pg_decision d = {};
	const struct pg_config *cfg;
	__u8 zero[16] = {};
	__u32 gen;

	cfg = pg_current(&gen);
	if (!cfg)
		return PG_REFUSE;
	if (!cfg->deny_raw)
		return PG_ALLOW;
	d.gen = gen;
	d.rule_id = PG_RULE_DENY_RAW;
	d.reason = PG_R_RAW_SOCKET;
	d.drop = 1;
	d.dry_run = cfg->mode == PG_MODE_DRY_RUN || cfg->deny_raw_dry_run;
	sock_report(cfg, &d, PG_HOOK_SOCK_CREATE, PG_DIR_OUT, proto, family, zero, 0, zero, 0);
	return verdict(&d);
}

#endif /* PG_SOCK_BPF_H */
