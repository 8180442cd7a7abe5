// SPDX-License-Identifier: GPL-2.0
/*
 * Formatting the event stream's records (see event_format.h): pure, tested without root.
 * JSON goes through the one JSON writer, text through the one text escaper.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "common/clock.h"
#include "output/event_format.h"
#include "output/json.h"
#include "output/names.h"

/* A record being built: JSON members, or text "key value" fields. */
struct out {
	struct pg_out o;
	struct pg_json j;
	bool json;
	bool first; /* text: no field written yet */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		o->o.full = true;
	else
		pg_out_write(&o->o, tmp, n);
}

/* A member: JSON "key":"value"; text " key value" (key NULL: the value alone). Text values
 * that a process controls (spaces: true) have their spaces escaped too. */
static void member_str_(struct out *o, const char *key, const char *val, bool spaces)
{
	if (o->json) {
		pg_json_str_field(&o->j, key, val);
		return;
	}
	put(o, "%s", o->first ? "" : " ");
	if (key)
		put(o, "%s ", key);
	pg_escape_text(&o->o, val, spaces);
	o->first = false;
}

static void member_str(struct out *o, const char *key, const char *val)
{
	member_str_(o, key, val, false);
}

static void member_num(struct out *o, const char *key, long long val)
{
	if (o->json)
		pg_json_int_field(&o->j, key, val);
	else
		put(o, "%s%s %lld", o->first ? "" : " ", key, val);
	o->first = false;
}

static void member_bool(struct out *o, const char *key, bool val)
{
	if (o->json)
		pg_json_bool_field(&o->j, key, val);
	else if (val)
		put(o, "%s%s", o->first ? "" : " ", key);
	o->first = false;
}

static void begin(struct out *o, const struct pg_event_fmt *f, char *buf, size_t size)
{
	*o = (struct out){ .json = f->json, .first = true };
	pg_out_buf(&o->o, buf, size);
	pg_json_init(&o->j, &o->o);
	if (o->json)
		pg_json_object_start(&o->j);
}

static int end(struct out *o)
{
	if (o->json)
		pg_json_object_end(&o->j);
	return o->o.full ? -ENOSPC : (int)o->o.len;
}

static void timestamp_member(struct out *o, long long realtime_ns)
{
	char ts[40];

	pg_rfc3339(realtime_ns, ts, sizeof(ts));
	if (o->json)
		member_str(o, "timestamp", ts);
	else
		member_str(o, NULL, ts);
}

/* "FILE:LINE" of the deciding rule, from pg_rule_meta; the slot's role when it has none. */
static void rule_source(const struct pg_event *e, const struct pg_event_fmt *f, char *buf,
			size_t size)
{
	struct pg_rule_meta m;
	int err = f->rule_meta ? f->rule_meta(f->ctx, e, &m) : -ENOENT;

	if (!err && m.src[0]) {
		snprintf(buf, size, "%.*s", (int)sizeof(m.src), m.src);
		return;
	}
	/* Never another policy's rule in the same slot: say what is known. */
	if (err == -ESTALE) {
		snprintf(buf, size, "slot %u of policy version %u (replaced before this event was "
			 "read)", e->rule_id, e->version);
		return;
	}
	if (e->rule_id == PG_RULE_DEFAULT_IN)
		snprintf(buf, size, "default in");
	else if (e->rule_id == PG_RULE_DEFAULT_OUT)
		snprintf(buf, size, "default out");
	else if (e->rule_id == PG_RULE_DENY_RAW)
		snprintf(buf, size, "deny raw");
	else
		snprintf(buf, size, "rule %u", e->rule_id);
}

