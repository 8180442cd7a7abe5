#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Careless command lines after a `load` (issue 11.1, 11.8, 11.11, 12): every option is checked
# before anything touches the kernel. A bad --metrics, --log-file or --rate-window, an
# option the command does not take, or a policy that is a FIFO or /dev/zero: the command
# fails at once with its exit code, and the loaded enforcement stays attached and in force.
. "$(dirname "$0")/lib.sh"

PG_CASES="load run_bad_metrics_exit_2 run_bad_log_file_fails run_rate_window_space_exit_2 load_unknown_option_exit_2 status_unknown_option_exit_2 reload_dev_zero_refused reload_fifo_refused enforcement_still_in_force"
pg_setup nsenter mkfifo

srv=$(pg_netns bos) && cli=$(pg_netns boc) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgb0 198.18.12.1/24 2001:db8:12::1/64 "$cli" pgb1 198.18.12.2/24 \
	2001:db8:12::2/64 || pg_skip_all "cannot create a veth pair" $PG_CASES
pins=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES

policy=$PG_TMP/p.policy
printf 'default in deny\nallow in tcp 22\n' >"$policy"
pg() { timeout 20 nsenter --net=/run/netns/"$srv" "$PORTGUARD" "$@" </dev/null >"$PG_TMP/out" 2>&1; }
say() { sed 's/^/# /' "$PG_TMP/out" | head -3; }
# in_force: XDP still on the interface and status says a policy is loaded.
in_force() {
	nsenter --net=/run/netns/"$srv" ip link show pgb0 2>/dev/null | grep -q xdp &&
		nsenter --net=/run/netns/"$srv" "$PORTGUARD" status --pin-dir "$pins" >/dev/null 2>&1
}
# expect NAME RC CMD...: CMD exits RC and enforcement is still in force after it.
expect() {
	local name=$1 want=$2 rc
	shift 2
	pg "$@"
	rc=$?
	say
	[ "$rc" = "$want" ] && in_force
	pg_check "$name" [ $? = 0 ]
}

if ! pg load "$policy" --iface pgb0 --no-cgroup --pin-dir "$pins"; then
	say
	pg_fail load
	pg_skip_all "load failed" ${PG_CASES#load }
fi
pg_defer "nsenter --net=/run/netns/'$srv' '$PORTGUARD' unload --pin-dir '$pins' >/dev/null"
pg_ok load

common=(--iface pgb0 --no-cgroup --pin-dir "$pins")
expect run_bad_metrics_exit_2 2 run "$policy" "${common[@]}" --metrics 127.0.0.1:99999
expect run_bad_log_file_fails 1 run "$policy" "${common[@]}" --log-file /nonexistent/dir/x
expect run_rate_window_space_exit_2 2 run "$policy" "${common[@]}" --rate-window " 5"
expect load_unknown_option_exit_2 2 load "$policy" "${common[@]}" --json
expect status_unknown_option_exit_2 2 status --pin-dir "$pins" --bogus
expect reload_dev_zero_refused 1 reload /dev/zero --pin-dir "$pins"
mkfifo "$PG_TMP/fifo"
expect reload_fifo_refused 1 reload "$PG_TMP/fifo" --pin-dir "$pins"
pg status --pin-dir "$pins"
grep -q "^policy: *$policy" "$PG_TMP/out"
pg_check enforcement_still_in_force [ $? = 0 ]

pg_done
