// SPDX-License-Identifier: GPL-2.0
/* Interfaces that come and go, and reloads that change them (see ifaces.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "output/names.h"
#include "kernel/enforce.h"
#include "kernel/ifaces.h"

static void record(struct pg_up *up)
{
	pg_info_set_attach(&up->l.maps, up->ifaces, up->ifindex, up->ifmode, up->nifaces,
			   up->cgroup[0] ? up->cgroup : NULL, up->l.max_flows);
}

int pg_up_sync_ifaces(struct pg_up *up, enum pg_xdp_mode mode, pg_iface_cb cb, void *ctx)
{
	int changes = 0, idx, err;
	size_t i;

	for (i = 0; i < up->nifaces; i++) {
		const char *name = up->ifaces[i];

		idx = if_nametoindex(name);
		/*
		 * Gone: no interface of that name, or another one now (deleted and created
		 * again between two looks, or renamed). The kernel removed our programs with a
		 * deleted device; a renamed one that still exists is detached by its old index.
		 */
		if (up->ifindex[i] && idx != up->ifindex[i]) {
			char other[IF_NAMESIZE];

			pg_loader_detach_iface(up->pin_dir, name,
					       if_indextoname(up->ifindex[i], other) ? up->ifindex[i]
										     : 0);
			up->ifindex[i] = 0;
			up->ifmode[i] = PG_IFMODE_AWAITED;
			pg_info_count_iface(&up->l.maps, false);
			changes++;
			if (cb)
				cb(ctx, name, "gone", 0, PG_IFMODE_AWAITED);
		}
		if (!up->ifindex[i] && idx) {
			int ifindex = 0;
			__u8 m = PG_IFMODE_AWAITED;

			err = pg_loader_attach_iface(&up->l, name, mode, &ifindex, &m);
			if (err) {
				if (err != -ENODEV && cb)
					cb(ctx, name, "failed", idx, PG_IFMODE_AWAITED);
				continue;
			}
			up->ifindex[i] = ifindex;
			up->ifmode[i] = m;
			pg_info_count_iface(&up->l.maps, true);
			changes++;
			if (cb)
				cb(ctx, name, "appeared", ifindex, m);
		}
	}
	if (changes)
		record(up);
	return changes;
}

static int find(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

int pg_up_ifaces_begin(struct pg_up *up, const char *const *names, size_t n,
		       enum pg_xdp_mode mode, struct pg_up_ifaces *next)
{
	size_t i;
	int j, err;

	memset(next, 0, sizeof(*next));
	if (n > PG_MAX_IFACES) {
		fprintf(stderr, "portguard: at most %d interfaces are enforced\n", PG_MAX_IFACES);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (strlen(names[i]) >= IF_NAMESIZE) {
			fprintf(stderr, "portguard: '%s' is not an interface name\n", names[i]);
			err = -EINVAL;
			goto fail;
		}
		pg_strlcpy(next->name[i], names[i], IF_NAMESIZE);
		next->n++;
		j = find(up->ifaces, up->nifaces, names[i]);
		if (j >= 0) {
			next->ifindex[i] = up->ifindex[j];
			next->mode[i] = up->ifmode[j];
			continue;
		}
		err = pg_loader_attach_iface(&up->l, names[i], mode, &next->ifindex[i],
					     &next->mode[i]);
		if (err == -ENODEV) {
			next->ifindex[i] = 0;
			next->mode[i] = PG_IFMODE_AWAITED;
			fprintf(stderr, "portguard: %s: awaited: not enforced until it appears\n",
				names[i]);
			continue;
		}
		if (err)
			goto fail;
		fprintf(stderr, "portguard: %s: attached (%s) for the new policy\n", names[i],
			pg_ifmode_name(next->mode[i]));
	}
	return 0;
fail:
	pg_up_ifaces_abort(up, next);
	return err;
}

void pg_up_ifaces_abort(struct pg_up *up, const struct pg_up_ifaces *next)
{
	/* Undo what this reload attached: the state stays as it was. */
	for (size_t i = 0; i < next->n; i++)
		if (next->ifindex[i] && find(up->ifaces, up->nifaces, next->name[i]) < 0)
			pg_loader_detach_iface(up->pin_dir, next->name[i], next->ifindex[i]);
}

void pg_up_ifaces_commit(struct pg_up *up, const struct pg_up_ifaces *next)
{
	const char *names[PG_MAX_IFACES];
	size_t i;

	for (i = 0; i < next->n; i++)
		names[i] = next->name[i];
	for (i = 0; i < up->nifaces; i++) {
		if (find(names, next->n, up->ifaces[i]) >= 0)
			continue;
		pg_loader_detach_iface(up->pin_dir, up->ifaces[i], up->ifindex[i]);
		fprintf(stderr, "portguard: %s: detached (no longer in the policy)\n",
			up->ifaces[i]);
	}
	up->nifaces = next->n;
	for (i = 0; i < next->n; i++) {
		memcpy(up->ifname[i], next->name[i], IF_NAMESIZE);
		up->ifaces[i] = up->ifname[i];
		up->ifindex[i] = next->ifindex[i];
		up->ifmode[i] = next->mode[i];
	}
	record(up);
}
