// SPDX-License-Identifier: GPL-2.0
/* Bringing enforcement up (see bringup.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
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
#include "kernel/confirm.h"
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
 * refused; load and reload go ahead but say whose state they change. Returns 0, 1 when a
 * run (not this one) serves the state, or -errno.
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
	return 1;
}

/* Reading, parsing and compiling the policy, on a thread of its own while the maps are
 * created. */
struct parse_job {
	const char *path;
	struct pg_policy_src *src;
	struct pg_staged *staged;
	pthread_t thread;
	int err;
};

static void *parse_job(void *arg)
{
	struct parse_job *j = arg;

	j->err = pg_policy_read(j->path, j->src);
	/* New maps hold generation 0 in force: the policy goes into the other one. */
	if (!j->err)
		j->err = pg_enforce_compile(j->src, pg_other_gen(0), j->staged);
	return NULL;
}

/*
 * Where no state is pinned yet (a first load, the common case of `run` at boot), the maps
 * are created, unpinned, while another thread parses and compiles the policy: for a
 * blocklist of 100,000 prefixes each takes a tenth of a second or more, and the two share
 * the machine's CPUs. Nothing under the pin directory is touched before the policy is known
 * to be valid and to fit (a typo costs nothing); the maps are pinned once the lock is held
 * and the directory is still without a state. Anything else (a state to take over, no
 * thread) goes one step after the other, and compiles later. Returns 0, or the policy's
 * error; *premade says whether up->l holds the maps.
 */
static int read_while_creating_maps(const struct pg_up_opts *o, struct pg_up *up,
				    struct pg_staged *staged, bool *premade)
{
	struct parse_job j = { .path = o->policy, .src = &up->src, .staged = staged };
	char path[PATH_MAX + 16];

	*premade = false;
	snprintf(path, sizeof(path), "%s/pg_active", up->pin_dir);
	if (!access(path, F_OK) || pthread_create(&j.thread, NULL, parse_job, &j))
		return pg_policy_read(o->policy, &up->src);
	/* Quietly: should it fail, the pinned way below says why, once, after the policy. */
	*premade = !pg_loader_maps(&up->l, up->pin_dir, o->max_flows, PG_MAPS_AHEAD);
	pthread_join(j.thread, NULL);
	if (j.err && *premade) {
		pg_loader_close(&up->l);
		*premade = false;
	}
	return j.err;
}

/* The kernel features' probes (one reads the kernel's BTF), on a thread of their own while
 * the policy is written: they are reported at the end. */
static void *probe_job(void *arg)
{
	pg_features_probe(arg);
	return NULL;
}

/*
 * A state pinned by another version of portguard, whose maps are of other layouts (a package
 * upgrade across a change of them): this version cannot reuse them, and refusing left the
 * service failed until `portguard unload`, a gap in enforcement. Instead the state is
 * replaced whole: new maps, written as for a first load (open connections seeded), the old
 * links updated in place to this version's programs (each hook goes from the old program to
 * the new one at once), then the pins swapped (pg_loader_repin). Counters start again. A
 * change waiting for `portguard confirm` names generations of the old maps: refused then.
 */
static int replace_other_version(const struct pg_up_opts *o, struct pg_up *up, bool served,
				 bool *replacing)
{
	char what[256];
	int r;

	*replacing = false;
	r = pg_pins_other_version(up->pin_dir, what, sizeof(what));
	if (r <= 0)
		return 0; /* the pinned way reuses the maps, or says why it cannot */
	if (pg_change_check_idle(up->pin_dir, "replacing another version's state"))
		return -EBUSY;
	/* That version's daemon would go on reading the old maps' events, of which no more
	 * come: it is its restart, with this version, that replaces the state. */
	if (served) {
		fprintf(stderr, "portguard: the state at %s is another version's (%s), and a "
				"portguard run of that version serves it: restart that run with "
				"this version (systemctl restart portguard), which replaces it\n",
			up->pin_dir, what);
		return -EBUSY;
	}
	pg_notice("portguard: the state at %s is another version's (%s): replacing it with "
		  "this version's maps and programs, its links updated in place; its counters "
		  "start again\n", up->pin_dir, what);
	*replacing = true;
	return pg_loader_maps(&up->l, up->pin_dir, o->max_flows, PG_MAPS_REPLACING);
}

int pg_up(const struct pg_up_opts *o, struct pg_up *up)
{
	char missing[512];
	struct pg_features feat;
	struct pg_attach a = { 0 };
	struct pg_staged staged = { 0 };
	const char *const *names;
	pthread_t probe;
	bool probing;
	char path[PATH_MAX + 16];
	int lock = -1, err;
	bool fresh = false, premade, replacing = false, served;
	size_t i;

	memset(up, 0, sizeof(*up));
	up->owner_fd = -1;
	err = pg_abs_path(o->pin_dir ? o->pin_dir : PG_PIN_DIR_DEFAULT, up->pin_dir,
			  sizeof(up->pin_dir));
	if (err)
		return err;
	/* Everything that can be checked without changing the kernel's state comes first: a
	 * typo must not cost enforcement. */
	err = read_while_creating_maps(o, up, &staged, &premade);
	if (err) {
		err = err == -ENOMEM ? err : -EINVAL;
		goto fail;
	}
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
	served = err == 1;
	if (err < 0)
		goto fail;
	err = 0;
	snprintf(path, sizeof(path), "%s/pg_active", up->pin_dir);
	fresh = access(path, F_OK) != 0;
	if (premade && !fresh) {
		/* A state appeared while we parsed: take it over, as if it had been there. */
		pg_loader_close(&up->l);
		premade = false;
	}
	if (premade) {
		err = pg_loader_pin(&up->l);
		if (err == -EEXIST) {
			pg_loader_close(&up->l);
			premade = false;
		}
	}
	if (!premade && !fresh) {
		err = replace_other_version(o, up, served, &replacing);
		if (err)
			goto fail;
	}
	if (!premade && !replacing)
		err = pg_loader_maps(&up->l, up->pin_dir, o->max_flows, PG_MAPS_PINNED);
	if (!err)
		err = pg_loader_progs(&up->l, up->nifaces > 0, up->cgroup[0] != 0);
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
	/* The policy is compiled and written into the idle generation while the XDP program
	 * is still being verified, and put in force only once every program loaded: a refusal
	 * leaves the generation in force as it was. */
	probing = !pthread_create(&probe, NULL, probe_job, &feat);
	err = pg_enforce_stage(&up->l.maps, &up->src, &o->enforce, &staged);
	if (probing)
		pthread_join(probe, NULL);
	else
		pg_features_probe(&feat);
	if (err)
		goto fail;
	err = pg_loader_wait(&up->l);
	if (err)
		goto fail;
	err = pg_enforce_commit(&up->l.maps, &up->src, &staged, &up->enforced);
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
	if (!err && replacing) {
		err = pg_loader_repin(&up->l);
		if (err)
			fprintf(stderr, "portguard: this version's programs enforce the new policy "
					"at %s, but its pins are only partly swapped: load again\n",
				up->pin_dir);
	}
	if (err)
		goto fail;
	if (pg_features_missing(&feat, missing, sizeof(missing)))
		pg_warning("portguard: kernel %s\n", missing);
	pg_unlock(lock);
	return 0;
fail:
	/* A fresh state that failed half-way is removed whole. A state taken over keeps
	 * enforcing: before the attach, as it was; after a failed attach, with the policy
	 * committed above, its links holding the old programs or this build's (on the same
	 * maps). A replacement of another version's state is put back whole instead
	 * (pg_loader_attach), its new maps never pinned. */
	pg_staged_free(&staged);
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
