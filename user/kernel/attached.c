// SPDX-License-Identifier: GPL-2.0
/* What the kernel has attached, compared with the pinned state. See attached.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/attached.h"
#include "sock_hooks.skel.h"

static int link_of(const char *path, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);
	int fd, err = 0;

	memset(info, 0, sizeof(*info));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		err = -errno;
	close(fd);
	return err;
}

static struct pg_point *add_point(struct pg_enforcement *e, enum pg_point_kind kind,
				  const char *name)
{
	struct pg_point *p;

	if (e->n >= PG_MAX_POINTS)
		return NULL;
	p = &e->p[e->n++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/* links/xdp-NAME: live, and the program XDP runs on the device (when it is ours to see). */
static void check_xdp(const char *pin_dir, const char *name, struct pg_point *p)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char path[PATH_MAX + 300], here[IF_NAMESIZE];
	struct bpf_link_info info;
	unsigned int now;
	int err;

	snprintf(path, sizeof(path), "%s/links/xdp-%s", pin_dir, name);
	err = link_of(path, &info);
	if (err) {
		snprintf(p->why, sizeof(p->why), "its XDP link cannot be read: %s", strerror(-err));
		return;
	}
	if (info.type != BPF_LINK_TYPE_XDP) {
		snprintf(p->why, sizeof(p->why), "its pin is not an XDP link");
		return;
	}
	p->prog_id = info.prog_id;
	p->ifindex = info.xdp.ifindex;
	if (!info.xdp.ifindex) {
		/* The kernel detaches an XDP link when its device goes away; a device of the
		 * same name made since is a new one, without portguard. */
		now = if_nametoindex(name);
		if (now)
			snprintf(p->why, sizeof(p->why), "the interface was deleted; %s exists "
				 "again (ifindex %u) with nothing of portguard attached: run "
				 "load again", name, now);
		else
			snprintf(p->why, sizeof(p->why), "the interface is gone (deleted or moved "
				 "to another network namespace): its XDP link is defunct");
		return;
	}
	if (!if_indextoname(info.xdp.ifindex, here) || strcmp(here, name)) {
		/* The ifindex names something else here, or nothing: the link's device lives
		 * in another network namespace. The kernel holds the link on a live device, so
		 * the program is in force there; this namespace cannot look closer. */
		p->enforcing = true;
		snprintf(p->why, sizeof(p->why), "attached in another network namespace "
			 "(ifindex %u there)", info.xdp.ifindex);
		return;
	}
	err = bpf_xdp_query(info.xdp.ifindex, 0, &q);
	if (err) {
		snprintf(p->why, sizeof(p->why), "failed to query XDP on %s: %s", name,
			 strerror(-err));
		return;
	}
	if (q.prog_id != info.prog_id && q.drv_prog_id != info.prog_id &&
	    q.skb_prog_id != info.prog_id && q.hw_prog_id != info.prog_id) {
		snprintf(p->why, sizeof(p->why), "XDP on %s runs program id %u, not portguard's "
			 "%u", name, q.prog_id, info.prog_id);
		return;
	}
	p->enforcing = true;
}

static bool prog_listed(int cgfd, enum bpf_attach_type type, __u32 id)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query(cgfd, type, 0, &flags, ids, &cnt))
		return false;
	for (__u32 i = 0; i < cnt && i < 64; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The socket hooks this build attaches: the skeleton's programs, read once (opened, never
 * loaded), so that a scrape does not parse the object again. */
#define MAX_HOOKS 16
static struct hook {
	char name[64];
	enum bpf_attach_type type;
} hooks[MAX_HOOKS];
static int nhooks = -1;

static int hooks_read(void)
{
	struct sock_hooks_bpf *skel;
	struct bpf_program *prog;
	int n = 0;

	if (nhooks >= 0)
		return 0;
	skel = sock_hooks_bpf__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		if (n == MAX_HOOKS)
			break;
		snprintf(hooks[n].name, sizeof(hooks[n].name), "%s",
			 strncmp(name, "pg_", 3) ? name : name + 3);
		hooks[n++].type = bpf_program__expected_attach_type(prog);
	}
	sock_hooks_bpf__destroy(skel);
	nhooks = n;
	return 0;
}

/* Every socket hook of the build: its link pinned, live on the cgroup of pg_info, and listed
 * by the kernel there. */
