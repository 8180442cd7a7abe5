#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `portguard run` with real TCP and UDP traffic across a veth pair between a server and a client
# namespace, IPv4 and IPv6, through the lifetime of the process:
#   run #1 (enforce, --json): a session opened before start-up survives it; allowed, blocked,
#     local and denied ports, and one rule in dry-run while the rest enforce; the fields of the start, violation, suppressed and reload
#     records; replies to flows
#     the server opened pass while unsolicited traffic to the same ports is blocked; SIGHUP to a
#     stricter policy, then to a broken one (errors printed, the stricter one stays in force);
#     SIGKILL, after which enforcement holds;
#   run #2 takes the pinned state over, reports, and on SIGTERM detaches and exits 0;
#   run #3 (--dry-run) lets everything through and reports each would-be block; SIGINT exits 0.
# Every peer is a real program (socat echo servers, ncat and socat clients). The kernel reports
# one event per (source, port, reason) within its rate-limit window, so each event asserted
# here is provoked on a port of its own.
PG_CASES="start-record established-survives-start new-session-same-port-blocked
	allowed-tcp-v4 allowed-tcp-v6 allowed-udp-v4 allowed-udp-v6 blocked-tcp-v4 blocked-tcp-v6
	blocked-udp-v4 blocked-udp-v6 reply-tcp-v4 reply-tcp-v6 reply-udp-v4 reply-udp-v6
	local-blocked denied-blocked rule-dry-run-passes rule-dry-run-rest-enforce
	event-tcp-v4-fields event-tcp-v6 event-udp event-local-only event-denied event-rule-dry-run
	event-rule-dry-run-rest suppressed-record unsolicited-tcp-v4 unsolicited-tcp-v6 unsolicited-udp-v4
	unsolicited-udp-v6 reload-before reload-stricter
	reload-broken-rejected reload-broken-old-in-force json-lines sigkill-enforcement-holds
	takeover-start takeover-events sigterm-exit-0 detached-after-exit dry-run-start
	dry-run-passes dry-run-events sigint-exit-0"
source "$(dirname "$0")/lib.sh"
pg_setup socat ncat jq ss nsenter mkfifo
"$PORTGUARD" run --help >/dev/null 2>&1 || pg_skip_all "$PORTGUARD has no run command" $PG_CASES

SRV4=198.18.0.1 CLI4=198.18.0.2
SRV6=2001:db8::1 CLI6=2001:db8::2

srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pg-srv $SRV4/24 $SRV6/64 "$cli" pg-cli $CLI4/24 $CLI6/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES

# The policy; its line numbers are asserted in the events' "rule" field.
pol=$PG_TMP/server.policy
write_policy() { # the ports of line 5
	cat >"$pol" <<-EOF
	# e2e_run: a small server policy; the rule lines below are asserted
	mode enforce
	default in deny
	default out allow
	allow in tcp $1
	allow in udp 7200
	local tcp 7300
	deny in udp 7400
	allow in tcp 22
	deny in tcp 7506 from $CLI4 dry-run
	allow in tcp 7506 from $CLI4
	EOF
}
write_policy 7100,7101

# Echo servers. Server: allowed 7100 7101 7200/udp; local 7300; denied 7400/udp; 7506 allowed
# from the client's IPv4 address and denied from it in dry-run (a dry-run rule reports only
# what the enforcing rules let through); nothing allows 7001 (the pre-existing session),
# 7500-7505, or 7506 from the client's IPv6 address. Client: 9999, for the server's own flows.
pg_listen "$srv" tcp 7001 7100 7101 7300 7500 7502 7504 7506
pg_listen "$srv" udp 7200 7400 7501 7503
pg_listen "$cli" tcp 9999
pg_listen "$cli" udp 9999
pg_wait_for 10 pg_listening "$srv" tcp 7001 7100 7101 7300 7500 7502 7504 7506 &&
	pg_wait_for 10 pg_listening "$srv" udp 7200 7400 7501 7503 &&
	pg_wait_for 10 pg_listening "$cli" tcp 9999 && pg_wait_for 10 pg_listening "$cli" udp 9999 ||
	pg_fail_all "echo servers did not start" $PG_CASES

