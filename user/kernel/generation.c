// SPDX-License-Identifier: GPL-2.0
/* Writing a compiled policy into a generation of the maps, and activating it. See generation.h. */
#include <errno.h>
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
 * Delete every peer entry of generation gen (its class ids carry gen, see pg_class_id_gen):
 * compile restarts class ids at 1, so an entry of the policy gen held before would be found
 * again by the new one. The keys are collected before any is deleted: get_next_key on a
 * deleted trie key restarts from the first key.
 */
static int pg_delete_stale_peers(int fd, __u32 gen)
{
	struct pg_peer_key key, next, *stale = NULL, *tmp;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (pg_class_id_gen(ntohl(next.class_id)) == gen) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				tmp = realloc(stale, cap * sizeof(*stale));
				if (!tmp) {
					err = -ENOMEM;
					goto out;
				}
				stale = tmp;
			}
			stale[n++] = next;
		}
		key = next;
		prev = &key;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, &stale[i]) < 0 && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
out:
	free(stale);
	return err;
}

struct pg_class_peers {
	__u32 class_id; /* host order */
	__u32 n;	/* trie entries of the class */
	__u32 idx;	/* the first of them in c->peers */
};

static int cmp_class_id(const void *a, const void *b)
{
	const struct pg_class_peers *x = a, *y = b;

	return x->class_id < y->class_id ? -1 : x->class_id > y->class_id;
}

static int cmp_class(const void *a, const void *b)
{
	const struct pg_class_peers *x = a, *y = b;

	if (x->class_id != y->class_id)
		return x->class_id < y->class_id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The port values of generation c->gen, every slot: class 0 where no rule covers the port.
 * A class whose only trie entry is the whole address space (prefix /0: `from any`) decides
 * every peer alike: its verdict is inlined in its port slots (PG_PORT_UNIFORM), so that the
 * datapath decides it with one array lookup instead of a trie walk. A local port's slots
 * already carry the local rule in the same bits (include/portguard.h): there the verdict is
 * inlined only when it names that rule.
 */
static int pg_port_values(const struct pg_compiled *c, struct pg_port_val *ports)
{
	__u32 base = pg_port_index(c->gen, 0, 0, 0);
	struct pg_class_peers *cls, key, *hit;
	size_t n = 0;

	cls = calloc(c->npeers ? c->npeers : 1, sizeof(*cls));
	if (!cls)
		return -ENOMEM;
	for (size_t i = 0; i < c->npeers; i++) {
		cls[i].class_id = ntohl(c->peers[i].key.class_id);
		cls[i].idx = i;
	}
	qsort(cls, c->npeers, sizeof(*cls), cmp_class);
	for (size_t i = 0; i < c->npeers; i++) {
		if (n && cls[n - 1].class_id == cls[i].class_id) {
			cls[n - 1].n++;
		} else {
			cls[n] = cls[i];
			cls[n++].n = 1;
		}
	}

	for (size_t i = 0; i < c->nports; i++) {
		struct pg_port_val v = c->ports[i].val;
		const struct pg_peer_entry *pe;

		key.class_id = v.class_id;
		hit = v.class_id ? bsearch(&key, cls, n, sizeof(*cls), cmp_class_id) : NULL;
		if (hit && hit->n == 1) {
			pe = &c->peers[hit->idx];
			/* On a local port bits 16-31 already name the local rule: inline only a
			 * verdict of that same rule (the usual `local` port), else use the trie. */
			if (pe->key.prefixlen == 32 &&
			    (!(v.flags & PG_PORT_LOCAL) ||
			     v.flags >> PG_PORT_LOCAL_RULE_SHIFT == pe->val.rule_id))
				v.flags |= PG_PORT_UNIFORM |
					   (__u32)(pe->val.action & 3) << PG_PORT_V_ACTION_SHIFT |
					   (__u32)(pe->val.flags & 3) << PG_PORT_V_FLAGS_SHIFT |
					   pe->val.rule_id << PG_PORT_V_RULE_SHIFT;
		}
		ports[c->ports[i].index - base] = v;
	}
	free(cls);
	return 0;
}

/* Refuse a compiled policy that would write outside its generation: a bug in compile must
 * not reach the policy in force. */
static int pg_check(const struct pg_compiled *c)
{
	__u32 base = pg_port_index(c->gen, 0, 0, 0);

	if (c->gen >= PG_NGEN || c->nmeta > PG_MAX_RULES)
		return -EINVAL;
	for (size_t i = 0; i < c->nports; i++) {
		if (c->ports[i].index - base >= PG_GEN_PORT_SLOTS)
			return -EINVAL;
		if (c->ports[i].val.class_id && pg_class_id_gen(c->ports[i].val.class_id) != c->gen)
			return -EINVAL;
	}
	for (size_t i = 0; i < c->npeers; i++) {
		if (pg_class_id_gen(ntohl(c->peers[i].key.class_id)) != c->gen)
			return -EINVAL;
		if (c->peers[i].val.rule_id >= PG_MAX_RULES)
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
	err = pg_delete_stale_peers(m->fd[PG_MAP_PEERS], gen);
	if (err)
		goto out;

	/* Every slot of the generation, so that no port of an older policy survives. */
	step = "write port slots";
	ports = calloc(PG_GEN_PORT_SLOTS, sizeof(*ports));
	if (!ports) {
		err = -ENOMEM;
		goto out;
	}
	err = pg_port_values(c, ports);
	if (err)
		goto out;
	err = pg_write_slots(m->fd[PG_MAP_PORTS], pg_port_index(gen, 0, 0, 0),
			     PG_GEN_PORT_SLOTS, ports);
	if (err)
		goto out;

	step = "insert peer entries";
	for (size_t i = 0; i < c->npeers; i++) {
		if (bpf_map_update_elem(m->fd[PG_MAP_PEERS], &c->peers[i].key, &c->peers[i].val,
					BPF_ANY) < 0) {
			err = -errno;
			goto out;
		}
	}

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
