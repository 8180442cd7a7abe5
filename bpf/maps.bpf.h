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

#endif /* PG_MAPS_BPF_H */
