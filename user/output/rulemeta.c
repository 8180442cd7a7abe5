// SPDX-License-Identifier: GPL-2.0
/* Rule sources per policy version. See rulemeta.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "output/rulemeta.h"

/* Two generations in the maps, and the two versions they held before: enough for a backlog
 * across two reloads between polls of the stream. */
#define CACHED_VERSIONS 4

struct cached {
	__u32 version; /* 0: free */
	__u32 n;       /* slots 0..n-1 copied (past the last used one nothing is) */
	struct pg_rule_meta *meta;
	unsigned long age;
};

struct pg_rule_cache {
	int meta_fd, config_fd;
	unsigned long clock;
	struct cached v[CACHED_VERSIONS];
};

struct pg_rule_cache *pg_rule_cache_new(int meta_fd, int config_fd)
{
	struct pg_rule_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->meta_fd = meta_fd;
	c->config_fd = config_fd;
	pg_rule_cache_refresh(c);
	return c;
}

static int gen_version(struct pg_rule_cache *c, __u32 gen, __u32 *version)
{
	struct pg_config cfg;

	if (bpf_map_lookup_elem(c->config_fd, &gen, &cfg))
		return -errno;
	*version = cfg.version;
	return 0;
}

static struct cached *find(struct pg_rule_cache *c, __u32 version)
{
	for (int i = 0; i < CACHED_VERSIONS; i++)
		if (version && c->v[i].version == version)
			return &c->v[i];
	return NULL;
}

/* The generation's sources, read between two reads of its version that agree (the writer
 * zeroes the version while it rewrites them: apply.c). */
static int copy_gen(struct pg_rule_cache *c, __u32 gen, __u32 version, struct cached *out)
{
	struct pg_rule_meta *meta;
	__u32 n = 0, again = 0;

	meta = calloc(PG_MAX_RULES, sizeof(*meta));
	if (!meta)
		return -ENOMEM;
	for (__u32 i = 0; i < PG_MAX_RULES; i++) {
		__u32 key = gen * PG_MAX_RULES + i;

		if (bpf_map_lookup_elem(c->meta_fd, &key, &meta[i]))
			break;
		meta[i].src[sizeof(meta[i].src) - 1] = '\0';
		meta[i].text[sizeof(meta[i].text) - 1] = '\0';
		if (meta[i].src[0])
			n = i + 1;
		else if (i >= PG_RULE_FIRST)
			break; /* the compiler fills slots in order: the first empty one ends them */
	}
	if (gen_version(c, gen, &again) || again != version) {
		free(meta);
		return -EAGAIN;
	}
	out->meta = realloc(meta, (n ? n : 1) * sizeof(*meta));
	if (!out->meta)
		out->meta = meta;
	out->n = n;
	out->version = version;
	out->age = ++c->clock;
	return 0;
}

static struct cached *slot_for_new(struct pg_rule_cache *c)
{
	struct cached *old = &c->v[0];

	for (int i = 0; i < CACHED_VERSIONS; i++) {
		if (!c->v[i].version)
			return &c->v[i];
		if (c->v[i].age < old->age)
			old = &c->v[i];
	}
	free(old->meta);
	memset(old, 0, sizeof(*old));
	return old;
}

static struct cached *cache_gen(struct pg_rule_cache *c, __u32 gen)
{
	struct cached *e;
	__u32 version = 0;

	if (gen_version(c, gen, &version) || !version)
		return NULL;
	e = find(c, version);
	if (e)
		return e;
	e = slot_for_new(c);
	if (copy_gen(c, gen, version, e))
		return NULL;
	return e;
}

void pg_rule_cache_refresh(struct pg_rule_cache *c)
{
	for (__u32 g = 0; g < PG_NGEN; g++)
		cache_gen(c, g);
}

int pg_rule_cache_get(struct pg_rule_cache *c, __u32 gen, __u32 version, __u32 rule_id,
		      struct pg_rule_meta *out)
{
	struct cached *e;

	if (rule_id >= PG_MAX_RULES)
		return -ENOENT;
	if (!version) {
		__u32 key = (gen & 1) * PG_MAX_RULES + rule_id;

		return bpf_map_lookup_elem(c->meta_fd, &key, out) ? -errno : 0;
	}
	e = find(c, version);
	if (!e) {
		/* Not seen yet: it may be the generation's current version. */
		e = cache_gen(c, gen & 1);
		if (e && e->version != version)
			e = NULL;
	}
	if (!e)
		return -ESTALE;
	if (rule_id >= e->n)
		return -ENOENT;
	*out = e->meta[rule_id];
	return 0;
}

void pg_rule_cache_free(struct pg_rule_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHED_VERSIONS; i++)
		free(c->v[i].meta);
	free(c);
}
