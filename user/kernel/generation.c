// SPDX-License-Identifier: GPL-2.0
/* Writing a compiled policy into a generation of the maps, and activating it. See generation.h. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/generation.h"
#include "policy/compile.h"

/* Port slots of one generation: both directions, both protocols, every port. */
#define PG_GEN_PORT_SLOTS (2 * 2 * PG_PORT_SPACE)

int pg_active_gen(const struct pg_maps *m, __u32 *gen)
{
	struct pg_active a;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->fd[PG_MAP_ACTIVE], &zero, &a) < 0) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to read pg_active: %s\n", strerror(-err));
		return err;
	}
	*gen = a.gen % PG_NGEN;
	return 0;
}

int pg_activate(const struct pg_maps *m, __u32 gen)
{
	struct pg_active a = { .gen = gen };
	__u32 zero = 0;

	if (gen >= PG_NGEN)
		return -EINVAL;
	if (bpf_map_update_elem(m->fd[PG_MAP_ACTIVE], &zero, &a, BPF_ANY) < 0) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to activate generation %u: %s\n", gen, strerror(-err));
		return err;
	}
	return 0;
}

/* Batch-write n consecutive array slots starting at key first. */
static int pg_write_slots(int fd, __u32 first, __u32 n, const void *vals)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 *keys, count = n;
	int err = 0;

	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts) < 0)
		err = -errno;
	else if (count != n)
		err = -EIO;
	free(keys);
	return err;
}

/*
 * Delete every entry of generation gen from pg_peers (the key's gen) or pg_class_peers (the
 * class id's generation bit, see pg_class_id_gen): compile restarts ids at 1, so an entry of
 * the policy gen held before would be found again by the new one. The keys are collected
 * before any is deleted: get_next_key on a deleted trie key restarts from the first key.
 * This runs on the idle generation only, entry by entry: the kernel frees each node after an
 * RCU grace period, so the datapath never waits on it (no whole-map free, no trie_free).
 */
static int pg_delete_stale(int fd, size_t key_size, bool (*stale_key)(const void *, __u32),
			   __u32 gen)
{
	char key[64], next[64], *stale = NULL, *tmp;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (stale_key(next, gen)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				tmp = realloc(stale, cap * key_size);
				if (!tmp) {
					err = -ENOMEM;
					goto out;
				}
				stale = tmp;
			}
			memcpy(stale + n++ * key_size, next, key_size);
		}
		memcpy(key, next, key_size);
		prev = key;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, stale + i * key_size) < 0 && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
out:
	free(stale);
	return err;
}

static bool pg_peer_key_stale(const void *k, __u32 gen)
{
	const struct pg_peer_key *key = k;

	return key->gen == gen;
}

static bool pg_bucket32_key_stale(const void *k, __u32 gen)
{
	const struct pg_bucket32_key *key = k;

	return key->gen == gen;
}

static bool pg_class_peer_key_stale(const void *k, __u32 gen)
{
	const struct pg_class_peer_key *key = k;

	return pg_class_id_gen(key->class_id) == gen;
}

/* Write n entries of a hash map: in batches where the kernel has them (5.6), else one by
 * one. keys and vals are n packed keys and values. */
static int pg_write_hash(int fd, const void *keys, size_t key_size, const void *vals,
			 size_t val_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 count = n;

	if (!n)
		return 0;
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0 && count == n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)vals + i * val_size, BPF_ANY) < 0)
			return -errno;
	return 0;
}

/* Write n compiled entries of a hash map, each a key followed by its value (entry_size
 * apart), skipping those whose key keep() refuses, in one batch where the kernel can. */
