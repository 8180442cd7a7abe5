#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A takeover (run killed with SIGKILL, the next run takes the pinned state over) leaves no gap
# in the socket hooks, tc egress or the flow table, as e2e_loader's takeover_no_gap shows for
# XDP: a process in the enforced cgroup tries to bind a `local` port on 0.0.0.0 over and over
# through the takeover and never once succeeds; a TCP session this host opened to a port no
# rule allows inbound keeps every reply flowing (the flow tc egress recorded is found by the
# next run's XDP), from before the kill until after the new run is up.
. "$(dirname "$0")/lib.sh"

PG_CASES="takeover_happened bind_refused_throughout session_replies_throughout"
pg_setup socat flock

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup takeover) || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgt0 198.18.12.1/24 2001:db8:12::1/64 "$cli" pgt1 198.18.12.2/24 \
	2001:db8:12::2/64 || pg_skip_all "cannot create a veth pair" $PG_CASES

pol=$PG_TMP/p.policy
printf 'default in deny\nallow in tcp 22\nlocal tcp 5432\n' >"$pol"
out=$PG_TMP/out stop=$PG_TMP/stop
start_run() {
	: >"$out"
	pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgt0 --cgroup "$cg" \
		--pin-dir "$pin" --json >"$out" 2>"$PG_TMP/err"
	RUN_PID=$PG_BG_PID
	pg_wait_for $PG_START_SECS grep -q '"event_type":"start"' "$out"
}
start_run || pg_fail_all "run did not start: $(tr '\n' ' ' <"$PG_TMP/err")" $PG_CASES

# The client's echo server, dialled by the server from a port no rule allows inbound, and
# binds of a `local` port from the enforced cgroup, from now until $stop.
pg_through_start "$srv" "$cli" 198.18.12.2 40123 "$cg" "$stop"
session=$PG_SESSION_PID binder=$PG_BINDER_PID

kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
before=$(wc -l <"$PG_TMP/echoes")
cp "$out" "$PG_TMP/out1"
start_run
pg_check takeover_happened eval 'grep -q "\"takeover\":true" "$out"'
# Past the takeover for a while, then stop both loops.
n0=$(wc -l <"$PG_TMP/echoes")
pg_wait_for 10 eval '[ $(wc -l <"$PG_TMP/echoes") -ge $((n0 + 50)) ]'
touch "$stop"
pg_wait_for 15 eval '! kill -0 $binder 2>/dev/null && ! kill -0 $session 2>/dev/null'
read -r tries listened <"$PG_TMP/binds" || tries=0 listened=?
pg_log "binds: $tries tried, $listened listened; echoes: $before before the kill, $(wc -l <"$PG_TMP/echoes") in all"
pg_check bind_refused_throughout eval '[ "$listened" = 0 ] && [ "$tries" -ge 10 ]'
# Every line came back, in order, lines flowed after the new run was up, and no reply was
# ever dropped (TCP would resend one: the drop's record is the proof).
last=$(tail -n 1 "$PG_TMP/echoes")
pg_check session_replies_throughout eval '[ "$(wc -l <"$PG_TMP/echoes")" -ge $((n0 + 50)) ] &&
	seq 0 "$last" | cmp -s - "$PG_TMP/echoes" &&
	! grep -h "\"dest_port\":40123" "$PG_TMP/out1" "$out"'
pg_stop "$RUN_PID"
pg_done