static void check_cgroup(const char *pin_dir, const char *cgroup, struct pg_point *p)
{
	char path[PATH_MAX + 300];
	struct bpf_link_info info;
	struct stat st;
	int cgfd, err;

	cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || fstat(cgfd, &st)) {
		if (errno == ENOENT)
			snprintf(p->why, sizeof(p->why), "the cgroup was removed: the links of its "
				 "socket hooks are defunct");
		else
			snprintf(p->why, sizeof(p->why), "the cgroup cannot be opened: %s",
				 strerror(errno));
		if (cgfd >= 0)
			close(cgfd);
		return;
	}
	err = hooks_read();
	if (err) {
		snprintf(p->why, sizeof(p->why), "failed to open the socket hooks object: %s",
			 strerror(-err));
		close(cgfd);
		return;
	}
	p->enforcing = true;
	for (int h = 0; h < nhooks; h++) {
		const char *hook = hooks[h].name;
		enum bpf_attach_type type = hooks[h].type;

		snprintf(path, sizeof(path), "%s/links/cgroup-%s", pin_dir, hook);
		err = link_of(path, &info);
		if (err)
			snprintf(p->why, sizeof(p->why), "hook %.48s: no link pinned (%s)", hook,
				 strerror(-err));
		else if (info.type != BPF_LINK_TYPE_CGROUP || !info.cgroup.cgroup_id)
			snprintf(p->why, sizeof(p->why), "hook %.48s: its link is defunct (the "
				 "cgroup was removed?)", hook);
		else if (info.cgroup.cgroup_id != st.st_ino)
			snprintf(p->why, sizeof(p->why), "hook %.48s is attached to cgroup id %llu, "
				 "not to %.120s", hook, (unsigned long long)info.cgroup.cgroup_id,
				 cgroup);
		else if (!prog_listed(cgfd, type, info.prog_id))
			snprintf(p->why, sizeof(p->why), "hook %.48s: the kernel does not list "
				 "program id %u on the cgroup", hook, info.prog_id);
		else
			continue;
		p->enforcing = false;
		break;
	}
	close(cgfd);
}

bool pg_pins_partial(const char *pin_dir)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(pin_dir);

	while (d && !found && (de = readdir(d)))
		found = !strncmp(de->d_name, "pg_", 3);
	if (d)
		closedir(d);
	return found;
}

int pg_enforcement_check(const char *pin_dir, const struct pg_info *info,
			 struct pg_enforcement *e)
{
	char path[PATH_MAX + 16], name[IF_NAMESIZE + 16];
	bool matched[PG_MAX_IFACES] = { false };
	size_t defunct = 0, i;
	struct dirent *de;
	struct pg_point *p;
	__u32 n = info->nifaces < PG_MAX_IFACES ? info->nifaces : PG_MAX_IFACES;
	DIR *d;

	memset(e, 0, sizeof(*e));
	/* pg_info's attach points are written last by load and run: a state without them was
	 * interrupted before it finished attaching. */
	e->complete = info->nifaces || info->cgroup[0];
	snprintf(path, sizeof(path), "%s/links", pin_dir);
	d = opendir(path);
	if (!d && errno != ENOENT)
		return -errno;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "xdp-", 4))
			continue;
		p = add_point(e, PG_POINT_IFACE, de->d_name + 4);
		if (!p)
			break;
		check_xdp(pin_dir, de->d_name + 4, p);
		if (!p->ifindex)
			defunct++;
		for (i = 0; i < n; i++)
			if (p->ifindex && info->ifindex[i] == p->ifindex)
				matched[i] = true;
	}
	if (d)
		closedir(d);
	/* An interface pg_info names whose link is neither live nor one of the defunct ones
	 * above: its link pin is missing. */
	for (i = 0; i < n; i++) {
		if (matched[i])
			continue;
		if (defunct) {
			defunct--;
			continue;
		}
		if (!if_indextoname(info->ifindex[i], name))
			snprintf(name, sizeof(name), "ifindex %u", info->ifindex[i]);
		p = add_point(e, PG_POINT_IFACE, name);
		if (p)
			snprintf(p->why, sizeof(p->why), "no XDP link is pinned for it");
	}
	if (info->cgroup[0]) {
		p = add_point(e, PG_POINT_CGROUP, info->cgroup);
		if (p)
			check_cgroup(pin_dir, info->cgroup, p);
	}
	e->enforcing = e->complete && e->n > 0;
	for (i = 0; i < e->n; i++)
		e->enforcing &= e->p[i].enforcing;
	return 0;
}
