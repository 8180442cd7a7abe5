#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No sink holds the daemon's event loop, and the log file is opened as root must (issue 11,
# items 7 and 9). Real traffic across a veth pair makes the violations.
#   - stdout a pipe whose reader stopped: SIGHUP still reloads, /metrics answers, SIGTERM
#     stops it;
#   - a syslog socket never read: failures are counted and SIGTERM stops it;
#   - stderr a pipe whose reader stopped, filled by the daemon's own diagnostics (a reload
#     of a policy with 1000 errors): SIGHUP still reloads, /metrics answers and counts the
#     lines dropped, SIGTERM stops it;
#   - the log file: a symlink, a file of someone else's, a FIFO are refused; an existing
#     file gets mode 0600; deleted or moved while in use, it is opened again and counted;
#   - stdout closed at start: the log file does not take fd 1 (text stays out of it).
# Every wait is bounded: a daemon stuck in a write fails the case, it does not hang the suite.
PG_CASES="stalled-stdout-start stalled-stdout-sighup stalled-stdout-metrics stalled-stdout-sigterm
	syslog-stalled-sigterm syslog-stalled-counted stalled-stderr-sighup stalled-stderr-metrics
	stalled-stderr-sigterm log-symlink-refused log-foreign-owner-refused
	log-fifo-refused log-mode-applied log-deleted-reopened log-moved-reopened log-reopen-counted
	stdout-closed-log-json"
source "$(dirname "$0")/lib.sh"
pg_setup jq nsenter curl socat

SRV4=198.18.13.1 CLI4=198.18.13.2
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pgks0 $SRV4/24 2001:db8:13::1/64 "$cli" pgkc0 $CLI4/24 2001:db8:13::2/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
pins=$(pg_bpffs)/portguard || pg_skip_all "cannot mount bpffs" $PG_CASES
pol=$PG_TMP/sinks.policy
printf 'default in deny\nallow in tcp 22\n' >"$pol"
pg_in "$cli" ping -c1 -W2 $SRV4 >/dev/null 2>&1

send() { pg_udp_burst "$cli" $SRV4 "$@"; } # FIRST LAST: one datagram to each port
run_bg() { # LOG ARG...: run with --log-file LOG; RUN is its pid; stdout is the caller's
	local log=$1
	shift
	pg_in_bg "$srv" "$PORTGUARD" run "$pol" --iface pgks0 --no-cgroup --pin-dir "$pins" \
		--rate-limit 0 --log-file "$log" "$@"
	RUN=$PG_BG_PID
	pg_json_wait $PG_START_SECS "$log" '.event_type == "start"' >/dev/null
}
gone() { pg_gone "$@"; }
metric() { pg_metric "$srv" "$@"; }

# --- stdout: a pipe whose reader stopped ------------------------------------------------------
# A FIFO this shell holds open for reading and never reads: the pipe fills (64 KiB) and
# every later write would block.
pg_stall_pipe "$PG_TMP/stall"
log=$PG_TMP/a.json
run_bg "$log" --json --metrics 127.0.0.1:19471 >"$PG_TMP/stall" 2>"$PG_TMP/a.err" <&-
pg_check stalled-stdout-start kill -0 "$RUN"
send 30000 30999
pg_wait_for 20 sh -c "[ \$(grep -c '\"violation\"' '$log') -ge 1000 ]"
kill -HUP "$RUN"
pg_check stalled-stdout-sighup eval 'pg_json_wait 5 "$log" ".event_type == \"reload\"" >/dev/null'
m=$(metric 19471 portguard_policy_loaded)
pg_check stalled-stdout-metrics test "$m" = 1
kill -TERM "$RUN"
pg_check stalled-stdout-sigterm gone "$RUN" 5
pg_stop "$RUN"
pg_unstall_pipe

# --- a syslog socket never read -----------------------------------------------------------------
pg_stall_syslog "$PG_TMP/syslog.sock"
log=$PG_TMP/b.json
run_bg "$log" --json --metrics 127.0.0.1:19472 --syslog-socket "$PG_TMP/syslog.sock" \
	>/dev/null 2>"$PG_TMP/b.err"
send 31000 31999 # more than the socket queues (max_dgram_qlen, 512 by default)
# No waiting for the records: SIGTERM comes while they are being written (a loop that waited
# on the socket, 200 ms a record, would take a minute).
sleep 1
m=$(metric 19472 'portguard_log_write_failures_total{sink="syslog"}')
pg_log "syslog write failures counted: ${m:-none}"
kill -TERM "$RUN"
pg_check syslog-stalled-sigterm gone "$RUN" 5
pg_stop "$RUN"
pg_check syslog-stalled-counted test "${m:-0}" -gt 0
pg_unstall_syslog

