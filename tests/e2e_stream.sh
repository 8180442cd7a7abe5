#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The daemon's event stream for every reader (issue 14): `run` is the ring's one consumer and
# serves its stream on a unix socket; monitors subscribe there. Real traffic across a veth
# pair: 1,000 datagrams to 1,000 distinct blocked ports, 1,000 distinct violations.
#   - run --json to stdout and --log-file, two monitors: the four streams hold the same
#     1,000 records;
#   - again with one monitor stopped (SIGSTOP): the other three still hold all 1,000, and
#     the stopped one catches up when continued;
#   - with a small --monitor-buffer, a stopped monitor is cut off: the daemon says so and
#     counts it, its outputs lose nothing, and the monitor, continued, says why and exits 1;
#   - a monitor reading the ring without a daemon, while 1,000 violations arrive and a run
#     starts: it moves to the daemon's stream; every record once, none lost;
#   - the socket is mode 0600 in a 0700 directory.
PG_CASES="run-start monitors-subscribed four-streams-all four-streams-same text-monitor-all
	stopped-others-all
	stopped-catches-up monitors-end-with-daemon socket-mode cut-off-said cut-off-others-all
	cut-off-counted cut-off-monitor-says handover-moved handover-all-once"
source "$(dirname "$0")/lib.sh"
pg_setup jq nsenter curl

SRV4=198.18.9.1 CLI4=198.18.9.2
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pgfs0 $SRV4/24 2001:db8:9::1/64 "$cli" pgfc0 $CLI4/24 2001:db8:9::2/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
pins=$(pg_bpffs)/portguard || pg_skip_all "cannot mount bpffs" $PG_CASES
pol=$PG_TMP/stream.policy
printf 'default in deny\nallow in tcp 22\n' >"$pol"
pg_in "$cli" ping -c1 -W2 $SRV4 >/dev/null 2>&1

# send FIRST LAST [PAUSE]: one datagram to each port, from the client; a pause every 10.
send() {
	timeout 60 nsenter --net=/run/netns/"$cli" bash -c '
		for ((p = $1; p <= $2; p++)); do
			printf x >"/dev/udp/'$SRV4'/$p" || exit 1
			[ -n "${3:-}" ] && [ $((p % 10)) = 0 ] && sleep "$3"
		done; exit 0' send "$@"
}
# violations FILE FIRST LAST: the violation records of FILE for ports FIRST-LAST, sorted.
violations() {
	jq -cR --argjson a "$2" --argjson b "$3" 'fromjson? | select(.event_type == "violation"
		and .dest_port >= $a and .dest_port <= $b)' "$1" 2>/dev/null | sort
}
count() { violations "$@" | wc -l; }
ports() { violations "$@" | jq -r .dest_port | sort -u | wc -l; }
# wait_count SECONDS N FILE FIRST LAST
wait_count() {
	local t=$1 n=$2
	shift 2
	pg_wait_for "$t" test "$(count "$@")" -ge "$n"
}
start_run() { # LOG ARG...
	local log=$1
	shift
	pg_in_bg "$srv" "$PORTGUARD" run "$pol" --iface pgfs0 --no-cgroup --pin-dir "$pins" \
		--json --rate-limit 0 "$@" >"$log" 2>"$log.err"
	RUN=$PG_BG_PID
	pg_json_wait $PG_START_SECS "$log" '.event_type == "start"' >/dev/null
}
start_monitor() { # OUT
	pg_bg "$PORTGUARD" monitor --json --pin-dir "$pins" >"$1" 2>"$1.err"
	MON=$PG_BG_PID
}
subscribed() { pg_wait_for 10 grep -q "subscribed to the daemon" "$1.err"; }

# --- two monitors on the daemon's stream -----------------------------------------------------
out=$PG_TMP/run1.json
if ! start_run "$out" --log-file "$PG_TMP/log.json"; then
	sed 's/^/# /' "$out.err"
	pg_fail run-start
	pg_done
	exit
