// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks' view of portguard; see pgglue.h. Parsing, compiling and writing the maps go
 * through portguard's own user/policy/parse.c, user/policy/compile.c and user/kernel/generation.c, into the maps of
 * portguard's own XDP skeleton. Those symbols are weak, so that the benchmarks build (and
 * report portguard as unavailable) on a tree where they are missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "portguard.h"
#include "policy/policy.h"
#include "policy/compile.h"
#include "kernel/generation.h"
#include "kernel/xdp_open.h"
#include "xdp_ingress.skel.h"
#include "pgglue.h"

#pragma weak pg_policy_parse
#pragma weak pg_policy_free
#pragma weak pg_diags_print
#pragma weak pg_diags_free
#pragma weak pg_compile
#pragma weak pg_compiled_free
#pragma weak pg_maps_from_object
#pragma weak pg_apply
#pragma weak pg_activate

int pgg_available(void)
{
	return pg_policy_parse && pg_compile && pg_apply && pg_activate && pg_maps_from_object;
}

struct pgg {
	struct xdp_ingress_bpf *skel;
	struct pg_maps maps;
	__u32 gen; /* the generation in force */
	struct pg_compiled cur;
	int have_cur;
};

void pgg_rule_peer4(unsigned int i, uint8_t addr[4])
{
	addr[0] = 198;
	addr[1] = 19;
	addr[2] = (i >> 8) & 0xff;
	addr[3] = i & 0xff;
}

void pgg_rule_peer6(unsigned int i, uint8_t addr[16])
{
	memset(addr, 0, 16);
	addr[0] = 0x20;
	addr[1] = 0x01;
	addr[2] = 0x0d;
	addr[3] = 0xb8;
	addr[4] = (i >> 8) & 0xff;
	addr[5] = i & 0xff;
	addr[15] = 1;
}

/* Blocklist prefix i: IPv4 /8 to /32 (first octet never 127, 198 or 199, nor 224 and up:
 * the frames' sources stay outside) for even i, IPv6 /29 to /128 under 2a00::/8 for odd i. */
static int blocklist_prefix(unsigned int i, char *buf, size_t size)
{
	__u64 h = (__u64)i * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	if (i % 2 == 0) {
		static const unsigned char skip[] = { 127, 198, 199 };
		unsigned int len = 8 + (i / 2) % 25, o1 = 1 + h % 223, k;
		__u32 a;

		for (k = 0; k < sizeof(skip); k++)
			if (o1 == skip[k])
				o1 = 200 + k;
		a = o1 << 24 | ((__u32)(h >> 8) & 0xffffff);
		a &= len == 32 ? ~0u : ~(~0u >> len);
		return snprintf(buf, size, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff,
				(a >> 8) & 0xff, a & 0xff, len);
	}
	{
		unsigned int len = 29 + (i / 2) % 100, b;
		__u8 a[16];
		char txt[64];

		for (b = 0; b < 16; b++)
			a[b] = (__u8)(h >> (8 * (b % 8))) ^ (__u8)(b * 37 + i);
		a[0] = 0x2a;
		for (b = len; b < 128; b++)
			a[b / 8] &= ~(0x80 >> (b % 8));
		snprintf(txt, sizeof(txt), "%x:%x:%x:%x:%x:%x:%x:%x", a[0] << 8 | a[1],
			 a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9],
			 a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15]);
		return snprintf(buf, size, "%s/%u", txt, len);
	}
}

char *pgg_policy_text(unsigned int nrules, size_t *len)
{
	const char *bl_env = getenv("PGG_BLOCKLIST");

	return pgg_policy_text_bl(nrules, bl_env ? strtoul(bl_env, NULL, 10) : 0, len);
}

