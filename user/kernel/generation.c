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
#include <sys/mman.h>
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
	struct pg_config cfg;
	__u32 zero = 0;

	if (gen >= PG_NGEN)
		return -EINVAL;
	/* The version goes with the generation, in the same write. */
	if (!bpf_map_lookup_elem(m->fd[PG_MAP_CONFIG], &gen, &cfg))
		a.version = cfg.version;
	if (bpf_map_update_elem(m->fd[PG_MAP_ACTIVE], &zero, &a, BPF_ANY) < 0) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to activate generation %u: %s\n", gen, strerror(-err));
		return err;
	}
	return 0;
}

/* The kernel's "operation not supported" for a map type without batch operations. */
#define PG_ENOTSUPP 524

/*
 * One slot at a time, for kernels whose map type has no batch update: 5.10's per-CPU arrays
 * (the rule counters) answer ENOTSUPP. vals is laid out as for the batch: per-CPU values take
 * ncpus slots of value_size rounded up to 8 each.
 */
static int pg_write_slots_each(int fd, __u32 first, __u32 n, const void *vals)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	size_t stride;
	int ncpus;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	stride = info.value_size;
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 0)
			return ncpus;
		stride = (size_t)ncpus * ((info.value_size + 7) & ~7U);
	}
	for (__u32 i = 0; i < n; i++) {
		__u32 key = first + i;

		if (bpf_map_update_elem(fd, &key, (const char *)vals + i * stride, BPF_ANY) < 0)
			return -errno;
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
	if (err == -PG_ENOTSUPP)
		err = pg_write_slots_each(fd, first, n, vals);
	return err;
}

/* A shared mapping of array map fd when it is BPF_F_MMAPABLE: slot i at i * *stride. NULL
 * otherwise (a map pinned by an older portguard, or a kernel refusing it): the caller falls
 * back to syscalls. */