# blocked_proven NS PROTO ADDR PORT: the echo server behind ADDR PORT is alive, and a blocked
# record for that port is in the current run's log (if one streams).
blocked_proven() {
	local proto=$2 addr=$3 port=$4 p
	pg_probe "$srv" "$proto" "$addr" "$port" ||
		{ pg_log "$proto $addr $port: the server does not answer even from its own namespace"; return 1; }
	[ -f "${log:-}" ] || return 0
	p=$(tr a-z A-Z <<<"$proto")
	pg_json_wait 5 "$log" ".event_type == \"violation\" and .action == \"blocked\" and
		.dest_port == $port and .proto == \"$p\"" >/dev/null ||
		{ pg_log "$proto $addr $port: no blocked record for it in $log"; return 1; }
}

# probes "ok|blocked NS PROTO ADDR PORT [SPORT]"...: run the probes at once (each is bounded; a
# blocked one waits out its timeout) and succeed if each came out as expected; log the others.
probes() {
	local spec i=0 want rest bad=0
	local -a pids=()
	for spec; do
		read -r want rest <<<"$spec"
		# shellcheck disable=SC2086 # rest is NS PROTO ADDR PORT [SPORT]
		{ pg_probe $rest && echo ok || echo blocked; } >"$PG_TMP/probe.$i" &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
	i=0
	for spec; do
		read -r want rest <<<"$spec"
		PROBED[$i]=$(cat "$PG_TMP/probe.$i")
		# "blocked" is no echo; that alone would also be a dead server. The server answers
		# the same address and port from its own namespace (through lo, where no XDP
		# runs), and, while a run streams events, XDP reported the drop.
		if [ "${PROBED[$i]}" = blocked ] && [ "$want" = blocked ]; then
			blocked_proven $rest || PROBED[$i]="blocked, unproven"
		fi
		if [ "${PROBED[$i]}" != "$want" ]; then
			pg_log "${rest#* }: expected $want, was ${PROBED[$i]}; events for its port:"
			[ -f "${log:-}" ] && pg_json_match "$log" ".dest_port == ${rest##* }" | sed 's/^/#   /'
			bad=1
		fi
		i=$((i + 1))
	done
	return $bad
}

# expect "NAME ok|blocked NS PROTO ADDR PORT [SPORT]"...: one case per probe, probed at once.
expect() {
	local spec i=0
	local -a specs=()
	for spec; do specs+=("${spec#* }"); done
	probes "${specs[@]}"
	for spec; do
		[ "${PROBED[$i]}" = "$(awk '{ print $2 }' <<<"$spec")" ] && pg_ok "${spec%% *}" ||
			pg_fail "${spec%% *}"
		i=$((i + 1))
	done
}

jq_true() { jq -e "$@" >/dev/null; }

# start_run NAME LOG ARG...: portguard run in the server namespace; RUN_PID is portguard's own
# PID. Succeeds once the start record is out, which portguard writes after every attach.
start_run() {
	local name=$1 log=$2
	shift 2
	pg_in_bg "$srv" "$PORTGUARD" run "$pol" --iface pg-srv --pin-dir "$bpffs" --no-cgroup \
		--json "$@" >"$log" 2>"$log.err"
	RUN_PID=$PG_BG_PID
	if ! START=$(pg_json_wait $PG_START_SECS "$log" '.event_type == "start"'); then
		pg_log "$name: no start record; stderr: $(tr '\n' ' ' <"$log.err")"
		return 1
	fi
}

