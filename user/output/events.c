// SPDX-License-Identifier: GPL-2.0
/*
 * The violation stream (see events.h). Formatting first, pure and tested without root; then
 * the ring buffer consumer that reads the pinned maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include "output/cgpath.h"
#include "output/events.h"
#include "output/names.h"
#include "common/util.h"

/* A line being built: appends stop at the end of buf and set full. */
struct out {
	char *buf;
	size_t size, len;
	bool full;
	bool json;
	bool first; /* no JSON member written yet */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = true;
		return;
	}
	o->len += n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * A string value, escaped for its output. JSON: quotes, backslash and control characters
 * escaped, and bytes that are not UTF-8 (a comm or a path can hold any byte) replaced by
 * U+FFFD so that every record stays valid JSON. Text: non-printable bytes as \xHH so that a
 * hostile comm cannot drive the terminal.
 */
static void put_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;

	if (o->json)
		put(o, "\"");
	while (n) {
		if (o->json) {
			if (*p == '"' || *p == '\\')
				put(o, "\\%c", *p);
			else if (*p == '\n')
				put(o, "\\n");
			else if (*p == '\t')
				put(o, "\\t");
			else if (*p < 0x20 || *p == 0x7f)
				put(o, "\\u%04x", *p);
			else if ((l = utf8_len(p, n)) > 0) {
				put(o, "%.*s", (int)l, (const char *)p);
				p += l, n -= l;
				continue;
			} else
				put(o, "\\ufffd");
		} else {
			if (*p < 0x20 || *p >= 0x7f || *p == '\\')
				put(o, "\\x%02x", *p);
			else
				put(o, "%c", *p);
		}
		p++, n--;
	}
	if (o->json)
		put(o, "\"");
}

/* A member: JSON ,"key":"value"; text " key value" (key NULL: the value alone). */
static void member_str(struct out *o, const char *key, const char *val)
{
	if (o->json) {
		put(o, "%s\"%s\":", o->first ? "" : ",", key);
		put_str(o, val);
	} else {
		put(o, "%s", o->first ? "" : " ");
		if (key)
			put(o, "%s ", key);
		put_str(o, val);
	}
	o->first = false;
}

static void member_num(struct out *o, const char *key, long long val)
{
	if (o->json)
		put(o, "%s\"%s\":%lld", o->first ? "" : ",", key, val);
	else
		put(o, "%s%s %lld", o->first ? "" : " ", key, val);
	o->first = false;
}

static void member_bool(struct out *o, const char *key, bool val)
{
	if (o->json)
		put(o, "%s\"%s\":%s", o->first ? "" : ",", key, val ? "true" : "false");
	else if (val)
		put(o, "%s%s", o->first ? "" : " ", key);
	o->first = false;
}

static void begin(struct out *o, const struct pg_event_fmt *f, char *buf, size_t size)
{
	*o = (struct out){ .buf = buf, .size = size, .json = f->json, .first = true };
	if (size)
		buf[0] = '\0';
	if (o->json)
		put(o, "{");
}

static int end(struct out *o)
{
	if (o->json)
		put(o, "}");
	return o->full ? -ENOSPC : (int)o->len;
}

int pg_format_timestamp(long long realtime_ns, char *buf, size_t size)
{
	time_t sec = realtime_ns / 1000000000LL;
	long usec = (realtime_ns % 1000000000LL) / 1000;
	struct tm tm;
	int n;

	if (realtime_ns < 0)
		sec = 0, usec = 0;
	if (!gmtime_r(&sec, &tm))
		return -EINVAL;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

void pg_format_addr(const __u8 addr[16], char *buf, size_t size)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(addr, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, addr + 12, buf, size);
	else
		inet_ntop(AF_INET6, addr, buf, size);
}

