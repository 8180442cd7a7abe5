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
#include "cmd/pinned.h"
#include "common/util.h"
#include "kernel/confirm.h"
#include "kernel/bringup.h"
#include "output/fanout.h"

/* --confirm SECONDS (or --confirm=SECONDS), taken out of argv before the pin-directory
 * options are parsed. Returns 0 or 2 (printed). */
static int confirm_arg(int *argc, char **argv, long long *seconds)
{
	const char *v;
	int i, j, take;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--confirm")) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "portguard: --confirm needs SECONDS\n");
				return 2;
			}
			v = argv[i + 1];
			take = 2;
		} else if (!strncmp(argv[i], "--confirm=", 10)) {
			v = argv[i] + 10;
			take = 1;
		} else {
			continue;
		}
		if (pg_parse_ll(v, 1, 86400, seconds)) {
			fprintf(stderr, "portguard: --confirm is seconds, 1-86400, not '%s'\n", v);
			return 2;
		}
		for (j = i; j + take <= *argc; j++)
			argv[j] = argv[j + take];
		*argc -= take;
		i--;
	}
	return 0;
}

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

static int cmd_reload(int argc, char **argv)
{
	struct pg_enforce_opts o = { .ratelimit_ms = -1, .events_per_sec = -1 };
	struct pg_maps m = { .owned = false };
	struct pg_policy_src src = { 0 };
	struct pg_enforced done;
	struct pg_config cur = { .mode = 0xff };
	char dir[PATH_MAX];
	int lock = -1, r, status = 1;
	long long confirm = 0;
	struct pg_pending change;
	__u32 gen;

	r = confirm_arg(&argc, argv, &confirm);
	if (r)
		return r;
	r = pg_pin_dir_arg(argc, argv, 1, NULL, &o.dry_run, dir, sizeof(dir));
	if (r)
		return r;
	pg_libbpf_setup(pg_verbose);
	/* The new policy is checked before anything is locked or touched. */
	if (pg_policy_read(argv[optind], &src)) {
		fprintf(stderr, "portguard: reload rejected; the policy in force stays\n");
		return 1;
	}
	lock = pg_lock(dir);
	if (lock == -ENOENT || (lock >= 0 && !pg_loaded_at(dir))) {
		fprintf(stderr, "portguard: nothing loaded at %s (use load or run)\n", dir);
		goto out;
	}
	if (lock < 0 || pg_maps_from_pins(&m, dir))
		goto out;
	/* Event rate settings are the running state's (run --rate-window ...), not the
	 * policy's: they are kept. */
	if (!pg_active_gen(&m, &gen) && !bpf_map_lookup_elem(m.fd[PG_MAP_CONFIG], &gen, &cur)) {
		o.ratelimit_ms = cur.ratelimit_ns / 1000000ULL;
		o.events_per_sec = cur.events_per_sec;
		o.no_events = !cur.events;
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
	fprintf(stderr, "portguard: reloaded %s (%s, %u rule slots, generation %u) at %s\n",
		src.path, done.mode ? "dry-run" : "enforce", done.nrules, done.gen, dir);
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

PG_COMMAND(reload, 32, "POLICY [--dry-run] [--confirm SECONDS] [--pin-dir DIR]",
	   "swap the policy of the pinned state atomically", cmd_reload)
