/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmarks need from portguard, in one place: the synthetic policies, and a
 * portguard XDP program loaded with a policy applied through portguard's own parser,
 * compiler and map writer. The drivers (xdpcost, xdpload) use nothing else of portguard.
 */
#ifndef BENCH_PGGLUE_H
#define BENCH_PGGLUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The synthetic policy of nrules rules (nrules >= 1): default in deny; rule 0 allows SSH
 * (tcp/22) from anywhere; rule i (1 <= i < nrules) allows tcp port pgg_rule_port(i) from
 * one IPv4 /32 and one IPv6 /48 peer. Each rule is one port class with two trie entries.
 * Ports no rule covers, for blocked traffic: tcp >= PGG_BLOCKED_TCP, udp >= PGG_BLOCKED_UDP.
 */
#define PGG_MAX_RULES 16000
#define PGG_BLOCKED_TCP 40000
#define PGG_BLOCKED_UDP 50000
static inline uint16_t pgg_rule_port(unsigned int i)
{
	return i ? (uint16_t)(10000 + i) : 22;
}
/* A source address inside rule i's peers (i >= 1): 198.19.i/256.i%256, 2001:db8:i::1. */
void pgg_rule_peer4(unsigned int i, uint8_t addr[4]);
void pgg_rule_peer6(unsigned int i, uint8_t addr[16]);
/* The policy text; free() it. NULL and errno on failure. */
/* With PGG_BLOCKLIST=N in the environment, the policy also denies every TCP and UDP port
 * from a set of N prefixes (IPv4 /8-/32, IPv6 /29-/128, none covering the frames' sources):
 * the blocklist workload. */
char *pgg_policy_text(unsigned int nrules, size_t *len);
/* The same with a blocklist of nblock prefixes (0: none), whatever the environment says. */
char *pgg_policy_text_bl(unsigned int nrules, unsigned long nblock, size_t *len);

struct pgg;

/* Seconds each step of a (re)load took. */
struct pgg_times {
	double parse, compile, apply;
};

/* 1 when portguard's parser and compiler are linked in, 0 on a tree that lacks them. */
int pgg_available(void);

/* Parse and compile text (named name in messages), load portguard's XDP program, write the
 * policy into its maps and activate it. Returns 0 or -errno; errors are printed. t, when
 * not NULL, receives the time of each step (loading the BPF program itself is not counted). */
int pgg_open(const char *name, const char *text, size_t len, struct pgg_times *t,
	     struct pgg **out);
/* Replace the policy: parse, compile and write the idle generation (pg_apply clears what it
 * held), then switch to it. */
int pgg_reload(struct pgg *g, const char *text, size_t len, struct pgg_times *t);
/* Turn violation events on or off in the generation in force (counters stay exact). */
int pgg_set_events(struct pgg *g, int on);
int pgg_prog_fd(const struct pgg *g);
/* The multi-buffer (xdp.frags) program of the same object, -1 on a kernel without it. */
int pgg_frags_fd(const struct pgg *g);
/* The fd of one of portguard's maps, by name (pg_reason_stats, pg_event_stats, ...). */
int pgg_map_fd(const struct pgg *g, const char *name);
void pgg_close(struct pgg *g);

/* Sum a per-CPU array of __u64 (or of structs whose first member is a __u64 packet count)
 * at key; value_size is the size of one CPU's value. */
int pgg_percpu_sum(int map_fd, uint32_t key, size_t value_size, uint64_t *sum);

#endif
