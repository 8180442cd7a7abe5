// SPDX-License-Identifier: GPL-2.0
/*
 * The one policy file reader: check, run, load, reload, explain and audit all read through
 * it, with one size limit. A policy is a regular file, or "-" for stdin: a FIFO would block
 * forever and /dev/zero would never end, so anything else is refused before it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

int pg_policy_read_text(const char *path, char **text, size_t *len)
{
	bool is_stdin = !strcmp(path, "-");
	size_t n = 0, cap = 0;
	char *buf = NULL, *nb;
	struct stat st;
	int fd, err = 0;
	ssize_t r;

	*text = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO with no writer must not wait; the fstat below refuses it. */
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (!is_stdin) {
		if (fstat(fd, &st)) {
			err = -errno;
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			err = -EISDIR;
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			err = -PG_POLICY_ENOTREG;
			goto out;
		}
		if ((unsigned long long)st.st_size > PG_POLICY_MAX_BYTES) {
			err = -EFBIG;
			goto out;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > PG_POLICY_MAX_BYTES) {
				err = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (!r)
			break;
		n += r;
		if (n > PG_POLICY_MAX_BYTES) {
			err = -EFBIG;
			goto out;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	if (!is_stdin)
		close(fd);
	return err;
}

const char *pg_policy_read_strerror(int err)
{
	if (err == -EFBIG)
		return "larger than 64 MiB";
	if (err == -PG_POLICY_ENOTREG)
		return "not a regular file (a policy is a file, or - for stdin)";
	return strerror(-err);
}
