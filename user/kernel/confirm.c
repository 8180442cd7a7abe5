// SPDX-License-Identifier: GPL-2.0
/* A policy change that takes itself back unless confirmed. See confirm.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "common/clock.h"
#include "kernel/confirm.h"
#include "kernel/loader.h"
#include "output/fanout.h"

static const char *const state_names[] = {
	[PG_CHANGE_PENDING] = "pending",
	[PG_CHANGE_CONFIRMED] = "confirmed",
	[PG_CHANGE_ROLLED_BACK] = "rolled-back",
	[PG_CHANGE_VOID] = "void",
};

const char *pg_change_state_name(__u32 state)
{
	return state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state]
		       ? state_names[state]
		       : "?";
}

static int path_of(const char *pin_dir, char *buf, size_t size)
{
	return pg_run_path(pin_dir, "pending", buf, size);
}

int pg_pending_read(const char *pin_dir, struct pg_pending *p)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err;

	err = path_of(pin_dir, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, p, sizeof(*p));
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	if (n != sizeof(*p) || p->magic != PG_PENDING_MAGIC)
		return -EINVAL;
	return 0;
}

/* Replace the record atomically: a reader sees the old one or the new one. */
static int pending_write(const char *pin_dir, const struct pg_pending *p)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd, err = 0;

	err = path_of(pin_dir, path, sizeof(path));
	if (err)
		return err;
	err = pg_run_dir_prepare();
	if (err)
		return err;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	if (write(fd, p, sizeof(*p)) != (ssize_t)sizeof(*p)) {
		err = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (!rename(tmp, path))
		return 0;
fail:
	err = -errno;
out:
	fprintf(stderr, "portguard: failed to record the change in %s: %s\n", path, strerror(-err));
	return err;
}

static void say_pending(const struct pg_pending *p, const char *what)
{
	char when[40];

	pg_rfc3339(p->deadline_ns, when, sizeof(when));
	fprintf(stderr, "portguard: %s refused: the change to %s (sha256 %.12s) awaits "
			"confirmation until %s; run `portguard confirm`, or wait for it to be "
			"rolled back\n", what, p->new_info.policy, p->new_info.sha256, when);
}

int pg_change_check_idle(const char *pin_dir, const char *what)
{
	struct pg_pending p;

	if (pg_pending_read(pin_dir, &p) || p.state != PG_CHANGE_PENDING)
		return 0;
	say_pending(&p, what);
	return -EBUSY;
}

static int info_read(const struct pg_maps *m, struct pg_info *info)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(m->fd[PG_MAP_INFO], &zero, info) ? -errno : 0;
}

int pg_change_begin(const struct pg_maps *m, const char *pin_dir, unsigned seconds,
		    struct pg_pending *p)
{
	__u32 gen;
	int err;

	err = pg_change_check_idle(pin_dir, "reload --confirm");
	if (err)
		return err;
	*p = (struct pg_pending){ .magic = PG_PENDING_MAGIC, .state = PG_CHANGE_PENDING,
				  .seconds = seconds };
	err = pg_active_gen(m, &gen);
	if (!err)
		err = info_read(m, &p->old_info);
	if (err) {
		fprintf(stderr, "portguard: failed to read the state in force: %s\n",
			strerror(-err));
		return err;
	}
	p->old_gen = gen;
	p->new_gen = pg_other_gen(gen);
	p->id = (__u64)pg_realtime_ns();
	p->deadline_ns = p->id + seconds * 1000000000ull;
	p->deadline_boot_ns = (__u64)pg_boottime_ns() + seconds * 1000000000ull;
	p->new_info = p->old_info;
	return 0;
}

int pg_change_record(const char *pin_dir, const struct pg_pending *p)
{
	return pending_write(pin_dir, p);
}

int pg_change_applied(const struct pg_maps *m, const char *pin_dir, struct pg_pending *p)
{
	__u32 gen;

	if (!pg_active_gen(m, &gen))
		p->new_gen = gen;
	info_read(m, &p->new_info);
	p->applied = 1;
	return pending_write(pin_dir, p);
}

