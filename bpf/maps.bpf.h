/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of portguard, included by each BPF object. The loader creates them once (from the
 * XDP object) and hands the same fds to the other objects with bpf_map__reuse_fd(), and pins
 * them by these names under the pin directory.
 */
#ifndef PG_MAPS_BPF_H
#define PG_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "portguard.h"

/* Which generation is in force. Key 0. Written by userspace: the switch of a reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_active);
} pg_active SEC(".maps");

/* Per-generation settings, key = generation. Written by userspace before activation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_NGEN);
	__type(key, __u32);
	__type(value, struct pg_config);
} pg_config SEC(".maps");

/* Port classes, key = pg_port_index(gen, dir, proto, port). Written by userspace, through a
 * shared mapping (BPF_F_MMAPABLE): a reload writes only the slots that change, without a
 * syscall per slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PG_PORT_SLOTS);
	__type(key, __u32);
	__type(value, struct pg_port_val);
} pg_ports SEC(".maps");

/* The peer-group lookup of include/portguard.h, written by userspace (the buckets through a
 * shared mapping, as pg_ports). The hashes are not preallocated: max_entries is a limit, not
 * memory. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PG_BUCKET_SLOTS);
	__type(key, __u32);
	__type(value, struct pg_bucket);
} pg_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_NGEN * PG_MAX_BUCKETS32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pg_bucket32_key);
	__type(value, struct pg_bucket);
} pg_buckets32 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_MAX_PEER_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pg_peer_key);
	__type(value, struct pg_peer_val);
} pg_peers SEC(".maps");

/* Verdict per (port class, peer group), where the group changes the class's base verdict.
 * Written by userspace. Not preallocated: the limit is sized for big policies, the memory
 * for the policy loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_NGEN * PG_MAX_CLASS_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pg_class_peer_key);
	__type(value, struct pg_verdict);
} pg_class_peers SEC(".maps");

/* Per rule slot, key = gen * PG_MAX_RULES + rule_id. Written by the datapath. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_NGEN * PG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pg_counter);
} pg_rule_stats SEC(".maps");

/* Per verdict reason, key = enum pg_reason. Written by the datapath. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_R_MAX);
	__type(key, __u32);
	__type(value, struct pg_counter);
} pg_reason_stats SEC(".maps");

/* Event accounting, key = enum pg_event_stat. Written by the datapath. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_EVS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pg_event_stats SEC(".maps");

/* Flows this host opened, written at egress (and seeded by userspace from sock_diag),
 * read and refreshed at ingress so that replies pass. LRU: the least recently used go first.
 * max_entries is set by the loader (--max-flows). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PG_MAX_FLOWS_DEFAULT);
	__type(key, struct pg_flow_key);
	__type(value, struct pg_flow_val);
} pg_flows SEC(".maps");

/* The local ports of those flows, key = pg_flow_port_index() (include/portguard.h): marked
 * by each writer of pg_flows before it writes, read at ingress before the flow lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_FLOW_PORT_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} pg_flow_ports SEC(".maps");

/* Flows written, key = enum pg_flow_stat. Written by the datapath (seeded: userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_FLS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pg_flow_stats SEC(".maps");

/* First-fragment verdicts, so that later fragments of the same datagram follow them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PG_MAX_FRAGS);
	__type(key, struct pg_frag_key);
	__type(value, struct pg_frag_val);
} pg_frags SEC(".maps");

/* The recent (source, port, reason, hook) keys let through, per CPU, direct-mapped by a hash
 * of the key: repeats within the window are suppressed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_RL_SLOTS);
	__type(key, __u32);
	__type(value, struct pg_rl_slot);
} pg_ratelimit SEC(".maps");

/* The socket hooks' recent decisions, per CPU, direct-mapped by a hash of the question:
 * what the peer lookups answered for a (peer, port, direction, protocol) under one policy
 * version (bpf/sock_hooks.bpf.c). Scratch state of the datapath: userspace never reads it,
 * and it is not one of the maps userspace opens by name. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_SOCK_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct pg_sock_cache_slot);
} pg_sock_cache SEC(".maps");

/* The global events-per-second budget, per CPU so that CPUs never contend. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_budget);
} pg_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PG_RINGBUF_BYTES);
} pg_events SEC(".maps");

/* Rule sources for status and monitor, key = gen * PG_MAX_RULES + rule_id. Userspace only
 * (written through a shared mapping, as pg_ports). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PG_NGEN * PG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pg_rule_meta);
} pg_rule_meta SEC(".maps");

/* What is loaded, for status. Key 0. Userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_info);
} pg_info SEC(".maps");

/*
 * The per-CPU direct-mapped tables (pg_ratelimit, pg_sock_cache) are indexed by a hash of a
 * 20-byte key and hold the key to compare: a multiplicative hash of its five words (take the
 * low bits: slot = pg_hash5(key) & (slots - 1)), and their equality.
 */
static __always_inline __u32 pg_hash5(const void *key)
{
	const __u32 *w = (const __u32 *)key;
	__u32 h = 0;

	h = (h ^ w[0]) * 0x9e3779b1u;
	h = (h ^ w[1]) * 0x9e3779b1u;
	h = (h ^ w[2]) * 0x9e3779b1u;
	h = (h ^ w[3]) * 0x9e3779b1u;
	h = (h ^ w[4]) * 0x9e3779b1u;
	return h >> 16;
}

static __always_inline bool pg_same5(const void *a, const void *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

#endif /* PG_MAPS_BPF_H */
