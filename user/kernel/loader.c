// SPDX-License-Identifier: GPL-2.0
/*
 * Load, share, pin, attach, detach (see loader.h). The lifecycle follows libbpf-bootstrap's:
 * open the skeletons, load, attach; but the maps and links are pinned, so that enforcement
 * outlives the process and the next process takes it over without a gap.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/loader.h"
#include "common/util.h"
#include "output/names.h"
#include "output/stderr.h"
#include "sock_hooks.skel.h"
#include "sock_lsm.skel.h"
#include "tc_egress.skel.h"
#include "tc_ingress.skel.h"
#include "xdp_ingress.skel.h"


static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* mkdir -p: every missing ancestor of dir, then dir (0700: pins are root's business). */
static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -errno;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The conventional bpffs mount point (sysfs provides the empty directory). The only place
 * portguard mounts bpffs, and only when nothing is mounted there yet. */
#define PG_BPFFS_ROOT "/sys/fs/bpf"

static bool below_bpffs_root(const char *dir)
{
	size_t n = strlen(PG_BPFFS_ROOT);

	return !strncmp(dir, PG_BPFFS_ROOT, n) && (dir[n] == '\0' || dir[n] == '/');
}

/* The deepest existing directory on the way to dir (dir itself when it exists). */
static int existing_ancestor(const char *dir, char *buf, size_t size)
{
	struct stat st;
	char *slash;

	if ((size_t)snprintf(buf, size, "%s", dir) >= size)
		return -ENAMETOOLONG;
	while (stat(buf, &st)) {
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash)
			return -ENOENT;
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * Mount bpffs on /sys/fs/bpf, once: concurrent commands take a lock on the mount point (the
 * sysfs directory under it) and look again once they hold it, so that two fresh loads never
 * stack two mounts. A command that opens the path after the mount locks the bpffs root
 * instead, and finds bpffs there.
 */
static int mount_bpffs_root(void)
{
	int fd, err = 0;

	fd = open(PG_BPFFS_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	if (!is_bpffs(PG_BPFFS_ROOT) && mount("bpf", PG_BPFFS_ROOT, "bpf", 0, "mode=0700"))
		err = -errno;
	close(fd);
	return err;
}

int pg_pin_dir_prepare(const char *dir)
{
	char where[PATH_MAX];
	int err;

	err = existing_ancestor(dir, where, sizeof(where));
	if (err) {
		fprintf(stderr, "portguard: pin directory %s: %s\n", dir, strerror(-err));
		return err;
	}
	if (!is_bpffs(where)) {
		/* Never over an ordinary directory: a mount would hide what it holds, and an
		 * unload could not tell it from the operator's own. */
		if (!below_bpffs_root(dir)) {
			fprintf(stderr, "portguard: pin directory %s is not on bpffs (%s is not): "
					"use a directory under " PG_BPFFS_ROOT ", or mount bpffs "
					"first (mount -t bpf bpf DIR)\n", dir, where);
			return -EINVAL;
		}
		err = mount_bpffs_root();
		if (err) {
			fprintf(stderr, "portguard: failed to mount bpffs on " PG_BPFFS_ROOT
					": %s\n", strerror(-err));
			return err;
		}
	}
	if (mkdir_p(dir))
		goto fail_mkdir;
	if (!is_bpffs(dir)) {
		/* Raced with an unmount, or a symlink out of bpffs. */
		fprintf(stderr, "portguard: pin directory %s is not on bpffs\n", dir);
		return -EINVAL;
	}
	snprintf(where, sizeof(where), "%s/links", dir);
	if (mkdir(where, 0700) && errno != EEXIST) {
		dir = where;
		goto fail_mkdir;
	}
	return 0;
fail_mkdir:
	err = -errno;
	fprintf(stderr, "portguard: failed to create pin directory %s: %s\n", dir, strerror(-err));
	return err;
}

/*
 * While a command holds the lock it changes the pinned state: the signals that would kill
 * it half-way are held back until it lets go (SIGKILL cannot be; status then tells the
 * truth, see attached.h). One lock at a time per process, so one saved mask.
 */
static sigset_t lock_saved_mask;
static int lock_nheld;

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGALRM);
	if (!lock_nheld++)
		sigprocmask(SIG_BLOCK, &set, &lock_saved_mask);
}

static void lock_hint(const char *dir, int err)
{
	fprintf(stderr, "portguard: failed to open the pin directory %s: %s%s\n", dir,
		strerror(-err),
		err == -EACCES || err == -EPERM ? " (portguard needs root, or CAP_BPF, "
						  "CAP_NET_ADMIN and CAP_SYS_ADMIN)" : "");
}

int pg_lock(const char *dir)
{
	struct stat a, b;
	int fd, err;

	for (;;) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			if (err != -ENOENT)
				lock_hint(dir, err);
			return err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			if (errno != EWOULDBLOCK)
				goto fail;
			pg_notice("portguard: waiting for another portguard command on %s\n", dir);
			/* A signal while we wait (SIGHUP asking for another reload) is not a
			 * failure: wait on. */
			while (flock(fd, LOCK_EX))
				if (errno != EINTR)
					goto fail;
		}
		/* The holder may have removed the directory (unload) or removed and created it
		 * again: a lock on a directory that is no longer at dir locks nothing. */
		if (stat(dir, &a)) {
			close(fd);
			return -ENOENT;
		}
		if (!fstat(fd, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			block_signals();
			return fd;
		}
		close(fd);
	}
fail:
	err = -errno;
	fprintf(stderr, "portguard: failed to lock %s: %s\n", dir, strerror(-err));
	close(fd);
	return err;
}

void pg_unlock(int fd)
{
	if (fd < 0)
		return;
	close(fd); /* releases the flock */
	if (lock_nheld && !--lock_nheld)
		sigprocmask(SIG_SETMASK, &lock_saved_mask, NULL);
}

/*
 * Give obj the map fds of the XDP object, by name: one set of maps for every program. A map
 * only obj has (its own scratch state) is pinned like the others, so that a takeover keeps
 * it too.
 */
