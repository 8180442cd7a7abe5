/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy change that takes itself back unless confirmed: `reload POLICY --confirm SECONDS`,
 * then `portguard confirm` (iptables-apply, Junos `commit confirmed`).
 *
 * A reload writes the generation not in force and switches to it; the generation it
 * replaced stays as it was. Rolling back is therefore one write of pg_active, back to it, and
 * of pg_info: as atomic as any reload, and exact (the previous policy's text, which may have
 * been edited since, is not needed). While a change is pending, nothing may write that
 * generation: every other reload is refused.
 *
 * The change is recorded in PG_RUN_DIR/NAME.pending (fanout.h), root's, 0600, replaced
 * atomically: its state (pending, confirmed, rolled back, void), both generations, the
 * previous pg_info, the deadline and the keeper: the process whose timer rolls it back. The
 * keeper is the daemon when one serves the pin directory (its event loop calls
 * pg_change_tick()), else a detached process of its own that nothing of the caller's session
 * reaches (pg_change_keeper()). The pin directory's lock (pg_lock) orders apply, confirm and
 * rollback.
 */
#ifndef PG_CONFIRM_H
#define PG_CONFIRM_H

#include <stdbool.h>
#include <linux/types.h>

#include "kernel/generation.h"
#include "portguard.h"

enum pg_change_state {
	PG_CHANGE_PENDING = 1,
	PG_CHANGE_CONFIRMED,
	PG_CHANGE_ROLLED_BACK,
	PG_CHANGE_VOID, /* never applied (its reload failed or was killed), or unloaded */
};

#define PG_PENDING_MAGIC 0x43504750u /* "PGPC" */

struct pg_pending {
	__u32 magic;
	__u32 state;		/* enum pg_change_state */
	__u64 id;		/* CLOCK_REALTIME ns when it was applied: names the change */
	__u64 deadline_ns;	/* CLOCK_REALTIME ns, for people */
	__u64 deadline_boot_ns; /* CLOCK_BOOTTIME ns, for the keeper: no clock steps */
	__u64 settled_ns;	/* CLOCK_REALTIME ns of the confirmation or rollback */
	__u32 seconds;		/* --confirm SECONDS */
	__u32 old_gen, new_gen;
	__s32 keeper;		/* pid; 0: the daemon */
	__u32 applied;		/* the reload switched to new_gen */
	struct pg_info old_info; /* pg_info before the change */
	struct pg_info new_info; /* and after */
};

const char *pg_change_state_name(__u32 state);
/* The change recorded for pin_dir. 0, -ENOENT (none ever), or -errno. */
int pg_pending_read(const char *pin_dir, struct pg_pending *p);

/* reload --confirm, under the pin lock, before anything is written: refuse when a change is
 * pending (-EBUSY, the reason printed), else fill p in (PENDING, the generations and the old
 * pg_info from m, the deadline). Nothing is recorded yet: start the keeper, then
 * pg_change_record(), then reload. */
int pg_change_begin(const struct pg_maps *m, const char *pin_dir, unsigned seconds,
		    struct pg_pending *p);
/* Write p as the change of pin_dir. 0 or -errno (printed). */
int pg_change_record(const char *pin_dir, const struct pg_pending *p);
/* After the reload: the new pg_info. */
int pg_change_applied(const struct pg_maps *m, const char *pin_dir, struct pg_pending *p);
/* Any other reload, under the pin lock: -EBUSY (the reason printed) when a change is
 * pending. */
int pg_change_check_idle(const char *pin_dir, const char *what);

/* `portguard confirm`: 0, -ENOENT when nothing is pending (printed). Takes the pin lock. */
int pg_change_confirm(const char *pin_dir, struct pg_pending *p);
/*
 * The keeper's timer: when the change recorded is pending and its deadline passed, put the
 * previous generation back in force. wait: wait for the pin lock (the detached keeper) or
 * try once (the daemon: -EAGAIN, try again on the next tick). Returns 1 when it rolled back
 * (p: the change), 0 when there was nothing to do, or -errno.
 */
int pg_change_expire(const char *pin_dir, bool wait, struct pg_pending *p);
/* Start the detached keeper of change id: a process in a session of its own, no terminal,
 * stdio on /dev/null, that rolls the change back at its deadline unless it is settled
 * before (and gives up if the change is not recorded within 30 s). Returns its pid or
 * -errno. The caller records the change only after this succeeded: a caller killed at any
 * point leaves no change without a keeper. */
int pg_change_keeper(const char *pin_dir, __u64 id, __u64 deadline_boot_ns);

/* What the daemon last reported of the change recorded for its pin directory. */
struct pg_change_watch {
	__u64 id;
	__u32 state;
	__u64 next_ns; /* CLOCK_BOOTTIME of the next look */
};

/* At start: what is recorded now is not news. A change pending at start cannot be rolled
 * back any more (run puts its own policy in force): it is marked void and returned (1). */
int pg_change_watch_start(struct pg_change_watch *w, const char *pin_dir, struct pg_pending *p);
/* On every turn of the daemon's loop (it looks at most every 100 ms): roll back a change
 * the daemon keeps once its deadline passed. Returns 1 when p holds a state to report (a
 * change applied, confirmed, rolled back), else 0. */
int pg_change_tick(struct pg_change_watch *w, const char *pin_dir, struct pg_pending *p);

#endif /* PG_CONFIRM_H */
