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

int pg_enforce_compile(const struct pg_policy_src *src, __u32 gen, struct pg_staged *s)
{
	/* The same compile as `check`: an overflow is the same error at the same line. */
	struct pg_diags d = { 0 };
	int err;

	memset(s, 0, sizeof(*s));
	s->t0 = pg_monotonic_ns();
	err = pg_compile_diag(src->p, gen, &s->c, &d);
	pg_diags_print(&d, stderr);
	pg_diags_free(&d);
	if (err) {
		fprintf(stderr, "portguard: failed to compile %s: %s\n", src->path,
			err == -E2BIG ? "the policy exceeds the map sizes" : strerror(-err));
		pg_staged_free(s);
		return err;
	}
	s->compiled = true;
	return 0;
}

int pg_enforce_stage(const struct pg_maps *m, const struct pg_policy_src *src,
		     const struct pg_enforce_opts *o, struct pg_staged *s)
{
	struct pg_compiled *c = &s->c;
	__u32 gen;
	int err;

	err = pg_active_gen(m, &gen); /* prints its own failure, as apply and activate do */
	if (err)
		goto fail;
	if (!s->compiled || c->gen != pg_other_gen(gen)) {
		err = pg_enforce_compile(src, pg_other_gen(gen), s);
		if (err)
			return err;
	}
	c->config.version = next_version(m);
	if (o->dry_run)
		c->config.mode = PG_MODE_DRY_RUN;
	if (o->no_events)
		c->config.events = 0;
	if (o->ratelimit_ms >= 0)
		c->config.ratelimit_ns = (__u64)o->ratelimit_ms * 1000000ULL;
	if (o->events_per_sec >= 0)
		c->config.events_per_sec = o->events_per_sec;
	if (o->flow_tcp_idle_ns)
		c->config.flow_tcp_idle_ns = o->flow_tcp_idle_ns;
	if (o->flow_tcp_fin_ns)
		c->config.flow_tcp_fin_ns = o->flow_tcp_fin_ns;
	if (o->flow_tcp_rst_ns)
		c->config.flow_tcp_rst_ns = o->flow_tcp_rst_ns;
	if (o->flow_udp_idle_ns)
		c->config.flow_udp_idle_ns = o->flow_udp_idle_ns;
	/* Before the switch: a connection open now must be a known flow by the time the new
	 * generation (perhaps enforce after dry-run) judges its next packet. */
	err = pg_seed_flows(m->fd[PG_MAP_FLOWS], m->fd[PG_MAP_FLOW_PORTS],
			    m->fd[PG_MAP_FLOW_STATS], &s->seeded);
	if (err) {
		fprintf(stderr, "portguard: failed to seed flows from open sockets: %s\n",
			strerror(-err));
		goto fail;
	}
	err = pg_apply(m, c);
	if (err)
		goto fail;
	return 0;
fail:
	pg_staged_free(s);
	return err;
}

int pg_enforce_commit(const struct pg_maps *m, const struct pg_policy_src *src,
		      struct pg_staged *s, struct pg_enforced *out)
{
	struct pg_compiled *c = &s->c;
	char abspath[PATH_MAX];
	struct pg_info info;
	int err;

	memset(out, 0, sizeof(*out));
	err = pg_activate(m, c->gen);
	if (err)
		goto out;
	out->gen = c->gen;
	out->mode = c->config.mode;
	out->nrules = c->nmeta;
	out->seeded = s->seeded;
	out->load_ns = pg_monotonic_ns() - s->t0;

	if (info_read(m, &info))
		memset(&info, 0, sizeof(info));
	info.loaded_at = time(NULL);
	info.load_ns = out->load_ns;
	info.nrules = c->nmeta;
	/* An absolute path: status may run from another directory. */
	if (!realpath(src->path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", src->path);
	pg_strlcpy(info.policy, abspath, sizeof(info.policy));
	pg_strlcpy(info.sha256, src->sha256, sizeof(info.sha256));
	err = info_write(m, &info);
out:
	pg_staged_free(s);
	return err;
}

void pg_staged_free(struct pg_staged *s)
{
	pg_compiled_free(&s->c);
	memset(s, 0, sizeof(*s));
}

int pg_enforce(const struct pg_maps *m, const struct pg_policy_src *src,
	       const struct pg_enforce_opts *o, struct pg_enforced *out)
{
	struct pg_staged s = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	err = pg_enforce_stage(m, src, o, &s);
	if (err)
		return err;
	return pg_enforce_commit(m, src, &s, out);
}

int pg_info_set_attach(const struct pg_maps *m, const char *const *ifaces, const int *ifindex,
		       const __u8 *mode, size_t nifaces, const char *cgroup, __u32 max_flows)
{
	struct pg_info info;
	size_t i;

	if (info_read(m, &info))
		memset(&info, 0, sizeof(info));
	memset(info.ifindex, 0, sizeof(info.ifindex));
	memset(info.ifname, 0, sizeof(info.ifname));
	memset(info.ifmode, 0, sizeof(info.ifmode));
	info.nifaces = 0;
	for (i = 0; i < nifaces && i < PG_MAX_IFACES; i++) {
		info.ifindex[i] = ifindex[i];
		info.ifmode[i] = ifindex[i] ? mode[i] : PG_IFMODE_AWAITED;
		pg_strlcpy(info.ifname[i], ifaces[i], sizeof(info.ifname[i]));
		info.nifaces++;
	}
	pg_strlcpy(info.cgroup, cgroup ? cgroup : "", sizeof(info.cgroup));
	info.max_flows = max_flows;
	return info_write(m, &info);
}

int pg_info_count_iface(const struct pg_maps *m, bool appeared)
{
	struct pg_info info;
	int err = info_read(m, &info);

	if (err)
		return err;
	if (appeared)
		info.ifaces_appeared++;
	else
		info.ifaces_gone++;
	return info_write(m, &info);
}

/* A duration: digits and a unit (ms, s, m, h, d; none: seconds), more than 0, at most a
 * year. */
static int parse_duration(const char *s, __u64 *ns)
{
	static const struct {
		const char *unit;
		__u64 ns;
	} units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull },	 { "", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull }, { "d", 86400000000000ull },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (!v || v > 366ull * 86400000000000ull / units[i].ns)
			return -ERANGE;
		*ns = v * units[i].ns;
		return 0;
	}
	return -EINVAL;
}

int pg_flow_timeouts_parse(const char *arg, struct pg_enforce_opts *o)
{
	char buf[256], *tok, *save = NULL, *eq;
	__u64 *slot, ns;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		if (!strcmp(tok, "tcp"))
			slot = &o->flow_tcp_idle_ns;
		else if (!strcmp(tok, "tcp-fin"))
			slot = &o->flow_tcp_fin_ns;
		else if (!strcmp(tok, "tcp-rst"))
			slot = &o->flow_tcp_rst_ns;
		else if (!strcmp(tok, "udp"))
			slot = &o->flow_udp_idle_ns;
		else
			goto bad;
		if (parse_duration(eq + 1, &ns)) {
			fprintf(stderr, "portguard: --flow-timeouts: '%s' is not a duration (a number "
					"of ms, s, m, h or d, up to a year)\n", eq + 1);
			return -EINVAL;
		}
		*slot = ns;
	}
	return 0;
bad:
	fprintf(stderr, "portguard: --flow-timeouts is a list of tcp=, tcp-fin=, tcp-rst=, "
			"udp= durations (tcp=5d,udp=2m), not '%s'\n", arg);
	return -EINVAL;
}