int pg_event_format(const struct pg_event *e, const struct pg_event_fmt *f, char *buf,
		    size_t size)
{
	bool sock = e->hook != PG_HOOK_XDP;
	char addr[INET6_ADDRSTRLEN], tmp[512], protobuf[16];
	const char *mode, *proto;
	struct out o;

	begin(&o, f, buf, size);
	timestamp_member(&o, (long long)e->ts_ns + f->clock_offset_ns);
	if (e->action == PG_EV_ALLOWED)
		mode = "dry-run"; /* only dry-run lets a violation through */
	else if (e->action == PG_EV_LOGGED)
		mode = pg_mode_name(f->gen_mode[e->gen & 1]);
	else
		mode = "enforce";
	proto = pg_proto_name(e->proto);
	if (!proto) {
		snprintf(protobuf, sizeof(protobuf), "%u", e->proto);
		proto = protobuf;
	}
	if (o.json) {
		member_str(&o, "event_type", "violation");
		member_str(&o, "action", pg_ev_action_name(e->action));
		member_str(&o, "mode", mode);
		member_str(&o, "hook", pg_hook_name(e->hook));
		member_str(&o, "direction", pg_dir_name(e->dir));
		member_str(&o, "proto", proto);
	} else {
		put(&o, " %s%s %s %s %s", pg_ev_action_name(e->action),
		    e->action == PG_EV_ALLOWED ? " (dry-run)" : "", pg_hook_name(e->hook),
		    pg_dir_name(e->dir), proto);
		o.first = false;
	}
	/* A refused raw or packet socket has no addresses or ports: they are left out. A bind
	 * has no peer: only the local address it asked for is shown, as dest_ip/dest_port
	 * (the side an inbound packet is addressed to), and src_ip/src_port are left out. */
	if (e->hook == PG_HOOK_BIND) {
		pg_addr_format(e->daddr, addr, sizeof(addr));
		if (o.json) {
			member_str(&o, "dest_ip", addr);
			member_num(&o, "dest_port", e->dport);
		} else {
			put(&o, pg_addr_is_v4(e->daddr) ? " bind %s:%u" : " bind [%s]:%u", addr,
			    e->dport);
		}
	} else if (e->hook != PG_HOOK_SOCK_CREATE) {
		if (o.json) {
			pg_addr_format(e->saddr, addr, sizeof(addr));
			member_str(&o, "src_ip", addr);
			member_num(&o, "src_port", e->sport);
			pg_addr_format(e->daddr, addr, sizeof(addr));
			member_str(&o, "dest_ip", addr);
			member_num(&o, "dest_port", e->dport);
		} else {
			pg_addr_format(e->saddr, addr, sizeof(addr));
			put(&o, pg_addr_is_v4(e->saddr) ? " %s:%u" : " [%s]:%u", addr, e->sport);
			pg_addr_format(e->daddr, addr, sizeof(addr));
			put(&o, pg_addr_is_v4(e->daddr) ? " -> %s:%u" : " -> [%s]:%u", addr, e->dport);
		}
	}
	if (!sock) {
		char ifn[IF_NAMESIZE + 1] = "";

		if (!f->ifname || f->ifname(f->ctx, e->ifindex, ifn, sizeof(ifn)))
			snprintf(ifn, sizeof(ifn), "if%u", e->ifindex);
		member_str(&o, o.json ? "in_iface" : "iface", ifn);
	}
	rule_source(e, f, tmp, sizeof(tmp));
	member_str(&o, "rule", tmp);
	member_str(&o, "reason", pg_reason_name(e->reason));
	if (sock) {
		char comm[sizeof(e->comm) + 1];

		memcpy(comm, e->comm, sizeof(e->comm));
		comm[sizeof(e->comm)] = '\0';
		member_num(&o, "pid", e->pid);
		member_str_(&o, "comm", comm, true);
		member_num(&o, "uid", e->uid);
		if (!f->cgroup_path || f->cgroup_path(f->ctx, e->cgroup_id, tmp, sizeof(tmp)))
			snprintf(tmp, sizeof(tmp), "cgroup-id:%llu", (unsigned long long)e->cgroup_id);
		member_str_(&o, "cgroup", tmp, true);
	}
	return end(&o);
}

int pg_event_format_info(const char *event_type, const struct pg_stream_info *info,
			 long long now_ns, const struct pg_event_fmt *f, char *buf, size_t size)
{
	struct out o;
	size_t i;

	begin(&o, f, buf, size);
	timestamp_member(&o, now_ns);
	if (o.json)
		member_str(&o, "event_type", event_type);
	else
		member_str(&o, NULL, event_type);
	member_str(&o, "policy", info->policy ? info->policy : "");
	member_str(&o, "sha256", info->sha256 ? info->sha256 : "");
	member_str(&o, "mode", pg_mode_name(info->mode));
	member_num(&o, "rules", info->nrules);
	if (o.json) {
		pg_json_name(&o.j, "interfaces");
		pg_json_array_start(&o.j);
		for (i = 0; i < info->nifaces; i++)
			pg_json_str(&o.j, info->ifaces[i]);
		pg_json_array_end(&o.j);
	} else {
		put(&o, " interfaces ");
		for (i = 0; i < info->nifaces; i++) {
			put(&o, i ? "," : "");
			pg_escape_text(&o.o, info->ifaces[i], true);
		}
		if (!info->nifaces)
			put(&o, "none");
	}
	if (o.json || (info->cgroup && info->cgroup[0]))
		member_str(&o, "cgroup", info->cgroup ? info->cgroup : "");
	else
		put(&o, " cgroup none");
	member_str(&o, "pin_dir", info->pin_dir ? info->pin_dir : "");
	member_bool(&o, "takeover", info->takeover);
	member_num(&o, "flows_seeded", info->seeded);
	if (o.json) {
		pg_json_name(&o.j, "load_ms");
		pg_json_double(&o.j, "%.3f", info->load_ms);
	}
	else
		put(&o, " load_ms %.3f", info->load_ms);
	return end(&o);
}

int pg_event_format_suppressed(const __u64 delta[PG_EVS_MAX], long long now_ns,
			       const struct pg_event_fmt *f, char *buf, size_t size)
{
	__u64 count = delta[PG_EVS_RING_FULL] + delta[PG_EVS_RATE_LIMITED] + delta[PG_EVS_BUDGET];
	struct out o;

	begin(&o, f, buf, size);
	timestamp_member(&o, now_ns);
	if (o.json)
		member_str(&o, "event_type", "suppressed");
	else
		member_str(&o, NULL, "suppressed");
	member_num(&o, "count", (long long)count);
	member_num(&o, pg_event_stat_name(PG_EVS_RING_FULL), (long long)delta[PG_EVS_RING_FULL]);
	member_num(&o, pg_event_stat_name(PG_EVS_RATE_LIMITED),
		   (long long)delta[PG_EVS_RATE_LIMITED]);
	member_num(&o, pg_event_stat_name(PG_EVS_BUDGET), (long long)delta[PG_EVS_BUDGET]);
	return end(&o);
}