static int pg_write_entries(int fd, const void *entries, size_t entry_size, size_t n,
			    size_t key_size, size_t val_size, bool (*keep)(const void *key))
{
	char *keys = malloc((n + 1) * key_size), *vals = malloc((n + 1) * val_size);
	const char *e = entries;
	size_t k = 0;
	int err;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++, e += entry_size) {
		if (keep && !keep(e))
			continue;
		memcpy(keys + k * key_size, e, key_size);
		memcpy(vals + k++ * val_size, e + key_size, val_size);
	}
	err = pg_write_hash(fd, keys, key_size, vals, val_size, k);
out:
	free(keys);
	free(vals);
	return err;
}

/* pg_write_entries() takes the value to follow the key without padding. */
_Static_assert(offsetof(struct pg_peer_entry, val) == sizeof(struct pg_peer_key), "peer entry");
_Static_assert(offsetof(struct pg_bucket32_entry, val) == sizeof(struct pg_bucket32_key),
	       "bucket32 entry");
_Static_assert(offsetof(struct pg_class_peer_entry, val) == sizeof(struct pg_class_peer_key),
	       "class peer entry");

static bool pg_peer_probed(const void *key)
{
	return pg_compiled_probed(key);
}

/* Refuse a compiled policy that would write outside its generation: a bug in compile must
 * not reach the policy in force. */
static int pg_check(const struct pg_compiled *c)
{
	__u32 base = pg_port_index(c->gen, 0, 0, 0);

	if (c->gen >= PG_NGEN || c->nmeta > PG_MAX_RULES)
		return -EINVAL;
	if (c->npeers > PG_MAX_PREFIXES || c->ncpeers > PG_MAX_CLASS_PEERS)
		return -E2BIG;
	for (size_t i = 0; i < c->nports; i++) {
		if (c->ports[i].index - base >= PG_GEN_PORT_SLOTS)
			return -EINVAL;
		if (c->ports[i].val.class_id && pg_class_id_gen(c->ports[i].val.class_id) != c->gen)
			return -EINVAL;
		if (c->ports[i].val.rule_id >= PG_MAX_RULES)
			return -EINVAL;
	}
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].key.gen != c->gen ||
		    pg_class_id_gen(c->peers[i].val.group) != c->gen)
			return -EINVAL;
	for (size_t i = 0; i < c->nb32; i++)
		if (c->b32[i].key.gen != c->gen)
			return -EINVAL;
	if (!c->buckets)
		return -EINVAL;
	for (size_t i = 0; i < c->ncpeers; i++) {
		if (pg_class_id_gen(c->cpeers[i].key.class_id) != c->gen ||
		    pg_class_id_gen(c->cpeers[i].key.group) != c->gen)
			return -EINVAL;
		if (c->cpeers[i].val.rule_id >= PG_MAX_RULES)
			return -EINVAL;
	}
	return 0;
}

