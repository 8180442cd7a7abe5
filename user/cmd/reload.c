// SPDX-License-Identifier: GPL-2.0
/* `portguard reload POLICY`: swap the policy of the pinned state, atomically. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd/command.h"
#include "common/clock.h"
#include "common/util.h"
#include "kernel/confirm.h"
#include "kernel/bringup.h"
#include "output/fanout.h"
#include "output/stderr.h"

/*
 * Record the change and make sure something will roll it back, before anything is written:
 * the daemon serving this pin directory keeps the timer in its event loop; without one, a
 * detached keeper of its own. Either survives this process and its session.
 */
static int begin_change(const struct pg_maps *m, const char *dir, long long seconds,
			struct pg_pending *p)
{
	char sock[PATH_MAX];
	int err, keeper = 0;

	err = pg_change_begin(m, dir, seconds, p);
	if (err)
		return err;
	err = pg_run_path(dir, "sock", sock, sizeof(sock));
	if (err)
		return err;
	if (!pg_fanout_serving(sock)) {
		keeper = pg_change_keeper(dir, p->id, p->deadline_boot_ns);
		if (keeper < 0) {
			fprintf(stderr, "portguard: failed to start the rollback keeper: %s; "
					"nothing changed\n", strerror(-keeper));
			return keeper;
		}
	}
	p->keeper = keeper;
	return pg_change_record(dir, p);
}

static void say_deadline(const struct pg_pending *p, const char *dir)
{
	char when[40];

	pg_rfc3339(p->deadline_ns, when, sizeof(when));
	fprintf(stderr, "portguard: the change is rolled back at %s (in %u s) unless `portguard "
			"confirm%s%s` runs before; %s keeps the timer\n", when, p->seconds,
		strcmp(dir, PG_PIN_DIR_DEFAULT) ? " --pin-dir " : "",
		strcmp(dir, PG_PIN_DIR_DEFAULT) ? dir : "",
		p->keeper ? "a detached process" : "the daemon");
}

/* Is links/NAME pinned under the pin directory? */
static bool pg_pinned_link(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/links/%s", dir, name);
	return !access(path, F_OK);
}

static int cmd_reload(int argc, char **argv)
{
	struct pg_enforce_opts o;
	struct pg_maps m = { .owned = false };
	struct pg_cmdline cl;
	const char *dir = cl.pin_dir;
	struct pg_policy_src src = { 0 };
	struct pg_enforced done;
	struct pg_config cur = { .mode = 0xff };
	int lock = -1, r, status = 1;
	long long confirm = 0;
	struct pg_pending change;
	__u32 gen;

	r = pg_cmdline_parse(&pg_cmd_reload, argc, argv, &cl);
	if (r)
		return r;
	o = cl.up.enforce;
	confirm = cl.confirm;
	pg_libbpf_setup(pg_verbose);
	/* The new policy is checked before anything is locked or touched. */
	if (pg_policy_read(cl.args[0], &src)) {
		fprintf(stderr, "portguard: reload rejected; the policy in force stays\n");
		return 1;
	}
	lock = pg_lock(dir);
	if (lock == -ENOENT || (lock >= 0 && pg_pins_loaded(dir) == 0)) {
		fprintf(stderr, "portguard: nothing loaded at %s (use load or run)\n", dir);
		goto out;
	}
	if (lock < 0)
		goto out; /* pg_lock said why */
	if (pg_maps_from_pins(&m, dir)) {
		fprintf(stderr, "portguard: reload failed; the policy in force stays\n");
		goto out;
	}
	/* Never fail open: with the socket hooks in force, `deny raw` also needs the LSM hook,
	 * which load attaches wherever the kernel takes it. */
	if (src.p->deny_raw && pg_pinned_link(dir, "cgroup-bind4") &&
	    !pg_pinned_link(dir, "cgroup-lsm_socket_create")) {
		fprintf(stderr, "portguard: reload rejected: deny raw needs sock_lsm to refuse "
				"packet sockets, and the kernel refused it at load; the policy in "
				"force stays\n");
		goto out;
	}
	/* Event rate settings are the running state's (run --rate-window ...), not the
	 * policy's: they are kept. */
	if (!pg_active_gen(&m, &gen) && !bpf_map_lookup_elem(m.fd[PG_MAP_CONFIG], &gen, &cur)) {
		o.ratelimit_ms = cur.ratelimit_ns / 1000000ULL;
		o.events_per_sec = cur.events_per_sec;
		o.no_events = !cur.events;
		/* and so are the flow lifetimes (run/load --flow-timeouts) */
		o.flow_tcp_idle_ns = cur.flow_tcp_idle_ns;
		o.flow_tcp_fin_ns = cur.flow_tcp_fin_ns;
		o.flow_tcp_rst_ns = cur.flow_tcp_rst_ns;
		o.flow_udp_idle_ns = cur.flow_udp_idle_ns;
	}
	if (confirm ? begin_change(&m, dir, confirm, &change)
		    : pg_change_check_idle(dir, "reload"))
		goto out;
	if (pg_enforce(&m, &src, &o, &done)) {
		fprintf(stderr, "portguard: reload failed; the policy in force stays\n");
		if (confirm) {
			change.state = PG_CHANGE_VOID;
			pg_change_record(dir, &change);
		}
		goto out;
	}
	if (confirm)
		pg_change_applied(&m, dir, &change);
	pg_notice("portguard: reloaded %s (%s, %u rule slots, generation %u) at %s\n", src.path,
		  done.mode ? "dry-run" : "enforce", done.nrules, done.gen, dir);
	/* A run --dry-run overrides the policy's mode; a reload without --dry-run does not. */
	if (cur.mode != 0xff && cur.mode != done.mode)
		fprintf(stderr, "portguard: note: the mode changed from %s to %s%s\n",
			cur.mode ? "dry-run" : "enforce", done.mode ? "dry-run" : "enforce",
			done.mode ? "" : " (reload --dry-run keeps dry-run)");
	if (confirm)
		say_deadline(&change, dir);
	status = 0;
out:
	pg_maps_close(&m);
	pg_unlock(lock);
	pg_policy_src_free(&src);
	return status;
}

static const enum pg_opt_id reload_opts[] = { PG_OPT_DRY_RUN, PG_OPT_CONFIRM, PG_OPT_PIN_DIR,
					      PG_OPT_END };

const struct pg_command pg_cmd_reload = {
	.name = "reload",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = reload_opts,
	.summary = "swap the policy of the pinned state atomically",
	.run = cmd_reload,
};