fi
pg_ok run-start
start_monitor "$PG_TMP/a.json"; A=$MON
start_monitor "$PG_TMP/b.json"; B=$MON
pg_bg "$PORTGUARD" monitor --pin-dir "$pins" >"$PG_TMP/t.txt" 2>"$PG_TMP/t.txt.err"
T=$PG_BG_PID
pg_check monitors-subscribed eval 'subscribed "$PG_TMP/a.json" && subscribed "$PG_TMP/b.json" &&
	subscribed "$PG_TMP/t.txt"'

send 20000 20999
streams=("$out" "$PG_TMP/log.json" "$PG_TMP/a.json" "$PG_TMP/b.json")
for f in "${streams[@]}"; do wait_count 20 1000 "$f" 20000 20999; done
ok=0
for f in "${streams[@]}"; do
	n=$(count "$f" 20000 20999) p=$(ports "$f" 20000 20999)
	pg_log "$(basename "$f"): $n violations, $p distinct ports"
	[ "$n" = 1000 ] && [ "$p" = 1000 ] || ok=1
done
[ $ok = 0 ] && pg_ok four-streams-all || pg_fail four-streams-all
violations "$out" 20000 20999 >"$PG_TMP/ref"
ok=0
for f in "${streams[@]:1}"; do
	violations "$f" 20000 20999 | cmp -s - "$PG_TMP/ref" || { ok=1; pg_log "$f differs"; }
done
[ $ok = 0 ] && pg_ok four-streams-same || pg_fail four-streams-same
# A text subscriber: one line per record, the same 1,000 ports.
text_ports() { grep -oE -- "-> $SRV4:2[0-9]{4}" "$1" | sort -u | wc -l; }
pg_wait_for 10 test "$(text_ports "$PG_TMP/t.txt")" -ge 1000
pg_check text-monitor-all test "$(text_ports "$PG_TMP/t.txt")" = 1000
pg_stop "$T"

# --- one monitor stopped ---------------------------------------------------------------------
kill -STOP "$B"
send 21000 21999
ok=0
for f in "$out" "$PG_TMP/log.json" "$PG_TMP/a.json"; do
	wait_count 20 1000 "$f" 21000 21999
	[ "$(count "$f" 21000 21999)" = 1000 ] && [ "$(ports "$f" 21000 21999)" = 1000 ] || ok=1
	pg_log "with b stopped, $(basename "$f"): $(count "$f" 21000 21999) violations"
done
[ $ok = 0 ] && pg_ok stopped-others-all || pg_fail stopped-others-all
kill -CONT "$B"
wait_count 20 1000 "$PG_TMP/b.json" 21000 21999
violations "$PG_TMP/b.json" 21000 21999 | cmp -s - <(violations "$out" 21000 21999)
pg_check stopped-catches-up test $? = 0

kill -TERM "$RUN"
timeout 10 tail --pid="$RUN" -f /dev/null
ok=0
for m in "$A" "$B"; do
	timeout 10 tail --pid="$m" -f /dev/null
	wait "$m" || ok=1
done
grep -q "stream ended: the daemon stopped" "$PG_TMP/a.json.err" && [ $ok = 0 ]
pg_check monitors-end-with-daemon test $? = 0

# --- the socket ------------------------------------------------------------------------------
out=$PG_TMP/run2.json
start_run "$out" --monitor-buffer 16384 --metrics 127.0.0.1:19467 --keep
sock=$(find /run/portguard -maxdepth 1 -type s | head -n 1)
[ -n "$sock" ] && [ "$(stat -c %a "$sock")" = 600 ] && [ "$(stat -c %a /run/portguard)" = 700 ] &&
	[ "$(stat -c %u "$sock")" = 0 ]
pg_check socket-mode test $? = 0

