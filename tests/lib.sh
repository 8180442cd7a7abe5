# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the end-to-end scripts (tests/e2e_*.sh), in the style of the kernel's
# selftests/net/lib.sh: unique names, one cleanup trap, one TAP line per case.
#
# Every script sources this, calls pg_setup, registers what it creates with pg_defer, and
# reports with pg_ok / pg_fail / pg_skip. Cleanup runs on every exit, also on failure.

set -u
PG_TESTS=${PG_TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
BUILD=${BUILD:-$PG_TESTS/../build}
PORTGUARD=${PORTGUARD:-$BUILD/portguard}
PG_ID="pg$$$RANDOM"
PG_TMP=""
pg_n=0
pg_failed=0
pg_cleanups=()

echo "TAP version 13"

pg_ok() { pg_n=$((pg_n + 1)); echo "ok $pg_n $*"; }
pg_fail() { pg_n=$((pg_n + 1)); pg_failed=1; echo "not ok $pg_n $*"; }
pg_skip() { pg_n=$((pg_n + 1)); echo "ok $pg_n $1 # SKIP ${2:-}"; }
# pg_check NAME CMD...: one case from a command's exit status.
pg_check() { local name=$1; shift; if "$@"; then pg_ok "$name"; else pg_fail "$name"; fi; }
pg_log() { echo "# $*"; }

# Run a command at cleanup, last registered first.
pg_defer() { pg_cleanups+=("$*"); }

pg_cleanup() {
	local i
	for ((i = ${#pg_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${pg_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	pg_cleanups=()
	[ -n "$PG_TMP" ] && rm -rf "$PG_TMP"
}

# Skip every case of the script (NAME...) with one reason, and exit.
pg_skip_all() {
	local reason=$1 name
	shift
	for name in "$@"; do pg_skip "$name" "$reason"; done
	exit 0
}

# Require root and the tools named; otherwise skip the cases named in PG_CASES and exit.
pg_setup() {
	trap pg_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "$(id -u)" != 0 ]; then
		pg_skip_all "needs root" ${PG_CASES:-all}
	fi
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
			pg_skip_all "$tool not installed (make deps)" ${PG_CASES:-all}
	done
	[ -x "$PORTGUARD" ] || pg_skip_all "$PORTGUARD not built" ${PG_CASES:-all}
	PG_TMP=$(mktemp -d /tmp/portguard-test.XXXXXX)
}

# A private bpffs for this script's pins; prints its path.
pg_bpffs() {
	local dir=$PG_TMP/bpffs
	mkdir -p "$dir"
	mount -t bpf bpf "$dir" || return 1
	pg_defer "umount -l '$dir'"
	echo "$dir"
}

# The cgroup v2 mount point, from /proc/mounts (not always /sys/fs/cgroup).
pg_cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# A child cgroup of the v2 root for this script; prints its path. Cleanup moves stragglers out.
pg_cgroup() {
	local root dir
	root=$(pg_cgroup2_root)
	[ -n "$root" ] || return 1
	dir=$root/$PG_ID-${1:-cg}
	mkdir "$dir" || return 1
	pg_defer "pg_cgroup_remove '$dir'"
	echo "$dir"
}

pg_cgroup_remove() {
	local dir=$1 pid
	if [ -f "$dir/cgroup.procs" ]; then
		while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
		sleep 0.2
	fi
	rmdir "$dir"
}

# pg_netns NAME: a network namespace, removed at cleanup. Prints its full name.
pg_netns() {
	local ns=$PG_ID-$1
	ip netns add "$ns" || return 1
	pg_defer "ip netns del '$ns'"
	ip -n "$ns" link set lo up
	echo "$ns"
}

# pg_veth NS_A IF_A ADDR4_A ADDR6_A NS_B IF_B ADDR4_B ADDR6_B: a veth pair between two
# namespaces, addressed from 198.18.0.0/15 and 2001:db8::/32 (prefix lengths included).
pg_veth() {
	local nsa=$1 ifa=$2 a4=$3 a6=$4 nsb=$5 ifb=$6 b4=$7 b6=$8
	ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb" || return 1
	ip -n "$nsa" addr add "$a4" dev "$ifa"
	ip -n "$nsb" addr add "$b4" dev "$ifb"
	ip -n "$nsa" addr add "$a6" dev "$ifa" nodad
	ip -n "$nsb" addr add "$b6" dev "$ifb" nodad
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
}

# Run in a namespace without remounting /sys (ip netns exec would hide bpffs and cgroup2).
pg_in() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }

# pg_wait_for SECONDS CMD...: poll until CMD succeeds; bounded.
pg_wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Start a command in the background, stopped by PID at cleanup. Sets PG_BG_PID.
pg_bg() {
	"$@" &
	PG_BG_PID=$!
	pg_defer "pg_stop $PG_BG_PID"
}

# Stop a process we started: TERM, then KILL after 5 s.
pg_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

pg_done() {
	echo "1..$pg_n"
	return $pg_failed
}
