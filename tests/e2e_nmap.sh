#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nmap against a server running policy/novavms-cloud.policy, from a client namespace, over
# IPv4 and IPv6, TCP and UDP. Every port scanned has a real listener (a socat echo server), so
# the only thing that can make a port "filtered" is portguard's XDP program:
#   enforce: open exactly the inbound ports the policy allows, every other port filtered, and a
#            blocked event for each filtered port;
#   dry-run: every listener open, and each would-be block reported (action allowed, mode
#            dry-run).
# The allowed set is computed from `portguard check`'s normalized rules, and checked against
# the rows of the NovaVMS port table, so that neither a parser slip nor a datapath slip hides.
PG_CASES="check-allowed-set start-enforce enforce-v4-tcp enforce-v4-udp enforce-v6-tcp
	enforce-v6-udp enforce-events-v4 enforce-events-v6 stop-enforce start-dry-run
	dry-run-v4-tcp dry-run-v4-udp dry-run-v6-tcp dry-run-v6-udp dry-run-events-v4
	dry-run-events-v6 stop-dry-run"
source "$(dirname "$0")/lib.sh"
pg_setup nmap socat ncat jq ss nsenter
"$PORTGUARD" run --help >/dev/null 2>&1 || pg_skip_all "$PORTGUARD has no run command" $PG_CASES

POLICY=$(cd "$PG_TESTS/.." && pwd)/policy/novavms-cloud.policy
[ -f "$POLICY" ] || pg_skip_all "$POLICY not there yet" $PG_CASES

# Every TCP port of the port table, SSH, and ports the table gives to UDP only, plus 80.
TCP_PORTS="22 80 443 3478 5200 5432 5434 8090 8554 8555 9000 11984 49152"
# Every UDP port of the table; of the TURN range 49152-49252 both ends, the ports either side
# of it and a few inside (all 101 would double the run time, and the datapath has no per-range
# logic a sample could miss: every port is its own slot); ports the table gives to TCP only
# (443: no QUIC here); DNS.
UDP_PORTS="53 443 3478 5432 8554 8555 49151 49152 49153 49200 49251 49252 49253"

# What the port table says, whatever the policy's wording: these are reachable from anywhere...
TABLE_OPEN_TCP="443 8554"
TABLE_OPEN_UDP="3478 8555 49152 49200 49252"
# ...and these never from off the host (loopback-only, or development hosts only).
TABLE_CLOSED_TCP="5200 5432 5434 8090 9000 11984"
TABLE_CLOSED_UDP="49151 49253"

SRV4=198.18.0.1 CLI4=198.18.0.2 DRY4=198.18.0.3
SRV6=2001:db8::1 CLI6=2001:db8::2 DRY6=2001:db8::3

# --- the policy's inbound allows -----------------------------------------------------------
allowed_tcp=$(pg_allowed_in "$POLICY" tcp $TCP_PORTS | tr '\n' ' ')
allowed_udp=$(pg_allowed_in "$POLICY" udp $UDP_PORTS | tr '\n' ' ')
pg_log "allowed in, tcp: $allowed_tcp"
pg_log "allowed in, udp: $allowed_udp"

in_list() { [[ " $2 " == *" $1 "* ]]; }

table_agrees() {
	local p ok=0
	for p in $TABLE_OPEN_TCP; do in_list "$p" "$allowed_tcp" || { pg_log "tcp $p not allowed"; ok=1; }; done
	for p in $TABLE_OPEN_UDP; do in_list "$p" "$allowed_udp" || { pg_log "udp $p not allowed"; ok=1; }; done
	for p in $TABLE_CLOSED_TCP; do in_list "$p" "$allowed_tcp" && { pg_log "tcp $p allowed"; ok=1; }; done
	for p in $TABLE_CLOSED_UDP; do in_list "$p" "$allowed_udp" && { pg_log "udp $p allowed"; ok=1; }; done
	return $ok
}
pg_check check-allowed-set table_agrees

