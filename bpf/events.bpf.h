/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Violation events: rate-limited in the kernel, then reserved in the ring buffer. The
 * datapath never waits on userspace: what cannot be reported is counted in pg_event_stats,
 * and submitted + ring_full + rate_limited + budget equals the events that were wanted.
 */
#ifndef PG_EVENTS_BPF_H
#define PG_EVENTS_BPF_H

#include "maps.bpf.h"

static __always_inline void pg_event_stat(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&pg_event_stats, &which);

	if (v)
		(*v)++;
}

/*
 * May an event for key be reported now? Repeats of one key within cfg->ratelimit_ns, and
 * anything past cfg->events_per_sec on this CPU, are suppressed and counted.
 *
 * The budget is checked first: under a flood from many sources it runs out within the first
 * second, and from then on each violation costs one per-CPU array access. The budget is only
 * consumed by an event that is admitted, so repeats never use it up. (A repeat that arrives
 * after the budget is spent is counted as budget, not rate_limited; the sum is the same.)
 *
 * Recent keys live in a per-CPU direct-mapped table (pg_ratelimit): one array lookup, no
 * hash map, no LRU list, no lock, a bounded cost whatever the flood. A key's slot holds the
 * last key admitted there; another key hashing to the same slot replaces it, and the
 * replaced key's next repeat is then admitted again: a collision can let through an extra
 * event (counted as submitted), never hide one, so the counts stay exact. Per CPU: a source
 * whose packets land on two CPUs (RSS keeps a flow on one) may be reported once per CPU.
 */
static __always_inline bool pg_event_admit(const struct pg_config *cfg, struct pg_rl_key *key,
					   __u64 now)
{
	struct pg_rl_slot *slot = NULL;
	struct pg_budget *b = NULL;
	__u32 zero = 0, idx;

	if (cfg->events_per_sec) {
		b = bpf_map_lookup_elem(&pg_budget, &zero);
		if (b) {
			/* Signed: the budget is per CPU, not per hook, and every hook stamps
			 * at tick resolution, which one CPU may see a tick ahead of another
			 * (bpf/clock.bpf.h). */
			if ((__s64)(now - b->window_start_ns) >= 1000000000LL) {
				b->window_start_ns = now;
				b->count = 0;
			}
			if (b->count >= cfg->events_per_sec) {
				pg_event_stat(PG_EVS_BUDGET);
				return false;
			}
		}
	}
	if (cfg->ratelimit_ns) {
		idx = pg_hash5(key) & (PG_RL_SLOTS - 1);
		slot = bpf_map_lookup_elem(&pg_ratelimit, &idx);
		if (slot && slot->last_ns && pg_same5(&slot->key, key) &&
		    now - slot->last_ns < cfg->ratelimit_ns) {
			pg_event_stat(PG_EVS_RATE_LIMITED);
			return false;
		}
	}
	if (b)
		b->count++;
	if (slot) {
		slot->key = *key;
		slot->last_ns = now ? now : 1;
	}
	return true;
}

/* A zeroed event record in the ring, or NULL (counted) when the ring is full. */
static __always_inline struct pg_event *pg_event_reserve(void)
{
	struct pg_event *e = bpf_ringbuf_reserve(&pg_events, sizeof(*e), 0);

	if (!e) {
		pg_event_stat(PG_EVS_RING_FULL);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/*
 * The one place an event is filled, for XDP and the socket hooks alike: admitted by the rate
 * limits under key, reserved, and filled with the verdict and the addresses (left zero when
 * family is 0). The hook adds its own fields (ifindex; pid, uid, comm, cgroup), then
 * pg_event_submit(). NULL (counted) when it is not to be reported.
 *
 * The record's precise time stamp is read here, once the event is admitted and has its
 * place: a clock helper is a call the compiler may not move past the tests, and under a
 * flood of repeats it was a fifth of a suppressed violation's cost (measured on 2026-12-02).
 */
static __always_inline struct pg_event *
pg_event_new(const struct pg_config *cfg, struct pg_rl_key *key, __u64 now, __u32 hook, __u32 gen, __u32 rule_id, __u32 reason, __u8 action, __u8 dir,
	     __u8 proto, __u8 family, const __u8 *saddr, __u16 sport, const __u8 *daddr,
	     __u16 dport)
{
	struct pg_event *e;

	if (!pg_event_admit(cfg, key, now))
		return NULL;
	e = pg_event_reserve();
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->hook = hook;
	e->reason = reason;
	e->gen = gen;
	e->rule_id = rule_id;
	e->action = action;
	e->dir = dir;
	e->proto = proto;
	if (family) {
		e->family = family;
		e->sport = sport;
		e->dport = dport;
		__builtin_memcpy(e->saddr, saddr, 16);
		__builtin_memcpy(e->daddr, daddr, 16);
	}
	return e;
}

static __always_inline void pg_event_submit(struct pg_event *e)
{
	/* The policy version of the generation that decided: e->gen alone is reused by the
	 * reload after next, and userspace reads the record later. The key is copied to the
	 * stack: 5.10's verifier takes no ring buffer memory as a map key. */
	__u32 gen = e->gen;
	struct pg_config *cfg = bpf_map_lookup_elem(&pg_config, &gen);

	if (cfg)
		e->version = cfg->version;
	bpf_ringbuf_submit(e, 0);
	pg_event_stat(PG_EVS_SUBMITTED);
}

#endif /* PG_EVENTS_BPF_H */
