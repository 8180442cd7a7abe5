// SPDX-License-Identifier: GPL-2.0
/* The maps, opened from an object or from pins, checked (see maps.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/loader.h"
#include "kernel/maps.h"

const char *const pg_map_names[PG_MAP_NR] = {
	[PG_MAP_ACTIVE] = "pg_active",
	[PG_MAP_CONFIG] = "pg_config",
	[PG_MAP_PORTS] = "pg_ports",
	[PG_MAP_BUCKETS] = "pg_buckets",
	[PG_MAP_BUCKETS32] = "pg_buckets32",
	[PG_MAP_PEERS] = "pg_peers",
	[PG_MAP_CLASS_PEERS] = "pg_class_peers",
	[PG_MAP_RULE_STATS] = "pg_rule_stats",
	[PG_MAP_REASON_STATS] = "pg_reason_stats",
	[PG_MAP_EVENT_STATS] = "pg_event_stats",
	[PG_MAP_FLOWS] = "pg_flows",
	[PG_MAP_FRAGS] = "pg_frags",
	[PG_MAP_RATELIMIT] = "pg_ratelimit",
	[PG_MAP_BUDGET] = "pg_budget",
	[PG_MAP_EVENTS] = "pg_events",
	[PG_MAP_RULE_META] = "pg_rule_meta",
	[PG_MAP_INFO] = "pg_info",
	[PG_MAP_FLOW_STATS] = "pg_flow_stats",
	[PG_MAP_FLOW_PORTS] = "pg_flow_ports",
};

static void pg_maps_reset(struct pg_maps *m)
{
	for (int i = 0; i < PG_MAP_NR; i++)
		m->fd[i] = -1;
	m->owned = false;
}

int pg_maps_from_object(struct pg_maps *m, const struct bpf_object *obj)
{
	pg_maps_reset(m);
	for (int i = 0; i < PG_MAP_NR; i++) {
		m->fd[i] = bpf_object__find_map_fd_by_name(obj, pg_map_names[i]);
		if (m->fd[i] < 0) {
			fprintf(stderr, "portguard: failed to find map %s in %s: %s\n", pg_map_names[i],
				bpf_object__name(obj), strerror(ENOENT));
			pg_maps_reset(m);
			return -ENOENT;
		}
	}
	return 0;
}

int pg_maps_from_pins_some(struct pg_maps *m, const char *dir, unsigned long which)
{
	int err;

	pg_maps_reset(m);
	m->owned = true;
	for (int i = 0; i < PG_MAP_NR; i++) {
		if (!(which & PG_MAP_BIT(i)))
			continue;
		m->fd[i] = pg_map_open_pinned(dir, i, false);
		if (m->fd[i] < 0) {
			err = m->fd[i];
			goto err;
		}
	}
	return 0;
err:
	pg_maps_close(m);
	return err;
}

int pg_maps_from_pins(struct pg_maps *m, const char *dir)
{
	return pg_maps_from_pins_some(m, dir, PG_MAP_BIT(PG_MAP_NR) - 1);
}

void pg_maps_close(struct pg_maps *m)
{
	for (int i = 0; i < PG_MAP_NR; i++) {
		if (m->owned && m->fd[i] >= 0)
			close(m->fd[i]);
		m->fd[i] = -1;
	}
	m->owned = false;
}

int pg_map_open_pinned(const char *dir, enum pg_map_id id, bool quiet_enoent)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, pg_map_names[id]) >= (int)sizeof(path)) {
		fprintf(stderr, "portguard: failed to open pinned map %s in %s: %s\n",
			pg_map_names[id], dir, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err != -ENOENT || !quiet_enoent)
			fprintf(stderr, "portguard: failed to open pinned map %s: %s\n", path,
				strerror(-err));
		return err;
	}
	err = pg_map_check(fd, id, path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Whether the map behind fd is map id as this build defines it: type, sizes and entries,
 * what a read of it relies on. *info and *want: what was compared. */
static int map_fits(int fd, enum pg_map_id id, struct bpf_map_info *info,
		    struct pg_map_spec *want)
{
	__u32 len = sizeof(*info);
	int err;

	err = pg_map_spec(id, want);
	if (err)
		return err;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	/* The flow table's size is the operator's (--max-flows): any size is ours. */
	if (id == PG_MAP_FLOWS && info->max_entries)
		want->max_entries = info->max_entries;
	return info->type == want->type && info->key_size == want->key_size &&
	       info->value_size == want->value_size && info->max_entries == want->max_entries;
}

int pg_map_check_quiet(int fd, enum pg_map_id id)
{
	struct bpf_map_info info;
	struct pg_map_spec want;
	int r = map_fits(fd, id, &info, &want);

	return r == 1 ? 0 : r == 0 ? -EINVAL : r;
}

int pg_map_check(int fd, enum pg_map_id id, const char *path)
{
	struct bpf_map_info info;
	struct pg_map_spec want;
	int r;

	r = map_fits(fd, id, &info, &want);
	if (r == 1)
		return 0;
	if (r < 0) {
		fprintf(stderr, "portguard: failed to read map %s: %s\n", path, strerror(-r));
		return r;
	}
	fprintf(stderr, "portguard: %s is not the map this portguard defines (type %u, key %u "
			"bytes, value %u bytes, %u entries; expected type %u, key %u, value %u, "
			"%u entries): refusing it; it may be from another version of portguard "
			"(portguard load, or a restart of portguard run, replaces such a state "
			"whole)\n",
		path, info.type, info.key_size, info.value_size, info.max_entries, want.type,
		want.key_size, want.value_size, want.max_entries);
	return -EINVAL;
}

int pg_pins_loaded(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, pg_map_names[PG_MAP_ACTIVE]);
	if (!access(path, F_OK))
		return 1;
	/* Only "it is not there" means nothing is loaded. */
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

int pg_pins_check_loaded(const char *dir)
{
	int r = pg_pins_loaded(dir);

	if (r == 0)
		fprintf(stderr, "portguard: nothing loaded at %s\n", dir);
	else if (r < 0)
		fprintf(stderr, "portguard: failed to look for a loaded state at %s: %s%s\n", dir,
			strerror(-r),
			r == -EACCES || r == -EPERM ? " (portguard needs root, or CAP_BPF, "
						      "CAP_NET_ADMIN and CAP_SYS_ADMIN)" : "");
	return r;
}
