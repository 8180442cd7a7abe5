#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The job of one `make check-kernels` guest (run by guest-init.sh, in /pg): say what BPF features
# the kernel has, load each BPF object as the verifier sees it, then run the BPF suites. Prints
# TAP (several streams, renumbered by tests/kernels/check.sh) and one comment line
#   # pg-features: release=R xdp_frags=... lsm_cgroup=... tcx=... ...
# PG_KERNEL_SUITES (default below) names the tests/run.sh suites to run.
set -u
cd /pg
t0=$(date +%s)
# e2e_upgrade: a state of another version replaced with no gap, which needs BPF_LINK_UPDATE
# and BPF_LINK_DETACH on XDP and cgroup links (and a rename in bpffs, or its fallback).
SUITES=${PG_KERNEL_SUITES:-test_xdp_frames test_explain test_sock_hooks e2e_run e2e_upgrade}

# Features from the kernel's own BTF (every Debian kernel has CONFIG_DEBUG_INFO_BTF): an enum
# value's name is there exactly when the kernel implements it, whatever its version says.
btf=$(mktemp)
# The names are read from BTF's string section directly: a dump of every type takes half a
# minute under TCG.
tr '\0' '\n' </sys/kernel/btf/vmlinux 2>/dev/null | grep '^BPF_' | sort -u >"$btf"
has() { grep -qx "$1" "$btf" && echo yes || echo no; }
declare -A feat
feat[btf]=$([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)
feat[ringbuf]=$(has BPF_MAP_TYPE_RINGBUF)                 # 5.8
feat[xdp_frags]=$(has BPF_FUNC_xdp_get_buff_len)          # 5.18, with BPF_F_XDP_HAS_FRAGS
feat[lsm_cgroup]=$(has BPF_LSM_CGROUP)                    # 6.0
feat[tcx]=$(has BPF_TCX_INGRESS)                          # 6.6
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
feat[bpf_lsm]=$(grep -qw bpf /sys/kernel/security/lsm 2>/dev/null && echo yes || echo no)
rm -f "$btf"
line="release=$(uname -r)"
for f in btf ringbuf xdp_frags lsm_cgroup tcx bpf_lsm; do line+=" $f=${feat[$f]}"; done
echo "# pg-features: $line"
echo "# features: $(($(date +%s) - t0)) s"
t0=$(date +%s)

# Each object as the verifier sees it. A refusal fails: the matrix's kernels must accept the
# programs, except sock_lsm where the kernel has no lsm_cgroup attach type.
echo "TAP version 13"
n=0
for obj in build/bpf/*.bpf.o; do
	[ -f "$obj" ] || continue
	name=$(basename "$obj" .bpf.o)
	n=$((n + 1))
	if [ "$name" = sock_lsm ] && [ "${feat[lsm_cgroup]}" = no ]; then
		echo "ok $n - load: $name # SKIP kernel lacks lsm_cgroup (6.0)"
		continue
	fi
	# bpftool loads every program of an object; the loader leaves xdp_ingress's xdp.frags
	# program out where the kernel has no multi-buffer XDP (5.18), and test_xdp_frames loads
	# the object that way, failing if the verifier refuses the rest.
	if [ "$name" = xdp_ingress ] && [ "${feat[xdp_frags]}" = no ]; then
		echo "ok $n - load: $name # SKIP kernel lacks xdp_frags (5.18): test_xdp_frames loads it without its frags program, as portguard does"
		continue
	fi
	pin=/sys/fs/bpf/pgk-$name
	if bpftool prog loadall "$obj" "$pin" >/tmp/load.log 2>&1; then
		echo "ok $n - load: $name"
	else
		# The failing program, and the verifier's last word (its log ends with statistics),
		# before the case's line, as a test program's diagnostics come.
		grep -E "^libbpf: prog '[^']*': (BPF program load failed|failed to load)" /tmp/load.log |
			head -1 | sed 's/^/# /'
		sed -n '/BEGIN PROG LOAD LOG/,/END PROG LOAD LOG/p' /tmp/load.log |
			grep -vE 'PROG LOAD LOG|^processed [0-9]+ insns|^verification time|^stack depth|^$' |
			tail -2 | sed 's/^/# verifier: /'
		grep -q 'BEGIN PROG LOAD LOG' /tmp/load.log || tail -2 /tmp/load.log | sed 's/^/# /'
		echo "not ok $n - load: $name"
	fi
	rm -rf "$pin"
done
echo "1..$n"
echo "# load: $(($(date +%s) - t0)) s"

# Under TCG every instruction is emulated: the verifier's walk of an object and a suite's
# program loads take several times what they take natively, more when the host is busy. The
# bounds of tests/run.sh (a suite's time) and tests/lib.sh (a daemon's start) are raised to
# match; check.sh's PG_KERNEL_TIMEOUT bounds the whole guest.
export PG_TEST_TIMEOUT=${PG_TEST_TIMEOUT:-1200} PG_START_SECS=${PG_START_SECS:-300}
for s in $SUITES; do
	tests/run.sh "$s"
done
