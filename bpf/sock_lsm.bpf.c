// SPDX-License-Identifier: GPL-2.0
/*
 * `deny raw` for packet sockets. AF_PACKET (and AF_XDP) sockets never reach the cgroup
 * sock_create hook, which only inet_create()/inet6_create() run, so they are refused from
 * the LSM hook socket_create, attached per cgroup (BPF_LSM_CGROUP): for a hook without a
 * socket argument the kernel runs the programs of the calling task's cgroup.
 *
 * This needs the BPF LSM (CONFIG_BPF_LSM, "bpf" in the active LSM list) and a kernel that
 * lets LSM programs load (some lockdown or sandbox setups refuse them with EPERM). It is its
 * own object so that such a refusal costs this program only: the loader loads it after the
 * socket hooks, reusing their maps, and says so when it cannot.
 */
/* LSM programs are tracing programs to the verifier, which refuses them the coarse clock
 * (bpf_ktime_get_coarse_ns is not NMI-safe: 6.1 says "unknown func"): this object counts
 * with the precise one (sock.bpf.h, sock_now()). */
#define PG_SOCK_PRECISE_CLOCK
#include "sock.bpf.h"
#include <bpf/bpf_tracing.h>

#define PG_AF_XDP 44

/* lsm_cgroup programs return 1 to allow, 0 to refuse with EPERM, as cgroup hooks do. */
SEC("lsm_cgroup/socket_create")
int BPF_PROG(pg_lsm_socket_create, int family, int type, int protocol, int kern)
{
	/* Sockets the kernel makes for itself (kern) are not the process's doing. Packet
	 * sockets of every type are refused: SOCK_DGRAM ones bypass ports all the same. AF_XDP
	 * sockets take frames before the stack. */
	if (kern || (family != PG_AF_PACKET && family != PG_AF_XDP))
		return PG_ALLOW;
	return judge_raw(0, 0);
}

char LICENSE[] SEC("license") = "GPL";