static char *pg_slots_mmap(int fd, int prot, size_t *len, size_t *stride)
{
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0 || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.type != BPF_MAP_TYPE_ARRAY || page <= 0)
		return NULL;
	*stride = (info.value_size + 7) & ~7U;
	*len = ((size_t)info.max_entries * *stride + page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, *len, prot, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Make the n array slots from key first hold vals, writing only the slots that differ from
 * what they hold. Through a shared mapping where the map has one: a reload of a policy much
 * like the one before writes a few slots at memory speed, where the batch syscall copies
 * every slot in and out. The datapath reads these slots only once the generation is
 * activated, by a syscall after this.
 */
static int pg_sync_slots(int fd, __u32 first, __u32 n, const void *vals, size_t value_size)
{
	size_t len, stride;
	char *p = pg_slots_mmap(fd, PROT_READ | PROT_WRITE, &len, &stride);

	if (!p)
		return pg_write_slots(fd, first, n, vals);
	if (((size_t)first + n) * stride > len) {
		munmap(p, len);
		return -EINVAL;
	}
	for (__u32 i = 0; i < n; i++) {
		char *slot = p + (size_t)(first + i) * stride;
		const char *v = (const char *)vals + i * value_size;

		if (memcmp(slot, v, value_size))
			memcpy(slot, v, value_size);
	}
	/* The slots before the activation that makes them read, on every architecture. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	munmap(p, len);
	return 0;
}

/*
 * Rule slots of generation gen whose counters may be non-zero: the datapath counts only
 * rules the generation's policy has, and every one of those has a source in pg_rule_meta
 * (the defaults too), so the last slot with a source bounds them. All of them when the
 * sources cannot be mapped. pg_apply zeroes these counters before it writes new sources:
 * should it fail half way, every counter of the generation is zero, whatever sources it
 * left.
 */
static __u32 pg_rules_counted(int meta_fd, __u32 gen)
{
	static const struct pg_rule_meta none;
	size_t len, stride;
	char *p = pg_slots_mmap(meta_fd, PROT_READ, &len, &stride);
	__u32 n = PG_MAX_RULES;

	if (!p)
		return n;
	if ((size_t)(gen + 1) * PG_MAX_RULES * stride <= len)
		while (n && !memcmp(p + ((size_t)gen * PG_MAX_RULES + n - 1) * stride, &none,
				    sizeof(none)))
			n--;
	munmap(p, len);
	return n;
}

/* The kernel's answer for a batch operation it lacks on this map type (or kernel). */
static bool pg_batch_unsupported(int err)
{
	return err == -EINVAL || err == -PG_ENOTSUPP || err == -EOPNOTSUPP;
}

/* Room for at least want entries in *keys and *vals (*cap of them now). */
static int pg_grow(char **keys, char **vals, size_t *cap, size_t want, size_t key_size,
		   size_t val_size)
{
	size_t n = *cap ? *cap : 16384;
	char *tmp;

	while (n < want)
		n *= 2;
	if (n == *cap)
		return 0;
	tmp = realloc(*keys, n * key_size);
	if (!tmp)
		return -ENOMEM;
	*keys = tmp;
	tmp = realloc(*vals, n * val_size);
	if (!tmp)
		return -ENOMEM;
	*vals = tmp;
	*cap = n;
	return 0;
}

/*
 * Every entry of hash map fd, keys and values packed in *keys and *vals (*n of them): in
 * batches of BPF_MAP_LOOKUP_BATCH (5.6), a few syscalls for the whole map; one get_next_key
 * and one lookup per key where the kernel has no batch. Nothing else writes these maps while
 * the loader holds its lock (the datapath only reads them).
 */
static int pg_hash_read(int fd, size_t key_size, size_t val_size, char **keys, char **vals,
			size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	size_t cap = 0, got = 0, chunk = 16384;
	char token[64], *k = NULL, *v = NULL;
	void *in = NULL;
	int err;

	for (;;) {
		__u32 count = chunk;

		err = pg_grow(&k, &v, &cap, got + chunk, key_size, val_size);
		if (err)
			goto out;
		err = bpf_map_lookup_batch(fd, in, token, k + got * key_size, v + got * val_size,
					   &count, &opts) < 0 ? -errno : 0;
		if (!err || err == -ENOENT)
			got += count;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err == -ENOSPC && chunk < (1u << 24)) {
			chunk *= 2; /* one hash bucket holds more than there was room for */
			continue;
		}
		if (err)
			break;
		in = token;
	}
	if (pg_batch_unsupported(err) && !in) {
		/* No batch lookup: walk the keys (nothing was read: the first batch failed). */
		void *prev = NULL;

		for (err = 0; bpf_map_get_next_key(fd, prev, k + got * key_size) == 0;) {
			if (bpf_map_lookup_elem(fd, k + got * key_size, v + got * val_size) < 0) {
				err = -errno;
				goto out;
			}
			got++;
			err = pg_grow(&k, &v, &cap, got + 1, key_size, val_size);
			if (err)
				goto out;
			prev = k + (got - 1) * key_size;
		}
		if (errno != ENOENT)
			err = -errno;
	}
out:
	if (err) {
		free(k);
		free(v);
		k = v = NULL;
		got = 0;
	}
	*keys = k;
	*vals = v;
	*n = got;
	return err;
}

/* Delete n packed keys from hash map fd: in one BPF_MAP_DELETE_BATCH where the kernel has
 * it, one by one otherwise. Each key's node is freed after an RCU grace period: a packet
 * being decided never waits for it (no whole-map free, no trie_free). */
static int pg_hash_delete(int fd, const char *keys, size_t key_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 count = n;

	if (!n || (bpf_map_delete_batch(fd, keys, &count, &opts) == 0 && count == n))
		return 0;
	/* Unsupported, or stopped part way: again one by one; those gone already are ENOENT. */
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) < 0 && errno != ENOENT)
			return -errno;
	return 0;
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

