#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fault injection (issue 11): a probe loop knocks on a blocked port from another namespace the
# whole time, and not one probe may get through, while load, reload and run's start are hit
# by SIGTERM and SIGKILL at random moments, every command gets options it cannot use, and the
# enforced interface is deleted and re-created, and run enforces with a sink that stopped
# answering (stdout a pipe nobody reads, a syslog socket never read, the log file on a frozen
# filesystem) while violations pour in: SIGHUP and SIGTERM are answered within 5 s all the
# same. After each step, `status` and portguard_enforcing agree with what the kernel shows
# attached (pg_status_agrees).
. "$(dirname "$0")/lib.sh"

PG_CASES="probe_reaches_unprotected load_killed reload_killed run_start_killed bad_options
stalled_stdout stalled_syslog stalled_log_file iface_recreated_reported iface_reloaded_enforcing zero_probes_through probes_ran"
pg_setup bpftool socat flock jq curl

bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES
pin=$bpffs/pg
srv=$(pg_netns fasrv) && cli=$(pg_netns facli) || pg_skip_all "cannot create namespaces" $PG_CASES
mkveth() {
	pg_veth "$srv" pgs0 198.18.12.1/24 2001:db8:12::1/64 "$cli" pgc0 198.18.12.2/24 2001:db8:12::2/64
}
mkveth || pg_skip_all "cannot create a veth pair" $PG_CASES
pg_listen "$srv" tcp 8080
pg_wait_for 5 pg_listening "$srv" tcp 8080 || pg_skip_all "socat cannot listen" $PG_CASES

pol=$PG_TMP/f.policy
printf 'default in deny\nallow in tcp 22\n' >"$pol"
pgs() { pg_in "$srv" "$PORTGUARD" "$@"; }
load() { pgs load "$pol" --iface pgs0 --no-cgroup --pin-dir "$pin"; }
agree() { pg_status_agrees "$srv" pgs0 "$pin"; }
# Enforcing as it should be after a fault: status 0, and the kernel agrees.
enforcing() { agree && [ "$PG_STATUS_RC" = 0 ]; }
rand_ms() { awk -v m=$((RANDOM % $1)) 'BEGIN { printf "%.3f", m / 1000 }'; }

# One knock on 8080 (alternately IPv4 and IPv6): through only if the echo comes back.
knock() {
	local tok="k$RANDOM" addr=$1 got
	got=$(echo "$tok" | timeout 2 nsenter --net=/run/netns/"$cli" \
		socat -t 0.5 - "TCP:$addr:8080,connect-timeout=0.3" 2>/dev/null)
	[ "$got" = "$tok" ]
}
pg_check probe_reaches_unprotected eval 'knock 198.18.12.1 && knock "[2001:db8:12::1]"'

