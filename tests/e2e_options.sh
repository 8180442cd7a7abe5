#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Options of run and monitor that nothing else exercises end to end: the log file's rotation
# from the command line (--log-max-size, --log-keep and its default of 5), --syslog from run
# and from monitor (to a socket of ours: --syslog-socket), the per-CPU event budget
# (--rate-limit, exact with its suppressed count), a full ring buffer while the daemon is
# stopped (exact, with its suppressed record), and --no-events (drops counted, nothing
# reported). Violations come from one client to distinct closed UDP ports, so no two share a
# rate-limit key.
. "$(dirname "$0")/lib.sh"

PG_CASES="log_rotates_as_told log_keep_default_5 syslog_from_run syslog_from_monitor
rate_limit_budget_exact ring_full_exact no_events_counts_only"
pg_setup socat jq

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgo0 198.18.11.1/24 2001:db8:11::1/64 "$cli" pgo1 198.18.11.2/24 \
	2001:db8:11::2/64 || pg_skip_all "cannot create a veth pair" $PG_CASES

pol=$PG_TMP/p.policy
printf 'default in deny\nallow in tcp 22\n' >"$pol"
out=$PG_TMP/out err=$PG_TMP/err

# start_run ARGS...: portguard run in the server namespace, in the background (RUN_PID).
start_run() {
	: >"$out"
	pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgo0 --no-cgroup \
		--pin-dir "$pin" --json "$@" >"$out" 2>"$err"
	RUN_PID=$PG_BG_PID
	pg_wait_for $PG_START_SECS grep -q '"event_type":"start"' "$out" ||
		{ sed 's/^/# run: /' "$err"; return 1; }
}
stop_run() { pg_stop "$RUN_PID"; }
# blast FIRST N: one datagram to each of N closed ports from FIRST on, from the client.
blast() {
	pg_in "$cli" bash -c 'for ((p = $1; p < $1 + $2; p++)); do
		echo x >/dev/udp/198.18.11.1/$p; done' _ "$1" "$2"
}
status_json() { pg_in "$srv" "$PORTGUARD" status --json --pin-dir "$pin" 2>/dev/null; }
violations() { grep -c '"event_type":"violation"' "$1" 2>/dev/null || true; }

# --- the log file, rotated by size --------------------------------------------------------
log=$PG_TMP/events.json
start_run --log-file "$log" --log-max-size 2000 --log-keep 2 || pg_fail_all "run did not start" $PG_CASES
blast 20000 60
pg_wait_for 10 eval '[ "$(violations "$out")" -ge 60 ]'
stop_run
sizes_ok=1
for f in "$log" "$log.1" "$log.2"; do
	[ -f "$f" ] && [ "$(stat -c %s "$f")" -le 2000 ] && jq -e . "$f" >/dev/null || sizes_ok=0
done
pg_check log_rotates_as_told eval '[ $sizes_ok = 1 ] && [ ! -e "$log.3" ]'

rm -f "$log" "$log".*
start_run --log-file "$log" --log-max-size 600 || pg_fail_all "run did not start" $PG_CASES
blast 21000 60
pg_wait_for 10 eval '[ "$(violations "$out")" -ge 60 ]'
stop_run
pg_check log_keep_default_5 eval '[ -f "$log.5" ] && [ ! -e "$log.6" ]'

# --- syslog, RFC 5424 over a datagram socket, from run and from monitor -------------------
sock=$PG_TMP/log.sock
pg_bg socat -u UNIX-RECV:"$sock" "OPEN:$PG_TMP/syslog.out,creat,append"
pg_wait_for 5 test -S "$sock"
start_run --syslog --syslog-socket "$sock" --keep || pg_fail_all "run did not start" $PG_CASES
blast 22000 3
pg_check syslog_from_run pg_wait_for 10 eval 'grep -q "portguard [0-9]* violation - .*\"dest_port\":22002" "$PG_TMP/syslog.out"'
stop_run
# With the state kept, a monitor alone streams it.
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" monitor --json --pin-dir "$pin" --syslog \
	--syslog-socket "$sock" >"$PG_TMP/monitor.out" 2>&1
mon=$PG_BG_PID
pg_wait_for 10 grep -q '"event_type":"monitor"' "$PG_TMP/monitor.out"
blast 22100 3
pg_check syslog_from_monitor pg_wait_for 10 eval 'grep -q "portguard [0-9]* violation - .*\"dest_port\":22102" "$PG_TMP/syslog.out"'
pg_stop "$mon"
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >/dev/null 2>&1

# --- the per-CPU event budget: every datagram is reported or counted as over budget --------
start_run --rate-limit 3 || pg_fail_all "run did not start" $PG_CASES
b0=$(status_json | jq .events.budget)
blast 23000 40
budget_exact() {
	local v b
	v=$(grep -c '"event_type":"violation".*"dest_port":230[0-9][0-9]' "$out")
	b=$(($(status_json | jq .events.budget) - b0))
	[ $((v + b)) -eq 40 ] && [ "$b" -ge 1 ] && [ "$v" -ge 1 ]
}
pg_check rate_limit_budget_exact eval 'pg_wait_for 10 budget_exact &&
	pg_json_wait 5 "$out" ".event_type == \"suppressed\" and .budget >= 1" >/dev/null'
stop_run

# --- a full ring buffer: the daemon stopped, more violations than the ring holds -----------
# 1 MiB of 104-byte records (and their headers) is about 9,300; 11,000 distinct ports overflow
# it. Every one is either a record, once the daemon reads again, or counted as ring_full.
start_run --rate-limit 1000000 || pg_fail_all "run did not start" $PG_CASES
kill -STOP "$RUN_PID"
blast 30000 11000
kill -CONT "$RUN_PID"
ring_exact() {
	local v r
	v=$(jq -c 'select(.event_type == "violation" and .dest_port >= 30000 and .dest_port < 41000)' \
		"$out" 2>/dev/null | wc -l)
	r=$(status_json | jq .events.ring_full)
	[ $((v + r)) -eq 11000 ] && [ "$r" -ge 1 ]
}
pg_check ring_full_exact eval 'pg_wait_for 20 ring_exact &&
	pg_json_wait 5 "$out" ".event_type == \"suppressed\" and .ring_full >= 1" >/dev/null'
stop_run

# --- --no-events: drops are counted, nothing is reported -----------------------------------
start_run --no-events --keep || pg_fail_all "run did not start" $PG_CASES
d0=$(status_json | jq '.reasons["not-allowed"].packets')
blast 24000 10
dropped() { [ $(($(status_json | jq '.reasons["not-allowed"].packets') - d0)) -eq 10 ]; }
pg_check no_events_counts_only eval 'pg_wait_for 10 dropped && [ "$(violations "$out")" = 0 ] &&
	[ "$(status_json | jq .events.submitted)" = 0 ]'
stop_run
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >/dev/null 2>&1
pg_done