# --- stderr: a pipe whose reader stopped ------------------------------------------------------
# The daemon's own diagnostics fill it: SIGHUPs with a policy of 1000 errors (some 200 KiB of
# them each, and the reload refused), eight of them: more than the pipe and the daemon's queue
# for stderr (1 MiB) hold, so that lines are dropped and counted. Then, the policy good again, SIGHUP must reload, /metrics
# answer, SIGTERM stop it: a daemon sitting in a write to stderr would do none of it.
pg_stall_pipe "$PG_TMP/stall.err"
log=$PG_TMP/e.json
run_bg "$log" --json --metrics 127.0.0.1:19474 >/dev/null 2>"$PG_TMP/stall.err"
cp "$pol" "$PG_TMP/good.policy"
for ((i = 0; i < 1000; i++)); do echo "allow in tcp 70000"; done >>"$pol"
for ((i = 0; i < 8; i++)); do kill -HUP "$RUN"; sleep 0.3; done
cp "$PG_TMP/good.policy" "$pol"
kill -HUP "$RUN"
pg_check stalled-stderr-sighup eval 'pg_json_wait 5 "$log" ".event_type == \"reload\"" >/dev/null'
m=$(metric 19474 portguard_stderr_dropped_total)
pg_log "stderr lines dropped: ${m:-none}"
pg_check stalled-stderr-metrics eval '[ "$(metric 19474 portguard_policy_loaded)" = 1 ] &&
	[ "${m:-0}" -gt 0 ]'
kill -TERM "$RUN"
pg_check stalled-stderr-sigterm gone "$RUN" 5
pg_stop "$RUN" # one that failed to stop would hold the pins for the cases below
pg_unstall_pipe

# --- the log file ------------------------------------------------------------------------------
refused() { # NAME LOGPATH WORDS
	local rc
	timeout 30 nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgks0 \
		--no-cgroup --pin-dir "$pins" --log-file "$2" >/dev/null 2>"$PG_TMP/refused.err"
	rc=$?
	sed 's/^/# /' "$PG_TMP/refused.err"
	[ $rc != 0 ] && grep -q "$3" "$PG_TMP/refused.err"
}
echo keep >"$PG_TMP/target"
ln -s "$PG_TMP/target" "$PG_TMP/link.json"
refused x "$PG_TMP/link.json" "symbolic link" && [ "$(cat "$PG_TMP/target")" = keep ]
pg_check log-symlink-refused test $? = 0
touch "$PG_TMP/foreign.json" && chown 65534 "$PG_TMP/foreign.json"
pg_check log-foreign-owner-refused refused x "$PG_TMP/foreign.json" "not owned by root"
mkfifo "$PG_TMP/fifo.json"
pg_check log-fifo-refused refused x "$PG_TMP/fifo.json" "not a regular file"

log=$PG_TMP/c.json
touch "$log" && chmod 0644 "$log"
run_bg "$log" --json --metrics 127.0.0.1:19473 >/dev/null 2>"$PG_TMP/c.err"
pg_check log-mode-applied test "$(stat -c %a "$log")" = 600
rm "$log"
send 32000 32009
pg_check log-deleted-reopened pg_wait_for 10 sh -c \
	"[ \$(grep -c '\"violation\"' '$log' 2>/dev/null) -ge 1 ] && [ \$(stat -c %a '$log') = 600 ]"
mv "$log" "$log.1"
send 32010 32019
pg_wait_for 10 sh -c "[ \$(grep -c '\"violation\"' '$log' 2>/dev/null) -ge 1 ]" &&
	! grep -q '"dest_port":32019' "$log.1"
pg_check log-moved-reopened test $? = 0
m=$(metric 19473 portguard_log_reopens_total)
pg_log "reopens counted: ${m:-none}; $(grep -c 'deleted or moved' "$PG_TMP/c.err") said on stderr"
pg_check log-reopen-counted test "${m:-0}" -ge 2
pg_stop "$RUN"

# --- stdout closed at start ------------------------------------------------------------------------
log=$PG_TMP/d.json
run_bg "$log" >&- 2>"$PG_TMP/d.err"
send 33000 33009
pg_wait_for 10 sh -c "[ \$(grep -c '\"violation\"' '$log') -ge 10 ]"
pg_check stdout-closed-log-json pg_json_all "$log"
pg_stop "$RUN"
pg_done
