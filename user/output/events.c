// SPDX-License-Identifier: GPL-2.0
/* The violation stream: the ring buffer consumer of one pinned state (see events.h). */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/clock.h"
#include "kernel/percpu.h"
#include "output/cgroup_path.h"
#include "output/events.h"
#include "output/rulemeta.h"

/* ---- the stream ---- */

/*
 * Interface names of recent events. if_indextoname() is a socket, an ioctl and a close:
 * three syscalls for every XDP event, most of run's time under a flood of them (measured on
 * 2026-12-02). A name is kept for a second at most, so a renamed interface shows under its
 * new name within a second; an index that does not resolve is not kept.
 */
#define IFNAME_SLOTS 8
#define IFNAME_TTL_NS 1000000000LL

struct ifname_slot {
	__u32 ifindex; /* 0: empty */
	char name[IF_NAMESIZE];
	long long until_ns;
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
	struct pg_cgroup_names *cgroups;
	struct pg_rule_cache *rules;
	struct ifname_slot ifnames[IFNAME_SLOTS];
	unsigned int ifname_next; /* the slot a miss replaces */
};

static int meta_cb(void *ctx, const struct pg_event *e, struct pg_rule_meta *out)
{
	struct pg_stream *s = ctx;

	return pg_rule_cache_get(s->rules, e->gen, e->version, e->rule_id, out);
}

static int ifname_cb(void *ctx, __u32 ifindex, char *buf, size_t size)
{
	struct pg_stream *s = ctx;
	long long now = pg_monotonic_ns();
	struct ifname_slot *sl;
	unsigned int i;

	for (i = 0; i < IFNAME_SLOTS; i++) {
		sl = &s->ifnames[i];
		if (sl->ifindex == ifindex && now < sl->until_ns) {
			snprintf(buf, size, "%s", sl->name);
			return 0;
		}
	}
	sl = &s->ifnames[s->ifname_next++ % IFNAME_SLOTS];
	if (!if_indextoname(ifindex, sl->name)) {
		sl->ifindex = 0;
		return -errno;
	}
	sl->ifindex = ifindex;
	sl->until_ns = now + IFNAME_TTL_NS;
	snprintf(buf, size, "%s", sl->name);
	return 0;
}

