/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pinned state for the status and metrics tests that do not need the datapath: the maps
 * that snapshot.c reads, created with the types and sizes of bpf/maps.bpf.h, pinned in a
 * private bpffs in a private mount namespace (gone when the test's child exits), and filled
 * with known values, per-CPU counters spread over every CPU.
 */
#ifndef PG_OPS_PINS_H
#define PG_OPS_PINS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "portguard.h"

struct ops_pins {
	char dir[64];
	int ncpus;
	__u64 rule3_packets, rule3_bytes, rule4_packets, notallowed_packets, ring_full, budget;
};

static int ops_pin_map(const char *dir, const char *name, enum bpf_map_type type, __u32 vsize,
		       __u32 max)
{
	char path[256];
	int fd;

	fd = bpf_map_create(type, name, 4, vsize, max, NULL);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A counter value on every CPU: CPU i holds (i + 1) * base packets, so the sum is exact only
 * if every CPU is summed. Returns the sums through *packets and *bytes. */
static int ops_percpu_counter(int fd, __u32 key, int ncpus, __u64 base, __u64 last_ns,
			      __u64 *packets, __u64 *bytes)
{
	struct pg_counter *v = calloc(ncpus, sizeof(*v));
	int err;

	*packets = *bytes = 0;
	for (int i = 0; i < ncpus; i++) {
		v[i].packets = (i + 1) * base;
		v[i].bytes = (i + 1) * base * 60;
		v[i].last_ns = i == ncpus - 1 ? last_ns : 0;
		*packets += v[i].packets;
		*bytes += v[i].bytes;
	}
	err = bpf_map_update_elem(fd, &key, v, BPF_ANY) ? -errno : 0;
	free(v);
	return err;
}

/* Skips the test if BPF or mounts are not available (not root). */
static void ops_pins_make(struct ops_pins *p)
{
	int info, active, config, meta, rules, reasons, evs;
	struct pg_info pi = {};
	struct pg_config cfg = { .mode = PG_MODE_ENFORCE, .default_in = PG_DEFAULT_DENY };
	struct pg_active act = { .gen = 1 };
	struct pg_rule_meta m;
	struct timespec now;
	__u64 *ev, dummy;
	__u32 k;

	memset(p, 0, sizeof(*p));
	if (geteuid() != 0)
		SKIP("needs root for BPF maps and a private bpffs");
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		SKIP("cannot make a private mount namespace: %s", strerror(errno));
	snprintf(p->dir, sizeof(p->dir), "/tmp/pg-ops-pins.XXXXXX");
	ASSERT_TRUE(mkdtemp(p->dir) != NULL);
	if (mount("bpf", p->dir, "bpf", 0, NULL))
		SKIP("cannot mount bpffs: %s", strerror(errno));
	p->ncpus = libbpf_num_possible_cpus();
	ASSERT_LT(0, p->ncpus);

	info = ops_pin_map(p->dir, "pg_info", BPF_MAP_TYPE_ARRAY, sizeof(struct pg_info), 1);
	if (info == -EPERM)
		SKIP("BPF map creation not permitted");
	ASSERT_LE(0, info);
	active = ops_pin_map(p->dir, "pg_active", BPF_MAP_TYPE_ARRAY, sizeof(act), 1);
	config = ops_pin_map(p->dir, "pg_config", BPF_MAP_TYPE_ARRAY, sizeof(cfg), PG_NGEN);
	meta = ops_pin_map(p->dir, "pg_rule_meta", BPF_MAP_TYPE_ARRAY, sizeof(m),
			   PG_NGEN * PG_MAX_RULES);
	rules = ops_pin_map(p->dir, "pg_rule_stats", BPF_MAP_TYPE_PERCPU_ARRAY,
			    sizeof(struct pg_counter), PG_NGEN * PG_MAX_RULES);
	reasons = ops_pin_map(p->dir, "pg_reason_stats", BPF_MAP_TYPE_PERCPU_ARRAY,
			      sizeof(struct pg_counter), PG_R_MAX);
	evs = ops_pin_map(p->dir, "pg_event_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 8, PG_EVS_MAX);
	ASSERT_LE(0, active);
	ASSERT_LE(0, config);
	ASSERT_LE(0, meta);
	ASSERT_LE(0, rules);
	ASSERT_LE(0, reasons);
	ASSERT_LE(0, evs);
	/* Three flows in a table of 1024; five written: two evicted. */
	{
		int flows = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pg_flows",
					   sizeof(struct pg_flow_key), sizeof(struct pg_flow_val),
					   1024, NULL);
		int fls = ops_pin_map(p->dir, "pg_flow_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 8,
				      PG_FLS_MAX);
		char path[300];
		__u64 *w = calloc(p->ncpus, sizeof(*w));

		ASSERT_LE(0, flows);
		ASSERT_LE(0, fls);
		snprintf(path, sizeof(path), "%s/pg_flows", p->dir);
		ASSERT_EQ(0, bpf_obj_pin(flows, path));
		for (__u16 i = 0; i < 3; i++) {
			struct pg_flow_key fk = { .lport = 40000 + i, .rport = 443, .proto = 6 };
			struct pg_flow_val fv = { .last_ns = 1 };

			ASSERT_EQ(0, bpf_map_update_elem(flows, &fk, &fv, BPF_ANY));
		}
		w[0] = 5;
		k = PG_FLS_RECORDED;
		ASSERT_EQ(0, bpf_map_update_elem(fls, &k, w, BPF_ANY));
		free(w);
		close(flows);
		close(fls);
	}

	/* Generation 1 is in force; generation 0 holds a stale policy that must not show. */
	snprintf(pi.policy, sizeof(pi.policy), "/etc/portguard/t.policy");
	snprintf(pi.sha256, sizeof(pi.sha256), "%064d", 7);
	snprintf(pi.cgroup, sizeof(pi.cgroup), "/sys/fs/cgroup/test");
	pi.loaded_at = 1800000000;
	pi.load_ns = 1500000;
	pi.nrules = 5;
	pi.nifaces = 2;
	pi.ifindex[0] = 1; /* lo exists in every namespace */
	snprintf(pi.ifname[0], sizeof(pi.ifname[0]), "lo");
	pi.ifmode[0] = PG_IFMODE_XDP;
	snprintf(pi.ifname[1], sizeof(pi.ifname[1]), "pgwait0"); /* awaited */
	pi.max_flows = 1024;
	k = 0;
	ASSERT_EQ(0, bpf_map_update_elem(info, &k, &pi, BPF_ANY));
	ASSERT_EQ(0, bpf_map_update_elem(active, &k, &act, BPF_ANY));
	k = 1;
	ASSERT_EQ(0, bpf_map_update_elem(config, &k, &cfg, BPF_ANY));
	{
		static const char *const rows[5][2] = {
			{ "default in", "default in deny" },
			{ "default out", "default out allow" },
			{ "", "" },
			{ "t.policy:3", "allow in tcp 22" },
			{ "t.policy:4", "local tcp 5432" },
		};
		for (__u32 i = 0; i < 5; i++) {
			memset(&m, 0, sizeof(m));
			snprintf(m.src, sizeof(m.src), "%s", rows[i][0]);
			snprintf(m.text, sizeof(m.text), "%s", rows[i][1]);
			k = PG_MAX_RULES + i;
			ASSERT_EQ(0, bpf_map_update_elem(meta, &k, &m, BPF_ANY));
			memset(&m, 0, sizeof(m));
			snprintf(m.src, sizeof(m.src), "stale.policy:%u", i);
			k = i;
			ASSERT_EQ(0, bpf_map_update_elem(meta, &k, &m, BPF_ANY));
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ASSERT_EQ(0, ops_percpu_counter(rules, PG_MAX_RULES + 3, p->ncpus, 7,
					(__u64)now.tv_sec * 1000000000ull, &p->rule3_packets,
					&p->rule3_bytes));
	ASSERT_EQ(0, ops_percpu_counter(rules, PG_MAX_RULES + 4, p->ncpus, 2, 0,
					&p->rule4_packets, &dummy));
	ASSERT_EQ(0, ops_percpu_counter(rules, 3, p->ncpus, 1000, 0, &dummy, &dummy));
	ASSERT_EQ(0, ops_percpu_counter(reasons, PG_R_NOT_ALLOWED, p->ncpus, 5, 0,
					&p->notallowed_packets, &dummy));
	ev = calloc(p->ncpus, sizeof(*ev));
	for (int i = 0; i < p->ncpus; i++)
		ev[i] = i + 1;
	k = PG_EVS_RING_FULL;
	ASSERT_EQ(0, bpf_map_update_elem(evs, &k, ev, BPF_ANY));
	p->ring_full = (__u64)p->ncpus * (p->ncpus + 1) / 2;
	for (int i = 0; i < p->ncpus; i++)
		ev[i] = 3;
	k = PG_EVS_BUDGET;
	ASSERT_EQ(0, bpf_map_update_elem(evs, &k, ev, BPF_ANY));
	p->budget = 3ull * p->ncpus;
	free(ev);
	close(info);
	close(active);
	close(config);
	close(meta);
	close(rules);
	close(reasons);
	close(evs);
}

static void ops_pins_remove(struct ops_pins *p)
{
	if (p->dir[0]) {
		umount2(p->dir, MNT_DETACH);
		rmdir(p->dir);
	}
}

#endif /* PG_OPS_PINS_H */
