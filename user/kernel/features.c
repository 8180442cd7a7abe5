// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel feature probes (see features.h). Each asks the kernel itself, with the smallest
 * program that needs the feature, rather than trusting a version number: distributions
 * backport, and lockdown or a sandbox can refuse what a version would promise. tcx is the
 * exception: nothing here uses it, and its version is all a user needs to know.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/features.h"

static const struct {
	const char *name;
	const char *without;
} feats[PG_FEAT_MAX] = {
	[PG_FEAT_XDP_FRAGS] = { "xdp_frags", "5.18: no multi-buffer (jumbo) XDP frames" },
	[PG_FEAT_LSM_CGROUP] = { "lsm_cgroup",
				 "6.0 and a kernel that loads BPF LSM programs: deny raw cannot "
				 "refuse packet sockets" },
	[PG_FEAT_TCX] = { "tcx", "6.6: tc egress attaches through the clsact qdisc" },
};

const char *pg_feature_name(enum pg_feature feat)
{
	return feat < PG_FEAT_MAX ? feats[feat].name : "?";
}

const char *pg_feature_without(enum pg_feature feat)
{
	return feat < PG_FEAT_MAX ? feats[feat].without : "?";
}

/* r0 = 0; exit: valid for XDP (aborted) and an LSM hook (0 or 1) alike. A program that never
 * runs: only whether the kernel loads it matters. */
static int load_trivial(enum bpf_prog_type type, const struct bpf_prog_load_opts *opts)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(type, NULL, "GPL", insns, 2, opts);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static bool probe_xdp_frags(void)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_XDP_HAS_FRAGS);

	return load_trivial(BPF_PROG_TYPE_XDP, &o);
}

/* An lsm_cgroup program on socket_create, the hook bpf/sock_lsm.bpf.c uses. */
static bool probe_lsm_cgroup(void)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_LSM_CGROUP);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, "bpf_lsm_socket_create", BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id <= 0)
		return false;
	o.attach_btf_id = id;
	return load_trivial(BPF_PROG_TYPE_LSM, &o);
}

static bool release_at_least(const char *release, int major, int minor)
{
	int ma = 0, mi = 0;

	if (sscanf(release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

void pg_features_probe(struct pg_features *out)
{
	/* The kernel does not change under a process: probed once (a metrics scrape asks on
	 * every request). */
	static struct pg_features cache, *f;
	struct utsname u;

	if (f) {
		*out = *f;
		return;
	}
	f = &cache;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(f->release, sizeof(f->release), "%s", u.release);
	f->has[PG_FEAT_XDP_FRAGS] = probe_xdp_frags();
	f->has[PG_FEAT_LSM_CGROUP] = probe_lsm_cgroup();
	f->has[PG_FEAT_TCX] = release_at_least(f->release, 6, 6);
	*out = *f;
}

bool pg_features_missing(const struct pg_features *f, char *buf, size_t size)
{
	size_t len;
	bool any = false;

	len = snprintf(buf, size, "%s lacks", f->release);
	for (int i = 0; i < PG_FEAT_MAX && len < size; i++) {
		if (f->has[i])
			continue;
		len += snprintf(buf + len, size - len, "%s %s (%s)", any ? "," : "",
				pg_feature_name(i), pg_feature_without(i));
		any = true;
	}
	return any;
}