static int share_maps(struct bpf_object *from, struct bpf_object *obj, const char *pin_dir)
{
	char path[PATH_MAX + 64];
	struct bpf_map *map, *src;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		src = bpf_object__find_map_by_name(from, bpf_map__name(map));
		if (!src) {
			snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
			err = bpf_map__set_pin_path(map, path);
			if (err)
				return err;
			continue;
		}
		err = bpf_map__reuse_fd(map, bpf_map__fd(src));
		if (err) {
			fprintf(stderr, "portguard: failed to share map %s with %s: %s\n",
				bpf_map__name(map), bpf_object__name(obj), strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * The verifier's reason for refusing a program, caught from libbpf's output while an object
 * loads: libbpf prints the whole log in one message between "-- BEGIN PROG LOAD LOG --" and
 * "-- END PROG LOAD LOG --". Every kernel from 5.10 ends the log with the refusal, then the
 * statistics ("verification time", "stack depth", "processed N insns"): the reason is the last
 * line before them. A log that holds no instruction ("func#0 @0": the kernel refused the
 * program type or attach point before verifying) has no such reason.
 */
static __thread char verifier_reason[256]; /* per thread: objects load side by side */
static libbpf_print_fn_t print_next;

static void catch_reason(const char *msg)
{
	const char *log = strstr(msg, "-- BEGIN PROG LOAD LOG --\n"), *line, *nl;
	const char *reason = NULL;
	size_t len = 0;

	if (!log)
		return;
	for (line = log + strlen("-- BEGIN PROG LOAD LOG --\n"); *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		if (!strncmp(line, "verification time", 17) || !strncmp(line, "processed ", 10) ||
		    !strncmp(line, "-- END PROG LOAD LOG --", 23))
			break;
		if (nl > line && strncmp(line, "func#", 5)) {
			reason = line;
			len = nl - line;
		} else if (nl > line) {
			reason = NULL;
		}
		if (!*nl)
			break;
	}
	if (reason) {
		if (len >= sizeof(verifier_reason))
			len = sizeof(verifier_reason) - 1;
		memcpy(verifier_reason, reason, len);
		verifier_reason[len] = '\0';
	}
}

static int print_catch(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	va_list cp;
	int n = 0;

	va_copy(cp, ap);
	if (level == LIBBPF_WARN && vasprintf(&msg, fmt, cp) >= 0)
		catch_reason(msg);
	va_end(cp);
	free(msg);
	if (print_next)
		n = print_next(level, fmt, ap);
	return n;
}

/*
 * libbpf's print hook is one for the process: it is print_catch from the first load until
 * every load in flight is done, the XDP program's on its thread included (pg_loader_wait()).
 * Only the main thread installs and removes it.
 */
static bool catching;

static void catch_begin(void)
{
	if (catching)
		return;
	print_next = libbpf_set_print(print_catch);
	catching = true;
}

static void catch_end(void)
{
	if (!catching)
		return;
	libbpf_set_print(print_next);
	catching = false;
}

/* Load one object with its verifier reason caught; err and the reason say what failed. */
#define PG_LOAD_CATCH(err, call)                                                         \
	do {                                                                             \
		bool was_catching_ = catching;                                           \
                                                                                         \
		catch_begin();                                                           \
		verifier_reason[0] = '\0';                                               \
		(err) = (call);                                                          \
		if (!was_catching_)                                                      \
			catch_end();                                                     \
	} while (0)

/* "failed to load PART on kernel RELEASE: REASON" in one line, REASON the verifier's when it
 * gave one. */
static void load_failed(const char *part, int err, const char *hint)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	fprintf(stderr, "portguard: failed to load %s on kernel %s: %s%s\n", part, u.release,
		verifier_reason[0] ? verifier_reason : strerror(-err), hint);
}

/* The LSM object is optional: a kernel without the BPF LSM costs packet-socket refusal only. */
static void load_lsm(struct pg_loader *l)
{
	int err;

	l->lsm = sock_lsm_bpf__open();
	if (!l->lsm) {
		l->lsm_err = -errno;
		snprintf(l->lsm_reason, sizeof(l->lsm_reason), "%s", strerror(-l->lsm_err));
		return;
	}
	err = share_maps(l->xdp->obj, l->lsm->obj, l->pin_dir);
	if (!err)
		PG_LOAD_CATCH(err, sock_lsm_bpf__load(l->lsm));
	if (err) {
		l->lsm_err = err;
		snprintf(l->lsm_reason, sizeof(l->lsm_reason), "%s",
			 verifier_reason[0] ? verifier_reason : strerror(-err));
		sock_lsm_bpf__destroy(l->lsm);
		l->lsm = NULL;
	}
}

/* Does the kernel take XDP programs that handle multi-buffer frames (BPF_F_XDP_HAS_FRAGS,
 * 5.18)? An older kernel refuses the unknown flag with EINVAL. */
bool pg_xdp_frags_supported(void)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = XDP_PASS }, /* r0 = XDP_PASS */
		{ .code = 0x95 },				 /* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_XDP_HAS_FRAGS);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pg_probe_frags", "GPL", insns, 2, &o);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * The flow table's size: what was asked (0: the default), unless a pinned table is taken
 * over, which keeps its own size (a map cannot be resized; unload to change it).
 */
/* The size of the flow table pinned under pin_dir; 0 when there is none. */
static __u32 pinned_flows(const char *pin_dir)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/pg_flows", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

static __u32 flows_size(const char *pin_dir, __u32 want)
{
	__u32 pinned = pinned_flows(pin_dir);

	if (!want)
		want = PG_MAX_FLOWS_DEFAULT;
	if (pinned && pinned != want) {
		fprintf(stderr, "portguard: note: the pinned flow table keeps its size (%u flows, "
				"not %u): unload first to change --max-flows\n", pinned, want);
		want = pinned;
	}
	return want;
}

struct xdp_ingress_bpf *pg_xdp_ingress_open_load(void)
{
	struct xdp_ingress_bpf *s = xdp_ingress_bpf__open();
	int err;

	if (!s)
		return NULL;
	bpf_program__set_autoload(s->progs.pg_xdp_ingress_frags, pg_xdp_frags_supported());
	err = xdp_ingress_bpf__load(s);
	if (err) {
		xdp_ingress_bpf__destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/* The XDP program's load, on a thread of its own: its verifier reason is caught there. */
struct pg_xdp_job {
	struct xdp_ingress_bpf *skel;
	pthread_t thread;
	bool threaded; /* else it ran already, on the caller's thread */
	int err;
	char reason[sizeof(verifier_reason)];
};

static void *load_xdp_job(void *arg)
{
	struct pg_xdp_job *j = arg;

	verifier_reason[0] = '\0';
	j->err = xdp_ingress_bpf__load(j->skel);
	memcpy(j->reason, verifier_reason, sizeof(j->reason));
	return NULL;
}

/*
 * Start verifying the XDP program on a thread of its own, then load tc egress here: each is
 * a verification of its own, a third of a second for the XDP program, and a load of a large
 * policy fits in a second only when the two share the machine's CPUs, and the XDP program's
 * verification also covers writing the policy (pg_up). libbpf loads separate objects
 * independently; only its print hook is shared, and it stays set until pg_loader_wait().
 * The XDP program's load is still in flight when this returns, also on failure.
 */
static int load_ingress_egress(struct pg_loader *l)
{
	struct pg_xdp_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->skel = l->xdpn;
	l->xdp_job = j;
	catch_begin();
	j->threaded = !pthread_create(&j->thread, NULL, load_xdp_job, j);
	if (!j->threaded)
		load_xdp_job(j); /* no thread: one after the other */
	verifier_reason[0] = '\0';
	err = tc_egress_bpf__load(l->tc);
	if (err)
		load_failed("tc_egress", err, "");
	return err;
}

int pg_loader_wait(struct pg_loader *l)
{
	struct pg_xdp_job *j = l->xdp_job;
	int err;

	if (!j)
		return 0;
	if (j->threaded)
		pthread_join(j->thread, NULL);
	l->xdp_job = NULL;
	catch_end();
	err = j->err;
	if (err) {
		memcpy(verifier_reason, j->reason, sizeof(verifier_reason));
		load_failed("xdp_ingress", err, "");
	}
	free(j);
	return err;
}

int pg_loader_maps(struct pg_loader *l, const char *pin_dir, __u32 max_flows,
		   enum pg_maps_how how)
{
	bool pin = how == PG_MAPS_PINNED, quiet = how == PG_MAPS_AHEAD;
	char path[PATH_MAX + 64];
	struct bpf_map *map;
	int err;

	memset(l, 0, sizeof(*l));
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", pin_dir);
	l->xdp = xdp_ingress_bpf__open();
	if (!l->xdp) {
		err = -errno;
		if (!quiet)
			fprintf(stderr, "portguard: failed to open the BPF objects: %s\n",
				strerror(errno));
		goto fail;
	}
	/*
	 * One instance of the XDP object, without its programs, creates every map, or reuses
	 * the pinned one of an earlier state (libbpf checks type, sizes and flags), and pins
	 * what it created. Then the other objects get the same fds: there is one set of maps.
	 * The XDP program comes from a second instance, loaded only for an interface (a kernel
	 * refusing it can still run the socket hooks), side by side with tc egress.
	 */
	bpf_program__set_autoload(l->xdp->progs.pg_xdp_ingress, false);
	snprintf(path, sizeof(path), "%s/pg_active", pin_dir);
	l->replace = how == PG_MAPS_REPLACING;
	l->takeover = l->replace || (pin && !access(path, F_OK));
	/* Multi-buffer XDP where the kernel has it; elsewhere tc is the fallback. Either is
	 * loaded when an interface first needs it (load_fallback). */
	l->frags = pg_xdp_frags_supported();
	bpf_program__set_autoload(l->xdp->progs.pg_xdp_ingress_frags, false);
	/* A pinned table keeps its size; one that replaces another version's table takes
	 * --max-flows, or else the old table's size. */
	if (pin)
		l->max_flows = flows_size(pin_dir, max_flows);
	else if (l->replace && !max_flows)
		l->max_flows = pinned_flows(pin_dir) ?: PG_MAX_FLOWS_DEFAULT;
	else
		l->max_flows = max_flows ? max_flows : PG_MAX_FLOWS_DEFAULT;
	err = bpf_map__set_max_entries(l->xdp->maps.pg_flows, l->max_flows);
	if (err)
		goto fail;
	bpf_object__for_each_map(map, l->xdp->obj) {
		if (bpf_map__is_internal(map) || !pin)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			goto fail;
	}
	if (quiet) {
		/* Unpinned maps are made ahead of need, and quietly: the caller makes them
		 * again the pinned way when this fails, and that says why. */
		libbpf_print_fn_t old = libbpf_set_print(NULL);

		err = xdp_ingress_bpf__load(l->xdp);
		libbpf_set_print(old);
		if (err)
			goto fail;
	} else {
		PG_LOAD_CATCH(err, xdp_ingress_bpf__load(l->xdp));
	}
	if (err) {
		load_failed("the maps (xdp_ingress object)", err,
			    l->takeover && !verifier_reason[0]
				    ? " (the maps pinned under the pin directory may be from "
				      "another version of portguard)"
				    : "");
		goto fail;
	}
	err = pg_maps_from_object(&l->maps, l->xdp->obj);
	if (err)
		goto fail;
	return 0;
fail:
	pg_loader_close(l);
	return err;
}

int pg_loader_pin(struct pg_loader *l)
{
	char path[PATH_MAX + 64];
	struct bpf_map *map;
	int err;

	/* Pins left by a state that died half-way (pg_active missing, others there) are
	 * for the pinned way to reuse or refuse, as it always did. */
	bpf_object__for_each_map(map, l->xdp->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, bpf_map__name(map));
		if (!access(path, F_OK))
			return -EEXIST;
	}
	bpf_object__for_each_map(map, l->xdp->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, bpf_map__name(map));
		err = bpf_map__pin(map, path);
		if (err) {
			fprintf(stderr, "portguard: failed to pin %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Pin fd at path in place of what is pinned there: pinned at a temporary name, then
 * renamed over it. Where the file system refuses the rename, removed and pinned again. */
static int repin_one(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 64];
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.new-%s", dir, name);
	unlink(tmp); /* left by a replacement that died here */
	if (!bpf_obj_pin(fd, tmp) && !rename(tmp, path))
		return 0;
	unlink(tmp);
	if (unlink(path) && errno != ENOENT)
		err = -errno;
	if (!err && bpf_obj_pin(fd, path))
		err = -errno;
	if (err)
		fprintf(stderr, "portguard: failed to pin %s: %s\n", path, strerror(-err));
	return err;
}

int pg_loader_repin(struct pg_loader *l)
{
	char path[PATH_MAX + 300];
	struct bpf_map *map;
	struct dirent *de;
	int err = 0;
	DIR *d;

	/* pg_active last: a state whose pg_active is the new one is wholly this version's. */
	bpf_object__for_each_map(map, l->xdp->obj) {
		if (bpf_map__is_internal(map) || map == l->xdp->maps.pg_active)
			continue;
		err = repin_one(l->pin_dir, bpf_map__name(map), bpf_map__fd(map));
		if (err)
			return err;
	}
	err = repin_one(l->pin_dir, "pg_active", bpf_map__fd(l->xdp->maps.pg_active));
	if (err)
		return err;
	d = opendir(l->pin_dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "pg_", 3) ||
		    bpf_object__find_map_by_name(l->xdp->obj, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			fprintf(stderr, "portguard: note: failed to remove %s, a map of the version "
					"replaced: %s\n", path, strerror(errno));
	}
	closedir(d);
	l->replace = false;
	return 0;
}

int pg_pins_other_version(const char *dir, char *what, size_t len)
{
	struct xdp_ingress_bpf *obj = xdp_ingress_bpf__open();
	char path[PATH_MAX + 300];
	struct bpf_map_info info;
	struct bpf_map *map;
	__u32 ilen, max;
	int fd, r = 0;

	if (!obj)
		return -errno;
	bpf_object__for_each_map(map, obj->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			r = -errno;
			break;
		}
		memset(&info, 0, sizeof(info));
		ilen = sizeof(info);
		r = bpf_obj_get_info_by_fd(fd, &info, &ilen) ? -errno : 0;
		close(fd);
		if (r)
			break;
		/* The flow table's size is the operator's (--max-flows): any size is ours. */
		max = map == obj->maps.pg_flows ? info.max_entries : bpf_map__max_entries(map);
		if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) || info.max_entries != max ||
		    info.map_flags != bpf_map__map_flags(map)) {
			snprintf(what, len, "%s: type %u, key %u bytes, value %u, %u entries, "
					    "flags %#x; this version's: type %u, key %u, value %u, "
					    "%u entries, flags %#x",
				 bpf_map__name(map), info.type, info.key_size, info.value_size,
				 info.max_entries, info.map_flags, bpf_map__type(map),
				 bpf_map__key_size(map), bpf_map__value_size(map), max,
				 bpf_map__map_flags(map));
			r = 1;
			break;
		}
	}
	xdp_ingress_bpf__destroy(obj);
	return r;
}

int pg_loader_progs(struct pg_loader *l, bool net, bool sock)
{
	const char *pin_dir = l->pin_dir;
	int err = 0;

	if (net) {
		l->xdpn = xdp_ingress_bpf__open();
		l->tc = tc_egress_bpf__open();
	}
	if (sock)
		l->sock = sock_hooks_bpf__open();
	if ((net && (!l->xdpn || !l->tc)) || (sock && !l->sock)) {
		err = -errno;
		fprintf(stderr, "portguard: failed to open the BPF objects: %s\n", strerror(errno));
		return err;
	}
	if (l->xdpn)
		bpf_program__set_autoload(l->xdpn->progs.pg_xdp_ingress_frags, false);
	err = l->tc ? share_maps(l->xdp->obj, l->tc->obj, pin_dir) : 0;
	if (!err && l->xdpn)
		err = share_maps(l->xdp->obj, l->xdpn->obj, pin_dir);
	if (!err && l->sock)
		err = share_maps(l->xdp->obj, l->sock->obj, pin_dir);
	if (err)
		return err;
	err = l->tc ? load_ingress_egress(l) : 0;
	if (err) {
		pg_loader_wait(l); /* its refusal, if any, is printed too */
		return err;
	}
	if (l->sock)
		PG_LOAD_CATCH(err, sock_hooks_bpf__load(l->sock));
	if (err) {
		load_failed("sock_hooks", err, " (--no-cgroup runs without them)");
		return err;
	}
	if (l->sock)
		load_lsm(l);
	return 0;
}

int pg_loader_load(struct pg_loader *l, const char *pin_dir, bool net, bool sock,
		   __u32 max_flows)
{
	int err = pg_loader_maps(l, pin_dir, max_flows, PG_MAPS_PINNED);

	if (err)
		return err;
	err = pg_loader_progs(l, net, sock);
	if (!err)
		err = pg_loader_wait(l);
	if (err)
		pg_loader_close(l);
	return err;
}

void pg_loader_close(struct pg_loader *l)
{
	pg_loader_wait(l);
	sock_lsm_bpf__destroy(l->lsm);
	l->lsm = NULL;
	sock_hooks_bpf__destroy(l->sock);
	tc_egress_bpf__destroy(l->tc);
	tc_ingress_bpf__destroy(l->tci);
	xdp_ingress_bpf__destroy(l->xdpf);
	xdp_ingress_bpf__destroy(l->xdpn);
	xdp_ingress_bpf__destroy(l->xdp);
	l->sock = NULL;
	l->tc = NULL;
	l->tci = NULL;
	l->xdpf = NULL;
	l->xdpn = NULL;
	l->xdp = NULL;
	pg_maps_close(&l->maps);
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* The program of our tc filter at point on ifindex (our handle and priority, and our
 * program's name, prog), as an fd; -1 when there is none of ours. */
static int tc_ours_fd(int ifindex, enum bpf_tc_attach_point point, const char *prog)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = PG_TC_HANDLE, .priority = PG_TC_PRIORITY);
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	if (bpf_tc_query(&hook, &q))
		return -1; /* no clsact, no filter there, or the interface is gone */
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || strcmp(info.name, prog)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool tc_ours(int ifindex, enum bpf_tc_attach_point point, const char *prog)
{
	int fd = tc_ours_fd(ifindex, point, prog);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Detach our tc filter at point on ifindex, if it is ours: someone else's filter at our
 * handle and priority is not ours to remove. */
static int tc_detach_ours(int ifindex, enum bpf_tc_attach_point point, const char *prog)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, d, .handle = PG_TC_HANDLE, .priority = PG_TC_PRIORITY);
	int err;

	if (!tc_ours(ifindex, point, prog))
		return 0;
	err = bpf_tc_detach(&hook, &d);
	if (err && err != -ENOENT) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname(ifindex, name);
		fprintf(stderr, "portguard: failed to detach %s from %s: %s\n", prog, name,
			strerror(-err));
		return err;
	}
	return 0;
}

