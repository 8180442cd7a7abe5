// SPDX-License-Identifier: GPL-2.0
/* `portguard reload POLICY`: swap the policy of the pinned state, atomically. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd/command.h"
#include "common/util.h"
#include "kernel/bringup.h"

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
	__u32 gen;

	r = pg_cmdline_parse(&pg_cmd_reload, argc, argv, &cl);
	if (r)
		return r;
	o = cl.up.enforce;
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
	/* Event rate settings are the running state's (run --rate-window ...), not the
	 * policy's: they are kept. */
	if (!pg_active_gen(&m, &gen) && !bpf_map_lookup_elem(m.fd[PG_MAP_CONFIG], &gen, &cur)) {
		o.ratelimit_ms = cur.ratelimit_ns / 1000000ULL;
		o.events_per_sec = cur.events_per_sec;
		o.no_events = !cur.events;
	}
	if (pg_enforce(&m, &src, &o, &done)) {
		fprintf(stderr, "portguard: reload failed; the policy in force stays\n");
		goto out;
	}
	fprintf(stderr, "portguard: reloaded %s (%s, %u rule slots, generation %u) at %s\n",
		src.path, done.mode ? "dry-run" : "enforce", done.nrules, done.gen, dir);
	/* A run --dry-run overrides the policy's mode; a reload without --dry-run does not. */
	if (cur.mode != 0xff && cur.mode != done.mode)
		fprintf(stderr, "portguard: note: the mode changed from %s to %s%s\n",
			cur.mode ? "dry-run" : "enforce", done.mode ? "dry-run" : "enforce",
			done.mode ? "" : " (reload --dry-run keeps dry-run)");
	status = 0;
out:
	pg_maps_close(&m);
	pg_unlock(lock);
	pg_policy_src_free(&src);
	return status;
}

static const enum pg_opt_id reload_opts[] = { PG_OPT_DRY_RUN, PG_OPT_PIN_DIR, PG_OPT_END };

const struct pg_command pg_cmd_reload = {
	.name = "reload",
	.args = "POLICY",
	.min_args = 1,
	.max_args = 1,
	.opts = reload_opts,
	.summary = "swap the policy of the pinned state atomically",
	.run = cmd_reload,
};