# event_case NAME LOG FILTER: a violation record of LOG matches the jq FILTER.
event_case() {
	if pg_json_wait 3 "$2" ".event_type == \"violation\" and ($3)" >/dev/null; then
		pg_ok "$1"
	else
		pg_log "$1: no record with $3; records: $(pg_json_match "$2" \
			'.event_type == "violation"' | tail -n 3 | tr '\n' ' ')"
		pg_fail "$1"
	fi
}

# stop_case NAME SIGNAL: the run exits 0 on SIGNAL (bounded).
stop_case() {
	local rc
	kill -"$2" "$RUN_PID"
	timeout 10 tail --pid="$RUN_PID" -f /dev/null
	wait "$RUN_PID"
	rc=$?
	[ $rc = 0 ] && pg_ok "$1" || { pg_log "$1: exit $rc"; pg_fail "$1"; }
}

fail_rest() { # every case from $1 on fails with reason $2
	local c on=0
	for c in $PG_CASES; do
		[ "$c" = "$1" ] && on=1
		[ $on = 1 ] && pg_fail "$c ($2)"
	done
	pg_done
	exit
}

# --- before start-up: a TCP session to a port no rule allows ------------------------------
# The client reads what it sends from a FIFO this shell holds open, and writes what comes back
# to a file: data can be exchanged at any time while the session stays up.
mkfifo "$PG_TMP/session.in"
exec 7<>"$PG_TMP/session.in"
pg_in_bg "$cli" socat -T 60 "OPEN:$PG_TMP/session.in,rdonly!!CREATE:$PG_TMP/session.out" \
	TCP:$SRV4:7001
echo ping-before >&7
pg_wait_for 5 grep -qx ping-before "$PG_TMP/session.out" ||
	pg_log "the session did not carry data even before start-up"

# --- run #1: enforce ----------------------------------------------------------------------
log=$PG_TMP/run1.json
start_run start-record "$log" || fail_rest start-record "run did not start"
pg_check start-record jq_true --arg pol "$pol" '.mode == "enforce" and .policy == $pol and
	.interfaces == ["pg-srv"] and .takeover == false and (.timestamp | type) == "string"' \
	<<<"$START"

echo ping-after >&7
pg_check established-survives-start pg_wait_for 5 grep -qx ping-after "$PG_TMP/session.out"
# One batch: allowed and blocked ports; the server's own flows to the client, from ports no
# rule allows inbound, whose replies must pass; a local port and a denied one.
expect "new-session-same-port-blocked blocked $cli tcp $SRV4 7001" \
	"allowed-tcp-v4 ok $cli tcp $SRV4 7100" "allowed-tcp-v6 ok $cli tcp $SRV6 7100" \
	"allowed-udp-v4 ok $cli udp $SRV4 7200" "allowed-udp-v6 ok $cli udp $SRV6 7200" \
	"blocked-tcp-v4 blocked $cli tcp $SRV4 7500" "blocked-tcp-v6 blocked $cli tcp $SRV6 7500" \
	"blocked-udp-v4 blocked $cli udp $SRV4 7501" "blocked-udp-v6 blocked $cli udp $SRV6 7501" \
	"reply-tcp-v4 ok $srv tcp $CLI4 9999 7600" "reply-tcp-v6 ok $srv tcp $CLI6 9999 7601" \
	"reply-udp-v4 ok $srv udp $CLI4 9999 7602" "reply-udp-v6 ok $srv udp $CLI6 9999 7603" \
	"local-blocked blocked $cli tcp $SRV4 7300" "denied-blocked blocked $cli udp $SRV4 7400" \
	"rule-dry-run-passes ok $cli tcp $SRV4 7506" "rule-dry-run-rest-enforce blocked $cli tcp $SRV6 7506"