/* Both of our tc filters (egress, and the ingress fallback) off ifindex. */
static void tc_detach_all(int ifindex)
{
	tc_detach_ours(ifindex, BPF_TC_EGRESS, "pg_tc_egress");
	tc_detach_ours(ifindex, BPF_TC_INGRESS, "pg_tc_ingress");
}

static int attach_tc(const char *name, int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = PG_TC_HANDLE, .priority = PG_TC_PRIORITY,
			    .flags = BPF_TC_F_REPLACE, .prog_fd = prog_fd);
	int err;

	/* The clsact qdisc is shared with other tools: created if missing, never removed. */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "portguard: failed to create the clsact qdisc on %s: %s\n", name,
			strerror(-err));
		return err;
	}
	/* One fixed handle and priority: a takeover replaces our filter in one netlink
	 * request, and unload finds exactly ours. */
	err = bpf_tc_attach(&hook, &o);
	if (err)
		fprintf(stderr, "portguard: failed to attach tc %s to %s: %s\n",
			point == BPF_TC_EGRESS ? "egress" : "ingress", name, strerror(-err));
	return err;
}

static const char *ifmode_what(unsigned mode)
{
	switch (mode) {
	case PG_IFMODE_XDP:
		return "native XDP";
	case PG_IFMODE_XDP_FRAGS:
		return "native XDP with frags";
	case PG_IFMODE_XDP_SKB:
		return "generic XDP";
	case PG_IFMODE_TC:
		return "tc ingress";
	}
	return "nothing";
}

