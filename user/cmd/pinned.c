// SPDX-License-Identifier: GPL-2.0
/* See pinned.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/command.h"
#include "cmd/pinned.h"
#include "common/util.h"
#include "kernel/bringup.h"

static const struct option pin_opts[] = {
	{ "pin-dir", required_argument, NULL, 'p' },
	{ "dry-run", no_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ 0 },
};

int pg_pin_dir_arg(int argc, char **argv, int nargs, bool *json, bool *dry_run, char *dir,
		   size_t size)
{
	const char *pin = PG_PIN_DIR_DEFAULT;
	int opt;

	while ((opt = getopt_long(argc, argv, "", pin_opts, NULL)) != -1) {
		if (opt == 'p')
			pin = optarg;
		else if (opt == 'j' && json)
			*json = true;
		else if (opt == 'd' && dry_run)
			*dry_run = true;
		else
			return pg_usage(argv[0]);
	}
	if (argc - optind != nargs)
		return pg_usage(argv[0]);
	if (pg_abs_path(pin, dir, size)) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", pin, strerror(ENAMETOOLONG));
		return 2;
	}
	return 0;
}

bool pg_loaded_at(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/pg_active", dir);
	return !access(path, F_OK);
}
