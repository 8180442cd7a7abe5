#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `portguard audit` against real listeners in a network namespace of our own: a PostgreSQL
# stand-in (socat) on 0.0.0.0:5432 under `local tcp 5432` is exposed (exit 1, owner named);
# bound to 127.0.0.1 it is fine (exit 0); allowed ports nothing listens on are listed.
. "$(dirname "$0")/lib.sh"

PG_CASES="audit_exposed_local_port audit_names_owner audit_json audit_loopback_ok audit_unused_ports audit_dual_stack_udp audit_bad_policy audit_real_postgres audit_udp_client"
pg_setup socat nsenter

ns=$(pg_netns srv) || pg_skip_all "cannot create a network namespace" $PG_CASES
ip -n "$ns" addr add 198.18.5.1/24 dev lo

policy=$PG_TMP/server.policy
cat >"$policy" <<'EOF'
default in deny
allow in tcp 22
allow in tcp 443
allow in udp 49152-49155
local tcp 5432
EOF

# listen ADDRESS-SPEC: a socat listener inside the namespace; sets LPID. Waits until it is up.
# nsenter execs socat, so the PID we get is the listener's.
listen() {
	pg_bg nsenter --net=/run/netns/"$ns" socat "$1" SYSTEM:true
	LPID=$PG_BG_PID
}
wait_listening() { # port
	pg_wait_for 5 sh -c "nsenter --net=/run/netns/$ns ss -Hltuan | grep -q ':$1 '"
}
audit() { pg_in "$ns" "$PORTGUARD" audit "$@"; }
say() { printf "%s\n" "$1" | sed "s/^/# /"; }
has() { printf '%s\n' "$1" | grep -Eq "$2"; }
# result NAME: one TAP line from the status of the command just before.
result() { if [ "$1" = 0 ]; then pg_ok "$2"; else pg_fail "$2"; fi; }

listen TCP4-LISTEN:5432,bind=0.0.0.0,reuseaddr,fork
pid5432=$LPID
listen TCP6-LISTEN:22,bind=[::],reuseaddr,fork
wait_listening 5432 && wait_listening 22 || pg_log "listeners did not come up"

out=$(audit "$policy"); rc=$?
say "$out"
[ $rc -eq 1 ] && has "$out" '^EXPOSED +tcp 0\.0\.0\.0:5432 .*local-only'
result $? audit_exposed_local_port
# The owner: socat forks nothing until a client comes, so the listening socket is the one
# whose PID we started (nsenter execs socat: same PID).
has "$out" "^EXPOSED +tcp 0\.0\.0\.0:5432 +socat\[$pid5432\]"
result $? audit_names_owner
json=$(audit --json "$policy")
has "$json" "{\"finding\":\"exposed\",\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"port\":5432,\"policy\":\"local-only\",\"rule\":\"$policy:5\",\"pid\":$pid5432,\"comm\":\"socat\""
result $? audit_json

# Fixed: PostgreSQL on loopback only.
pg_stop "$pid5432"
listen TCP4-LISTEN:5432,bind=127.0.0.1,reuseaddr,fork
lo5432=$LPID
wait_listening 5432
out=$(audit "$policy"); rc=$?
say "$out"
[ $rc -eq 0 ] && has "$out" '^ok +tcp 127\.0\.0\.1:5432 .*loopback only'
result $? audit_loopback_ok
has "$out" '^unused +tcp 443 ' && has "$out" '^unused +udp 49152-49155 ' &&
	! has "$out" '^unused +tcp 22 '
result $? audit_unused_ports

# A dual-stack UDP listener on a port no rule allows, outside the ephemeral range: exposed.
listen UDP6-RECVFROM:5353,bind=[::],fork
wait_listening 5353
out=$(audit "$policy"); rc=$?
[ $rc -eq 1 ] && has "$out" '^EXPOSED +udp \[::\]:5353 .*not-allowed'
result $? audit_dual_stack_udp

# The issue's own example with the real thing: PostgreSQL from Debian's packages told
# listen_addresses='*' under `local tcp 5432`. Its postmaster owns both listening sockets.
pg_stop "$lo5432" # the loopback stand-in on 5432
pg_wait_for 5 sh -c "! nsenter --net=/run/netns/$ns ss -Hltn | grep -q ':5432 '"
real_postgres() {
	local initdb bindir pgdir pid out rc
	initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)
	[ -n "$initdb" ] && id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null ||
		{ pg_skip audit_real_postgres "PostgreSQL not installed (make deps: postgresql)"; return; }
	bindir=$(dirname "$initdb")
	chmod 755 "$PG_TMP"
	pgdir=$PG_TMP/pg
	mkdir -p "$pgdir/sock" && chown -R postgres: "$pgdir"
	if ! setpriv --reuid=postgres --regid=postgres --init-groups -- "$initdb" -D "$pgdir/data" \
		-A trust -U postgres --no-sync >"$PG_TMP/initdb.log" 2>&1; then
		sed 's/^/# /' "$PG_TMP/initdb.log"
		pg_fail audit_real_postgres
		return
	fi
	pg_bg nsenter --net=/run/netns/"$ns" setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$bindir/postgres" -D "$pgdir/data" -p 5432 -k "$pgdir/sock" -c logging_collector=off \
		-c fsync=off -c "listen_addresses=*" >"$PG_TMP/postgres.log" 2>&1
	pid=$PG_BG_PID
	wait_listening 5432
	out=$(audit "$policy"); rc=$?
	say "$out"
	[ $rc -eq 1 ] && has "$out" "^EXPOSED +tcp 0\.0\.0\.0:5432 +postgres\[$pid\] .*local-only" &&
		has "$out" "^EXPOSED +tcp \[::\]:5432 +postgres\[$pid\] .*local-only"
	result $? audit_real_postgres
	pg_stop "$pid"
}
real_postgres

# An unconnected UDP socket on an ephemeral port is a client's (its replies pass): listed as
# a client, not exposed.
eph=$(awk '{ print $1 + 7 }' /proc/sys/net/ipv4/ip_local_port_range)
listen UDP4-RECVFROM:$eph,bind=0.0.0.0,fork
wait_listening "$eph"
out=$(audit "$policy"); rc=$?
say "$out"
pg_stop "$LPID"
has "$out" "^client +udp 0\.0\.0\.0:$eph .*ephemeral" && ! has "$out" "^EXPOSED +udp 0\.0\.0\.0:$eph "
result $? audit_udp_client

echo "allow in tcp 99999" >"$PG_TMP/bad.policy"
audit "$PG_TMP/bad.policy" >/dev/null 2>"$PG_TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.policy:1:" "$PG_TMP/err"
result $? audit_bad_policy

pg_done