/*
 * Load a fallback the first time an interface needs it: tc ingress (frags: false), or a
 * second XDP object holding only pg_xdp_ingress_frags. The verifier takes about as long on
 * each as on the XDP program every interface gets, and most hosts attach neither: loading
 * them up front made a load of a large policy take over a second. Both use the XDP
 * object's maps. Prints the failure.
 */
static int load_fallback(struct pg_loader *l, bool frags)
{
	struct bpf_object *obj;
	int err;

	if (frags ? !!l->xdpf : !!l->tci)
		return 0;
	if (frags) {
		l->xdpf = xdp_ingress_bpf__open();
		if (l->xdpf)
			bpf_program__set_autoload(l->xdpf->progs.pg_xdp_ingress, false);
		obj = l->xdpf ? l->xdpf->obj : NULL;
	} else {
		l->tci = tc_ingress_bpf__open();
		obj = l->tci ? l->tci->obj : NULL;
	}
	err = obj ? share_maps(l->xdp->obj, obj, l->pin_dir) : -errno;
	if (!err && frags)
		PG_LOAD_CATCH(err, xdp_ingress_bpf__load(l->xdpf));
	else if (!err)
		PG_LOAD_CATCH(err, tc_ingress_bpf__load(l->tci));
	if (err) {
		load_failed(frags ? "xdp_ingress (frags)" : "tc_ingress", err, "");
		if (frags) {
			xdp_ingress_bpf__destroy(l->xdpf);
			l->xdpf = NULL;
		} else {
			tc_ingress_bpf__destroy(l->tci);
			l->tci = NULL;
		}
	}
	return err;
}

