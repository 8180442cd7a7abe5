#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flows live as long as the connections this host opened, with the lifetimes given on the
# command line (--flow-timeouts, shortened here so the suite stays fast), between a server
# namespace (enforced, `load`) and a client namespace, with real sockets (socat):
#   - the defaults are conntrack's (status shows tcp=5d, tcp-fin=2m, tcp-rst=10s, udp=2m);
#   - idle, then the peer speaks first: within the timeout its data passes; past it the
#     peer's data is dropped, and the next packet this host sends on the connection records
#     the flow again, after which the peer's data (its retransmission) arrives;
#   - an evicted flow (the table, --max-flows 1024, filled past its size) recovers the same
#     way, and status counts the evictions and the re-recorded flow;
#   - an inbound connection never becomes a "reply": after a reload closes its port, the
#     server's own packets on it do not record a flow, and the client's data stays dropped;
#   - a FIN ends a flow: silent longer than tcp-fin after this host's FIN, the peer's late
#     data is dropped; with a longer tcp-fin the same exchange passes.
PG_CASES="default-timeouts within-timeout-passes past-timeout-dropped recovers-on-our-packet
	evicted-counted evicted-flow-gone evicted-recovers rerecorded-counted
	inbound-not-recorded inbound-stays-dropped fin-ends-flow fin-control-passes"
source "$(dirname "$0")/lib.sh"
pg_setup socat jq nsenter bpftool ss nmap

SRV4=198.18.0.1 CLI4=198.18.0.2
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pg-srv $SRV4/24 2001:db8::1/64 "$cli" pg-cli $CLI4/24 2001:db8::2/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES

pol=$PG_TMP/flows.policy
write_policy() { # extra rule lines
	printf '%s\n' "mode enforce" "default in deny" "default out allow" "allow in tcp 22" "$@" \
		>"$pol"
}
write_policy "allow in tcp 7100"
load() { pg_in "$srv" "$PORTGUARD" load "$pol" --iface pg-srv --pin-dir "$bpffs" --no-cgroup "$@"; }
status() { pg_in "$srv" "$PORTGUARD" status --pin-dir "$bpffs" "$@"; }

# The client's servers: each waits, then speaks first on the connection the server opened.
# 9001: after 2 s (within a 6 s timeout); 9002: after 8 s (past it); 9003: after 6 s (the
# eviction case); 9004: reads until the server's FIN, waits 3 s, then answers.
cli_server() { # PORT COMMAND
	pg_in_bg "$cli" socat -t 10 TCP-LISTEN:"$1",reuseaddr,fork SYSTEM:"$2"
}
cli_server 9001 'sleep 2; echo peer-9001; sleep 20'
cli_server 9002 'sleep 8; echo peer-9002; sleep 20'
cli_server 9003 'sleep 6; echo peer-9003; sleep 20'
cli_server 9004 'cat >/dev/null; sleep 3; echo late-9004'
# The server's own: 7100 sends a tick every second to whoever connects, for at most 300 s
# (tests/run.sh's bound on the suite): a child whose client vanished with its namespace sees no
# FIN, and an unbounded loop outlived every run.
# Its own process group, so that cleanup stops the children too.
pg_in_bg "$srv" setsid socat TCP-LISTEN:7100,reuseaddr,fork SYSTEM:'i=0; while [ $i -lt 300 ] && sleep 1; do echo tick; i=$((i + 1)); done'
pg_defer "kill -KILL -- -$PG_BG_PID"
pg_wait_for 10 pg_listening "$cli" tcp 9001 9002 9003 9004 && pg_wait_for 10 pg_listening "$srv" tcp 7100 ||
	pg_fail_all "servers did not start" $PG_CASES

# open_out PORT: the server connects to the client's PORT; what it sends is fed from a FIFO
# (kept open: no FIN), what it receives goes to $PG_TMP/out.PORT.
open_out() {
	mkfifo "$PG_TMP/in.$1"
	exec {fd}<>"$PG_TMP/in.$1"
	pg_in_bg "$srv" socat -T 60 "OPEN:$PG_TMP/in.$1,rdonly!!CREATE:$PG_TMP/out.$1" TCP:$CLI4:"$1"
	eval "FD_$1=$fd"
}
got() { grep -q "$2" "$PG_TMP/out.$1" 2>/dev/null; }
# The flow key of the server's connection to the client's PORT, as bpftool hex.
flow_key() {
	local lport
	lport=$(pg_in "$srv" ss -Htn state established dst $CLI4 dport = :"$1" |
		awk '{ n = split($3, a, ":"); print a[n]; exit }')
	[ -n "$lport" ] || return 1
	printf '00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 01 '
	printf '00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 02 '
	printf '%02x %02x %02x %02x 06 00 00 00\n' $((lport & 255)) $((lport >> 8)) \
		$(($1 & 255)) $(($1 >> 8))
}
has_flow() { bpftool map lookup pinned "$bpffs/pg_flows" key hex $(flow_key "$1") >/dev/null 2>&1; }

# --- defaults ---
load >/dev/null 2>&1 || pg_fail_all "load failed" $PG_CASES
pg_check default-timeouts grep -q "idle timeouts tcp=5d,tcp-fin=2m,tcp-rst=10s,udp=2m" \
	<(status)

