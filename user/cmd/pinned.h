/* SPDX-License-Identifier: GPL-2.0 */
/* The pin-directory argument and check that unload, reload and monitor share. */
#ifndef PG_CMD_PINNED_H
#define PG_CMD_PINNED_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Parse argv for --pin-dir DIR (and --json, --dry-run where json/dry_run are not NULL),
 * leaving nargs positional arguments at optind; the absolute pin directory goes into dir.
 * Returns 0, or the exit code (2) after printing usage or the error.
 */
int pg_pin_dir_arg(int argc, char **argv, int nargs, bool *json, bool *dry_run, char *dir,
		   size_t size);

/* Whether a policy state is pinned at dir (its pg_active map exists). */
bool pg_loaded_at(const char *dir);

#endif /* PG_CMD_PINNED_H */