/* The XDP program of mode, loading it first if it is the frags one; -errno (printed). */
static int xdp_prog_fd(struct pg_loader *l, unsigned mode)
{
	int err;

	if (mode != PG_IFMODE_XDP_FRAGS)
		return bpf_program__fd(l->xdpn->progs.pg_xdp_ingress);
	err = load_fallback(l, true);
	return err ? err : bpf_program__fd(l->xdpf->progs.pg_xdp_ingress_frags);
}

/* The mode of the XDP program attached to ifindex now (after a takeover's update). */
static unsigned xdp_mode_now(int ifindex, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	if (!bpf_xdp_query(ifindex, 0, &q) && q.attach_mode == XDP_ATTACHED_SKB)
		return PG_IFMODE_XDP_SKB;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return PG_IFMODE_XDP;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.name[0] = '\0';
	close(fd);
	return strcmp(info.name, "pg_xdp_ingress_frags") ? PG_IFMODE_XDP : PG_IFMODE_XDP_FRAGS;
}

/*
 * Detach a pinned link now, and remove its pin (fd: the link, opened from path, or -1).
 * Removing the pin alone is not enough: the kernel frees a link whose last reference was a
 * pin later, from a work queue (and never while anyone else holds it), so "unloaded" could
 * be printed while the program still ran; seen in CI under load, XDP still attached after
 * unload returned. BPF_LINK_DETACH (5.9) takes the program off at once. Closes fd; returns
 * unlink's result.
 */
static int drop_link(int fd, const char *path)
{
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	return unlink(path);
}

/*
 * A pinned XDP link of an earlier state on this very interface: swap its program in place
 * (every packet meets the old program or the new one). The new program is of the kind the
 * link had (one buffer or frags), unless a mode is forced. 1 when there was none to update.
 */
static int update_xdp(struct pg_loader *l, const char *name, int ifindex, enum pg_xdp_mode mode,
		      __u8 *ifmode)
{
	struct bpf_link_info info;
	char path[PATH_MAX + 64];
	unsigned kind;
	int fd, prog, err = 0;

	snprintf(path, sizeof(path), "%s/links/xdp-%s", l->pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 1;
	if (link_info(fd, &info) || info.type != BPF_LINK_TYPE_XDP ||
	    (int)info.xdp.ifindex != ifindex) {
		/* A link left by an interface that went away (or was renamed): stale. */
		drop_link(fd, path);
		return 1;
	}
	kind = xdp_mode_now(ifindex, info.prog_id);
	if (mode == PG_XDP_FRAGS)
		kind = PG_IFMODE_XDP_FRAGS;
	else if (mode == PG_XDP_NATIVE)
		kind = PG_IFMODE_XDP;
	if (kind == PG_IFMODE_XDP_FRAGS && !l->frags) {
		/* This kernel cannot load it now: the earlier one could? Keep it honest. */
		kind = PG_IFMODE_XDP;
	}
	prog = xdp_prog_fd(l, kind == PG_IFMODE_XDP_SKB ? PG_IFMODE_XDP : kind);
	if (prog < 0) {
		err = prog;
	} else if (bpf_link_update(fd, prog, NULL)) {
		err = -errno;
		fprintf(stderr, "portguard: failed to replace the XDP program on %s: %s\n", name,
			strerror(errno));
	}
	close(fd);
	*ifmode = kind;
	return err;
}

/* A new XDP link in kind (PG_IFMODE_XDP*), pinned. Prints nothing but a failure to load the
 * frags program: the caller says what every attempt gave. */
static int create_xdp(struct pg_loader *l, const char *name, int ifindex, unsigned kind)
{
	DECLARE_LIBBPF_OPTS(bpf_link_create_opts, opts,
			    .flags = kind == PG_IFMODE_XDP_SKB ? XDP_FLAGS_SKB_MODE
							       : XDP_FLAGS_DRV_MODE);
	char path[PATH_MAX + 64];
	int fd, err = 0;

	fd = xdp_prog_fd(l, kind);
	if (fd < 0)
		return fd;
	fd = bpf_link_create(fd, ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/links/xdp-%s", l->pin_dir, name);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		fprintf(stderr, "portguard: failed to pin the XDP link of %s at %s: %s\n", name,
			path, strerror(errno));
	}
	close(fd); /* pinned, the link holds; unpinned (on failure), it detaches here */
	return err;
}