load 2>/dev/null || pg_skip_all "portguard load failed" ${PG_CASES#probe_reaches_unprotected}
pg_defer "pg_in '$srv' '$PORTGUARD' unload --pin-dir '$pin'"

# The probe loop: bounded in count (1500) and time (stops at the stop file, or after 150 s).
through=$PG_TMP/through tries=$PG_TMP/tries stop=$PG_TMP/stop
: >"$through"
: >"$tries"
(
	end=$((SECONDS + 150))
	for ((i = 0; i < 1500 && SECONDS < end; i++)); do
		[ -e "$stop" ] && break
		if ((i % 2)); then a="[2001:db8:12::1]"; else a=198.18.12.1; fi
		knock "$a" && echo "$i $a" >>"$through"
		echo "$i" >>"$tries"
	done
) &
prober=$!
pg_defer "kill $prober"

# SIGTERM and SIGKILL at random points of a load that takes the state over.
ok=1
for sig in TERM KILL TERM KILL TERM KILL; do
	pg_interrupt "$sig" "$(rand_ms 2200)" nsenter --net=/run/netns/"$srv" "$PORTGUARD" load "$pol" \
		--iface pgs0 --no-cgroup --pin-dir "$pin" 2>/dev/null
	enforcing || { pg_log "load, SIG$sig: not enforcing afterwards"; ok=0; }
done
pg_check load_killed [ $ok = 1 ]

ok=1
for sig in TERM KILL TERM KILL TERM KILL; do
	pg_interrupt "$sig" "$(rand_ms 400)" nsenter --net=/run/netns/"$srv" "$PORTGUARD" reload "$pol" \
		--pin-dir "$pin" 2>/dev/null
	enforcing || { pg_log "reload, SIG$sig: not enforcing afterwards"; ok=0; }
done
pg_check reload_killed [ $ok = 1 ]

# run takes the state over; SIGTERM with --keep and SIGKILL leave it in force (a run without
# --keep that exits cleanly removes it: that is no fault).
ok=1
for how in "TERM --keep" "KILL" "TERM --keep" "KILL" "TERM --keep" "KILL"; do
	set -- $how
	pg_interrupt "$1" "$(rand_ms 2500)" nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" \
		--iface pgs0 --no-cgroup --pin-dir "$pin" ${2:-} >/dev/null 2>&1
	enforcing || { pg_log "run ${2:-}, SIG$1: not enforcing afterwards"; ok=0; }
done
pg_check run_start_killed [ $ok = 1 ]

# Options no command can use: exit 2 (1 for a policy that cannot be read), state untouched.
ok=1
bad() {
	local want=$1 rc
	shift
	pgs "$@" --pin-dir "$pin" >/dev/null 2>&1
	rc=$?
	[ "$rc" = "$want" ] || { pg_log "portguard $*: exit $rc, not $want"; ok=0; }
	enforcing || { pg_log "portguard $*: not enforcing afterwards"; ok=0; }
}
for cmd in run load unload reload monitor status; do
	bad 2 "$cmd" --no-such-option
done
bad 2 load "$pol" --iface pgs0 --xdp-mode bogus
bad 2 load "$pol" --cgroup /sys/fs/cgroup --no-cgroup
bad 2 run "$pol" --iface pgs0 --rate-window soon
bad 2 run "$pol" --iface pgs0 --rate-limit -1
bad 2 run "$pol" --iface pgs0 --log-max-size lots
bad 2 run "$pol" --iface pgs0 --log-keep 100000
bad 2 run "$pol" --iface pgs0 --metrics 127.0.0.1:99999
bad 1 run "$pol" --iface pgs0 --log-file /nonexistent/dir/x # a file it cannot open: 1
bad 2 monitor --metrics 127.0.0.1:99999
bad 2 status --json --prometheus
bad 2 unload extra-argument
bad 1 reload "$PG_TMP/no-such.policy"
bad 1 load "$PG_TMP/no-such.policy" --iface pgs0
bad 1 load "$pol" --iface no-such-if0
pg_check bad_options [ $ok = 1 ]

# run --keep takes the state over with one sink stalled (the stall helpers are lib.sh's), and
# a burst of violations (UDP to closed ports, not rate-limited) fills it. Then, within 5 s each:
# SIGHUP reloads (the reload record is seen where SEEN is written), /metrics answers, status and
# portguard_enforcing agree with the kernel, SIGTERM is answered ("exiting" on stderr); once the
# sink answers again the daemon is gone, and the state it kept is in force.
stalled() { # SEEN UNSTALL OUT ARG...: stdout to OUT; ARG names the stalled sink
	local seen=$1 unstall=$2 out=$3 err=$PG_TMP/stalled.err ok=1
	shift 3
	pg_in_bg "$srv" "$PORTGUARD" run "$pol" --iface pgs0 --no-cgroup --pin-dir "$pin" --keep \
		--json --rate-limit 0 --metrics 127.0.0.1:19481 "$@" >"$out" 2>"$err"
	RUN=$PG_BG_PID
	pg_json_wait $PG_START_SECS "$seen" '.event_type == "start"' >/dev/null || { pg_log "no start"; ok=0; }
	STALL "$seen"
	pg_udp_burst "$cli" 198.18.12.1 30000 31499
	kill -HUP "$RUN"
	pg_json_wait 5 "$seen" '.event_type == "reload"' >/dev/null || { pg_log "no reload in 5 s"; ok=0; }
	[ "$(pg_metric "$srv" 19481 portguard_policy_loaded)" = 1 ] || { pg_log "no metrics"; ok=0; }
	enforcing || { pg_log "not enforcing while stalled"; ok=0; }
	kill -TERM "$RUN"
	pg_wait_for 5 grep -q "exiting; enforcement stays in force" "$err" ||
		{ pg_log "SIGTERM not answered in 5 s"; ok=0; }
	kill -0 "$RUN" 2>/dev/null && pg_log "$*: still there after SIGTERM, held by the stalled sink"
	$unstall
	pg_gone "$RUN" 5 || { pg_log "not gone 5 s after the sink answered"; ok=0; }
	pg_stop "$RUN"
	enforcing || { pg_log "not enforcing after"; ok=0; }
	[ $ok = 1 ]
}
STALL() { :; } # what stalls the sink once the daemon is up (the log file's filesystem)

pg_stall_pipe "$PG_TMP/stdout.pipe"
pg_check stalled_stdout stalled "$PG_TMP/s1.json" pg_unstall_pipe "$PG_TMP/stdout.pipe" \
	--log-file "$PG_TMP/s1.json"

pg_stall_syslog "$PG_TMP/syslog.sock"
pg_check stalled_syslog stalled "$PG_TMP/s2.json" pg_unstall_syslog /dev/null \
	--log-file "$PG_TMP/s2.json" --syslog-socket "$PG_TMP/syslog.sock"

if command -v mkfs.ext4 >/dev/null && command -v fsfreeze >/dev/null &&
	pg_stall_fs "$PG_TMP/frozen"; then
	STALL() { pg_freeze "$PG_TMP/frozen"; }
	pg_check stalled_log_file stalled "$PG_TMP/s3.json" "pg_thaw $PG_TMP/frozen" \
		"$PG_TMP/s3.json" --log-file "$PG_TMP/frozen/events.json"
	STALL() { :; }
else
	pg_skip stalled_log_file "no ext4 image to freeze here (mkfs.ext4, fsfreeze, a loop device)"
fi

# The interface is deleted and re-created (down, so that nothing reaches it until portguard is
# on it again): status says not enforcing, exit 3, and the kernel agrees; a load re-attaches.
pg_in "$srv" ip link del pgs0
ip link add pgs0 netns "$srv" type veth peer name pgc0 netns "$cli"
pg_in "$srv" ip addr add 198.18.12.1/24 dev pgs0
pg_in "$srv" ip addr add 2001:db8:12::1/64 dev pgs0 nodad
pg_in "$cli" ip addr add 198.18.12.2/24 dev pgc0
pg_in "$cli" ip addr add 2001:db8:12::2/64 dev pgc0 nodad
pg_check iface_recreated_reported eval 'agree && [ "$PG_STATUS_RC" = 3 ]'
load 2>/dev/null
pg_in "$srv" ip link set pgs0 up
pg_in "$cli" ip link set pgc0 up
pg_check iface_reloaded_enforcing enforcing
sleep 1 # a few more knocks on the re-created interface

touch "$stop"
wait "$prober"
pg_log "$(wc -l <"$tries") probes, $(wc -l <"$through") through"
pg_check zero_probes_through [ ! -s "$through" ]
pg_check probes_ran [ "$(wc -l <"$tries")" -ge 20 ]

pg_done
