// SPDX-License-Identifier: GPL-2.0
/* Bringing enforcement up (see bringup.h). */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kernel/bringup.h"
#include "kernel/features.h"
#include "common/util.h"
#include "output/stderr.h"

static int resolve_cgroup(const struct pg_up_opts *o, char *buf, size_t size)
{
	struct statfs st;
	int err;

	buf[0] = '\0';
	if (o->no_cgroup)
		return 0;
	if (o->cgroup) {
		err = pg_abs_path(o->cgroup, buf, size);
		if (err)
			return err;
	} else {
		err = pg_cgroup2_mount(buf, size);
		if (err) {
			fprintf(stderr, "portguard: no cgroup v2 hierarchy is mounted (/proc/mounts); "
					"use --no-cgroup for inbound enforcement only\n");
			return -EINVAL;
		}
	}
	if (statfs(buf, &st) || st.f_type != CGROUP2_SUPER_MAGIC) {
		fprintf(stderr, "portguard: %s is not a cgroup v2 directory%s%s\n", buf,
			errno ? ": " : "", errno ? strerror(errno) : "");
		return -EINVAL;
	}
	return 0;
}

/*
 * A running `run` holds an exclusive flock on the links directory for its whole life (the
 * pin directory's own lock is only held while a command changes the state). Another run is
 * refused; load and reload go ahead but say whose state they change.
 */