static const char *xdp_hint(int err, unsigned kind)
{
	if (err == -EBUSY)
		return " (another XDP program is attached there: ip link show dev IFACE)";
	if (err == -ERANGE)
		return kind == PG_IFMODE_XDP ? " (the MTU does not fit one buffer: --xdp-mode "
					       "frags, or tc)" : " (the MTU is beyond the driver's)";
	if ((err == -EOPNOTSUPP || err == -EINVAL) && kind != PG_IFMODE_XDP_SKB)
		return " (its driver may lack native XDP: --xdp-mode tc or skb)";
	return "";
}

int pg_loader_attach_iface(struct pg_loader *l, const char *name, enum pg_xdp_mode mode,
			   int *ifindex, __u8 *ifmode)
{
	unsigned tries[3], n = 0, i;
	int idx, err, errs[3];
	char path[PATH_MAX + 64];

	idx = if_nametoindex(name);
	if (!idx)
		return -ENODEV;
	*ifindex = idx;
	/* Egress first: replies are recorded before ingress starts judging them. */
	err = attach_tc(name, idx, BPF_TC_EGRESS, bpf_program__fd(l->tc->progs.pg_tc_egress));
	if (err)
		return err;
	if (mode != PG_XDP_TC) {
		err = update_xdp(l, name, idx, mode, ifmode);
		if (err <= 0)
			goto xdp_done;
		switch (mode) {
		case PG_XDP_AUTO:
			tries[n++] = PG_IFMODE_XDP;
			if (l->frags)
				tries[n++] = PG_IFMODE_XDP_FRAGS;
			break;
		case PG_XDP_NATIVE:
			tries[n++] = PG_IFMODE_XDP;
			break;
		case PG_XDP_FRAGS:
			if (!l->frags) {
				fprintf(stderr, "portguard: cannot enforce %s with XDP frags: this "
						"kernel has no multi-buffer XDP (5.18 or later); "
						"--xdp-mode tc works everywhere\n", name);
				return -EOPNOTSUPP;
			}
			tries[n++] = PG_IFMODE_XDP_FRAGS;
			break;
		default:
			tries[n++] = PG_IFMODE_XDP_SKB;
			break;
		}
		for (i = 0; i < n; i++) {
			errs[i] = create_xdp(l, name, idx, tries[i]);
			if (!errs[i]) {
				*ifmode = tries[i];
				err = 0;
				goto xdp_done;
			}
			if (errs[i] == -EBUSY)
				break; /* someone else's XDP program: not ours to fall back from */
		}
		if (mode != PG_XDP_AUTO || (i < n && errs[i] == -EBUSY)) {
			i = i < n ? i : n - 1;
			fprintf(stderr, "portguard: failed to attach XDP to %s in %s mode: %s%s\n",
				name, ifmode_what(tries[i]), strerror(-errs[i]),
				xdp_hint(errs[i], tries[i]));
			return errs[i];
		}
		/* Auto: say why XDP was not used, then fall back to tc. */
		fprintf(stderr, "portguard: %s: native XDP refused (%s)%s%s%s; enforcing with tc "
				"ingress\n", name, strerror(-errs[0]),
			l->frags ? ", with frags too (" : ", and this kernel has no multi-buffer "
							  "XDP (5.18 or later)",
			l->frags ? strerror(-errs[1]) : "", l->frags ? ")" : "");
	}
	err = load_fallback(l, false);
	if (!err)
		err = attach_tc(name, idx, BPF_TC_INGRESS, bpf_program__fd(l->tci->progs.pg_tc_ingress));
	if (err)
		return err;
	*ifmode = PG_IFMODE_TC;
	/* tc ingress is in force: an XDP link of an earlier state here goes. */
	snprintf(path, sizeof(path), "%s/links/xdp-%s", l->pin_dir, name);
	drop_link(bpf_obj_get(path), path);
	return 0;
xdp_done:
	if (err)
		return err;
	/* XDP is in force: a tc ingress fallback of an earlier state here goes. */
	tc_detach_ours(idx, BPF_TC_INGRESS, "pg_tc_ingress");
	return 0;
}

/* HOOK of links/cgroup-HOOK: the program name without its "pg_" prefix. */
static const char *hook_of(const struct bpf_program *prog)
{
	const char *n = bpf_program__name(prog);

	return strncmp(n, "pg_", 3) ? n : n + 3;
}

/* Attach prog to the cgroup (cgfd, id), or update our pinned link there in place. */
static int attach_hook(struct pg_loader *l, struct bpf_program *prog, int cgfd, __u64 id,
		       const char *cgroup)
{
	enum bpf_attach_type type = bpf_program__expected_attach_type(prog);
	int prog_fd = bpf_program__fd(prog), fd, nfd, err = 0;
	struct bpf_link_info info;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/links/cgroup-%s", l->pin_dir, hook_of(prog));
	fd = bpf_obj_get(path);
	if (fd >= 0 && !link_info(fd, &info) && info.type == BPF_LINK_TYPE_CGROUP &&
	    info.cgroup.cgroup_id == id && info.cgroup.attach_type == type) {
		if (bpf_link_update(fd, prog_fd, NULL)) {
			err = -errno;
			fprintf(stderr, "portguard: failed to replace %s on cgroup %s: %s\n",
				bpf_program__name(prog), cgroup, strerror(errno));
		}
		close(fd);
		return err;
	}
	/* New, or moved to another cgroup: the new link first, then the old one goes, so
	 * that no moment is left without the hook. */
	nfd = bpf_link_create(prog_fd, cgfd, type, NULL);
	if (nfd < 0) {
		err = -errno;
		fprintf(stderr, "portguard: failed to attach %s to cgroup %s: %s\n",
			bpf_program__name(prog), cgroup, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (fd >= 0) {
		unlink(path);
		close(fd);
	}
	if (bpf_obj_pin(nfd, path)) {
		err = -errno;
		fprintf(stderr, "portguard: failed to pin the link of %s at %s: %s\n",
			bpf_program__name(prog), path, strerror(errno));
	}
	close(nfd);
	return err;
}

static int attach_cgroup(struct pg_loader *l, const char *cgroup)
{
	struct bpf_object *objs[] = {
		l->sock ? l->sock->obj : NULL,
		l->lsm ? l->lsm->obj : NULL,
	};
	struct bpf_program *prog;
	struct stat st;
	int cgfd, err = 0;
	size_t o;

	cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || fstat(cgfd, &st)) {
		err = -errno;
		fprintf(stderr, "portguard: failed to open cgroup %s: %s\n", cgroup, strerror(errno));
		goto out;
	}
	for (o = 0; o < sizeof(objs) / sizeof(objs[0]) && objs[o]; o++) {
		bpf_object__for_each_program(prog, objs[o]) {
			err = attach_hook(l, prog, cgfd, st.st_ino, cgroup);
			if (err)
				goto out;
		}
	}
out:
	if (cgfd >= 0)
		close(cgfd);
	return err;
}

static bool named(const struct pg_attach *a, const char *iface)
{
	size_t i;

	for (i = 0; i < a->nifaces; i++)
		if (!strcmp(a->ifaces[i], iface))
			return true;
	return false;
}

static bool is_hook(struct pg_loader *l, const char *hook)
{
	struct bpf_program *prog;

	if (!l->sock)
		return false;
	bpf_object__for_each_program(prog, l->sock->obj)
		if (!strcmp(hook_of(prog), hook))
			return true;
	if (l->lsm)
		bpf_object__for_each_program(prog, l->lsm->obj)
			if (!strcmp(hook_of(prog), hook))
				return true;
	return false;
}

/* Remove one pinned link (and, for XDP, our tc filter on its interface). Returns 1 when its
 * interface is in another network namespace, else 0. */
static int remove_link(const char *dir, const char *entry)
{
	int elsewhere = 0;
	char path[PATH_MAX + 300];
	struct bpf_link_info info;
	int fd;

	snprintf(path, sizeof(path), "%s/links/%s", dir, entry);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		__u32 here = 0;

		/* An ifindex means an interface of this network namespace only if the link's
		 * program is the one XDP runs there; otherwise the state was loaded from another
		 * namespace, whose tc filter this one cannot see. */
		if (!link_info(fd, &info) && info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex) {
			if (!bpf_xdp_query_id(info.xdp.ifindex, 0, &here) &&
			    here == info.prog_id) {
				tc_detach_all(info.xdp.ifindex);
			} else {
				elsewhere = 1;
				fprintf(stderr, "portguard: %s is attached in another network "
						"namespace: its tc egress filter stays until unload "
						"runs there or the interface goes\n", entry);
			}
		}
	}
	if (drop_link(fd, path) && errno != ENOENT)
		fprintf(stderr, "portguard: failed to remove %s: %s\n", path, strerror(errno));
	return elsewhere;
}