# --- the network: server and client namespaces, one veth, listeners on every port ----------
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pg-srv $SRV4/24 $SRV6/64 "$cli" pg-cli $CLI4/24 $CLI6/64 &&
	ip -n "$cli" addr add $DRY4/24 dev pg-cli && ip -n "$cli" addr add $DRY6/64 dev pg-cli nodad ||
	pg_skip_all "cannot create namespaces and veths" ${PG_CASES#check-allowed-set}
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" ${PG_CASES#check-allowed-set}

pg_log "listeners on tcp $TCP_PORTS; udp $UDP_PORTS"
pg_listen "$srv" tcp $TCP_PORTS
pg_listen "$srv" udp $UDP_PORTS
if ! pg_wait_for 10 pg_listening "$srv" tcp $TCP_PORTS ||
	! pg_wait_for 10 pg_listening "$srv" udp $UDP_PORTS; then
	pg_fail "listeners did not start"
	pg_done
	exit
fi

# scan TAG SRC4 SRC6: the four scans, from SRC4 and SRC6: IPv4 and IPv6 at once (each TCP
# then UDP; they share nothing). Results in $PG_TMP/TAG.{tcp,udp}.{4,6}: "PORT STATE" lines.
scan() {
	local tag=$1 src4=$2 src6=$3
	local -a pids=()
	{
		pg_nmap "$cli" tcp $SRV4 "${TCP_PORTS// /,}" -e pg-cli -S "$src4" >"$PG_TMP/$tag.tcp.4"
		pg_nmap "$cli" udp $SRV4 "${UDP_PORTS// /,}" -e pg-cli -S "$src4" >"$PG_TMP/$tag.udp.4"
	} &
	pids+=($!)
	{
		pg_nmap "$cli" tcp $SRV6 "${TCP_PORTS// /,}" -e pg-cli -S "$src6" >"$PG_TMP/$tag.tcp.6"
		pg_nmap "$cli" udp $SRV6 "${UDP_PORTS// /,}" -e pg-cli -S "$src6" >"$PG_TMP/$tag.udp.6"
	} &
	pids+=($!)
	wait "${pids[@]}"
}

# scan_case NAME RESULTS tcp|udp WANT_OPEN: the open ports are exactly WANT_OPEN, every other
# one filtered (for UDP, "open|filtered": nmap cannot tell a dropped datagram from an
# unanswered one). Prints the filtered ports to FD 3.
scan_case() {
	local name=$1 res=$2 proto=$3 want=$4 ports p state bad=0 filtered=""
	[ "$proto" = tcp ] && ports=$TCP_PORTS || ports=$UDP_PORTS
	for p in $ports; do
		state=$(awk -v p="$p" '$1 == p { print $2 }' "$res")
		if in_list "$p" "$want"; then
			[ "$state" = open ] && continue
		else
			filtered+="$p "
			[ "$state" = filtered ] || [ "$proto/$state" = "udp/open|filtered" ] && continue
		fi
		pg_log "$name: $proto $p is '${state:-not scanned}'"
		bad=1
	done
	[ $bad = 0 ] && pg_ok "$name" || pg_fail "$name"
	echo "$filtered" >&3
}

# events_case NAME LOG SRC ACTION MODE PORTS: each port has a violation event from SRC with
# this action and mode. Matched by port alone: the kernel reports one event per (source, port,
# reason) within its rate-limit window, so TCP and UDP to one port may share one.
events_case() {
	local name=$1 log=$2 src=$3 action=$4 mode=$5 want i missing
	want="[$(echo $6 | tr ' ' ',')]"
	for ((i = 0; i < 30; i++)); do
		missing=$(jq -R -n -r --argjson want "$want" '[inputs | fromjson? | select(
			.event_type == "violation" and .src_ip == "'"$src"'" and
			.action == "'"$action"'" and .mode == "'"$mode"'" and .hook == "xdp" and
			.in_iface == "pg-srv") | .dest_port] as $have | $want - $have | unique |
			map(tostring) | join(" ")' "$log")
		[ -z "$missing" ] && break
		sleep 0.1
	done
	[ -z "$missing" ] && pg_ok "$name" || { pg_log "$name: no event for $missing"; pg_fail "$name"; }
}

