#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test program (build/tests/test_*) and every end-to-end script (tests/e2e_*.sh) as
# one flat TAP 13 stream, then one line: "N passed, N failed, N skipped". Exits non-zero on any
# failure.
#
# As root, the whole suite re-executes itself in a new network and mount namespace (as
# xdp-tools' test runner does): nothing a test attaches or pins can reach the host's
# interfaces, and private bpffs mounts vanish with the namespace.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build}
export BUILD PG_TESTS="$here"

if [ "$(id -u)" = 0 ] && [ -z "${PG_IN_UNSHARE:-}" ]; then
	export PG_IN_UNSHARE=1
	exec unshare --net --mount --propagation private "$0" "$@"
fi
[ -n "${PG_IN_UNSHARE:-}" ] && ip link set lo up 2>/dev/null

# One test program may take this long before it is killed and counted as failed.
TIMEOUT=${PG_TEST_TIMEOUT:-300}
pass=0 fail=0 skip=0 n=0

# As root (CI runs as root after `make deps`) a SKIP is a failure unless it is a known platform
# limit listed in tests/platform-limits: a test that could not set itself up (a server that did
# not start, a tool missing, a program the kernel should load and refused) must not pass as
# "skipped". PG_ALLOW_SKIPS=1 turns this off, for a machine without `make deps`.
limits=$here/platform-limits
strict=0
[ "$(id -u)" = 0 ] && [ -z "${PG_ALLOW_SKIPS:-}" ] && strict=1
known_limit() { # "suite: name # SKIP reason"
	local pat
	while IFS= read -r pat; do
		[[ -z $pat || $pat == \#* ]] && continue
		[[ $1 =~ $pat ]] && return 0
	done <"$limits"
	return 1
}

echo "TAP version 13"
emit() { # suite, TAP lines on stdin
	local suite=$1 line status name
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ ok|ok)\ [0-9]+\ (-\ )?(.*)$ ]]; then
			status=${BASH_REMATCH[1]} name=${BASH_REMATCH[3]}
			n=$((n + 1))
			if [ "$status" = ok ] && [[ $name =~ \#\ SKIP ]] && [ $strict = 1 ] &&
				! known_limit "$suite: $name"; then
				echo "not ok $n - $suite: ${name/\# SKIP/# unexpected SKIP (not in tests/platform-limits):}"
				fail=$((fail + 1))
				continue
			fi
			echo "$status $n - $suite: $name"
			if [ "$status" = "not ok" ]; then
				fail=$((fail + 1))
			elif [[ $name =~ \#\ SKIP ]]; then
				skip=$((skip + 1))
			else
				pass=$((pass + 1))
			fi
		elif [[ $line =~ ^(TAP\ version|1\.\.) ]]; then
			:
		else
			echo "# $line"
		fi
	done
}

# Suites run side by side, PG_TEST_JOBS at once (default: CPUs + 1; most of a suite's time is
# spent waiting on daemons, timeouts and guests, not on a CPU). Each runs in a network and mount
# namespace of its own, so that one suite's loopback ports, /run/netns, /run/portguard and bpffs
# mounts are invisible to the others (tests/lib.sh mounts tmpfs over the first two there). Their
# TAP is printed in the listed order, whatever order they finish in; the slowest known suites
# start first.
JOBS=${PG_TEST_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
SLOW="e2e_systemd e2e_run e2e_stream e2e_options e2e_faults e2e_sinks e2e_production"
work=$(mktemp -d /tmp/portguard-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
names=()

add() { # suite, command...
	local suite=$1
	shift
	[ -n "$only" ] && [[ $suite != *$only* ]] && return
	printf '%q ' "$@" >"$work/${#names[@]}.cmd"
	names+=("$suite")
}

start_one() { # index
	local i=$1 ns=()
	[ -n "${PG_IN_UNSHARE:-}" ] &&
		ns=(unshare --net --mount --propagation private bash -c 'ip link set lo up 2>/dev/null; exec "$@"' pg-suite)
	(
		date +%s >"$work/$i.start"
		eval "timeout --kill-after=10 $TIMEOUT ${ns[*]+$(printf '%q ' "${ns[@]}")} $(cat "$work/$i.cmd")" \
			>"$work/$i.out" 2>&1 </dev/null
		echo $? >"$work/$i.rc.tmp"
		date +%s >"$work/$i.end"
		mv "$work/$i.rc.tmp" "$work/$i.rc"
	) &
}

next_out=0
emit_done() { # print every finished suite whose predecessors are printed
	local i suite rc out
	while [ $next_out -lt ${#names[@]} ] && [ -f "$work/$next_out.rc" ]; do
		i=$next_out suite=${names[$i]} out=$work/$i.out
		rc=$(cat "$work/$i.rc")
		emit "$suite" <"$out"
		if ! grep -qE '^(not ok|ok) [0-9]+' "$out"; then
			n=$((n + 1)) fail=$((fail + 1))
			echo "not ok $n - $suite: ran no test case (exit $rc)"
		elif [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$out"; then
			n=$((n + 1)) fail=$((fail + 1))
			echo "not ok $n - $suite: exited $rc"
		fi
		echo "# $suite: $(($(cat "$work/$i.end") - $(cat "$work/$i.start"))) s"
		next_out=$((next_out + 1))
	done
}

only=${1:-}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	add "$(basename "$t")" "$t"
done
for t in "$here"/e2e_*.sh; do
	[ -f "$t" ] || continue
	add "$(basename "$t" .sh)" bash "$t"
done

# Launch order: the slow suites first, then the rest as listed.
order=()
for s in $SLOW; do
	for i in "${!names[@]}"; do [ "${names[$i]}" = "$s" ] && order+=("$i"); done
done
for i in "${!names[@]}"; do [[ " $SLOW " == *" ${names[$i]} "* ]] || order+=("$i"); done

t0=$(date +%s)
running=0
for i in "${order[@]}"; do
	while [ $running -ge "$JOBS" ]; do
		wait -n
		running=$((running - 1))
		emit_done
	done
	start_one "$i"
	running=$((running + 1))
done
while [ $next_out -lt ${#names[@]} ]; do
	wait -n 2>/dev/null || sleep 0.2
	emit_done
done
wait
echo "# ${#names[@]} suites, $JOBS at once, in $(($(date +%s) - t0)) s"

echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