static int cgroup_cb(void *ctx, __u64 id, char *buf, size_t size)
{
	struct pg_stream *s = ctx;

	return pg_cgroup_path(s->cgroups, id, buf, size);
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

/* A record to render: a violation, a start/reload/monitor record, a suppressed count, a
 * change, an interface that is awaited, appeared or went. */
struct rec {
	const struct pg_event *e;
	const char *info_type;
	const struct pg_stream_info *info;
	const __u64 *delta;
	const struct pg_change_info *change;
	const char *iface, *iface_state, *iface_mode;
	int ifindex;
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
	if (r->iface)
		return pg_event_format_iface(r->iface, r->iface_state, r->ifindex, r->iface_mode,
					     r->now_ns, f, buf, size);
	return pg_event_format_suppressed(r->delta, r->now_ns, f, buf, size);
}

/* One record to every output: stdout in its format, the JSON sink, the subscribers (both
 * renderings). Each rendering is made once, and only if someone takes it. */
static void emit(struct pg_stream *s, const struct rec *r)
{
	char json[4096], text[4096];
	unsigned int wants = !s->o.record_sink ? 0 :
			     s->o.record_wants ? s->o.record_wants() :
						 PG_WANT_JSON | PG_WANT_TEXT;
	/* Each rendering only if someone reads it: with no text subscriber, rendering every
	 * event as text too was a third of run's formatting under a flood (2026-12-02). */
	bool want_json = s->o.json || s->o.json_sink || (wants & PG_WANT_JSON);
	bool want_text = !s->o.json || (wants & PG_WANT_TEXT);
	int nj = -1, nt = -1, n;
	char *line;

	if (want_json)
		nj = render(r, &s->fmt_json, json, sizeof(json) - 1);
	if (want_text)
		nt = render(r, &s->fmt_text, text, sizeof(text) - 1);
	line = s->o.json ? json : text;
	n = s->o.json ? nj : nt;
	if (n >= 0) {
		if (s->o.out_sink) {
			line[n] = '\n';
			s->o.out_sink(line, n + 1);
			line[n] = '\0';
		} else {
			fprintf(s->o.out, "%s\n", line);
			fflush(s->o.out);
		}
	}
	if (nj >= 0 && s->o.json_sink)
		s->o.json_sink(json);
	if (wants && (nj >= 0 || nt >= 0))
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

/* The per-CPU event accounting counters, summed. */
static int read_event_stats(int fd, __u64 sum[PG_EVS_MAX])
{
	for (__u32 i = 0; i < PG_EVS_MAX; i++)
		if (pg_percpu_u64(fd, i, &sum[i]))
			sum[i] = 0;
	return 0;
}

struct pg_stream *pg_stream_new(const struct pg_stream_opts *o)
{
	struct pg_stream *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->cgroups = pg_cgroup_names_new();
	if (!s->cgroups) {
		free(s);
		return NULL;
	}
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
	s->rules = pg_rule_cache_new(o->rule_meta_fd, o->config_fd);
	if (!s->rules) {
		pg_cgroup_names_free(s->cgroups);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->fmt_json = s->fmt;
	s->fmt_json.json = true;
	s->fmt_text = s->fmt;
	s->fmt_text.json = false;
	refresh_modes(s);
	/* Suppressed counts are reported from now on, not those of an earlier run. */
	read_event_stats(o->event_stats_fd, s->last);
	s->next_tick_ns = pg_monotonic_ns() + 1000000000LL;
	s->consume = !o->no_consume;
	s->rb = ring_buffer__new(o->events_fd, handle_event, s, NULL);
	if (!s->rb) {
		err = errno;
		pg_rule_cache_free(s->rules);
		pg_cgroup_names_free(s->cgroups);
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

/* What the ring holds now, as one batch for the sinks. */
static int consume(struct pg_stream *s)
{
	int r;

	if (s->o.batch)
		s->o.batch(true);
	r = ring_buffer__consume(s->rb);
	if (s->o.batch)
		s->o.batch(false);
	return r;
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
	/* Copy the sources of a version a reload made since the last poll, before the reload
	 * after next overwrites them while its events may still be in the ring. */
	pg_rule_cache_refresh(s->rules);
	if (s->consume && pfd[0].revents) {
		int r = consume(s);

		if (r < 0 && r != -EINTR)
			return r;
	}
	if (pfd[1].revents)
		s->o.extra_ready(s->o.extra_ctx);
	for (k = 0; k < PG_STREAM_MORE; k++)
		if (pfd[2 + k].revents)
			s->o.more[k].ready(s->o.more[k].ctx);
	now = pg_monotonic_ns();
	if (s->consume && now >= s->next_tick_ns) {
		/* Drain what is already in the ring first: events precede the count of those
		 * that did not fit. */
		consume(s);
		tick(s);
		s->next_tick_ns = now + 1000000000LL;
	}
	return err == -EINTR ? -EINTR : s->printed;
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

void pg_stream_consume(struct pg_stream *s, bool on)
{
	/* Whatever is in the ring now is read before a hand-over. */
	if (s->consume && !on)
		consume(s);
	s->consume = on;
}

void pg_stream_iface(struct pg_stream *s, const char *name, const char *state, int ifindex,
		     const char *ifmode)
{
	emit(s, &(struct rec){ .iface = name, .iface_state = state, .ifindex = ifindex,
			       .iface_mode = ifmode, .now_ns = pg_realtime_ns() });
}

void pg_stream_free(struct pg_stream *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	pg_rule_cache_free(s->rules);
	pg_cgroup_names_free(s->cgroups);
	free(s);
}