char *pgg_policy_text_bl(unsigned int nrules, unsigned long nblock, size_t *len)
{
	size_t cap = 256 + (size_t)nrules * 96 + nblock * 48, n = 0;
	char *buf;
	unsigned int i;

	if (!nrules || nrules > PGG_MAX_RULES || nblock > 2000000) {
		errno = EINVAL;
		return NULL;
	}
	buf = malloc(cap);
	if (!buf)
		return NULL;
	n += snprintf(buf + n, cap - n,
		      "# synthetic benchmark policy: %u rules, %lu blocklist prefixes "
		      "(bench/pgglue.c)\n"
		      "default in deny\ndefault out allow\nallow in tcp 22\n", nrules, nblock);
	if (nblock) {
		n += snprintf(buf + n, cap - n, "set blocklist = ");
		for (i = 0; i < nblock; i++) {
			n += snprintf(buf + n, cap - n, "%s", i ? ", " : "");
			n += blocklist_prefix(i, buf + n, cap - n);
		}
		n += snprintf(buf + n, cap - n, "\ndeny in tcp,udp 1-65535 from @blocklist\n");
	}
	for (i = 1; i < nrules; i++)
		n += snprintf(buf + n, cap - n,
			      "allow in tcp %u from 198.19.%u.%u/32, 2001:db8:%x::/48\n",
			      pgg_rule_port(i), (i >> 8) & 0xff, i & 0xff, i & 0xffff);
	*len = n;
	return buf;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parse and compile text for generation gen. */
static int build(const char *name, const char *text, size_t len, __u32 gen,
		 struct pg_compiled *out, struct pgg_times *t)
{
	struct pg_diags diags = {};
	struct pg_policy *p = NULL;
	double t0, t1, t2;
	int err;

	if (!pg_policy_parse || !pg_compile)
		return -ENOTSUP;
	t0 = mono();
	err = pg_policy_parse(name, text, len, &p, &diags);
	t1 = mono();
	if (err) {
		pg_diags_print(&diags, stderr);
		fprintf(stderr, "pgglue: failed to parse %s: %s\n", name, strerror(-err));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	err = pg_compile(p, gen, out);
	t2 = mono();
	if (err)
		fprintf(stderr, "pgglue: failed to compile %s: %s\n", name, strerror(-err));
	if (t) {
		t->parse = t1 - t0;
		t->compile = t2 - t1;
	}
out:
	pg_policy_free(p);
	pg_diags_free(&diags);
	return err;
}

/* portguard's own map writer (user/kernel/generation.c) fills the idle generation; one write of
 * pg_active switches to it. */
static int apply_and_activate(struct pgg *g, const struct pg_compiled *c)
{
	int err;

	err = pg_apply(&g->maps, c);
	if (!err)
		err = pg_activate(&g->maps, c->gen);
	if (!err)
		g->gen = c->gen;
	return err;
}

int pgg_open(const char *name, const char *text, size_t len, struct pgg_times *t,
	     struct pgg **out)
{
	struct pgg *g;
	double t0;
	int err;

	*out = NULL;
	if (!pgg_available())
		return -ENOTSUP;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->skel = pg_xdp_ingress_open_load();
	if (!g->skel) {
		err = -errno;
		fprintf(stderr, "pgglue: failed to load portguard's XDP program: %s\n",
			strerror(-err));
		goto fail;
	}
	err = pg_maps_from_object(&g->maps, g->skel->obj);
	if (err)
		goto fail;
	/* Fresh maps: generation 0 is in force and all zeroes (default allow); the policy goes
	 * into generation 1, as `portguard run` does. */
	err = build(name, text, len, 1, &g->cur, t);
	if (err)
		goto fail;
	g->have_cur = 1;
	t0 = mono();
	err = apply_and_activate(g, &g->cur);
	if (t)
		t->apply = mono() - t0;
	if (err) {
		fprintf(stderr, "pgglue: failed to write %s into the maps: %s\n", name,
			strerror(-err));
		goto fail;
	}
	*out = g;
	return 0;
fail:
	pgg_close(g);
	return err;
}

int pgg_reload(struct pgg *g, const char *text, size_t len, struct pgg_times *t)
{
	struct pg_compiled next;
	__u32 gen = g->gen ^ 1;
	double t0;
	int err;

	err = build("reload", text, len, gen, &next, t);
	if (err)
		return err;
	t0 = mono();
	err = apply_and_activate(g, &next);
	if (t)
		t->apply = mono() - t0;
	if (err) {
		pg_compiled_free(&next);
		return err;
	}
	pg_compiled_free(&g->cur);
	g->cur = next;
	return 0;
}

int pgg_set_events(struct pgg *g, int on)
{
	int fd = bpf_map__fd(g->skel->maps.pg_config);
	struct pg_config c;
	__u32 key = g->gen;

	if (bpf_map_lookup_elem(fd, &key, &c))
		return -errno;
	c.events = on ? 1 : 0;
	if (bpf_map_update_elem(fd, &key, &c, BPF_ANY))
		return -errno;
	return 0;
}

int pgg_prog_fd(const struct pgg *g)
{
	return bpf_program__fd(g->skel->progs.pg_xdp_ingress);
}

int pgg_frags_fd(const struct pgg *g)
{
	return bpf_program__fd(g->skel->progs.pg_xdp_ingress_frags);
}

int pgg_map_fd(const struct pgg *g, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(g->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

void pgg_close(struct pgg *g)
{
	if (!g)
		return;
	if (g->have_cur)
		pg_compiled_free(&g->cur);
	xdp_ingress_bpf__destroy(g->skel);
	free(g);
}

int pgg_percpu_sum(int map_fd, uint32_t key, size_t value_size, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	size_t stride = (value_size + 7) & ~(size_t)7;
	uint8_t *buf;

	if (ncpu < 0)
		return ncpu;
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	*sum = 0;
	if (bpf_map_lookup_elem(map_fd, &key, buf)) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < ncpu; i++) {
		uint64_t v;

		memcpy(&v, buf + i * stride, sizeof(v));
		*sum += v;
	}
	free(buf);
	return 0;
}
