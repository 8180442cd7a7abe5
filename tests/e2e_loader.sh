#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The loader's lifecycle on the real kernel: run attaches and pins, SIGINT detaches exactly
# what it attached, SIGKILL leaves enforcement in force and a second run takes it over by
# updating the same links, SIGHUP swaps (and rejects a broken policy), systemd notification,
# load/unload/reload twice each, and the pin directory's lock. In a private bpffs, a veth
# between two namespaces of our own, and a child cgroup of our own.
. "$(dirname "$0")/lib.sh"

PG_CASES="run_attaches start_record notify_ready sigint_detaches_all sigkill_keeps_pins
takeover_updates_links sighup_rejects_broken sighup_reloads load_twice reload_twice
unload_twice lock_serialises run_keep unload_detaches_held second_run_refused event_fields suppressed_counted
bind_attribution monitor_streams monitor_kill_keeps run_exits_on_unload notify_abstract_reload
pin_dir_needs_bpffs load_reconciles text_stream_json_log takeover_no_gap
unload_other_netns"
pg_setup bpftool socat flock ss

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup loader) || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgs0 198.18.7.1/24 2001:db8:7::1/64 "$cli" pgc0 198.18.7.2/24 2001:db8:7::2/64 ||
	pg_skip_all "cannot create a veth pair" $PG_CASES

pol=$PG_TMP/p.policy
cat >"$pol" <<'P'
default in deny
allow in tcp 22
allow in tcp 8080 from 198.18.0.0/15
local tcp 5432
P

out=$PG_TMP/out err=$PG_TMP/err
# start_run [ARGS...]: portguard run in the server namespace, in the background (PG_BG_PID).
start_run() {
	: >"$out"
	: >"$err"
	# nsenter execs portguard: PG_BG_PID is portguard itself, which the signals must reach.
	pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgs0 --cgroup "$cg" --pin-dir "$pin" \
		--json "$@" >"$out" 2>"$err"
	pg_wait_for $PG_START_SECS grep -q '"event_type":"start"' "$out"
}
link_field() { # FILE FIELD: a field of a pinned link, from bpftool's JSON
	bpftool -j link show pinned "$1" 2>/dev/null | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}
# 2>/dev/null: ip names the peer's namespace by asking the kernel about every entry of
# /run/netns, and says "Peer netns reference is invalid" for one another suite is still
# creating (or one a crashed run left): noise in CI's log, not a failure of ours.
has_xdp() { pg_in "$srv" ip link show dev pgs0 2>/dev/null | grep -q ' xdp'; }
has_tc() { pg_in "$srv" tc filter show dev pgs0 egress | grep -q pg_tc_egress; }
# The seven socket hooks on a cgroup (CG, default ours). Not the lsm_cgroup program, which a
# kernel that takes BPF LSM programs (Debian 12 and 13's) attaches too.
cg_hooks() { bpftool cgroup show "${1:-$cg}" 2>/dev/null | grep -c ' pg_\(bind\|connect\|sendmsg\|sock_create\)'; }
pins() { ls "$pin" 2>/dev/null | grep -c '^pg_'; }
# Every map of bpf/maps.bpf.h is pinned (objects may pin scratch maps of their own too).
all_pins() {
	local m
	for m in pg_active pg_config pg_ports pg_buckets pg_buckets32 pg_peers pg_class_peers pg_rule_stats pg_reason_stats \
		pg_event_stats pg_flows pg_flow_stats pg_flow_ports pg_frags pg_ratelimit pg_budget pg_events \
		pg_rule_meta pg_info; do
		[ -e "$pin/$m" ] || return 1
	done
}

# systemd's side of sd_notify: one datagram socket, every message appended to a file. No
# fork: forked children could append READY and RELOADING out of order.
notify=$PG_TMP/notify.sock
pg_bg socat -u "UNIX-RECV:$notify" "OPEN:$PG_TMP/notify.log,creat,append"
pg_wait_for 5 test -S "$notify"

