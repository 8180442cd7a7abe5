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

run_one() { # suite, command...
	local suite=$1 out rc
	shift
	out=$(mktemp)
	timeout --kill-after=10 "$TIMEOUT" "$@" >"$out" 2>&1
	rc=$?
	emit "$suite" <"$out"
	if ! grep -qE '^(not ok|ok) [0-9]+' "$out"; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n - $suite: ran no test case (exit $rc)"
	elif [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n - $suite: exited $rc"
	fi
	rm -f "$out"
}

only=${1:-}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	suite=$(basename "$t")
	[ -n "$only" ] && [[ $suite != *$only* ]] && continue
	run_one "$suite" "$t"
done
for t in "$here"/e2e_*.sh; do
	[ -f "$t" ] || continue
	suite=$(basename "$t" .sh)
	[ -n "$only" ] && [[ $suite != *$only* ]] && continue
	run_one "$suite" bash "$t"
done

echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
