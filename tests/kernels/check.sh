#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check-kernels`: boot each kernel of the matrix in QEMU (tests/kernels/lib.sh) and run
# tests/kernels/guest-matrix.sh inside: the kernel's BPF features, each BPF object through the
# verifier, the frame tests, the socket-hook tests and an end-to-end run across veths. One
# TAP 13 stream, cases named "KERNEL/SUITE: case", then "N passed, N failed, N skipped"; exits
# non-zero on any failure.
#
#   tests/kernels/check.sh [KERNEL...]      default: 5.10 6.1 6.12 running
#   PG_KERNEL_TIMEOUT=S   a guest still running after S seconds is killed: a failure (2400)
#   PG_KERNEL_SUITES=".." the tests/run.sh suites run in each guest
#   PG_KERNELS_JOBS=N     guests booted at once (default 1; each has 2 vCPUs)
#
# Each guest's whole output is kept in build/kernels/KERNEL.log (and its kernel log in
# KERNEL.console); the TAP stream shows the last diagnostics before each failure. The features
# each kernel reports, and which objects it loads, make build/kernels/features.md: the
# README's kernel table.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
TMO=${PG_KERNEL_TIMEOUT:-2400}
JOBS=${PG_KERNELS_JOBS:-1}
OUT=$BUILD/kernels

if [ $# -gt 0 ]; then
	kernels="$*"
else
	kernels=$(for e in $PG_KERNELS_ALL; do printf '%s ' "${e%%:*}"; done)
fi
echo "TAP version 13"
pass=0 fail=0 skip=0 n=0
result() { # status text
	n=$((n + 1))
	echo "$1 $n - $2"
	case $1 in
	"not ok") fail=$((fail + 1)) ;;
	*) if [[ $2 =~ \#\ SKIP ]]; then skip=$((skip + 1)); else pass=$((pass + 1)); fi ;;
	esac
}
# build/kernels/features.md: the README's kernel table, from what each guest reported.
declare -A feats loads objs
table() {
	local k f e obj v olist
	olist=$(printf '%s\n' "${!objs[@]}" | sort)
	{
		printf '| kernel | release |'
		for f in xdp_frags lsm_cgroup tcx bpf_lsm; do printf ' %s |' "$f"; done
		for obj in $olist; do printf ' %s |' "$obj"; done
		echo
		printf '|---|---|'
		for f in xdp_frags lsm_cgroup tcx bpf_lsm $olist; do printf -- '---|'; done
		echo
		for k in $kernels; do
			[ -n "${feats[$k]:-}" ] || continue
			printf '| %s | %s |' "$k" "$(sed -n 's/.*release=\([^ ]*\).*/\1/p' <<<"${feats[$k]}")"
			for f in xdp_frags lsm_cgroup tcx bpf_lsm; do
				v=$(tr ' ' '\n' <<<"${feats[$k]}" | sed -n "s/^$f=//p")
				printf ' %s |' "${v:-?}"
			done
			for obj in $olist; do printf ' %s |' "${loads[$k/$obj]:-?}"; done
			echo
		done
	} >"$OUT/features.md"
}
finish() {
	[ -d "$OUT" ] && table
	echo "1..$n"
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ]
	exit
}
if [ "$(id -u)" != 0 ]; then
	result ok "kernels # SKIP needs root (debootstrap, QEMU images)"
	finish
fi
for t in qemu-system-x86_64 debootstrap mkfs.ext4 cpio dpkg-deb; do
	command -v $t >/dev/null || { result "not ok" "kernels: $t not found (make deps)"; finish; }
done
[ -x "$BUILD/portguard" ] || { result "not ok" "kernels: $BUILD/portguard not built"; finish; }
mkdir -p "$OUT"

work=$(mktemp -d /tmp/pg-kernels.XXXXXX)
pids=()
cleanup() {
	local p
	# The guests' timeout processes (each takes its QEMU with it), then the boot jobs.
	for p in "$work"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo 'bash tests/kernels/guest-matrix.sh' >"$work/job"
[ -n "${PG_KERNEL_SUITES:-}" ] &&
	echo "PG_KERNEL_SUITES='$PG_KERNEL_SUITES' bash tests/kernels/guest-matrix.sh" >"$work/job"

# Prepare every kernel first (downloads, debootstrap and images, one at a time: they share the
# rootfs), then boot. A kernel's outcome is written to $work/NAME.{rc,out,secs}.
declare -A prep
for k in $kernels; do
	kernel_suite "$k" >/dev/null || { prep[$k]="unknown kernel (one of: $PG_KERNELS_ALL)"; continue; }
	start=$(date +%s)
	kernel_prepare "$k" 2>"$work/$k.prep"
	rc=$?
	echo "# $k: prepared in $(($(date +%s) - start)) s"
	case $rc in
	0) prep[$k]= ;;
	2) prep[$k]="SKIP $(sed 's/^kernels: //' "$work/$k.prep" | tail -1)" ;;
	*) prep[$k]="cannot prepare the kernel: $(sed 's/^kernels: //' "$work/$k.prep" | tail -1)" ;;
	esac
