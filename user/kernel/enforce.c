// SPDX-License-Identifier: GPL-2.0
/* Putting a policy in force (see enforce.h). */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "policy/compile.h"
#include "kernel/enforce.h"
#include "kernel/seed.h"
#include "common/clock.h"
#include "common/util.h"

int pg_policy_read(const char *path, struct pg_policy_src *src)
{
	struct pg_diags d = { 0 };
	int err;

	memset(src, 0, sizeof(*src));
	src->path = strdup(path);
	if (!src->path)
		return -ENOMEM;
	err = pg_policy_read_text(path, &src->text, &src->len);
	if (err) {
		fprintf(stderr, "%s:0:0: error: failed to read policy: %s\n", path,
			pg_policy_read_strerror(err));
		goto fail;
	}
	pg_sha256_hex(src->text, src->len, src->sha256);
	err = pg_policy_parse(path, src->text, src->len, &src->p, &d);
	pg_diags_print(&d, stderr);
	pg_diags_free(&d);
	if (err)
		goto fail;
	return 0;
fail:
	pg_policy_src_free(src);
	return err;
}

void pg_policy_src_free(struct pg_policy_src *src)
{
	pg_policy_free(src->p);
	free(src->text);
	free(src->path);
	memset(src, 0, sizeof(*src));
}

static int info_read(const struct pg_maps *m, struct pg_info *info)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->fd[PG_MAP_INFO], &zero, info))
		return -errno;
	return 0;
}

static int info_write(const struct pg_maps *m, const struct pg_info *info)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(m->fd[PG_MAP_INFO], &zero, info, BPF_ANY)) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to write pg_info: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

/* One more than either generation's policy version: versions only grow, so an event's
 * version names one (re)load. */
static __u32 next_version(const struct pg_maps *m)
{
	struct pg_config cfg;
	__u32 g, v = 0;

	for (g = 0; g < PG_NGEN; g++)
		if (!bpf_map_lookup_elem(m->fd[PG_MAP_CONFIG], &g, &cfg) && cfg.version > v)
			v = cfg.version;
	return v + 1 ? v + 1 : 1;
}

int pg_enforce(const struct pg_maps *m, const struct pg_policy_src *src,
	       const struct pg_enforce_opts *o, struct pg_enforced *out)
{
	long long t0 = pg_monotonic_ns();
	struct pg_compiled c = { 0 };
	struct pg_info info;
	char abspath[PATH_MAX];
	__u32 gen;
	int err;

	memset(out, 0, sizeof(*out));
	err = pg_active_gen(m, &gen); /* prints its own failure, as apply and activate do */
	if (err)
		return err;
	{
		/* The same compile as `check`: an overflow is the same error at the same line. */
		struct pg_diags d = { 0 };

		err = pg_compile_diag(src->p, pg_other_gen(gen), &c, &d);
		pg_diags_print(&d, stderr);
		pg_diags_free(&d);
	}
	if (err) {
		fprintf(stderr, "portguard: failed to compile %s: %s\n", src->path,
			err == -E2BIG ? "the policy exceeds the map sizes" : strerror(-err));
		goto out;
	}
	c.config.version = next_version(m);
	if (o->dry_run)
		c.config.mode = PG_MODE_DRY_RUN;
	if (o->no_events)
		c.config.events = 0;
	if (o->ratelimit_ms >= 0)
		c.config.ratelimit_ns = (__u64)o->ratelimit_ms * 1000000ULL;
	if (o->events_per_sec >= 0)
		c.config.events_per_sec = o->events_per_sec;
	/* Before the switch: a connection open now must be a known flow by the time the new
	 * generation (perhaps enforce after dry-run) judges its next packet. */
	err = pg_seed_flows(m->fd[PG_MAP_FLOWS], &out->seeded);
	if (err) {
		fprintf(stderr, "portguard: failed to seed flows from open sockets: %s\n",
			strerror(-err));
		goto out;
	}
	err = pg_apply(m, &c);
	if (err)
		goto out;
	err = pg_activate(m, c.gen);
	if (err)
		goto out;
	out->gen = c.gen;
	out->mode = c.config.mode;
	out->nrules = c.nmeta;
	out->load_ns = pg_monotonic_ns() - t0;

	if (info_read(m, &info))
		memset(&info, 0, sizeof(info));
	info.loaded_at = time(NULL);
	info.load_ns = out->load_ns;
	info.nrules = c.nmeta;
	/* An absolute path: status may run from another directory. */
	if (!realpath(src->path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", src->path);
	pg_strlcpy(info.policy, abspath, sizeof(info.policy));
	pg_strlcpy(info.sha256, src->sha256, sizeof(info.sha256));
	err = info_write(m, &info);
out:
	pg_compiled_free(&c);
	return err;
}

int pg_info_set_attach(const struct pg_maps *m, const char *const *ifaces, size_t nifaces,
		       const char *cgroup)
{
	struct pg_info info;
	size_t i;

	if (info_read(m, &info))
		memset(&info, 0, sizeof(info));
	memset(info.ifindex, 0, sizeof(info.ifindex));
	info.nifaces = 0;
	for (i = 0; i < nifaces && i < PG_MAX_IFACES; i++) {
		info.ifindex[i] = if_nametoindex(ifaces[i]);
		info.nifaces++;
	}
	pg_strlcpy(info.cgroup, cgroup ? cgroup : "", sizeof(info.cgroup));
	return info_write(m, &info);
}