# start_run NAME LOG [ARG...]: portguard run in the server namespace, up when its start
# record names the veth.
start_run() {
	local name=$1 log=$2
	shift 2
	pg_in_bg "$srv" "$PORTGUARD" run "$POLICY" --iface pg-srv --pin-dir "$bpffs" --no-cgroup \
		--json "$@" >"$log" 2>"$log.err"
	RUN_PID=$PG_BG_PID
	if pg_json_wait $PG_START_SECS "$log" '.event_type == "start"' | grep -q pg-srv; then
		pg_ok "$name"
	else
		pg_log "$name: $(tail -n 5 "$log.err" | tr '\n' ' ')"
		pg_fail "$name"
		# A run still loading would hold the pin directory and fail the next start too.
		kill -TERM "$RUN_PID" 2>/dev/null
		timeout 10 tail --pid="$RUN_PID" -f /dev/null
		return 1
	fi
}

stop_run() {
	local name=$1 rc
	kill -TERM "$RUN_PID"
	timeout 10 tail --pid="$RUN_PID" -f /dev/null
	wait "$RUN_PID"
	rc=$?
	[ $rc = 0 ] && pg_ok "$name" || { pg_log "$name: exit $rc"; pg_fail "$name"; }
}

# --- enforce ------------------------------------------------------------------------------
log=$PG_TMP/enforce.json
exec 3>"$PG_TMP/filtered"
if start_run start-enforce "$log"; then
	scan enforce $CLI4 $CLI6
	scan_case enforce-v4-tcp "$PG_TMP/enforce.tcp.4" tcp "$allowed_tcp"
	scan_case enforce-v4-udp "$PG_TMP/enforce.udp.4" udp "$allowed_udp"
	scan_case enforce-v6-tcp "$PG_TMP/enforce.tcp.6" tcp "$allowed_tcp"
	scan_case enforce-v6-udp "$PG_TMP/enforce.udp.6" udp "$allowed_udp"
	filtered4=$(sed -n '1,2p' "$PG_TMP/filtered" | tr '\n' ' ')
	filtered6=$(sed -n '3,4p' "$PG_TMP/filtered" | tr '\n' ' ')
	events_case enforce-events-v4 "$log" $CLI4 blocked enforce "$filtered4"
	events_case enforce-events-v6 "$log" $CLI6 blocked enforce "$filtered6"
	stop_run stop-enforce
else
	for c in enforce-v4-tcp enforce-v4-udp enforce-v6-tcp enforce-v6-udp enforce-events-v4 \
		enforce-events-v6 stop-enforce; do pg_fail "$c (run did not start)"; done
	filtered4="" filtered6=""
fi
exec 3>&-

# --- dry-run: the same scans reach every listener; each would-be block is an event ----------
# From other client addresses, so that no rate-limit state of the enforce run can hide one.
log=$PG_TMP/dry-run.json
if start_run start-dry-run "$log" --dry-run; then
	scan dry-run $DRY4 $DRY6
	scan_case dry-run-v4-tcp "$PG_TMP/dry-run.tcp.4" tcp "$TCP_PORTS" 3>/dev/null
	scan_case dry-run-v4-udp "$PG_TMP/dry-run.udp.4" udp "$UDP_PORTS" 3>/dev/null
	scan_case dry-run-v6-tcp "$PG_TMP/dry-run.tcp.6" tcp "$TCP_PORTS" 3>/dev/null
	scan_case dry-run-v6-udp "$PG_TMP/dry-run.udp.6" udp "$UDP_PORTS" 3>/dev/null
	if [ -n "$filtered4" ]; then
		events_case dry-run-events-v4 "$log" $DRY4 allowed dry-run "$filtered4"
		events_case dry-run-events-v6 "$log" $DRY6 allowed dry-run "$filtered6"
	else
		pg_fail "dry-run-events-v4 (no enforce scan to compare with)"
		pg_fail "dry-run-events-v6 (no enforce scan to compare with)"
	fi
	stop_run stop-dry-run
else
	for c in dry-run-v4-tcp dry-run-v4-udp dry-run-v6-tcp dry-run-v6-udp dry-run-events-v4 \
		dry-run-events-v6 stop-dry-run; do pg_fail "$c (run did not start)"; done
fi

pg_done