# RFC 3339, UTC, microseconds: 2026-11-29T21:30:00.123456Z
ts_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$'
event_case event-tcp-v4-fields "$log" "(.timestamp | test(\"$ts_re\")) and
	.action == \"blocked\" and .mode == \"enforce\" and .hook == \"xdp\" and
	.direction == \"in\" and .proto == \"TCP\" and .src_ip == \"$CLI4\" and
	(.src_port | type) == \"number\" and .src_port >= 1 and .src_port <= 65535 and
	.dest_ip == \"$SRV4\" and .dest_port == 7500 and .in_iface == \"pg-srv\" and
	.rule == \"default in\" and .reason == \"not-allowed\""
event_case event-tcp-v6 "$log" ".src_ip == \"$CLI6\" and .dest_ip == \"$SRV6\" and
	.dest_port == 7500 and .proto == \"TCP\" and .action == \"blocked\""
event_case event-udp "$log" ".src_ip == \"$CLI4\" and .dest_port == 7501 and
	.proto == \"UDP\" and .reason == \"not-allowed\" and .rule == \"default in\""

event_case event-local-only "$log" ".dest_port == 7300 and .reason == \"local-only\" and
	(.rule | endswith(\"server.policy:7\")) and .action == \"blocked\""
event_case event-denied "$log" ".dest_port == 7400 and .proto == \"UDP\" and
	.reason == \"denied\" and (.rule | endswith(\"server.policy:8\"))"
# A per-rule dry-run: where the enforcing rules let it through (the allow), the deny reports
# it; the same port from IPv6, which neither rule covers, is blocked by the enforcing default.
event_case event-rule-dry-run "$log" ".dest_port == 7506 and .src_ip == \"$CLI4\" and
	.action == \"allowed\" and .mode == \"dry-run\" and .reason == \"denied\" and
	(.rule | endswith(\"server.policy:10\"))"
event_case event-rule-dry-run-rest "$log" ".dest_port == 7506 and .src_ip == \"$CLI6\" and
	.action == \"blocked\" and .mode == \"enforce\" and .rule == \"default in\""

# A burst of 20 datagrams from one source to one blocked port: the kernel reports the first
# and counts the repeats within its rate-limit window, which a suppressed record then reports.
# Exact: every one of the 20 is either a violation record or counted as rate-limited (the
# kernel's counter, read before and after; nothing else is sent meanwhile).
rl() { pg_in "$srv" "$PORTGUARD" status --json --pin-dir "$bpffs" | jq -r .events.rate_limited; }
rl0=$(rl)
printf 'x\n%.0s' {1..20} | timeout 5 nsenter --net=/run/netns/"$cli" socat -b 2 -u - UDP:$SRV4:7505
burst_counted() {
	local v r
	v=$(pg_json_match "$log" '.event_type == "violation" and .dest_port == 7505' | wc -l)
	r=$(($(rl) - rl0))
	[ $((v + r)) -eq 20 ] && [ "$r" -ge 1 ]
}
if pg_wait_for 5 burst_counted && pg_json_wait 5 "$log" '.event_type == "suppressed" and
	(.count | type) == "number" and .count >= 1 and .rate_limited >= 1 and
	(.timestamp | type) == "string"' >/dev/null; then
	pg_ok suppressed-record
else
	pg_log "suppressed-record: $(pg_json_match "$log" '.event_type == "suppressed"' | tr '\n' ' ')"
	pg_fail suppressed-record
fi

# Unsolicited traffic to the ports of the server's own flows, now with a listener on each, is
# blocked.
pg_listen "$srv" tcp 7600 7601
pg_listen "$srv" udp 7602 7603
# Without the listeners, "blocked" would prove nothing.
if pg_wait_for 10 pg_listening "$srv" tcp 7600 7601 &&
	pg_wait_for 10 pg_listening "$srv" udp 7602 7603; then
	expect "unsolicited-tcp-v4 blocked $cli tcp $SRV4 7600" \
		"unsolicited-tcp-v6 blocked $cli tcp $SRV6 7601" \
		"unsolicited-udp-v4 blocked $cli udp $SRV4 7602" \
		"unsolicited-udp-v6 blocked $cli udp $SRV6 7603" \
		"reload-before ok $cli tcp $SRV4 7101"
else
	for c in unsolicited-tcp-v4 unsolicited-tcp-v6 unsolicited-udp-v4 unsolicited-udp-v6; do
		pg_fail "$c (the listeners on 7600-7603 did not start)"
	done
	expect "reload-before ok $cli tcp $SRV4 7101"
fi

# --- SIGHUP: a stricter policy, then a broken one ---------------------------------------------
write_policy 7100
kill -HUP "$RUN_PID"
if pg_json_wait 10 "$log" ".event_type == \"reload\" and .policy == \"$pol\" and
	.mode == \"enforce\"" >/dev/null &&
	probes "blocked $cli tcp $SRV4 7101" "ok $cli tcp $SRV4 7100"; then
	pg_ok reload-stricter
else
	pg_log "reload-stricter: stderr: $(tr '\n' ' ' <"$log.err")"
	pg_fail reload-stricter
fi
write_policy 70000
kill -HUP "$RUN_PID"
# portguard check's own words: FILE:LINE:COL: error: ...
pg_check reload-broken-rejected pg_wait_for 10 grep -q "server.policy:5:[0-9]*: error:" "$log.err"
if kill -0 "$RUN_PID" 2>/dev/null &&
	probes "ok $cli tcp $SRV4 7100" "blocked $cli tcp $SRV4 7101"; then
	pg_ok reload-broken-old-in-force
else
	pg_fail reload-broken-old-in-force
fi
pg_check json-lines pg_json_all "$log"

# --- SIGKILL: the pinned enforcement holds; a second run takes it over ----------------------
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
if probes "ok $cli tcp $SRV4 7100" "blocked $cli tcp $SRV4 7101" "blocked $cli tcp $SRV6 7500"; then
	pg_ok sigkill-enforcement-holds
else
	pg_fail sigkill-enforcement-holds
fi

write_policy 7100
log=$PG_TMP/run2.json
start_run takeover-start "$log" || fail_rest takeover-start "second run did not start"
pg_check takeover-start jq_true '.takeover == true and .mode == "enforce"' <<<"$START"
if pg_probe "$cli" tcp $SRV4 7504; then
	pg_fail "takeover-events (7504 answered)"
else
	event_case takeover-events "$log" ".dest_port == 7504 and .action == \"blocked\""
fi
stop_case sigterm-exit-0 TERM
# Without --keep, a clean exit detaches everything: what was blocked reaches its listener.
if probes "ok $cli tcp $SRV4 7500" "ok $cli udp $SRV6 7501" "ok $cli tcp $SRV4 7300"; then
	pg_ok detached-after-exit
else
	pg_fail detached-after-exit
fi

# --- run #3: dry-run ------------------------------------------------------------------------
log=$PG_TMP/run3.json
start_run dry-run-start "$log" --dry-run || fail_rest dry-run-start "dry-run did not start"
pg_check dry-run-start jq_true '.mode == "dry-run"' <<<"$START"
if probes "ok $cli tcp $SRV4 7502" "ok $cli udp $SRV6 7503"; then
	pg_ok dry-run-passes
else
	pg_fail dry-run-passes
fi
if pg_json_wait 3 "$log" ".event_type == \"violation\" and .dest_port == 7502 and
	.proto == \"TCP\" and .action == \"allowed\" and .mode == \"dry-run\" and
	.reason == \"not-allowed\"" >/dev/null &&
	pg_json_wait 3 "$log" ".event_type == \"violation\" and .dest_port == 7503 and
	.src_ip == \"$CLI6\" and .proto == \"UDP\" and .action == \"allowed\" and
	.mode == \"dry-run\"" >/dev/null; then
	pg_ok dry-run-events
else
	pg_log "dry-run-events: $(pg_json_match "$log" '.event_type == "violation"' | tr '\n' ' ')"
	pg_fail dry-run-events
fi
stop_case sigint-exit-0 INT

exec 7>&-
pg_done