static int check_owner(struct pg_up *up, bool owner)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/links", up->pin_dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		fprintf(stderr, "portguard: failed to open %s: %s\n", path, strerror(-err));
		return err;
	}
	if (!flock(fd, (owner ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		if (owner) {
			up->owner_fd = fd;
			return 0;
		}
		close(fd);
		return 0;
	}
	close(fd);
	if (owner) {
		fprintf(stderr, "portguard: another portguard run is enforcing from %s: stop it "
				"first, or change its policy with SIGHUP or portguard reload\n",
			up->pin_dir);
		return -EBUSY;
	}
	pg_notice("portguard: note: a running portguard run owns %s; it removes this "
		  "state when it exits (unless it runs with --keep)\n",
		  up->pin_dir);
	return 0;
}

int pg_up(const struct pg_up_opts *o, struct pg_up *up)
{
	char missing[512];
	struct pg_features feat;
	struct pg_attach a = { 0 };
	const char *const *names;
	char path[PATH_MAX + 16];
	int lock = -1, err;
	bool fresh = false;
	size_t i;

	memset(up, 0, sizeof(*up));
	up->owner_fd = -1;
	/* Everything that can be checked without touching the kernel comes first: a typo
	 * must not cost enforcement. */
	err = pg_policy_read(o->policy, &up->src);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	if (o->nifaces) {
		names = o->ifaces;
		up->nifaces = o->nifaces;
	} else {
		if (up->src.p->nifaces > PG_MAX_IFACES) {
			fprintf(stderr, "portguard: %s names %zu interfaces, at most %d are enforced\n",
				o->policy, up->src.p->nifaces, PG_MAX_IFACES);
			err = -EINVAL;
			goto fail;
		}
		names = (const char *const *)up->src.p->ifaces;
		up->nifaces = up->src.p->nifaces;
	}
	/* Our own copies: a reload frees the policy the names may have come from. */
	for (i = 0; i < up->nifaces; i++) {
		if (strlen(names[i]) >= IF_NAMESIZE) {
			fprintf(stderr, "portguard: '%s' is not an interface name\n", names[i]);
			err = -EINVAL;
			goto fail;
		}
		pg_strlcpy(up->ifname[i], names[i], IF_NAMESIZE);
		up->ifaces[i] = up->ifname[i];
	}
	for (i = 0; i < up->nifaces; i++) {
		if (if_nametoindex(up->ifaces[i]))
			continue;
		if (!o->await) {
			fprintf(stderr, "portguard: interface %s not found%s (--await-missing "
					"leaves it awaited, for a portguard run to attach when it "
					"appears)\n", up->ifaces[i],
				o->nifaces ? "" : " (named in the policy)");
			err = -EINVAL;
			goto fail;
		}
	}
	err = resolve_cgroup(o, up->cgroup, sizeof(up->cgroup));
	if (err)
		goto fail;
	if (!up->nifaces && !up->cgroup[0]) {
		fprintf(stderr, "portguard: nothing to enforce: no interface is named (--iface or "
				"an `interface` line in %s) and the socket hooks are off "
				"(--no-cgroup)\n", o->policy);
		err = -EINVAL;
		goto fail;
	}
	err = pg_abs_path(o->pin_dir ? o->pin_dir : PG_PIN_DIR_DEFAULT, up->pin_dir,
			  sizeof(up->pin_dir));
	if (err)
		goto fail;

	do {
		err = pg_pin_dir_prepare(up->pin_dir);
		if (err)
			goto fail;
		lock = pg_lock(up->pin_dir);
	} while (lock == -ENOENT); /* removed by an unload while we waited: make it again */
	if (lock < 0) {
		err = lock;
		goto fail;
	}
	err = check_owner(up, o->owner);
	if (err)
		goto fail;
	snprintf(path, sizeof(path), "%s/pg_active", up->pin_dir);
	fresh = access(path, F_OK) != 0;
	err = pg_loader_load(&up->l, up->pin_dir, up->nifaces > 0, up->cgroup[0] != 0,
			     o->max_flows);
	if (err)
		goto fail;
	/* Never fail open: `deny raw` on a cgroup asks for packet sockets to be refused too,
	 * which only the LSM program can do. Refused before the maps are written or anything
	 * is attached. */
	if (up->cgroup[0] && up->src.p->deny_raw && !up->l.lsm) {
		struct utsname u;

		if (uname(&u) < 0)
			snprintf(u.release, sizeof(u.release), "?");
		fprintf(stderr, "portguard: failed to load sock_lsm on kernel %s: %s (deny raw "
				"needs it to refuse packet sockets)\n", u.release, up->l.lsm_reason);
		err = -EOPNOTSUPP;
		goto fail;
	}
	err = pg_enforce(&up->l.maps, &up->src, &o->enforce, &up->enforced);
	if (err)
		goto fail;
	a.ifaces = up->ifaces;
	a.nifaces = up->nifaces;
	a.cgroup = up->cgroup[0] ? up->cgroup : NULL;
	a.xdp_mode = o->xdp_mode;
	a.await = o->await;
	err = pg_loader_attach(&up->l, &a);
	if (err)
		goto fail;
	memcpy(up->ifindex, a.ifindex, sizeof(up->ifindex));
	memcpy(up->ifmode, a.mode, sizeof(up->ifmode));
	err = pg_info_set_attach(&up->l.maps, up->ifaces, up->ifindex, up->ifmode, up->nifaces,
				 a.cgroup, up->l.max_flows);
	if (err)
		goto fail;
	pg_features_probe(&feat);
	if (pg_features_missing(&feat, missing, sizeof(missing)))
		pg_warning("portguard: kernel %s\n", missing);
	pg_unlock(lock);
	return 0;
fail:
	/* A fresh state that failed half-way is removed whole. A state taken over keeps
	 * enforcing as it was: the old links still hold the old programs. */
	if (lock >= 0 && fresh)
		pg_detach_all(up->pin_dir);
	pg_unlock(lock);
	pg_up_close(up);
	return err;
}

void pg_up_print_ifaces(const struct pg_up *up)
{
	static const char *const how[PG_IFMODE_MAX] = {
		[PG_IFMODE_AWAITED] = "awaited: not enforced until it appears",
		[PG_IFMODE_XDP] = "native XDP",
		[PG_IFMODE_XDP_FRAGS] = "native XDP with frags (multi-buffer)",
		[PG_IFMODE_XDP_SKB] = "generic XDP",
		[PG_IFMODE_TC] = "tc ingress",
	};
	size_t i;

	for (i = 0; i < up->nifaces; i++)
		(up->ifmode[i] == PG_IFMODE_AWAITED ? pg_warning : pg_notice)(
		    "portguard: %s: %s\n", up->ifaces[i],
		    up->ifmode[i] < PG_IFMODE_MAX ? how[up->ifmode[i]] : "?");
}

void pg_up_close(struct pg_up *up)
{
	if (up->owner_fd >= 0)
		close(up->owner_fd);
	up->owner_fd = -1;
	pg_loader_close(&up->l);
	pg_policy_src_free(&up->src);
}