export NOTIFY_SOCKET=$notify
if start_run; then
	pg_check run_attaches eval 'all_pins && [ -e "$pin/links/xdp-pgs0" ] &&
		has_xdp && has_tc && [ "$(cg_hooks)" = 7 ]'
else
	pg_fail run_attaches
	pg_log "$(cat "$err")"
fi
pg_check start_record grep -q '"event_type":"start","policy":"'"$pol"'","sha256":"'"$(sha256sum <"$pol" | cut -d' ' -f1)"'","mode":"enforce".*"interfaces":\["pgs0"\],"cgroup":"'"$cg"'".*"takeover":false' "$out"
pg_check notify_ready pg_wait_for 5 grep -q 'READY=1' "$PG_TMP/notify.log"
unset NOTIFY_SOCKET

kill -INT "$PG_BG_PID"
wait "$PG_BG_PID"
rc=$?
pg_check sigint_detaches_all eval '[ $rc = 0 ] && [ "$(pins)" = 0 ] && [ ! -e "$pin" ] &&
	! has_xdp && ! has_tc && [ "$(cg_hooks)" = 0 ]'

# SIGKILL: nothing is cleaned up, enforcement stays; the next run updates the same links.
start_run
link1=$(link_field "$pin/links/xdp-pgs0" id)
prog1=$(link_field "$pin/links/xdp-pgs0" prog_id)
cglink1=$(link_field "$pin/links/cgroup-bind4" id)
kill -KILL "$PG_BG_PID"
wait "$PG_BG_PID" 2>/dev/null
pg_check sigkill_keeps_pins eval 'all_pins && has_xdp && has_tc && [ "$(cg_hooks)" = 7 ] &&
	[ "$(link_field "$pin/links/xdp-pgs0" prog_id)" = "$prog1" ]'
# This run notifies an abstract socket ('@' name), which is per network namespace.
abstract=pg-notify-$PG_ID
pg_bg nsenter --net=/run/netns/"$srv" socat -u "ABSTRACT-RECV:$abstract" \
	"OPEN:$PG_TMP/notify2.log,creat,append"
pg_wait_for 5 eval 'pg_in "$srv" ss -xl | grep -q "@$abstract"'
# No gap: datagrams to a closed port stream in while the next run takes over; not one may
# reach the listener (which is shown to work once enforcement is gone, at the end).
pg_bg nsenter --net=/run/netns/"$srv" socat -u UDP-RECV:9000 "OPEN:$PG_TMP/recv9000,creat,append"
receiver=$PG_BG_PID
# The sender goes on until told to stop, past the takeover and past the rate-limit window
# that the old run's event for this port opened: bounded by time (60 s), not by a count that
# a slow start of the new run could outlast.
pg_bg nsenter --net=/run/netns/"$cli" bash -c 'end=$((SECONDS + 60)); i=0
	while [ ! -e "$1" ] && [ $SECONDS -lt $end ]; do echo $((i++)); sleep 0.002; done |
	socat -u - UDP:198.18.7.1:9000' _ "$PG_TMP/stop"
sender=$PG_BG_PID
export NOTIFY_SOCKET=@$abstract
start_run
unset NOTIFY_SOCKET
# The new programs are in; an event for this port stamped after the start record shows that
# datagrams reached them (the ring also holds what the old programs reported meanwhile).
after_start() {
	awk -F'"timestamp":"' '/"event_type":"start"/ { split($2, a, "\""); t = a[1] }
		/"dest_port":9000/ { split($2, a, "\""); if (t != "" && a[1] > t) found = 1 }
		END { exit !found }' "$out"
}
pg_wait_for 20 after_start
seen=$?
touch "$PG_TMP/stop"
pg_wait_for 15 eval '! kill -0 $sender 2>/dev/null'
gap_bytes=$(stat -c %s "$PG_TMP/recv9000" 2>/dev/null || echo missing)
[ $seen = 0 ] || gap_bytes="no datagram reached the new programs"
pg_check takeover_updates_links eval 'grep -q "\"takeover\":true" "$out" &&
	[ -n "$link1" ] && [ "$(link_field "$pin/links/xdp-pgs0" id)" = "$link1" ] &&
	[ "$(link_field "$pin/links/xdp-pgs0" prog_id)" != "$prog1" ] &&
	[ "$(link_field "$pin/links/cgroup-bind4" id)" = "$cglink1" ] &&
	[ "$(cg_hooks)" = 7 ] && has_tc'

