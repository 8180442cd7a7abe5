// SPDX-License-Identifier: GPL-2.0
/* Every option of every command, defined once (see options.h). */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "cmd/options.h"
#include "common/util.h"
#include "output/stderr.h"

/* "1048576", "64K", "100M", "1G": binary multiples, as logrotate's size does. */
static int parse_size(const char *arg, __u64 *out)
{
	unsigned long long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		mult = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mult = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mult = 1ull << 30;
	else if (*end)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v > ~0ull / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

struct opt_def {
	const char *name;
	const char *arg; /* the value's name in usage; NULL: takes none */
	/* Check arg and store it in cl; 0, or -EINVAL after a message. */
	int (*set)(struct pg_cmdline *cl, const char *arg);
};

static int set_iface(struct pg_cmdline *cl, const char *arg)
{
	struct pg_up_opts *o = &cl->up;

	if (o->nifaces >= PG_MAX_IFACES) {
		fprintf(stderr, "portguard: at most %d interfaces\n", PG_MAX_IFACES);
		return -EINVAL;
	}
	if (!*arg || strlen(arg) >= IF_NAMESIZE) {
		fprintf(stderr, "portguard: '%s' is not an interface name\n", arg);
		return -EINVAL;
	}
	o->ifaces[o->nifaces++] = arg;
	return 0;
}

static int set_cgroup(struct pg_cmdline *cl, const char *arg)
{
	cl->up.cgroup = arg;
	return 0;
}

static int set_no_cgroup(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->up.no_cgroup = true;
	return 0;
}

static int set_pin_dir(struct pg_cmdline *cl, const char *arg)
{
	cl->up.pin_dir = arg;
	return 0;
}

static int set_xdp_mode(struct pg_cmdline *cl, const char *arg)
{
	if (!strcmp(arg, "auto"))
		cl->up.xdp_mode = PG_XDP_AUTO;
	else if (!strcmp(arg, "native") || !strcmp(arg, "drv"))
		cl->up.xdp_mode = PG_XDP_NATIVE;
	else if (!strcmp(arg, "frags"))
		cl->up.xdp_mode = PG_XDP_FRAGS;
	else if (!strcmp(arg, "skb") || !strcmp(arg, "generic"))
		cl->up.xdp_mode = PG_XDP_SKB;
	else if (!strcmp(arg, "tc"))
		cl->up.xdp_mode = PG_XDP_TC;
	else {
		fprintf(stderr, "portguard: --xdp-mode is auto, native, frags, skb or tc, not "
				"'%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int set_max_flows(struct pg_cmdline *cl, const char *arg)
{
	long long v;

	if (pg_parse_ll(arg, PG_MAX_FLOWS_MIN, PG_MAX_FLOWS_MAX, &v)) {
		fprintf(stderr, "portguard: --max-flows is a number of flows, %d-%d, not '%s'\n",
			PG_MAX_FLOWS_MIN, PG_MAX_FLOWS_MAX, arg);
		return -EINVAL;
	}
	cl->up.max_flows = v;
	return 0;
}

static int set_flow_timeouts(struct pg_cmdline *cl, const char *arg)
{
	return pg_flow_timeouts_parse(arg, &cl->up.enforce);
}

static int set_await_missing(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->up.await = true;
	return 0;
}

static int set_dry_run(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->up.enforce.dry_run = true;
	return 0;
}

static int set_json(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->json = true;
	/* Whatever the command writes is JSON then, its diagnostics on stderr too. */
	pg_stderr_json(true);
	return 0;
}

static int set_prometheus(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->prometheus = true;
	return 0;
}

static int set_keep(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->keep = true;
	return 0;
}

static int set_rate_window(struct pg_cmdline *cl, const char *arg)
{
	long long v;

	if (pg_parse_ll(arg, 0, 3600000, &v)) {
		fprintf(stderr, "portguard: --rate-window is milliseconds, 0-3600000, not '%s'\n",
			arg);
		return -EINVAL;
	}
	cl->up.enforce.ratelimit_ms = v;
	return 0;
}

static int set_rate_limit(struct pg_cmdline *cl, const char *arg)
{
	long long v;

	if (pg_parse_ll(arg, 0, 10000000, &v)) {
		fprintf(stderr, "portguard: --rate-limit is events per second and CPU, 0-10000000 "
				"(0: unlimited), not '%s'\n", arg);
		return -EINVAL;
	}
	cl->up.enforce.events_per_sec = v;
	return 0;
}

static int set_no_events(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->up.enforce.no_events = true;
	return 0;
}

static int set_metrics(struct pg_cmdline *cl, const char *arg)
{
	if (pg_metrics_addr_check(arg))
		return -EINVAL;
	cl->ops.metrics = arg;
	return 0;
}

static int set_log_file(struct pg_cmdline *cl, const char *arg)
{
	cl->ops.log.file = arg;
	return 0;
}

static int set_log_max_size(struct pg_cmdline *cl, const char *arg)
{
	if (parse_size(arg, &cl->ops.log.max_size)) {
		fprintf(stderr, "portguard: bad --log-max-size '%s' (bytes, or with K, M, G; 0 "
				"turns rotation off)\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int set_log_keep(struct pg_cmdline *cl, const char *arg)
{
	long long v;

	if (pg_parse_ll(arg, 0, 1000, &v)) {
		fprintf(stderr, "portguard: bad --log-keep '%s' (0-1000 rotated files)\n", arg);
		return -EINVAL;
	}
	cl->ops.log.keep = v;
	return 0;
}

static int set_syslog(struct pg_cmdline *cl, const char *arg)
{
	(void)arg;
	cl->ops.log.syslog = true;
	return 0;
}

static int set_syslog_socket(struct pg_cmdline *cl, const char *arg)
{
	cl->ops.log.syslog = true;
	cl->ops.log.syslog_path = arg;
	return 0;
}

static int set_monitor_buffer(struct pg_cmdline *cl, const char *arg)
{
	if (pg_parse_ll(arg, 4096, 1LL << 30, &cl->monitor_buffer)) {
		fprintf(stderr, "portguard: --monitor-buffer is bytes, 4096-1073741824, not '%s'\n",
			arg);
		return -EINVAL;
	}
	return 0;
}

static int set_confirm(struct pg_cmdline *cl, const char *arg)
{
	if (pg_parse_ll(arg, 1, 86400, &cl->confirm)) {
		fprintf(stderr, "portguard: --confirm is seconds, 1-86400, not '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

static const struct opt_def defs[PG_OPT_MAX - PG_OPT_IFACE] = {
#define D(id, n, a, fn) [id - PG_OPT_IFACE] = { n, a, fn }
	D(PG_OPT_IFACE, "iface", "IF", set_iface),
	D(PG_OPT_CGROUP, "cgroup", "DIR", set_cgroup),
	D(PG_OPT_NO_CGROUP, "no-cgroup", NULL, set_no_cgroup),
	D(PG_OPT_PIN_DIR, "pin-dir", "DIR", set_pin_dir),
	D(PG_OPT_XDP_MODE, "xdp-mode", "auto|native|frags|skb|tc", set_xdp_mode),
	D(PG_OPT_DRY_RUN, "dry-run", NULL, set_dry_run),
	D(PG_OPT_JSON, "json", NULL, set_json),
	D(PG_OPT_PROMETHEUS, "prometheus", NULL, set_prometheus),
	D(PG_OPT_KEEP, "keep", NULL, set_keep),
	D(PG_OPT_RATE_WINDOW, "rate-window", "MS", set_rate_window),
	D(PG_OPT_RATE_LIMIT, "rate-limit", "N", set_rate_limit),
	D(PG_OPT_NO_EVENTS, "no-events", NULL, set_no_events),
	D(PG_OPT_METRICS, "metrics", "ADDR:PORT", set_metrics),
	D(PG_OPT_LOG_FILE, "log-file", "PATH", set_log_file),
	D(PG_OPT_LOG_MAX_SIZE, "log-max-size", "BYTES", set_log_max_size),
	D(PG_OPT_LOG_KEEP, "log-keep", "N", set_log_keep),
	D(PG_OPT_SYSLOG, "syslog", NULL, set_syslog),
	D(PG_OPT_MONITOR_BUFFER, "monitor-buffer", "BYTES", set_monitor_buffer),
	D(PG_OPT_CONFIRM, "confirm", "SECONDS", set_confirm),
	D(PG_OPT_SYSLOG_SOCKET, "syslog-socket", "PATH", set_syslog_socket),
	D(PG_OPT_MAX_FLOWS, "max-flows", "N", set_max_flows),
	D(PG_OPT_FLOW_TIMEOUTS, "flow-timeouts", "tcp=5d,tcp-fin=2m,tcp-rst=10s,udp=2m",
	  set_flow_timeouts),
	D(PG_OPT_AWAIT_MISSING, "await-missing", NULL, set_await_missing),
#undef D
};

static const struct opt_def *def_of(enum pg_opt_id id)
{
	return &defs[id - PG_OPT_IFACE];
}

void pg_usage_print(const struct pg_command *c, FILE *f)
{
	fprintf(f, "usage: portguard %s%s%s", c->name, c->args && *c->args ? " " : "",
		c->args ? c->args : "");
	for (const enum pg_opt_id *o = c->opts; o && *o; o++) {
		const struct opt_def *d = def_of(*o);

		fprintf(f, " [--%s%s%s]%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "",
			*o == PG_OPT_IFACE ? "..." : "");
	}
	fputc('\n', f);
}

int pg_cmdline_parse(const struct pg_command *c, int argc, char **argv, struct pg_cmdline *cl)
{
	struct option longopts[PG_OPT_MAX - PG_OPT_IFACE + 1];
	const char *pin;
	size_t n = 0;
	int opt;

	memset(cl, 0, sizeof(*cl));
	cl->up.enforce.ratelimit_ms = -1;
	cl->up.enforce.events_per_sec = -1;
	cl->ops.log.max_size = PG_LOG_DEFAULT_MAX_SIZE;
	cl->ops.log.keep = PG_LOG_DEFAULT_KEEP;
	for (const enum pg_opt_id *o = c->opts; o && *o; o++) {
		const struct opt_def *d = def_of(*o);

		longopts[n++] = (struct option){ d->name, d->arg ? required_argument : no_argument,
						 NULL, *o };
	}
	longopts[n] = (struct option){ 0 };
	optind = 1;
	/* ":" first: a missing value is told apart from an unknown option. */
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (opt == '?') {
			fprintf(stderr, "portguard: %s takes no option %s\n", c->name,
				argv[optind - 1]);
			goto usage;
		}
		if (opt == ':') {
			fprintf(stderr, "portguard: %s needs a value\n", argv[optind - 1]);
			goto usage;
		}
		if (def_of(opt)->set(cl, optarg))
			return 2;
	}
	cl->args = argv + optind;
	cl->nargs = argc - optind;
	if (cl->nargs < c->min_args || (c->max_args >= 0 && cl->nargs > c->max_args))
		goto usage;
	if (cl->up.cgroup && cl->up.no_cgroup) {
		fprintf(stderr, "portguard: --cgroup and --no-cgroup exclude each other\n");
		return 2;
	}
	if (cl->json && cl->prometheus) {
		fprintf(stderr, "portguard: --json and --prometheus exclude each other\n");
		return 2;
	}
	pin = cl->up.pin_dir ? cl->up.pin_dir : PG_PIN_DIR_DEFAULT;
	if (pg_abs_path(pin, cl->pin_dir, sizeof(cl->pin_dir))) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", pin, strerror(ENAMETOOLONG));
		return 2;
	}
	return 0;
usage:
	pg_usage_print(c, stderr);
	return 2;
}

int pg_ops_start(const struct pg_ops_opts *o)
{
	struct pg_logsink_opts log = o->log;
	int err;

	/* run and monitor: the file is written by a thread of its own (logsink.h). */
	log.async = true;
	err = pg_logsink_open(&log);
	if (err)
		return err;
	if (o->metrics) {
		err = pg_metrics_open(o->metrics);
		if (err) {
			pg_logsink_close();
			return err;
		}
	}
	return 0;
}

void pg_ops_stop(void)
{
	pg_metrics_close();
	pg_logsink_close();
}
