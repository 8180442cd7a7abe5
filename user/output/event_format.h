/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Formatting the event stream's records: a pg_events ring buffer record to one text line or
 * one JSON Lines record (Suricata EVE style field names), and the start, reload and
 * suppressed records. Pure: a record and a struct pg_event_fmt (callbacks for what needs
 * the kernel: rule sources, interface names, cgroup paths) to a line, so that it is tested
 * without root. The ring buffer consumer is events.h.
 */
#ifndef PG_EVENT_FORMAT_H
#define PG_EVENT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "portguard.h"

struct pg_event_fmt {
	bool json;
	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns: turns bpf_ktime_get_ns() into wall time. */
	long long clock_offset_ns;
	/* Policy mode of each generation: the mode of a `logged` event. */
	__u8 gen_mode[PG_NGEN];
	/* Each callback returns 0 or -errno; NULL or a failure leaves the field to a fallback. */
	/* The source of the rule of e (e->gen, e->rule_id, e->version); -ESTALE when its
	 * policy version was replaced before the stream could copy it (output/rulemeta.h). */
	int (*rule_meta)(void *ctx, const struct pg_event *e, struct pg_rule_meta *out);
	int (*ifname)(void *ctx, __u32 ifindex, char *buf, size_t size);
	int (*cgroup_path)(void *ctx, __u64 cgroup_id, char *buf, size_t size);
	void *ctx;
};

/* What the start and reload records tell. */
struct pg_stream_info {
	const char *policy;  /* path */
	const char *sha256;  /* hex digest of the policy text */
	__u32 mode;	     /* enum pg_mode in force */
	__u32 nrules;
	const char *const *ifaces;
	size_t nifaces;
	const char *cgroup;  /* "" or NULL: no socket hooks */
	const char *pin_dir;
	bool takeover;	     /* pinned state of an earlier run was taken over */
	unsigned seeded;     /* flows seeded from the sockets open at (re)load */
	double load_ms;
};

/*
 * Format one ring buffer record as a line (no trailing newline) into buf. Returns the length,
 * or -ENOSPC when buf is too small (512 bytes always suffice; 1024 with long cgroup paths).
 */
int pg_event_format(const struct pg_event *e, const struct pg_event_fmt *f, char *buf,
		    size_t size);
/* The {"event_type":"start"} / "reload" record (or its text line), at wall time now_ns. */
int pg_event_format_info(const char *event_type, const struct pg_stream_info *info,
			 long long now_ns, const struct pg_event_fmt *f, char *buf, size_t size);
/* The {"event_type":"suppressed","count":N} record: delta[] indexed by enum pg_event_stat. */
int pg_event_format_suppressed(const __u64 delta[PG_EVS_MAX], long long now_ns,
			       const struct pg_event_fmt *f, char *buf, size_t size);

#endif /* PG_EVENT_FORMAT_H */