static int info_get(const char *pin_dir, struct pg_info *info)
{
	char path[PATH_MAX + 16];
	__u32 zero = 0;
	int fd, err = 0;

	memset(info, 0, sizeof(*info));
	snprintf(path, sizeof(path), "%s/pg_info", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	/* Another version's pg_info (a state being replaced) may be of another size: a read
	 * of it would overflow info. */
	if (pg_map_check_quiet(fd, PG_MAP_INFO))
		err = -EINVAL;
	else if (bpf_map_lookup_elem(fd, &zero, info))
		err = -errno;
	close(fd);
	return err;
}

void pg_loader_detach_iface(const char *pin_dir, const char *name, int ifindex)
{
	char entry[IF_NAMESIZE + 8];

	snprintf(entry, sizeof(entry), "xdp-%s", name);
	remove_link(pin_dir, entry);
	if (ifindex)
		tc_detach_all(ifindex);
}

void pg_loader_prune(struct pg_loader *l, const struct pg_attach *a,
		     const struct pg_info *before)
{
	char path[PATH_MAX + 64], name[IF_NAMESIZE];
	struct dirent *de;
	__u32 i;
	DIR *d;

	snprintf(path, sizeof(path), "%s/links", l->pin_dir);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (!strncmp(de->d_name, "xdp-", 4) && !named(a, de->d_name + 4))
				remove_link(l->pin_dir, de->d_name);
			else if (!strncmp(de->d_name, "cgroup-", 7) &&
				 (!a->cgroup || !is_hook(l, de->d_name + 7)))
				remove_link(l->pin_dir, de->d_name);
		}
		closedir(d);
	}
	/* Interfaces enforced by tc have no link pin: pg_info remembers them. Only while the
	 * name still names the same interface (a new one of that name is not ours). */
	for (i = 0; before && i < before->nifaces && i < PG_MAX_IFACES; i++) {
		memcpy(name, before->ifname[i], sizeof(name));
		name[IF_NAMESIZE - 1] = '\0';
		if (!before->ifindex[i] || named(a, name))
			continue;
		if (!name[0] || (int)if_nametoindex(name) == (int)before->ifindex[i])
			tc_detach_all(before->ifindex[i]);
	}
}

static int attach_all(struct pg_loader *l, struct pg_attach *a)
{
	struct pg_info before;
	bool have_before;
	size_t i;
	int err;

	have_before = !info_get(l->pin_dir, &before);
	for (i = 0; i < a->nifaces; i++) {
		a->ifindex[i] = 0;
		a->mode[i] = PG_IFMODE_AWAITED;
		err = pg_loader_attach_iface(l, a->ifaces[i], a->xdp_mode, &a->ifindex[i],
					     &a->mode[i]);
		if (err == -ENODEV && a->await) {
			a->ifindex[i] = 0;
			continue;
		}
		if (err == -ENODEV)
			fprintf(stderr, "portguard: interface %s not found\n", a->ifaces[i]);
		if (err)
			return err;
	}
	if (a->cgroup) {
		err = attach_cgroup(l, a->cgroup);
		if (err)
			return err;
	}
	/* What an earlier state attached and this one does not name goes, now that the new
	 * attachments are in force. */
	pg_loader_prune(l, a, have_before ? &before : NULL);
	return 0;
}

/*
 * A replacement (PG_MAPS_REPLACING) that stops half-way is put back: what each of the old
 * version's links and tc filters ran is recorded before anything is attached, and restored
 * when an attach fails, so that the old version's state stays whole (its own maps, its own
 * programs everywhere) instead of half of its hooks running this version's programs on maps
 * nothing pins. Links this attempt created go.
 */
#define UNDO_LINKS 64
struct undo {
	size_t nlinks, ntc;
	struct {
		char name[NAME_MAX + 1];
		int prog;
	} link[UNDO_LINKS];
	struct {
		int ifindex;
		enum bpf_tc_attach_point point;
		int prog; /* -1: none of ours was there */
	} tc[2 * PG_MAX_IFACES];
};

static const char *tc_prog_name(enum bpf_tc_attach_point point)
{
	return point == BPF_TC_EGRESS ? "pg_tc_egress" : "pg_tc_ingress";
}

