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

#include "common/clock.h"
#include "kernel/maps.h"
#include "kernel/percpu.h"
#include "kernel/snapshot.h"

int pg_snapshot_read(const char *pin_dir, struct pg_snapshot *s, const char **what)
{
	struct pg_maps m = { .owned = false };
	struct pg_active active;
	const char *w = NULL;
	__u32 zero = 0;
	int fd, err;

	memset(s, 0, sizeof(*s));
	if (!pin_dir)
		pin_dir = PG_PIN_DIR_DEFAULT;
	/* No pg_info: nothing is loaded, which the callers say in their own words. */
	fd = pg_map_open_pinned(pin_dir, PG_MAP_INFO, true);
	if (fd < 0) {
		err = fd;
		if (err == -ENOENT)
			w = "pg_info";
		goto out;
	}
	close(fd);
	/* Every map checked against this build; a mismatch is printed there. */
	err = pg_maps_from_pins_some(&m, pin_dir,
				     PG_MAP_BIT(PG_MAP_INFO) | PG_MAP_BIT(PG_MAP_ACTIVE) |
					     PG_MAP_BIT(PG_MAP_CONFIG) | PG_MAP_BIT(PG_MAP_RULE_META) |
					     PG_MAP_BIT(PG_MAP_RULE_STATS) |
					     PG_MAP_BIT(PG_MAP_REASON_STATS) |
					     PG_MAP_BIT(PG_MAP_EVENT_STATS));
	if (err)
		goto out;
	w = "pg_info";
	if (bpf_map_lookup_elem(m.fd[PG_MAP_INFO], &zero, &s->info))
		goto fail_errno;
	w = "pg_active";
	if (bpf_map_lookup_elem(m.fd[PG_MAP_ACTIVE], &zero, &active))
		goto fail_errno;
	s->gen = active.gen & 1;
	w = "pg_config";
	if (bpf_map_lookup_elem(m.fd[PG_MAP_CONFIG], &s->gen, &s->config))
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
		if (bpf_map_lookup_elem(m.fd[PG_MAP_RULE_META], &key, &r->meta))
			goto fail_errno;
		r->meta.src[sizeof(r->meta.src) - 1] = '\0';
		r->meta.text[sizeof(r->meta.text) - 1] = '\0';
		w = "pg_rule_stats";
		err = pg_percpu_counter(m.fd[PG_MAP_RULE_STATS], key, &r->c);
		if (err)
			goto out;
		r->last_unix_ns = pg_mono_to_realtime_ns(r->c.last_ns);
	}
	w = "pg_reason_stats";
	for (__u32 i = 0; i < PG_R_MAX; i++) {
		err = pg_percpu_counter(m.fd[PG_MAP_REASON_STATS], i, &s->reasons[i]);
		if (err)
			goto out;
	}
	w = "pg_event_stats";
	for (__u32 i = 0; i < PG_EVS_MAX; i++) {
		err = pg_percpu_u64(m.fd[PG_MAP_EVENT_STATS], i, &s->events[i]);
		if (err)
			goto out;
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
	pg_maps_close(&m);
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