# --- idle, then the peer speaks first ---
load --flow-timeouts tcp=6s,tcp-fin=2s >/dev/null 2>&1 || pg_fail_all "load failed" $PG_CASES
open_out 9001
open_out 9002
pg_check within-timeout-passes pg_wait_for 8 got 9001 peer-9001
sleep 8
if got 9002 peer-9002; then pg_fail past-timeout-dropped; else pg_ok past-timeout-dropped; fi
echo ours >&"$FD_9002" # this host speaks: the flow is refreshed (or recorded again)
pg_check recovers-on-our-packet pg_wait_for 20 got 9002 peer-9002

# --- an evicted flow ---
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
load --max-flows 1024 --flow-timeouts tcp=1h >/dev/null 2>&1 || pg_fail_all "load failed" $PG_CASES
open_out 9003
pg_wait_for 5 has_flow 9003 || pg_log "the flow to 9003 was not recorded"
# This host opens 3000 connections (a SYN scan of the client): tc egress records each, and
# the full table's LRU evicts.
pg_in "$srv" timeout 60 nmap -sS -Pn -n -T5 --max-retries 0 -p 10000-13000 $CLI4 >/dev/null 2>&1 ||
	pg_log "nmap failed"
evicted=$(status --json | jq -r .flows.evicted)
pg_log "after the scan: $(status | grep '^flows:')"
pg_check evicted-counted test "${evicted:-0}" -gt 0
# The LRU may keep a flow in use; the case is the flow that left: take it out as an eviction
# would, if the scan did not.
has_flow 9003 && bpftool map delete pinned "$bpffs/pg_flows" key hex $(flow_key 9003)
if has_flow 9003; then pg_fail evicted-flow-gone; else pg_ok evicted-flow-gone; fi
sleep 6
echo ours >&"$FD_9003"
pg_check evicted-recovers pg_wait_for 20 got 9003 peer-9003
pg_check rerecorded-counted jq -e '.flows.rerecorded >= 1' <<<"$(status --json)"

# --- an inbound connection never becomes a reply ---
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
load >/dev/null 2>&1
mkfifo "$PG_TMP/cin"
exec {cfd}<>"$PG_TMP/cin"
pg_in_bg "$cli" socat -T 60 "OPEN:$PG_TMP/cin,rdonly!!CREATE:$PG_TMP/cout" TCP:$SRV4:7100
pg_wait_for 5 grep -q tick "$PG_TMP/cout" || pg_log "no tick from 7100 before the reload"
write_policy # 7100 closed
pg_in "$srv" "$PORTGUARD" reload "$pol" --pin-dir "$bpffs" >/dev/null 2>&1
# (Seeding at the reload recorded the open connection, so that a reload cuts nothing open:
# take it out, as an eviction would, and see that the server's packets do not put it back.)
cport=$(pg_in "$srv" ss -Htn state established sport = :7100 | awk '{ n = split($4, a, ":"); print a[n]; exit }')
if [ -n "$cport" ]; then
	bpftool map delete pinned "$bpffs/pg_flows" key hex \
		00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 01 00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 02 \
		$(printf '%02x %02x %02x %02x' $((7100 & 255)) $((7100 >> 8)) $((cport & 255)) $((cport >> 8))) 06 00 00 00 \
		2>/dev/null
else
	pg_log "no accepted connection on 7100"
fi
rer0=$(status --json | jq -r .flows.rerecorded)
sleep 3 # the server keeps ticking: egress packets of an accepted connection
rer1=$(status --json | jq -r .flows.rerecorded)
srv_port_flow() { bpftool map dump pinned "$bpffs/pg_flows" 2>/dev/null | grep -qi '"lport": 7100'; }
if [ "$rer0" = "$rer1" ] && ! srv_port_flow; then pg_ok inbound-not-recorded; else
	pg_log "re-recorded $rer0 -> $rer1"; pg_fail inbound-not-recorded; fi
: >"$PG_TMP/cout"
sleep 2
# The server's ticks were sent, the client's ACKs of them dropped: no new tick gets through
# as data the client acknowledges... what it must not do is pass the client's data.
before=$(status --json | jq -r '.reasons["not-allowed"].packets')
echo client-data >&"$cfd"
sleep 2
after=$(status --json | jq -r '.reasons["not-allowed"].packets')
pg_check inbound-stays-dropped test "$after" -gt "$before"

# --- a FIN ends a flow ---
fin_case() { # NAME TCP-FIN EXPECT(got|none)
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
	load --flow-timeouts "tcp-fin=$2" >/dev/null 2>&1
	rm -f "$PG_TMP/fin.out"
	# The server sends one line and its FIN (stdin ends), then waits up to 10 s for more.
	echo hello | pg_in "$srv" timeout 12 socat -t 10 - TCP:$CLI4:9004 >"$PG_TMP/fin.out" 2>/dev/null
	if grep -q late-9004 "$PG_TMP/fin.out"; then r=got; else r=none; fi
	[ "$r" = "$3" ] && pg_ok "$1" || { pg_log "$1: $r"; pg_fail "$1"; }
}
fin_case fin-ends-flow 1s none
fin_case fin-control-passes 30s got
pg_done
