// SPDX-License-Identifier: GPL-2.0
/* What is in force, read from the pins alone. See snapshot.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "output/names.h"
#include "kernel/snapshot.h"

static int pin_open(const char *dir, const char *name, int *fd)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	*fd = bpf_obj_get(path);
	return *fd < 0 ? -errno : 0;
}

/* Sum a per-CPU array element of pg_counter over every possible CPU. The kernel copies one
 * value per possible CPU, each rounded up to 8 bytes (pg_counter already is). */
static int percpu_counter(int fd, __u32 key, struct pg_counter *buf, int ncpus,
			  struct pg_counter *sum)
{
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(fd, &key, buf))
		return -errno;
	for (int i = 0; i < ncpus; i++) {
		sum->packets += buf[i].packets;
		sum->bytes += buf[i].bytes;
		if (buf[i].last_ns > sum->last_ns)
			sum->last_ns = buf[i].last_ns;
	}
	return 0;
}

__u64 pg_mono_to_unix_ns(__u64 mono_ns)
{
	struct timespec mono, real;
	__u64 now_mono, now_real;

	if (!mono_ns)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	now_mono = (__u64)mono.tv_sec * 1000000000ull + mono.tv_nsec;
	now_real = (__u64)real.tv_sec * 1000000000ull + real.tv_nsec;
	if (mono_ns > now_mono)
		mono_ns = now_mono;
	return now_real - (now_mono - mono_ns);
}

int pg_snapshot_read(const char *pin_dir, struct pg_snapshot *s, const char **what)
{
	int info_fd = -1, active_fd = -1, config_fd = -1, meta_fd = -1, rule_fd = -1,
	    reason_fd = -1, evs_fd = -1;
	struct pg_counter *buf = NULL;
	__u64 *evbuf = NULL;
	struct pg_active active;
	const char *w = NULL;
	__u32 zero = 0;
	int ncpus, err;

	memset(s, 0, sizeof(*s));
	if (!pin_dir)
		pin_dir = PG_DEFAULT_PIN_DIR;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		err = ncpus;
		w = "possible cpus";
		goto out;
	}
#define OPEN(name, fd)                                                                   \
	do {                                                                             \
		w = #name;                                                               \
		err = pin_open(pin_dir, #name, &fd);                                     \
		if (err)                                                                 \
			goto out;                                                        \
	} while (0)
	OPEN(pg_info, info_fd);
	OPEN(pg_active, active_fd);
	OPEN(pg_config, config_fd);
	OPEN(pg_rule_meta, meta_fd);
	OPEN(pg_rule_stats, rule_fd);
	OPEN(pg_reason_stats, reason_fd);
	OPEN(pg_event_stats, evs_fd);
#undef OPEN

	buf = calloc(ncpus, sizeof(*buf));
	evbuf = calloc(ncpus, sizeof(*evbuf));
	if (!buf || !evbuf) {
		err = -ENOMEM;
		goto out;
	}
	w = "pg_info";
	if (bpf_map_lookup_elem(info_fd, &zero, &s->info))
		goto fail_errno;
	w = "pg_active";
	if (bpf_map_lookup_elem(active_fd, &zero, &active))
		goto fail_errno;
	s->gen = active.gen & 1;
	w = "pg_config";
	if (bpf_map_lookup_elem(config_fd, &s->gen, &s->config))
		goto fail_errno;

	/* nrules is written by the loader; never trust it past the map's size. */
	s->nrules = s->info.nrules > PG_MAX_RULES ? PG_MAX_RULES : s->info.nrules;
	s->rules = calloc(s->nrules ? s->nrules : 1, sizeof(*s->rules));
	if (!s->rules) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < s->nrules; i++) {
		struct pg_snapshot_rule *r = &s->rules[i];
		__u32 key = s->gen * PG_MAX_RULES + i;

		r->slot = i;
		w = "pg_rule_meta";
		if (bpf_map_lookup_elem(meta_fd, &key, &r->meta))
			goto fail_errno;
		r->meta.src[sizeof(r->meta.src) - 1] = '\0';
		r->meta.text[sizeof(r->meta.text) - 1] = '\0';
		w = "pg_rule_stats";
		err = percpu_counter(rule_fd, key, buf, ncpus, &r->c);
		if (err)
			goto out;
		r->last_unix_ns = pg_mono_to_unix_ns(r->c.last_ns);
	}
	w = "pg_reason_stats";
	for (__u32 i = 0; i < PG_R_MAX; i++) {
		err = percpu_counter(reason_fd, i, buf, ncpus, &s->reasons[i]);
		if (err)
			goto out;
	}
	w = "pg_event_stats";
	for (__u32 i = 0; i < PG_EVS_MAX; i++) {
		if (bpf_map_lookup_elem(evs_fd, &i, evbuf))
			goto fail_errno;
		for (int c = 0; c < ncpus; c++)
			s->events[i] += evbuf[c];
	}
	s->info.policy[sizeof(s->info.policy) - 1] = '\0';
	s->info.sha256[sizeof(s->info.sha256) - 1] = '\0';
	s->info.cgroup[sizeof(s->info.cgroup) - 1] = '\0';
	if (s->info.nifaces > PG_MAX_IFACES)
		s->info.nifaces = PG_MAX_IFACES;
	err = 0;
	goto out;
fail_errno:
	err = -errno;
out:
	if (err) {
		pg_snapshot_free(s);
		if (what)
			*what = w;
	}
	free(buf);
	free(evbuf);
	for (int *fd = (int[]){ info_fd, active_fd, config_fd, meta_fd, rule_fd, reason_fd,
				evs_fd, -2 };
	     *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	return err;
}

void pg_snapshot_free(struct pg_snapshot *s)
{
	free(s->rules);
	s->rules = NULL;
	s->nrules = 0;
}

bool pg_snapshot_rule_used(const struct pg_snapshot *s, const struct pg_snapshot_rule *r)
{
	if (!r->meta.src[0])
		return false;
	return r->slot != PG_RULE_DENY_RAW || s->config.deny_raw;
}

/* One spelling everywhere: the event stream's tables (names.h). */
const char *pg_snapshot_reason_name(unsigned r)
{
	return pg_reason_name(r);
}

const char *pg_snapshot_evs_name(unsigned stat)
{
	return pg_event_stat_name(stat);
}