static void timestamp_member(struct out *o, long long realtime_ns)
{
	char ts[40];

	pg_format_timestamp(realtime_ns, ts, sizeof(ts));
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

	if (f->rule_meta && !f->rule_meta(f->ctx, e->gen, e->rule_id, &m) && m.src[0]) {
		snprintf(buf, size, "%.*s", (int)sizeof(m.src), m.src);
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
	/* A refused raw or packet socket has no addresses or ports: they are left out. */
	if (e->hook != PG_HOOK_SOCK_CREATE) {
		if (o.json) {
			pg_format_addr(e->saddr, addr, sizeof(addr));
			member_str(&o, "src_ip", addr);
			member_num(&o, "src_port", e->sport);
			pg_format_addr(e->daddr, addr, sizeof(addr));
			member_str(&o, "dest_ip", addr);
			member_num(&o, "dest_port", e->dport);
		} else {
			bool v6 = memcmp(e->saddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0;

			pg_format_addr(e->saddr, addr, sizeof(addr));
			put(&o, v6 ? " [%s]:%u" : " %s:%u", addr, e->sport);
			v6 = memcmp(e->daddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0;
			pg_format_addr(e->daddr, addr, sizeof(addr));
			put(&o, v6 ? " -> [%s]:%u" : " -> %s:%u", addr, e->dport);
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
		member_str(&o, "comm", comm);
		member_num(&o, "uid", e->uid);
		if (!f->cgroup_path || f->cgroup_path(f->ctx, e->cgroup_id, tmp, sizeof(tmp)))
			snprintf(tmp, sizeof(tmp), "cgroup-id:%llu", (unsigned long long)e->cgroup_id);
		member_str(&o, "cgroup", tmp);
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
		put(&o, ",\"interfaces\":[");
		for (i = 0; i < info->nifaces; i++) {
			put(&o, i ? "," : "");
			put_str(&o, info->ifaces[i]);
		}
		put(&o, "]");
	} else {
		put(&o, " interfaces ");
		for (i = 0; i < info->nifaces; i++) {
			put(&o, i ? "," : "");
			put_str(&o, info->ifaces[i]);
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
	if (o.json)
		put(&o, ",\"load_ms\":%.3f", info->load_ms);
	else
		put(&o, " load_ms %.3f", info->load_ms);
	return end(&o);
}

int pg_event_format_change(const struct pg_change_info *c, long long now_ns,
			   const struct pg_event_fmt *f, char *buf, size_t size)
{
	char ts[40];
	struct out o;

	begin(&o, f, buf, size);
	timestamp_member(&o, now_ns);
	if (o.json)
		member_str(&o, "event_type", "change");
	else
		member_str(&o, NULL, "change");
	member_str(&o, "state", c->state);
	member_str(&o, "policy", c->policy ? c->policy : "");
	member_str(&o, "sha256", c->sha256 ? c->sha256 : "");
	member_str(&o, "previous_policy", c->previous_policy ? c->previous_policy : "");
	member_str(&o, "previous_sha256", c->previous_sha256 ? c->previous_sha256 : "");
	pg_format_timestamp(c->deadline_ns, ts, sizeof(ts));
	member_str(&o, "deadline", ts);
	member_num(&o, "confirm_seconds", c->seconds);
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

long long pg_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long pg_clock_offset_ns(void)
{
	/* Bracket the realtime read with two monotonic reads: the offset errs by at most the
	 * time between them, a microsecond or so. */
	long long m1 = monotonic_ns(), r = pg_realtime_ns(), m2 = monotonic_ns();

	return r - (m1 + (m2 - m1) / 2);
}

/* ---- the stream ---- */

#define CG_CACHE 256

struct cg_entry {
	__u64 id;
	char *path; /* relative to the cgroup2 root, "/" for the root; NULL: not found */
};

struct pg_stream {
	struct pg_stream_opts o;
	struct pg_event_fmt fmt;
	struct pg_event_fmt fmt_json, fmt_text; /* fmt's settings in each format */
	struct ring_buffer *rb;
	__u64 last[PG_EVS_MAX];
	long long next_tick_ns;
	int printed;
	bool consume; /* reading the ring (pg_stream_consume) */
	struct cg_entry cg[CG_CACHE];
	unsigned cg_next;
};

static int meta_cb(void *ctx, __u32 gen, __u32 rule_id, struct pg_rule_meta *out)
{
	struct pg_stream *s = ctx;
	__u32 key = (gen & 1) * PG_MAX_RULES + rule_id;

	if (rule_id >= PG_MAX_RULES)
		return -ENOENT;
	return bpf_map_lookup_elem(s->o.rule_meta_fd, &key, out) ? -errno : 0;
}

static int ifname_cb(void *ctx, __u32 ifindex, char *buf, size_t size)
{
	char name[IF_NAMESIZE];

	(void)ctx;
	if (!if_indextoname(ifindex, name))
		return -errno;
	snprintf(buf, size, "%s", name);
	return 0;
}

/*
 * The cgroup v2 path of an event's cgroup id, opened by id (cgpath.h). Results, misses
 * included, are cached: events come in bursts from one service.
 */
static int cgroup_cb(void *ctx, __u64 id, char *buf, size_t size)
{
	struct pg_stream *s = ctx;
	char path[4096];
	struct cg_entry *e;
	unsigned i;

	for (i = 0; i < CG_CACHE; i++) {
		if (s->cg[i].id == id && id) {
			if (!s->cg[i].path)
				return -ENOENT;
			snprintf(buf, size, "%s", s->cg[i].path);
			return 0;
		}
	}
	e = &s->cg[s->cg_next++ % CG_CACHE];
	free(e->path);
	e->id = id;
	e->path = pg_cgroup_path(id, path, sizeof(path)) ? NULL : strdup(path);
	if (!e->path)
		return -ENOENT;
	snprintf(buf, size, "%s", e->path);
	return 0;
}

static void refresh_modes(struct pg_stream *s)
{
	struct pg_config c;
	__u32 g;

	for (g = 0; g < PG_NGEN; g++)
		if (!bpf_map_lookup_elem(s->o.config_fd, &g, &c))
			s->fmt.gen_mode[g] = s->fmt_json.gen_mode[g] = s->fmt_text.gen_mode[g] =
				c.mode;
}

/* A record to render: a violation, a start/reload/monitor record, or a suppressed count. */
struct rec {
	const struct pg_event *e;
	const char *info_type;
	const struct pg_stream_info *info;
	const __u64 *delta;
	const struct pg_change_info *change;
	long long now_ns;
};

static int render(const struct rec *r, const struct pg_event_fmt *f, char *buf, size_t size)
{
	if (r->e)
		return pg_event_format(r->e, f, buf, size);
	if (r->info)
		return pg_event_format_info(r->info_type, r->info, r->now_ns, f, buf, size);
	if (r->change)
		return pg_event_format_change(r->change, r->now_ns, f, buf, size);
	return pg_event_format_suppressed(r->delta, r->now_ns, f, buf, size);
}

/* One record to every output: stdout in its format, the JSON sink, the subscribers (both
 * renderings). Each rendering is made once, and only if someone takes it. */
static void emit(struct pg_stream *s, const struct rec *r)
{
	char json[4096], text[4096];
	bool want_json = s->o.json || s->o.json_sink || s->o.record_sink;
	bool want_text = !s->o.json || s->o.record_sink;
	int nj = -1, nt = -1;
	const char *line;
	int n;

	if (want_json)
		nj = render(r, &s->fmt_json, json, sizeof(json) - 1);
	if (want_text)
		nt = render(r, &s->fmt_text, text, sizeof(text) - 1);
	line = s->o.json ? json : text;
	n = s->o.json ? nj : nt;
	if (n >= 0) {
		if (s->o.out_sink) {
			char *l = (char *)line;

			l[n] = '\n';
			s->o.out_sink(l, n + 1);
			l[n] = '\0';
		} else {
			fprintf(s->o.out, "%s\n", line);
			fflush(s->o.out);
		}
	}
	if (nj >= 0 && s->o.json_sink)
		s->o.json_sink(json);
	if (s->o.record_sink && (nj >= 0 || nt >= 0))
		s->o.record_sink(nj >= 0 ? json : NULL, nt >= 0 ? text : NULL);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct pg_stream *s = ctx;
	struct pg_event e = { 0 };

	/* A record from a newer or older build may differ in size: take what both know. */
	memcpy(&e, data, len < sizeof(e) ? len : sizeof(e));
	emit(s, &(struct rec){ .e = &e });
	s->printed++;
	return 0;
}

/* Sum of the per-CPU event accounting counters. */
static int read_event_stats(int fd, __u64 sum[PG_EVS_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), i, c;
	__u64 *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < PG_EVS_MAX; i++) {
		__u32 k = i;

		sum[i] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < ncpu; c++)
			sum[i] += v[c];
	}
	free(v);
	return 0;
}

struct pg_stream *pg_stream_new(const struct pg_stream_opts *o)
{
	struct pg_stream *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->o = *o;
	if (!s->o.out)
		s->o.out = stdout;
	s->fmt = (struct pg_event_fmt){
		.json = o->json,
		.clock_offset_ns = pg_clock_offset_ns(),
		.rule_meta = meta_cb,
		.ifname = ifname_cb,
		.cgroup_path = cgroup_cb,
		.ctx = s,
	};
	refresh_modes(s);
	s->fmt_json = s->fmt;
	s->fmt_json.json = true;
	s->fmt_text = s->fmt;
	s->fmt_text.json = false;
	/* Suppressed counts are reported from now on, not those of an earlier run. */
	read_event_stats(o->event_stats_fd, s->last);
	s->next_tick_ns = monotonic_ns() + 1000000000LL;
	s->consume = !o->no_consume;
	s->rb = ring_buffer__new(o->events_fd, handle_event, s, NULL);
	if (!s->rb) {
		err = errno;
		free(s);
		errno = err;
		return NULL;
	}
	return s;
}

static void tick(struct pg_stream *s)
{
	__u64 now[PG_EVS_MAX], delta[PG_EVS_MAX];
	int i;

	if (read_event_stats(s->o.event_stats_fd, now))
		return;
	for (i = 0; i < PG_EVS_MAX; i++)
		delta[i] = now[i] >= s->last[i] ? now[i] - s->last[i] : now[i];
	memcpy(s->last, now, sizeof(now));
	if (delta[PG_EVS_RING_FULL] + delta[PG_EVS_RATE_LIMITED] + delta[PG_EVS_BUDGET])
		emit(s, &(struct rec){ .delta = delta, .now_ns = pg_realtime_ns() });
	/* Follow wall clock steps (NTP) so timestamps stay right on a long run. */
	s->fmt.clock_offset_ns = pg_clock_offset_ns();
	s->fmt_json.clock_offset_ns = s->fmt.clock_offset_ns;
	s->fmt_text.clock_offset_ns = s->fmt.clock_offset_ns;
}

int pg_stream_poll(struct pg_stream *s, int timeout_ms)
{
	struct pollfd pfd[2 + PG_STREAM_MORE] = {
		{ .fd = s->consume ? ring_buffer__epoll_fd(s->rb) : -1, .events = POLLIN },
		{ .fd = s->o.extra_ready ? s->o.extra_fd : -1, .events = POLLIN },
	};
	long long now;
	int err = 0, k;

	s->printed = 0;
	for (k = 0; k < PG_STREAM_MORE; k++)
		pfd[2 + k] = (struct pollfd){ .fd = s->o.more[k].ready ? s->o.more[k].fd : -1,
					      .events = POLLIN };
	/* One wait for the ring and the extra fds (poll skips a negative fd). */
	if (poll(pfd, 2 + PG_STREAM_MORE, timeout_ms) < 0)
		err = -errno;
	if (err && err != -EINTR)
		return err;
	if (s->consume && pfd[0].revents) {
		int r = ring_buffer__consume(s->rb);

		if (r < 0 && r != -EINTR)
			return r;
	}
	if (pfd[1].revents)
		s->o.extra_ready(s->o.extra_ctx);
	for (k = 0; k < PG_STREAM_MORE; k++)
		if (pfd[2 + k].revents)
			s->o.more[k].ready(s->o.more[k].ctx);
	now = monotonic_ns();
	if (s->consume && now >= s->next_tick_ns) {
		/* Drain what is already in the ring first: events precede the count of those
		 * that did not fit. */
		ring_buffer__consume(s->rb);
		tick(s);
		s->next_tick_ns = now + 1000000000LL;
	}
	return err == -EINTR ? -EINTR : s->printed;
}

void pg_stream_consume(struct pg_stream *s, bool on)
{
	/* Whatever is in the ring now is read before a hand-over. */
	if (s->consume && !on)
		ring_buffer__consume(s->rb);
	s->consume = on;
}

void pg_stream_info(struct pg_stream *s, const char *event_type, const struct pg_stream_info *i)
{
	refresh_modes(s);
	emit(s, &(struct rec){ .info_type = event_type, .info = i, .now_ns = pg_realtime_ns() });
}

void pg_stream_change(struct pg_stream *s, const struct pg_change_info *c)
{
	emit(s, &(struct rec){ .change = c, .now_ns = pg_realtime_ns() });
}

void pg_stream_free(struct pg_stream *s)
{
	int i;

	if (!s)
		return;
	ring_buffer__free(s->rb);
	for (i = 0; i < CG_CACHE; i++)
		free(s->cg[i].path);
	free(s);
}