# --- a stopped monitor with a small buffer is cut off ----------------------------------------
start_monitor "$PG_TMP/c.json"; C=$MON
start_monitor "$PG_TMP/d.json"; D=$MON
subscribed "$PG_TMP/c.json" && subscribed "$PG_TMP/d.json"
kill -STOP "$D"
# Paced: D never reads, so it is cut off at any pace; C reads, and a burst of 1000 records
# at once could outrun it (16 KiB of buffer) on a loaded machine and cut it off too.
send 22000 22999 0.005
pg_check cut-off-said pg_wait_for 20 grep -q "cut off monitor pid $D" "$out.err"
ok=0
for f in "$out" "$PG_TMP/c.json"; do
	wait_count 20 1000 "$f" 22000 22999
	[ "$(count "$f" 22000 22999)" = 1000 ] || ok=1
	pg_log "with d cut off, $(basename "$f"): $(count "$f" 22000 22999) violations"
done
pg_check cut-off-others-all test $ok = 0
m=$(pg_in "$srv" curl -sf http://127.0.0.1:19467/metrics)
grep -qx 'portguard_monitor_cutoffs_total 1' <<<"$m" && grep -qx 'portguard_monitor_subscribers 1' <<<"$m"
rc=$?
[ $rc = 0 ] || pg_log "metrics: $(grep -E '^portguard_monitor_(cutoffs_total|subscribers) ' <<<"$m" | tr '\n' ' ')"
grep -q "cut off monitor pid $C" "$out.err" && pg_log "c was cut off too"
pg_check cut-off-counted test $rc = 0
kill -CONT "$D"
timeout 10 tail --pid="$D" -f /dev/null
wait "$D"
rc=$?
got=$(count "$PG_TMP/d.json" 22000 22999)
pg_log "cut-off monitor: exit $rc, $got of 1000 records; $(grep 'cut this' "$PG_TMP/d.json.err")"
[ $rc = 1 ] && grep -q "the daemon cut this monitor off: this monitor stopped reading" \
	"$PG_TMP/d.json.err" && [ "$got" -lt 1000 ] &&
	[ -z "$(comm -23 <(violations "$PG_TMP/d.json" 22000 22999) <(violations "$out" 22000 22999))" ]
pg_check cut-off-monitor-says test $? = 0


# --- hand-over: a monitor reads the ring, then a daemon starts --------------------------------
kill -TERM "$RUN" # --keep: the state stays pinned
timeout 10 tail --pid="$RUN" -f /dev/null
# c went back to reading the ring itself; monitors without a daemon share it (each record
# reaches one of them): c goes, e is the one reader.
pg_wait_for 10 grep -q "reading the ring of .* myself again" "$PG_TMP/c.json.err" ||
	pg_log "c did not fall back to reading the ring"
pg_stop "$C"
start_monitor "$PG_TMP/e.json"; E=$MON
pg_wait_for 10 grep -q monitoring "$PG_TMP/e.json.err"
send 23000 23999 0.02 &
sender=$!
sleep 0.7
out=$PG_TMP/run3.json
start_run "$out"
wait $sender
wait_count 20 1000 "$PG_TMP/e.json" 23000 23999
sleep 0.5
n=$(count "$PG_TMP/e.json" 23000 23999) p=$(ports "$PG_TMP/e.json" 23000 23999)
d=$(count "$out" 23000 23999)
pg_log "hand-over: the monitor holds $n records, $p ports; the daemon $d"
pg_check handover-moved grep -q "a daemon started: this monitor follows" "$PG_TMP/e.json.err"
[ "$n" = 1000 ] && [ "$p" = 1000 ] && [ "$d" -lt 1000 ] &&
	[ -z "$(comm -13 <(violations "$PG_TMP/e.json" 23000 23999) <(violations "$out" 23000 23999))" ]
if [ $? = 0 ]; then
	pg_ok handover-all-once
else
	pg_fail handover-all-once
	sed 's/^/#   /' "$PG_TMP/e.json.err" "$out.err"
	grep -h "suppressed\|start" "$out" "$PG_TMP/e.json" | sed "s/^/#   /"
	"$PORTGUARD" status --pin-dir "$pins" | sed "s/^/#   /"
fi
pg_stop "$RUN"
pg_done
