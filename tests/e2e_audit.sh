#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `portguard audit` against real listeners in a network namespace of our own: a PostgreSQL
# stand-in (socat) on 0.0.0.0:5432 under `local tcp 5432` is exposed (exit 1, owner named);
# bound to 127.0.0.1 it is fine (exit 0); allowed ports nothing listens on are listed.
. "$(dirname "$0")/lib.sh"

PG_CASES="audit_exposed_local_port audit_names_owner audit_json audit_loopback_ok audit_unused_ports audit_dual_stack_udp audit_bad_policy"
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

echo "allow in tcp 99999" >"$PG_TMP/bad.policy"
audit "$PG_TMP/bad.policy" >/dev/null 2>"$PG_TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.policy:1:" "$PG_TMP/err"
result $? audit_bad_policy

pg_done
