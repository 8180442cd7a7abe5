/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of bpf/maps.bpf.h as userspace holds them, and the one way to open them: from a
 * loaded object, or from the pins under the pin directory. A pinned map is anybody's file:
 * before it is used, its type, key size, value size and number of entries are checked
 * against what this build's BPF objects define, so that a map of another version (or a
 * planted one) is refused with a message instead of overflowing a read.
 */
#ifndef PG_MAPS_H
#define PG_MAPS_H

#include <stdbool.h>
#include <linux/types.h>

struct bpf_object;

/* Where the state is pinned unless --pin-dir says otherwise. */
#define PG_PIN_DIR_DEFAULT "/sys/fs/bpf/portguard"

/* Every map of bpf/maps.bpf.h. pg_map_names[] holds their names, which are also their pin
 * names under the pin directory. */
enum pg_map_id {
	PG_MAP_ACTIVE,
	PG_MAP_CONFIG,
	PG_MAP_PORTS,
	PG_MAP_BUCKETS,
	PG_MAP_BUCKETS32,
	PG_MAP_PEERS,
	PG_MAP_CLASS_PEERS,
	PG_MAP_RULE_STATS,
	PG_MAP_REASON_STATS,
	PG_MAP_EVENT_STATS,
	PG_MAP_FLOWS,
	PG_MAP_FRAGS,
	PG_MAP_RATELIMIT,
	PG_MAP_BUDGET,
	PG_MAP_EVENTS,
	PG_MAP_RULE_META,
	PG_MAP_INFO,
	PG_MAP_FLOW_STATS,
	PG_MAP_FLOW_PORTS,
	PG_MAP_NR,
};

extern const char *const pg_map_names[PG_MAP_NR];

struct pg_maps {
	int fd[PG_MAP_NR]; /* -1 when not open */
	bool owned;	   /* opened from pins: pg_maps_close() closes them */
};

/* Borrow the fds of a loaded object's maps (a skeleton's skel->obj). They stay the object's:
 * pg_maps_close() does not close them. -ENOENT names the missing map on stderr. */
int pg_maps_from_object(struct pg_maps *m, const struct bpf_object *obj);
/* Open every map pinned under dir by its name, each checked with pg_map_check(). On failure
 * nothing stays open; the message is printed. */
int pg_maps_from_pins(struct pg_maps *m, const char *dir);
#define PG_MAP_BIT(id) (1ul << (id))
/* The same for the maps whose PG_MAP_BIT()s are set in which; the others stay -1. */
int pg_maps_from_pins_some(struct pg_maps *m, const char *dir, unsigned long which);
/* Open the one map id pinned under dir, checked. Returns its fd, or -errno (message
 * printed, except for -ENOENT when quiet_enoent). */
int pg_map_open_pinned(const char *dir, enum pg_map_id id, bool quiet_enoent);
/* Close owned fds; every fd becomes -1. Safe on a zeroed or already-closed struct. */
void pg_maps_close(struct pg_maps *m);


/* Whether a policy state is pinned at dir (its pg_active map exists): 1, 0, or -errno when
 * that cannot be told (-EACCES: not root, the directory may well hold a state). */
int pg_pins_loaded(const char *dir);
/* pg_pins_loaded(), saying on stderr why when it is not 1. */
int pg_pins_check_loaded(const char *dir);

/* What a map is: from this build's BPF objects. */
struct pg_map_spec {
	__u32 type, key_size, value_size, max_entries;
};

/* The spec of map id as the BPF objects define it. 0 or -errno. */
int pg_map_spec(enum pg_map_id id, struct pg_map_spec *spec);
/* Check that fd is map id as this build defines it. Returns 0, or -EINVAL after printing
 * what differs; path names the map in the message. */
int pg_map_check(int fd, enum pg_map_id id, const char *path);
/* pg_map_check() without a message: 0, -EINVAL, or -errno. */
int pg_map_check_quiet(int fd, enum pg_map_id id);

#endif /* PG_MAPS_H */