/* FNV-1a over a key: the index of the new entries by key (pg_sync_hash). */
static __u64 pg_key_hash(const void *key, size_t key_size)
{
	const unsigned char *b = key;
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < key_size; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The slot of key in an open-addressing index of nslots (a power of 2) over recs: where it
 * is, or the empty slot where it would go. Slots hold a record's position + 1; 0 is empty. */
static size_t pg_index_slot(const __u32 *slots, size_t nslots, const char *recs, size_t rec,
			    const void *key, size_t key_size)
{
	size_t i = pg_key_hash(key, key_size) & (nslots - 1);

	while (slots[i] && memcmp(recs + (slots[i] - 1) * rec, key, key_size))
		i = (i + 1) & (nslots - 1);
	return i;
}

/*
 * Make the generation gen of hash map fd hold exactly the n compiled entries (each a key
 * followed by its value, entry_size apart) that keep() accepts (all: NULL), writing only what
 * differs from what the generation holds now. gen_of() says a key's generation.
 *
 * The generation holds the policy of two loads ago, often nearly the same one: its entries
 * are read back in batches, those the new policy does not have are deleted, those it has
 * with the same value are left alone, and only the rest is written. Keys are generation
 * tagged, so that the entries in force are never touched.
 */
static int pg_sync_hash(int fd, const void *entries, size_t entry_size, size_t n,
			size_t key_size, size_t val_size, bool (*keep)(const void *key),
			__u32 (*gen_of)(const void *key), __u32 gen)
{
	size_t rec = key_size + val_size, k = 0, nold = 0, ndel = 0, nw = 0;
	char *recs = NULL, *okeys = NULL, *ovals = NULL, *keys = NULL, *vals = NULL;
	size_t nslots = 1;
	__u32 *slots = NULL;
	bool *same = NULL;
	const char *e = entries;
	int err;

	recs = malloc((n + 1) * rec);
	same = calloc(n + 1, sizeof(*same));
	if (!recs || !same) {
		err = -ENOMEM;
		goto out;
	}
	while (nslots < 2 * n + 2)
		nslots *= 2;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots) {
		err = -ENOMEM;
		goto out;
	}
	/* Compiled keys are unique: each goes into an empty slot. */
	for (size_t i = 0; i < n; i++, e += entry_size) {
		if (keep && !keep(e))
			continue;
		memcpy(recs + k * rec, e, rec);
		slots[pg_index_slot(slots, nslots, recs, rec, e, key_size)] = ++k;
	}

	err = pg_hash_read(fd, key_size, val_size, &okeys, &ovals, &nold);
	if (err)
		goto out;
	/* The deletions are packed over the keys read (ndel never passes i). */
	for (size_t i = 0; i < nold; i++) {
		const char *ok = okeys + i * key_size;
		__u32 at;

		if (gen_of(ok) != gen)
			continue;
		at = slots[pg_index_slot(slots, nslots, recs, rec, ok, key_size)];
		if (!at)
			memmove(okeys + ndel++ * key_size, ok, key_size);
		else if (!memcmp(recs + (at - 1) * rec + key_size, ovals + i * val_size, val_size))
			same[at - 1] = true;
	}
	err = pg_hash_delete(fd, okeys, key_size, ndel);
	if (err)
		goto out;

	keys = malloc((k + 1) * key_size);
	vals = malloc((k + 1) * val_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		if (same[i])
			continue;
		memcpy(keys + nw * key_size, recs + i * rec, key_size);
		memcpy(vals + nw++ * val_size, recs + i * rec + key_size, val_size);
	}
	err = pg_write_hash(fd, keys, key_size, vals, val_size, nw);
out:
	free(recs);
	free(slots);
	free(same);
	free(okeys);
	free(ovals);
	free(keys);
	free(vals);
	return err;
}

static __u32 pg_peer_key_gen(const void *k)
{
	const struct pg_peer_key *key = k;

	return key->gen;
}