int pg_apply(const struct pg_maps *m, const struct pg_compiled *c)
{
	struct pg_rule_meta *meta = NULL;
	struct pg_port_val *ports = NULL;
	void *zero_stats = NULL;
	__u32 gen = c->gen, cur;
	const char *step;
	size_t stat_size;
	int ncpus, err;

	step = "read the active generation";
	err = pg_active_gen(m, &cur);
	if (err)
		goto out;
	if (gen == cur) {
		err = -EBUSY;
		fprintf(stderr, "portguard: failed to apply policy to generation %u: it is the active one\n",
			gen);
		return err;
	}
	step = "check the compiled policy";
	err = pg_check(c);
	if (err)
		goto out;

	step = "delete stale peer entries";
	err = pg_delete_stale(m->fd[PG_MAP_PEERS], sizeof(struct pg_peer_key), pg_peer_key_stale,
			      gen);
	if (err)
		goto out;
	step = "delete stale IPv6 /32 buckets";
	err = pg_delete_stale(m->fd[PG_MAP_BUCKETS32], sizeof(struct pg_bucket32_key),
			      pg_bucket32_key_stale, gen);
	if (err)
		goto out;
	step = "delete stale class peer entries";
	err = pg_delete_stale(m->fd[PG_MAP_CLASS_PEERS], sizeof(struct pg_class_peer_key),
			      pg_class_peer_key_stale, gen);
	if (err)
		goto out;

	/* Every slot of the generation, so that no port of an older policy survives. */
	step = "write port slots";
	ports = calloc(PG_GEN_PORT_SLOTS, sizeof(*ports));
	if (!ports) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nports; i++)
		ports[c->ports[i].index - pg_port_index(gen, 0, 0, 0)] = c->ports[i].val;
	err = pg_write_slots(m->fd[PG_MAP_PORTS], pg_port_index(gen, 0, 0, 0),
			     PG_GEN_PORT_SLOTS, ports);
	if (err)
		goto out;

	/* Before the ports that point at them are live: nothing reads them until activation. */
	step = "write peer buckets";
	err = pg_write_slots(m->fd[PG_MAP_BUCKETS], pg_bucket_index(gen, 0, 0), 2 * 65536,
			     c->buckets);
	if (err)
		goto out;
	step = "insert IPv6 /32 buckets";
	err = pg_write_entries(m->fd[PG_MAP_BUCKETS32], c->b32, sizeof(*c->b32), c->nb32,
			       sizeof(c->b32->key), sizeof(c->b32->val), NULL);
	if (err)
		goto out;
	/* Only the prefixes longer than their bucket are probed; the others live in it. */
	step = "insert peer entries";
	err = pg_write_entries(m->fd[PG_MAP_PEERS], c->peers, sizeof(*c->peers), c->npeers,
			       sizeof(c->peers->key), sizeof(c->peers->val), pg_peer_probed);
	if (err)
		goto out;
	step = "insert class peer entries";
	err = pg_write_entries(m->fd[PG_MAP_CLASS_PEERS], c->cpeers, sizeof(*c->cpeers),
			       c->ncpeers, sizeof(c->cpeers->key), sizeof(c->cpeers->val), NULL);
	if (err)
		goto out;

	step = "zero rule counters";
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		err = ncpus;
		goto out;
	}
	stat_size = (size_t)ncpus * sizeof(struct pg_counter);
	zero_stats = calloc(PG_MAX_RULES, stat_size);
	if (!zero_stats) {
		err = -ENOMEM;
		goto out;
	}
	err = pg_write_slots(m->fd[PG_MAP_RULE_STATS], gen * PG_MAX_RULES, PG_MAX_RULES,
			     zero_stats);
	if (err)
		goto out;

	/* The generation's version goes to 0 while its rule sources change: a reader of the
	 * sources (output/rulemeta.c) checks the version before and after, as a seqlock. */
	step = "invalidate the version";
	{
		struct pg_config idle;

		if (!bpf_map_lookup_elem(m->fd[PG_MAP_CONFIG], &gen, &idle) && idle.version) {
			idle.version = 0;
			if (bpf_map_update_elem(m->fd[PG_MAP_CONFIG], &gen, &idle, BPF_ANY) < 0) {
				err = -errno;
				goto out;
			}
		}
	}
	step = "write rule sources";
	meta = calloc(PG_MAX_RULES, sizeof(*meta));
	if (!meta) {
		err = -ENOMEM;
		goto out;
	}
	if (c->nmeta)
		memcpy(meta, c->meta, c->nmeta * sizeof(*meta));
	err = pg_write_slots(m->fd[PG_MAP_RULE_META], gen * PG_MAX_RULES, PG_MAX_RULES, meta);
	if (err)
		goto out;

	step = "write config";
	if (bpf_map_update_elem(m->fd[PG_MAP_CONFIG], &gen, &c->config, BPF_ANY) < 0) {
		err = -errno;
		goto out;
	}
out:
	if (err)
		fprintf(stderr, "portguard: failed to apply policy to generation %u: %s: %s\n", gen, step,
			strerror(-err));
	free(ports);
	free(zero_stats);
	free(meta);
	return err;
}