# SIGHUP with a broken policy: its errors, and the policy in force stays.
cp "$pol" "$PG_TMP/good.policy"
echo 'allow in tcp 70000' >>"$pol"
kill -HUP "$PG_BG_PID"
pg_check sighup_rejects_broken eval 'pg_wait_for 5 grep -q "reload of .* rejected" "$err" &&
	grep -q "p.policy:5:.*error" "$err" && kill -0 "$PG_BG_PID" &&
	! grep -q "\"event_type\":\"reload\"" "$out"'
printf 'default in deny\nallow in tcp 22\n' >"$pol"
kill -HUP "$PG_BG_PID"
pg_check sighup_reloads eval 'pg_wait_for 5 grep -q "\"event_type\":\"reload\".*\"sha256\":\"$(sha256sum <"$pol" | cut -d" " -f1)\"" "$out" &&
	kill -0 "$PG_BG_PID"'
pg_stop "$PG_BG_PID"
cp "$PG_TMP/good.policy" "$pol"
# READY, then RELOADING and READY around each SIGHUP, then STOPPING.
pg_check notify_abstract_reload eval 'pg_wait_for 5 grep -q STOPPING=1 "$PG_TMP/notify2.log" &&
	[ "$(tr -d "\n" <"$PG_TMP/notify2.log" | sed -e "s/MONOTONIC_USEC=[0-9]*//g" -e "s/STATUS=[a-z]*//g")" = \
	  "READY=1RELOADING=1READY=1RELOADING=1READY=1STOPPING=1" ]'


# Persistent enforcement: each command twice.
load() { pg_in "$srv" "$PORTGUARD" load "$pol" --iface pgs0 --cgroup "$cg" --pin-dir "$pin"; }
pg_check load_twice eval 'load 2>"$err" && grep -q "loaded" "$err" && load 2>"$err" &&
	grep -q "replaced the policy" "$err" && has_xdp && [ "$(cg_hooks)" = 7 ]'
# A load that names other attach points moves to them: the socket hooks to another cgroup,
# and an interface no longer named loses XDP and tc.
cg2=$(pg_cgroup loader2)
pg_check load_reconciles eval 'pg_in "$srv" "$PORTGUARD" load "$pol" --cgroup "$cg2" --pin-dir "$pin" \
	2>/dev/null && [ "$(cg_hooks)" = 0 ] && [ "$(cg_hooks "$cg2")" = 7 ] &&
	! has_xdp && ! has_tc && [ ! -e "$pin/links/xdp-pgs0" ] && load 2>/dev/null && has_xdp &&
	[ "$(cg_hooks)" = 7 ] && [ "$(cg_hooks "$cg2")" = 0 ]'
pg_check reload_twice eval '"$PORTGUARD" reload "$pol" --pin-dir "$pin" 2>/dev/null &&
	"$PORTGUARD" reload "$pol" --pin-dir "$pin" 2>/dev/null && has_xdp'
pg_check unload_twice eval 'pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" | grep -q unloaded &&
	! has_xdp && ! has_tc && [ "$(cg_hooks)" = 0 ] &&
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" | grep -q "nothing loaded"'

# The lock: a command waits while another holds the pin directory, then goes on.
load 2>/dev/null
exec 9<"$pin"
flock 9
# 9<&-: the unloader must not inherit (and so share) the lock it is to wait for.
nsenter --net=/run/netns/"$srv" "$PORTGUARD" unload --pin-dir "$pin" >"$out" 2>"$err" 9<&- &
unloader=$!
pg_defer "pg_stop $unloader"
if pg_wait_for 5 grep -q "waiting for another portguard command" "$err" &&
	kill -0 "$unloader" && has_xdp; then
	exec 9<&-
	wait "$unloader"
	rc=$?
	pg_check lock_serialises eval '[ $rc = 0 ] && grep -q unloaded "$out" && ! has_xdp'