static __u32 pg_bucket32_key_gen(const void *k)
{
	const struct pg_bucket32_key *key = k;

	return key->gen;
}

static __u32 pg_class_peer_key_gen(const void *k)
{
	const struct pg_class_peer_key *key = k;

	return pg_class_id_gen(key->class_id);
}

/* pg_sync_hash() takes the value to follow the key without padding. */
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
	for (size_t i = 0; i < c->npeers; i++) {
		const struct pg_peer_val *v = &c->peers[i].val;

		if (c->peers[i].key.gen != c->gen || pg_class_id_gen(v->group) != c->gen ||
		    v->ninline > PG_PEER_INLINE)
			return -EINVAL;
		for (size_t j = 0; j < v->ninline; j++)
			if (pg_class_id_gen(v->class_id[j]) != c->gen ||
			    v->verdict[j].rule_id >= PG_MAX_RULES)
				return -EINVAL;
	}
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
	__u32 gen = c->gen, cur, counted;
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

	/* Every slot of the generation, so that no port of an older policy survives. */
	step = "write port slots";
	ports = calloc(PG_GEN_PORT_SLOTS, sizeof(*ports));
	if (!ports) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nports; i++)
		ports[c->ports[i].index - pg_port_index(gen, 0, 0, 0)] = c->ports[i].val;
	err = pg_sync_slots(m->fd[PG_MAP_PORTS], pg_port_index(gen, 0, 0, 0), PG_GEN_PORT_SLOTS,
			    ports, sizeof(*ports));
	if (err)
		goto out;

	/* Before the ports that point at them are live: nothing reads them until activation. */
	step = "write peer buckets";
	err = pg_sync_slots(m->fd[PG_MAP_BUCKETS], pg_bucket_index(gen, 0, 0), 2 * 65536,
			    c->buckets, sizeof(*c->buckets));
	if (err)
		goto out;
	step = "write IPv6 /32 buckets";
	err = pg_sync_hash(m->fd[PG_MAP_BUCKETS32], c->b32, sizeof(*c->b32), c->nb32,
			   sizeof(c->b32->key), sizeof(c->b32->val), NULL, pg_bucket32_key_gen, gen);
	if (err)
		goto out;
	/* Only the prefixes longer than their bucket are probed; the others live in it. */
	step = "write peer entries";
	err = pg_sync_hash(m->fd[PG_MAP_PEERS], c->peers, sizeof(*c->peers), c->npeers,
			   sizeof(c->peers->key), sizeof(c->peers->val), pg_peer_probed,
			   pg_peer_key_gen, gen);
	if (err)
		goto out;
	step = "write class peer entries";
	err = pg_sync_hash(m->fd[PG_MAP_CLASS_PEERS], c->cpeers, sizeof(*c->cpeers), c->ncpeers,
			   sizeof(c->cpeers->key), sizeof(c->cpeers->val), NULL,
			   pg_class_peer_key_gen, gen);
	if (err)
		goto out;

	step = "zero rule counters";
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		err = ncpus;
		goto out;
	}
	stat_size = (size_t)ncpus * sizeof(struct pg_counter);
	/* Only those that may have counted: per-CPU slots cannot be mapped, and writing all
	 * of them copies 16,384 x the CPUs' counters through the syscall. */
	counted = pg_rules_counted(m->fd[PG_MAP_RULE_META], gen);
	zero_stats = calloc(counted + 1, stat_size);
	if (!zero_stats) {
		err = -ENOMEM;
		goto out;
	}
	err = counted ? pg_write_slots(m->fd[PG_MAP_RULE_STATS], gen * PG_MAX_RULES, counted,
				       zero_stats) : 0;
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
	err = pg_sync_slots(m->fd[PG_MAP_RULE_META], gen * PG_MAX_RULES, PG_MAX_RULES, meta,
			    sizeof(*meta));
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