done

boot_one() { # name
	local k=$1 start rc
	start=$(date +%s)
	guest_boot "$k" "$work/job" "$work/$k.out" "$TMO"
	echo $? >"$work/$k.rc"
	echo $(($(date +%s) - start)) >"$work/$k.secs"
}
running=0
for k in $kernels; do
	[ -z "${prep[$k]}" ] || continue
	boot_one "$k" &
	pids+=($!)
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
pids=()

# A guest's TAP streams, renumbered and prefixed by the kernel's name. Diagnostics (verifier
# logs can be thousands of lines) are kept in the log; a failure shows the last few before it.
report() { # name file
	local k=$1 line suite=load status name from obj
	local -a diag=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^(not\ ok|ok)\ [0-9]+\ (-\ )?(.*)$ ]]; then
			status=${BASH_REMATCH[1]} name=${BASH_REMATCH[3]}
			[[ $name == *:* ]] || name="$suite: $name"
			result "$status" "$k/$name"
			if [[ $name =~ ^load:\ ([a-z_]+)(.*)$ ]]; then
				obj=${BASH_REMATCH[1]}
				objs[$obj]=1
				if [ "$status" = "not ok" ]; then
					loads[$k/$obj]=refused
				elif [[ $name == *"# SKIP"* ]]; then
					loads[$k/$obj]="not loaded${name#*# SKIP kernel}"
				else
					loads[$k/$obj]=loads
				fi
			fi
			if [ "$status" = "not ok" ] && [ ${#diag[@]} -gt 0 ]; then
				from=$((${#diag[@]} > 6 ? ${#diag[@]} - 6 : 0))
				printf '%s\n' "${diag[@]:$from}"
			fi
			diag=()
		elif [[ $line =~ ^\#\ pg-features:\ (.*)$ ]]; then
			echo "# $k: ${BASH_REMATCH[1]}"
			feats[$k]=${BASH_REMATCH[1]}
			lacks=$(tr ' ' '\n' <<<"${BASH_REMATCH[1]}" | sed -n 's/=no$//p' | tr '\n' ' ')
			echo "# $k lacks: ${lacks:-nothing probed}"
		elif [[ $line =~ ^(TAP\ version|1\.\.|[0-9]+\ passed,|pg-exit\ ) ]]; then
			:
		elif [[ $line =~ ^#\ [a-z0-9_]+:\ [0-9]+\ s$ ]]; then
			echo "# $k/${line#\# }"
		elif [ -n "$line" ]; then
			[[ $line == \#* ]] || line="# $line"
			diag+=("$line")
		fi
	done <"$2"
}

for k in $kernels; do
	if [ -n "${prep[$k]}" ]; then
		case ${prep[$k]} in
		SKIP*) result ok "$k: boot # ${prep[$k]}" ;;
		*) result "not ok" "$k: ${prep[$k]}" ;;
		esac
		continue
	fi
	tr -d '\r' <"$work/$k.out" >"$OUT/$k.log"
	cp "$work/$k.out.console" "$OUT/$k.console" 2>/dev/null
	report "$k" "$OUT/$k.log"
	secs=$(cat "$work/$k.secs")
	if [ "$(cat "$work/$k.rc")" = 124 ]; then
		result "not ok" "$k: guest killed after $TMO s (see $OUT/$k.log)"
	elif ! grep -q '^pg-exit ' "$OUT/$k.log"; then
		result "not ok" "$k: guest ended before its tests did (kernel log: $OUT/$k.console)"
		tr -d '\r' <"$work/$k.out.console" | tail -5 | sed 's/^/# /'
	elif ! grep -qE '^(ok|not ok) [0-9]+' "$OUT/$k.log"; then
		result "not ok" "$k: the guest ran no test case (see $OUT/$k.log)"
	fi
	echo "# $k ($(cat "$PG_KERNELS_CACHE/kernel/$k/release")): boot and tests took $secs s"
done
finish