else
	exec 9<&-
	pg_fail lock_serialises
fi

# run --keep: enforcement outlives the process, then unload removes it.
start_run --keep
pg_stop "$PG_BG_PID"
pg_check run_keep eval 'all_pins && has_xdp && grep -q "stays in force" "$err" &&
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >/dev/null && ! has_xdp'

# unload detaches a link that something else still holds: here a second pin, in life the
# link fds of a `portguard run` that has not yet seen the unload. Removing our pin alone
# would leave the program attached for as long as that holder lives (and, held by nobody,
# until the kernel's work queue gets to it: unload said "detached" while XDP still ran).
load 2>/dev/null
held=$(dirname "$pin")/held
mkdir -p "$held"
pg_defer "rm -rf '$held'"
bpftool link pin id "$(link_field "$pin/links/xdp-pgs0" id)" "$held/xdp" 2>/dev/null
bpftool link pin id "$(link_field "$pin/links/cgroup-bind4" id)" "$held/bind4" 2>/dev/null
pg_check unload_detaches_held eval '[ -e "$held/xdp" ] && [ -e "$held/bind4" ] &&
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >/dev/null && ! has_xdp && ! has_tc &&
	[ "$(cg_hooks)" = 0 ]'
rm -rf "$held"

# Events: the JSON fields, rate limiting counted as suppressed, socket-hook attribution.
start_run --rate-window 60000
pg_check second_run_refused eval '! pg_in "$srv" "$PORTGUARD" run "$pol" --iface pgs0 \
	--no-cgroup --pin-dir "$pin" >/dev/null 2>"$PG_TMP/err2" &&
	grep -q "another portguard run is enforcing" "$PG_TMP/err2" && kill -0 "$PG_BG_PID"'
# Five datagrams from one source to one closed port: one event, four rate-limited. The rate
# limiter's table of recent keys is per CPU (bpf/events.bpf.h), and a veth runs the receiver's
# XDP on the sender's CPU: the senders share one CPU, as one flow's packets do under RSS.
for i in 1 2 3 4 5; do
	echo "probe $i" | timeout 5 taskset -c 0 nsenter --net=/run/netns/"$cli" socat -u - UDP:198.18.7.1:9999
done
pg_check event_fields pg_wait_for 5 grep -q '"event_type":"violation","action":"blocked","mode":"enforce","hook":"xdp","direction":"in","proto":"UDP","src_ip":"198.18.7.2","src_port":[0-9]*,"dest_ip":"198.18.7.1","dest_port":9999,"in_iface":"pgs0","rule":"default in","reason":"not-allowed"}' "$out"
# The suppressed records of each second add up to the four datagrams that were not reported.
suppressed() {
	awk -F'"rate_limited":' '/"event_type":"suppressed"/ { split($2, a, ","); n += a[1] }
		END { print n + 0 }' "$out"
}
pg_check suppressed_counted eval 'pg_wait_for 5 eval "[ \$(suppressed) -ge 4 ]" &&
	[ "$(suppressed)" = 4 ] && [ "$(grep -c "\"dest_port\":9999" "$out")" = 1 ] &&
	! grep "\"event_type\":\"suppressed\"" "$out" | grep -qv "\"ring_full\":0,.*\"budget\":0"'
# A process of the test cgroup binds the local-only port 5432 off loopback: refused, and
# the event names it, its pid and its cgroup (resolved from the cgroup id).
timeout 5 nsenter --net=/run/netns/"$srv" sh -c 'echo $$ >"$1/cgroup.procs"; echo $$ >"$2";
	exec socat TCP-LISTEN:5432,bind=0.0.0.0 -' _ "$cg" "$PG_TMP/bind.pid" 2>/dev/null
pg_check bind_attribution pg_wait_for 5 grep -q '"hook":"bind",.*"dest_port":5432,.*"reason":"local-only","pid":'"$(cat "$PG_TMP/bind.pid")"',"comm":"socat","uid":0,"cgroup":"/'"${cg##*/}"'"}' "$out"
pg_stop "$PG_BG_PID"

