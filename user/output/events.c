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

struct pg_stream {
	struct pg_stream_opts o;
	struct pg_event_fmt fmt;
	struct pg_event_fmt fmt_json; /* for the JSON sink when stdout is text */
	struct ring_buffer *rb;
	__u64 last[PG_EVS_MAX];
	long long next_tick_ns;
	int printed;
	struct pg_cgroup_names *cgroups;
	struct pg_rule_cache *rules;
};

static int meta_cb(void *ctx, const struct pg_event *e, struct pg_rule_meta *out)
{
	struct pg_stream *s = ctx;

	return pg_rule_cache_get(s->rules, e->gen, e->version, e->rule_id, out);
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
			s->fmt.gen_mode[g] = c.mode;
}

static void print_line(struct pg_stream *s, const char *line, int n)
{
	if (n < 0)
		return;
	fprintf(s->o.out, "%s\n", line);
	fflush(s->o.out);
	if (s->o.json && s->o.json_sink)
		s->o.json_sink(line);
}

/* The JSON sink gets its own rendering when stdout is text. */
static void sink_json(struct pg_stream *s, int n, const char *line)
{
	if (n >= 0 && !s->o.json && s->o.json_sink)
		s->o.json_sink(line);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct pg_stream *s = ctx;
	struct pg_event e = { 0 };
	char line[2048];

	/* A record from a newer or older build may differ in size: take what both know. */
	memcpy(&e, data, len < sizeof(e) ? len : sizeof(e));
	print_line(s, line, pg_event_format(&e, &s->fmt, line, sizeof(line)));
	if (!s->o.json && s->o.json_sink)
		sink_json(s, pg_event_format(&e, &s->fmt_json, line, sizeof(line)), line);
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
	refresh_modes(s);
	s->rules = pg_rule_cache_new(o->rule_meta_fd, o->config_fd);
	if (!s->rules) {
		pg_cgroup_names_free(s->cgroups);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->fmt_json = s->fmt;
	s->fmt_json.json = true;
	/* Suppressed counts are reported from now on, not those of an earlier run. */
	read_event_stats(o->event_stats_fd, s->last);
	s->next_tick_ns = pg_monotonic_ns() + 1000000000LL;
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
	char line[512];
	int i;

	if (read_event_stats(s->o.event_stats_fd, now))
		return;
	for (i = 0; i < PG_EVS_MAX; i++)
		delta[i] = now[i] >= s->last[i] ? now[i] - s->last[i] : now[i];
	memcpy(s->last, now, sizeof(now));
	if (delta[PG_EVS_RING_FULL] + delta[PG_EVS_RATE_LIMITED] + delta[PG_EVS_BUDGET]) {
		long long now_ns = pg_realtime_ns();

		print_line(s, line,
			   pg_event_format_suppressed(delta, now_ns, &s->fmt, line, sizeof(line)));
		if (!s->o.json && s->o.json_sink)
			sink_json(s, pg_event_format_suppressed(delta, now_ns, &s->fmt_json, line,
								sizeof(line)), line);
	}
	/* Follow wall clock steps (NTP) so timestamps stay right on a long run. */
	s->fmt.clock_offset_ns = pg_clock_offset_ns();
	s->fmt_json.clock_offset_ns = s->fmt.clock_offset_ns;
}

int pg_stream_poll(struct pg_stream *s, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN },
		{ .fd = s->o.extra_ready ? s->o.extra_fd : -1, .events = POLLIN },
	};
	long long now;
	int err = 0;

	s->printed = 0;
	/* One wait for the ring and the extra fd (poll skips a negative fd). */
	if (poll(pfd, 2, timeout_ms) < 0)
		err = -errno;
	if (err && err != -EINTR)
		return err;
	/* Copy the sources of a version a reload made since the last poll, before the reload
	 * after next overwrites them while its events may still be in the ring. */
	pg_rule_cache_refresh(s->rules);
	if (pfd[0].revents) {
		int r = ring_buffer__consume(s->rb);

		if (r < 0 && r != -EINTR)
			return r;
	}
	if (pfd[1].revents)
		s->o.extra_ready(s->o.extra_ctx);
	now = pg_monotonic_ns();
	if (now >= s->next_tick_ns) {
		/* Drain what is already in the ring first: events precede the count of those
		 * that did not fit. */
		ring_buffer__consume(s->rb);
		tick(s);
		s->next_tick_ns = now + 1000000000LL;
	}
	return err == -EINTR ? -EINTR : s->printed;
}

void pg_stream_info(struct pg_stream *s, const char *event_type, const struct pg_stream_info *i)
{
	long long now_ns = pg_realtime_ns();
	char line[4096];

	refresh_modes(s);
	s->fmt_json.gen_mode[0] = s->fmt.gen_mode[0];
	s->fmt_json.gen_mode[1] = s->fmt.gen_mode[1];
	print_line(s, line, pg_event_format_info(event_type, i, now_ns, &s->fmt, line, sizeof(line)));
	if (!s->o.json && s->o.json_sink)
		sink_json(s, pg_event_format_info(event_type, i, now_ns, &s->fmt_json, line,
						  sizeof(line)), line);
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
