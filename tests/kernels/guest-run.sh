#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-run.sh KERNEL [-t SECONDS] -- COMMAND [ARGS...]
#
# Boot one of the matrix's kernels in QEMU with this checkout's build copied in, run COMMAND
# inside as root, print its output and exit with its status.
#
#   KERNEL    5.10 (Debian 11), 6.1 (Debian 12), 6.12 (Debian 13) or running (this machine's)
#   -t N      kill the guest after N seconds (default 600): exit 124
#             (exit 77: the running kernel's image cannot be read here; 1: no boot; 2: usage)
#   COMMAND   runs with bash -c in /pg, the read-only copy of the checkout:
#               /pg/build/portguard, /pg/build/tests/*, /pg/build/bpf/*.bpf.o, /pg/tests, /pg/policy
#             BUILD=/pg/build and PG_KERNEL=KERNEL are set; /tmp is a writable tmpfs; bpffs is
#             at /sys/fs/bpf, cgroup v2 at /sys/fs/cgroup; veth, sch_ingress and cls_bpf are
#             loaded. Nothing else runs in the guest (no systemd): the command is the job.
#
# Examples (as root, after `make`, from any directory):
#   tests/kernels/guest-run.sh 6.1 -- build/tests/test_xdp_frames
#   tests/kernels/guest-run.sh 5.10 -- 'build/portguard load -v policy/novavms-cloud.policy; echo rc=$?'
#   tests/kernels/guest-run.sh 6.12 -- bpftool prog load build/bpf/sock_hooks.bpf.o /sys/fs/bpf/x
#   tests/kernels/guest-run.sh 6.1 -- tests/run.sh test_sock_hooks
#
# PG_SRC (default: the checkout holding this script) picks the checkout whose tests/ and
# policy/ are copied in, BUILD (default: $PG_SRC/build) the build: from another worktree,
#   PG_SRC=/work/wt/compat /work/wt/kernels/tests/kernels/guest-run.sh 5.10 -- tests/run.sh test_sock_hooks
# The first use of a kernel downloads it and makes its images (the first of all also builds
# the Debian 12 root with debootstrap): a few minutes. Later boots reuse the cache in
# PG_KERNELS_CACHE (default /var/cache/portguard-kernels). A boot under TCG takes 15-20 s to
# reach userspace. The kernel log of the last boot is in $PG_KERNELS_CACHE/last-console.log.
# Several guest-run.sh may run at once: each boot has its own temporary files, and the cache
# is prepared under a lock. The last-console.log is the last boot's, whichever it was.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

usage() { echo "usage: $0 KERNEL [-t SECONDS] -- COMMAND [ARGS...]  (KERNEL: 5.10 6.1 6.12 running)" >&2; exit 2; }
[ $# -ge 1 ] || usage
name=$1
shift
tmo=600
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	case $1 in
	-t) [ $# -ge 2 ] || usage; tmo=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ "${1:-}" = -- ] || usage
shift
[ $# -ge 1 ] || usage
kernel_suite "$name" >/dev/null || usage
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, QEMU images)" >&2; exit 2; }
for t in qemu-system-x86_64 debootstrap mkfs.ext4 cpio; do
	command -v $t >/dev/null || { echo "$0: $t not found (make deps)" >&2; exit 2; }
done

kernel_prepare "$name"
rc=$?
[ $rc -eq 2 ] && { echo "$0: SKIP: kernel $name cannot be booted here" >&2; exit 77; }
[ $rc -eq 0 ] || exit 1

work=$(mktemp -d /tmp/pg-kernels.XXXXXX)
QEMU_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The job: the command line, each argument quoted, as bash -c would run it.
if [ $# -eq 1 ]; then
	printf '%s\n' "$1" >"$work/job"
else
	printf '%q ' "$@" >"$work/job"
	echo >>"$work/job"
fi
guest_boot "$name" "$work/job" "$work/out" "$tmo"
brc=$?
cp "$work/out.console" "$PG_KERNELS_CACHE/last-console.log" 2>/dev/null
tr -d '\r' <"$work/out" >"$work/out.txt"
status=$(sed -n 's/^pg-exit \([0-9]*\)$/\1/p' "$work/out.txt" | tail -1)
grep -v '^pg-exit [0-9]*$' "$work/out.txt"
if [ $brc -eq 124 ]; then
	echo "$0: guest $name killed after $tmo s" >&2
	exit 124
fi
if [ -z "$status" ]; then
	echo "$0: guest $name ended without running the command; kernel log:" >&2
	tr -d '\r' <"$work/out.console" | tail -20 >&2
	exit 1
fi
echo "$0: $name ($(cat "$PG_KERNELS_CACHE/kernel/$name/release")): exit $status" >&2
exit "$status"