# monitor streams the events of a loaded state; killing it changes nothing.
load 2>/dev/null
mon=$PG_TMP/mon
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" monitor --json --pin-dir "$pin" \
	>"$mon.out" 2>"$mon.err"
pg_wait_for 5 grep -q monitoring "$mon.err"
echo probe | timeout 5 nsenter --net=/run/netns/"$cli" socat -u - UDP:198.18.7.1:9998
pg_check monitor_streams eval 'pg_wait_for 5 grep -q "\"dest_port\":9998,\"in_iface\":\"pgs0\"" "$mon.out" &&
	head -1 "$mon.out" | grep -q "\"event_type\":\"monitor\",\"policy\":\"$pol\",.*\"interfaces\":\[\"pgs0\"\],\"cgroup\":\"$cg\""'
kill -KILL "$PG_BG_PID"
wait "$PG_BG_PID" 2>/dev/null
pg_check monitor_kill_keeps eval 'all_pins && has_xdp && [ "$(cg_hooks)" = 7 ]'

# A run whose state is unloaded under it stops, leaving nothing behind.
start_run
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >/dev/null
if pg_wait_for 5 eval '! kill -0 "$PG_BG_PID" 2>/dev/null'; then
	wait "$PG_BG_PID"
	rc=$?
	pg_check run_exits_on_unload eval '[ $rc = 0 ] && grep -q "was unloaded" "$err" && ! has_xdp'
else
	pg_fail run_exits_on_unload
fi

# Text on stdout; the log file still gets the JSON records, created 0600.
: >"$out"
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgs0 --no-cgroup \
	--pin-dir "$pin" --log-file "$PG_TMP/events.json" >"$out" 2>"$err"
pg_wait_for 10 grep -q ' start policy ' "$out"
echo probe | timeout 5 nsenter --net=/run/netns/"$cli" socat -u - UDP:198.18.7.1:9997
pg_check text_stream_json_log eval 'pg_wait_for 5 grep -q "blocked xdp in UDP 198.18.7.2:[0-9]* -> 198.18.7.1:9997 iface pgs0 rule default in reason not-allowed\$" "$out" &&
	pg_wait_for 5 grep -q "\"dest_port\":9997,\"in_iface\":\"pgs0\"" "$PG_TMP/events.json" &&
	grep -q "^{\"timestamp\":\"[^\"]*\",\"event_type\":\"start\"" "$PG_TMP/events.json" &&
	[ "$(stat -c %a "$PG_TMP/events.json")" = 600 ]'
pg_stop "$PG_BG_PID"

# The listener of takeover_no_gap works when nothing is enforced.
pg_check takeover_no_gap eval '[ "$gap_bytes" = 0 ] && ! has_xdp &&
	echo reachable | timeout 5 nsenter --net=/run/netns/"$cli" socat -u - UDP:198.18.7.1:9000 &&
	pg_wait_for 5 grep -q reachable "$PG_TMP/recv9000"'
pg_stop "$receiver"

# unload from another network namespace: the XDP link goes (links are namespace-free), the tc
# filter it cannot see is named, not guessed at by ifindex.
pg_check unload_other_netns eval 'load 2>/dev/null && has_tc &&
	"$PORTGUARD" unload --pin-dir "$pin" 2>"$err" >/dev/null && ! has_xdp && has_tc &&
	grep -q "xdp-pgs0 is attached in another network namespace" "$err" && ! all_pins'
pg_in "$srv" tc filter del dev pgs0 egress pref 28775 2>/dev/null

# A pin directory where no bpffs is: refused, nothing mounted over it (e2e_failopen.sh has the
# other cases of --pin-dir).
plain=$PG_TMP/plain/pg
pg_defer "umount -l '$plain'"
pg_check pin_dir_needs_bpffs eval '! pg_in "$srv" "$PORTGUARD" load "$pol" --iface pgs0 --no-cgroup \
	--pin-dir "$plain" 2>"$err" && grep -q "is not on bpffs" "$err" &&
	[ "$(stat -f -c %T "$PG_TMP")" != bpf_fs ] && ! has_xdp'

pg_done
