#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interfaces that come and go, with `portguard run` in a server namespace and a client
# namespace on the other end of each veth:
#   - an interface named with --iface that does not exist yet is awaited: said at start, in the
#     stream, by status (not enforcing) and by the metrics;
#   - created while run runs, it is attached within a second and enforced (a blocked port
#     filtered, an allowed one open), and the stream says it appeared;
#   - deleted, it is awaited again (stream, status); created again, enforced again;
#   - a reload whose policy's interface lines change attaches the new interface and detaches
#     the one it dropped;
#   - load (no daemon) refuses a missing interface, unless --await-missing leaves it awaited.
PG_CASES="awaited-said awaited-record awaited-status awaited-metric appears-attached
	appears-record appears-enforced appears-allowed gone-record gone-status recreated-attached
	recreated-enforced reload-attaches-new reload-detaches-old reload-enforced-new
	load-missing-refused load-await-missing"
source "$(dirname "$0")/lib.sh"
pg_setup socat ncat jq nsenter

srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pg-srv 198.18.0.1/24 2001:db8::1/64 "$cli" pg-cli 198.18.0.2/24 2001:db8::2/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES
pg_defer "ip -n '$srv' link del pg-late 2>/dev/null; ip -n '$srv' link del pg-a 2>/dev/null; ip -n '$srv' link del pg-b 2>/dev/null"

late() { # create pg-late (server) / pg-latec (client), 198.18.1.0/24
	pg_veth "$srv" pg-late 198.18.1.1/24 2001:db8:1::1/64 "$cli" pg-latec 198.18.1.2/24 2001:db8:1::2/64
}
pol=$PG_TMP/ifaces.policy
printf '%s\n' "mode enforce" "default in deny" "default out allow" "allow in tcp 7100" >"$pol"
pg_listen "$srv" tcp 7100 7101
pg_wait_for 10 pg_listening "$srv" tcp 7100 7101 || pg_fail_all "echo servers did not start" $PG_CASES

status_json() { pg_in "$srv" "$PORTGUARD" status --json --pin-dir "$bpffs"; }
iface_is() { # NAME attached|awaited
	status_json | jq -e --arg n "$1" --arg s "$2" \
		'.interfaces[] | select(.name == $n) | (.attached == ($s == "attached"))' >/dev/null
}
has_xdp() { pg_in "$srv" ip link show dev "$1" 2>/dev/null | grep -q "prog/xdp"; }

log=$PG_TMP/run.json
pg_in_bg "$srv" "$PORTGUARD" run "$pol" --iface pg-srv --iface pg-late --pin-dir "$bpffs" \
	--no-cgroup --json >"$log" 2>"$log.err"
run_pid=$PG_BG_PID
pg_json_wait $PG_START_SECS "$log" '.event_type == "start"' >/dev/null ||
	pg_fail_all "run did not start: $(tr '\n' ' ' <"$log.err")" $PG_CASES

pg_check awaited-said grep -q "pg-late: awaited" "$log.err"
pg_check awaited-record pg_json_wait 3 "$log" \
	'.event_type == "interface" and .interface == "pg-late" and .state == "awaited"'
pg_check awaited-status iface_is pg-late awaited
pg_check awaited-metric grep -q 'portguard_interface_attached{interface="pg-late",mode="awaited"} 0' \
	<(pg_in "$srv" "$PORTGUARD" status --prometheus --pin-dir "$bpffs")

# --- it appears ---
late || pg_fail_all "cannot create pg-late" $PG_CASES
t0=${EPOCHREALTIME/./}
pg_wait_for 5 has_xdp pg-late
t1=${EPOCHREALTIME/./}
pg_log "pg-late attached $(((t1 - t0) / 1000)) ms after it was created"
pg_check appears-attached test $((t1 - t0)) -lt 1000000
pg_check appears-record pg_json_wait 3 "$log" \
	'.event_type == "interface" and .interface == "pg-late" and .state == "appeared" and .ifindex > 0'
if pg_probe "$cli" tcp 198.18.1.1 7101; then pg_fail appears-enforced; else pg_ok appears-enforced; fi
pg_check appears-allowed pg_probe "$cli" tcp 198.18.1.1 7100

# --- it goes, and comes back ---
ip -n "$srv" link del pg-late
pg_check gone-record pg_json_wait 3 "$log" \
	'.event_type == "interface" and .interface == "pg-late" and .state == "gone"'
pg_check gone-status pg_wait_for 3 iface_is pg-late awaited
late
pg_check recreated-attached pg_wait_for 2 has_xdp pg-late
if pg_probe "$cli" tcp 198.18.1.1 7101; then pg_fail recreated-enforced; else pg_ok recreated-enforced; fi
kill -TERM $run_pid
timeout 10 tail --pid=$run_pid -f /dev/null

# --- a reload that changes the interface lines ---
pg_veth "$srv" pg-a 198.18.2.1/24 2001:db8:2::1/64 "$cli" pg-ac 198.18.2.2/24 2001:db8:2::2/64
pg_veth "$srv" pg-b 198.18.3.1/24 2001:db8:3::1/64 "$cli" pg-bc 198.18.3.2/24 2001:db8:3::2/64
printf '%s\n' "interface pg-a" "mode enforce" "default in deny" "default out allow" \
	"allow in tcp 7100" >"$pol"
log=$PG_TMP/run2.json
pg_in_bg "$srv" "$PORTGUARD" run "$pol" --pin-dir "$bpffs" --no-cgroup --json >"$log" 2>"$log.err"
run_pid=$PG_BG_PID
pg_json_wait $PG_START_SECS "$log" '.event_type == "start"' >/dev/null || pg_log "run #2 did not start"
has_xdp pg-a || pg_log "pg-a is not attached at start"
printf '%s\n' "interface pg-b" "mode enforce" "default in deny" "default out allow" \
	"allow in tcp 7100" >"$pol"
kill -HUP $run_pid
pg_json_wait 10 "$log" '.event_type == "reload"' >/dev/null || pg_log "no reload record"
pg_check reload-attaches-new has_xdp pg-b
if has_xdp pg-a; then pg_fail reload-detaches-old; else pg_ok reload-detaches-old; fi
if pg_probe "$cli" tcp 198.18.3.1 7101; then pg_fail reload-enforced-new; else
	pg_check reload-enforced-new pg_probe "$cli" tcp 198.18.3.1 7100; fi
sed 's/^/# run: /' "$log.err"
kill -TERM $run_pid
timeout 10 tail --pid=$run_pid -f /dev/null

# --- load has no daemon ---
printf '%s\n' "mode enforce" "default in deny" "default out allow" "allow in tcp 7100" >"$pol"
if pg_in "$srv" "$PORTGUARD" load "$pol" --iface pg-none --pin-dir "$bpffs" --no-cgroup \
	2>"$PG_TMP/load.err"; then
	pg_fail load-missing-refused
else
	pg_check load-missing-refused grep -q "interface pg-none not found" "$PG_TMP/load.err"
fi
if pg_in "$srv" "$PORTGUARD" load "$pol" --iface pg-srv --iface pg-none --await-missing \
	--pin-dir "$bpffs" --no-cgroup 2>"$PG_TMP/load2.err"; then
	pg_check load-await-missing iface_is pg-none awaited
else
	sed 's/^/# /' "$PG_TMP/load2.err"
	pg_fail load-await-missing
fi
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
pg_done