/* The pin lock without waiting (the daemon's loop), or waiting (pg_lock). */
static int lock_dir(const char *pin_dir, bool wait)
{
	int fd;

	if (wait)
		return pg_lock(pin_dir);
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

int pg_change_confirm(const char *pin_dir, struct pg_pending *p)
{
	int lock, err;

	lock = pg_lock(pin_dir);
	if (lock < 0)
		return lock;
	err = pg_pending_read(pin_dir, p);
	if (err || p->state != PG_CHANGE_PENDING) {
		if (!err && p->state == PG_CHANGE_ROLLED_BACK)
			fprintf(stderr, "portguard: nothing to confirm: the change to %s was rolled "
					"back (its deadline passed)\n", p->new_info.policy);
		else
			fprintf(stderr, "portguard: nothing awaits confirmation at %s\n", pin_dir);
		err = -ENOENT;
		goto out;
	}
	p->state = PG_CHANGE_CONFIRMED;
	p->settled_ns = (__u64)pg_realtime_ns();
	err = pending_write(pin_dir, p);
out:
	pg_unlock(lock);
	return err;
}

int pg_change_expire(const char *pin_dir, bool wait, struct pg_pending *p)
{
	struct pg_maps m = { .owned = false };
	struct pg_info info;
	int lock, err, ret = 0;
	__u32 gen, zero = 0;

	lock = lock_dir(pin_dir, wait);
	if (lock < 0)
		return lock;
	err = pg_pending_read(pin_dir, p);
	if (err || p->state != PG_CHANGE_PENDING ||
	    (__u64)pg_boottime_ns() < p->deadline_boot_ns)
		goto out;
	p->settled_ns = (__u64)pg_realtime_ns();
	/* Unloaded, or the reload never switched (killed before it did): nothing to take
	 * back. */
	if (pg_maps_from_pins(&m, pin_dir) || pg_active_gen(&m, &gen) || gen != p->new_gen) {
		p->state = PG_CHANGE_VOID;
		err = pending_write(pin_dir, p);
		goto out;
	}
	err = pg_activate(&m, p->old_gen);
	if (err) {
		fprintf(stderr, "portguard: failed to roll back to generation %u: %s\n", p->old_gen,
			strerror(-err));
		goto out;
	}
	/* The policy's part of pg_info goes back; the attach points are not the change's. */
	if (!info_read(&m, &info)) {
		info.loaded_at = p->old_info.loaded_at;
		info.load_ns = p->old_info.load_ns;
		info.nrules = p->old_info.nrules;
		memcpy(info.policy, p->old_info.policy, sizeof(info.policy));
		memcpy(info.sha256, p->old_info.sha256, sizeof(info.sha256));
		bpf_map_update_elem(m.fd[PG_MAP_INFO], &zero, &info, BPF_ANY);
	}
	p->state = PG_CHANGE_ROLLED_BACK;
	err = pending_write(pin_dir, p);
	ret = 1;
out:
	pg_maps_close(&m);
	pg_unlock(lock);
	return err ? err : ret;
}

static void keeper_main(const char *pin_dir, __u64 id, __u64 deadline)
{
	__u64 started = (__u64)pg_boottime_ns(), now;
	struct pg_pending p;
	int r;

	openlog("portguard", LOG_PID, LOG_DAEMON);
	for (;;) {
		now = (__u64)pg_boottime_ns();
		r = pg_pending_read(pin_dir, &p);
		if (!r && p.id == id && p.state != PG_CHANGE_PENDING)
			return; /* confirmed, or settled by another */
		/* The caller died before it recorded the change: there is none to keep. */
		if ((r || p.id != id) && now - started > 30000000000ull)
			return;
		if (now >= deadline && !r && p.id == id) {
			r = pg_change_expire(pin_dir, true, &p);
			if (r == 1)
				syslog(LOG_WARNING, "rolled back the change to %s at %s: not confirmed "
						    "within %u s; %s (sha256 %.12s) is in force again",
				       p.new_info.policy, pin_dir, p.seconds, p.old_info.policy,
				       p.old_info.sha256);
			else if (r < 0)
				syslog(LOG_ERR, "failed to roll back the change at %s: %s", pin_dir,
				       strerror(-r));
			return;
		}
		usleep(now < deadline && deadline - now < 200000000ull
			       ? (deadline - now) / 1000 + 1
			       : 200000);
	}
}

int pg_change_keeper(const char *pin_dir, __u64 id, __u64 deadline_boot_ns)
{
	int pfd[2], status, fd;
	pid_t child, keeper = 0;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	child = fork();
	if (child < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (!child) {
		/* A session of its own: no terminal, and no hangup or kill of the caller's
		 * session or process group reaches it. */
		setsid();
		keeper = fork();
		if (keeper) {
			if (keeper > 0 && write(pfd[1], &keeper, sizeof(keeper)) < 0)
				_exit(1);
			_exit(keeper < 0);
		}
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (chdir("/"))
			_exit(1);
		fd = open("/dev/null", O_RDWR);
		for (int i = 0; i < 3; i++)
			dup2(fd, i);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		keeper_main(pin_dir, id, deadline_boot_ns);
		_exit(0);
	}
	close(pfd[1]);
	waitpid(child, &status, 0);
	if (read(pfd[0], &keeper, sizeof(keeper)) != sizeof(keeper))
		keeper = 0;
	close(pfd[0]);
	return keeper > 0 ? keeper : -ECHILD;
}

int pg_change_watch_start(struct pg_change_watch *w, const char *pin_dir, struct pg_pending *p)
{
	int lock, r = 0;

	*w = (struct pg_change_watch){ 0 };
	if (pg_pending_read(pin_dir, p))
		return 0;
	if (p->state == PG_CHANGE_PENDING) {
		lock = pg_lock(pin_dir);
		if (!pg_pending_read(pin_dir, p) && p->state == PG_CHANGE_PENDING) {
			p->state = PG_CHANGE_VOID;
			p->settled_ns = (__u64)pg_realtime_ns();
			pending_write(pin_dir, p);
			fprintf(stderr, "portguard: the change to %s that awaited confirmation is "
					"superseded by this run's policy; it will not be rolled back\n",
				p->new_info.policy);
			r = 1;
		}
		pg_unlock(lock);
	}
	w->id = p->id;
	w->state = p->state;
	return r;
}

int pg_change_tick(struct pg_change_watch *w, const char *pin_dir, struct pg_pending *p)
{
	__u64 now = (__u64)pg_boottime_ns();

	if (now < w->next_ns)
		return 0;
	w->next_ns = now + 100000000ull;
	if (pg_pending_read(pin_dir, p))
		return 0;
	/* Ours to roll back: recorded while this daemon served the pin directory. A lock held
	 * by another command is tried again on the next look. */
	if (p->state == PG_CHANGE_PENDING && !p->keeper && now >= p->deadline_boot_ns &&
	    pg_change_expire(pin_dir, false, p) < 0)
		pg_pending_read(pin_dir, p);
	/* Recorded before the reload writes anything: news once it switched. */
	if ((p->id == w->id && p->state == w->state) ||
	    (p->state == PG_CHANGE_PENDING && !p->applied))
		return 0;
	w->id = p->id;
	w->state = p->state;
	return 1;
}