static void undo_record(struct pg_loader *l, const struct pg_attach *a, struct undo *u)
{
	char path[PATH_MAX + 300];
	struct bpf_link_info info;
	struct dirent *de;
	size_t i;
	DIR *d;
	int fd;

	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "%s/links", l->pin_dir);
	d = opendir(path);
	while (d && (de = readdir(d)) && u->nlinks < UNDO_LINKS) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!link_info(fd, &info)) {
			pg_strlcpy(u->link[u->nlinks].name, de->d_name, sizeof(u->link[0].name));
			u->link[u->nlinks++].prog = bpf_prog_get_fd_by_id(info.prog_id);
		}
		close(fd);
	}
	if (d)
		closedir(d);
	for (i = 0; i < a->nifaces; i++) {
		int idx = if_nametoindex(a->ifaces[i]);

		for (int k = 0; idx && k < 2; k++) {
			enum bpf_tc_attach_point point = k ? BPF_TC_INGRESS : BPF_TC_EGRESS;

			u->tc[u->ntc].ifindex = idx;
			u->tc[u->ntc].point = point;
			u->tc[u->ntc++].prog = tc_ours_fd(idx, point, tc_prog_name(point));
		}
	}
}

/* Put back what undo_record() saw. Returns the number of attach points it could not. */
static int undo_apply(struct pg_loader *l, struct undo *u)
{
	char path[PATH_MAX + 300], name[IF_NAMESIZE];
	struct dirent *de;
	int failed = 0, fd;
	size_t i;
	DIR *d;

	snprintf(path, sizeof(path), "%s/links", l->pin_dir);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir, de->d_name);
		for (i = 0; i < u->nlinks && strcmp(u->link[i].name, de->d_name); i++)
			;
		fd = bpf_obj_get(path);
		if (i == u->nlinks) {
			drop_link(fd, path); /* this attempt's own */
			continue;
		}
		if (fd < 0 || u->link[i].prog < 0 || bpf_link_update(fd, u->link[i].prog, NULL)) {
			fprintf(stderr, "portguard: failed to put the old program back on %s: %s\n",
				de->d_name, strerror(errno));
			failed++;
		}
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	/* A link this attempt removed (an interface gone over to tc) cannot come back. */
	for (i = 0; i < u->nlinks; i++) {
		snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir, u->link[i].name);
		if (access(path, F_OK)) {
			fprintf(stderr, "portguard: the old link %s is gone\n", u->link[i].name);
			failed++;
		}
	}
	for (i = 0; i < u->ntc; i++) {
		if (!if_indextoname(u->tc[i].ifindex, name))
			continue;
		if (u->tc[i].prog < 0)
			tc_detach_ours(u->tc[i].ifindex, u->tc[i].point, tc_prog_name(u->tc[i].point));
		else if (attach_tc(name, u->tc[i].ifindex, u->tc[i].point, u->tc[i].prog))
			failed++;
	}
	return failed;
}

static void undo_free(struct undo *u)
{
	size_t i;

	for (i = 0; i < u->nlinks; i++)
		if (u->link[i].prog >= 0)
			close(u->link[i].prog);
	for (i = 0; i < u->ntc; i++)
		if (u->tc[i].prog >= 0)
			close(u->tc[i].prog);
}

int pg_loader_attach(struct pg_loader *l, struct pg_attach *a)
{
	struct undo *u = NULL;
	int err;

	err = pg_loader_wait(l);
	if (err)
		return err;
	if (l->replace) {
		u = malloc(sizeof(*u));
		if (!u)
			return -ENOMEM;
		undo_record(l, a, u);
	}
	err = attach_all(l, a);
	if (err && u) {
		int failed = undo_apply(l, u);

		if (failed)
			fprintf(stderr, "portguard: the replacement of the state at %s stopped, and "
					"%d of its attach points could not be put back: they run this "
					"version's programs; load again once the cause is mended\n",
				l->pin_dir, failed);
		else
			fprintf(stderr, "portguard: the replacement of the state at %s stopped: "
					"every attach point runs the old version's programs again, as "
					"before\n", l->pin_dir);
	}
	if (u) {
		undo_free(u);
		free(u);
	}
	return err;
}

int pg_detach_all(const char *pin_dir)
{
	char path[PATH_MAX + 300];
	struct pg_info info;
	struct dirent *de;
	int found = 0, elsewhere = 0, fd;
	__u32 zero = 0, i;
	DIR *d;

	snprintf(path, sizeof(path), "%s/links", pin_dir);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			elsewhere |= remove_link(pin_dir, de->d_name);
			found = 1;
		}
		closedir(d);
		rmdir(path);
	}
	/* tc filters on interfaces whose XDP link was already gone; not when the state lives in
	 * another namespace, where these ifindexes name other interfaces. */
	fd = elsewhere ? -1 : pg_map_open_pinned(pin_dir, PG_MAP_INFO, true);
	if (fd >= 0) {
		if (!bpf_map_lookup_elem(fd, &zero, &info))
			for (i = 0; i < info.nifaces && i < PG_MAX_IFACES; i++)
				if (info.ifindex[i])
					tc_detach_all(info.ifindex[i]);
		close(fd);
	}
	/* Every pg_* pin in our directory is a map of ours: those of maps.bpf.h, an object's
	 * own, and those an older version of portguard pinned. */
	d = opendir(pin_dir);
	if (d) {
		while ((de = readdir(d))) {
			/* .new-pg_*: a pin a replacement of another version left half-way. */
			if (strncmp(de->d_name, "pg_", 3) && strncmp(de->d_name, ".new-pg_", 8))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
			if (!unlink(path))
				found = 1;
			else if (errno != ENOENT)
				fprintf(stderr, "portguard: failed to remove %s: %s\n", path,
					strerror(errno));
		}
		closedir(d);
	}
	/* Fails, as it should, when the directory is a mount point or holds others' pins. */
	rmdir(pin_dir);
	return found;
}

/* The map definitions of this build, from the XDP object (which defines every map of
 * maps.bpf.h), read once without loading anything. */
int pg_map_spec(enum pg_map_id id, struct pg_map_spec *spec)
{
	static struct pg_map_spec specs[PG_MAP_NR];
	static int err = 1;
	struct xdp_ingress_bpf *obj;

	if (err > 0) {
		obj = xdp_ingress_bpf__open();
		err = obj ? 0 : -errno;
		for (int i = 0; !err && i < PG_MAP_NR; i++) {
			struct bpf_map *m = bpf_object__find_map_by_name(obj->obj, pg_map_names[i]);

			if (!m) {
				err = -ENOENT;
				break;
			}
			specs[i] = (struct pg_map_spec){
				.type = bpf_map__type(m),
				.key_size = bpf_map__key_size(m),
				.value_size = bpf_map__value_size(m),
				.max_entries = bpf_map__max_entries(m),
			};
		}
		xdp_ingress_bpf__destroy(obj);
	}
	if (err)
		return err;
	*spec = specs[id];
	return 0;
}
