#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A process name and a policy path are anybody's bytes: a quote, a backslash, ESC (a terminal
# escape), a space and a byte that is not UTF-8. Through audit, audit --json, the event stream
# (text and JSON), status and status --json, explain and explain --json: every JSON line parses
# and is valid UTF-8, and no raw control byte (nor the raw 0xff) reaches text output.
. "$(dirname "$0")/lib.sh"

PG_CASES="audit_text_escaped audit_json_valid events_text_escaped events_json_valid status_text_escaped status_json_valid explain_text_escaped explain_json_valid"
pg_setup socat jq iconv nsenter

ns=$(pg_netns hn) || pg_skip_all "cannot create a network namespace" $PG_CASES
ip -n "$ns" addr add 198.18.9.1/24 dev lo
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup hn) || pg_skip_all "cannot create a cgroup" $PG_CASES

# The hostile bytes: comm holds the first 15 bytes of the program's file name.
bad=$(printf 'a"b\\c\033[31m \377')
bin=$PG_TMP/$bad
cp "$(command -v socat)" "$bin"
poldir=$PG_TMP/$bad.d
mkdir "$poldir"
policy=$poldir/p.policy
cat >"$policy" <<'EOF'
default in deny
allow in tcp 22
local tcp 5432
EOF

say() { printf '%s\n' "$1" | sed "s/^/# /" | LC_ALL=C tr -d '\000-\010\016-\037\177-\377'; }
# clean FILE: no raw control byte but newline, and nothing that is not ASCII.
clean() { ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f\x80-\xff]' "$1"; }
# json_ok FILE: at least one line; every line valid UTF-8 and a JSON value.
json_ok() {
	[ -s "$1" ] && iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 &&
		while IFS= read -r line; do
			printf '%s\n' "$line" | jq -e . >/dev/null 2>&1 || return 1
		done <"$1"
}

# audit: the hostile program listens off loopback on a local-only port.
pg_in_bg "$ns" "$bin" TCP4-LISTEN:5432,bind=0.0.0.0,reuseaddr,fork SYSTEM:true
lpid=$PG_BG_PID
pg_wait_for 5 sh -c "nsenter --net=/run/netns/$ns ss -Hltn | grep -q ':5432 '" ||
	pg_log "the listener did not come up"
pg_in "$ns" "$PORTGUARD" audit "$policy" >"$PG_TMP/audit.txt" 2>&1
say "$(cat "$PG_TMP/audit.txt")"
clean "$PG_TMP/audit.txt" && grep -q 'EXPOSED .*a"b\\x5cc\\x1b\[31m\\x20\\xff\[' "$PG_TMP/audit.txt"
pg_check audit_text_escaped [ $? = 0 ]
pg_in "$ns" "$PORTGUARD" audit --json "$policy" >"$PG_TMP/audit.json" 2>/dev/null
json_ok "$PG_TMP/audit.json" &&
	[ "$(jq -r 'select(.port == 5432) | .comm' "$PG_TMP/audit.json")" = "$(printf 'a"b\\c\033[31m \357\277\275')" ]
pg_check audit_json_valid [ $? = 0 ]
pg_stop "$lpid"

# The event stream: run with text on stdout and JSON in the log file; the hostile program,
# in the enforced cgroup, binds the local-only port off loopback and is refused.
pg_in_bg "$ns" "$PORTGUARD" run "$policy" --cgroup "$cg" --pin-dir "$bpffs/pg" \
	--log-file "$PG_TMP/events.json" >"$PG_TMP/events.txt" 2>"$PG_TMP/run.err"
run=$PG_BG_PID
pg_wait_for $PG_START_SECS grep -q '"event_type":"start"' "$PG_TMP/events.json" || pg_log "run did not start"
nsenter --net=/run/netns/"$ns" sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" -T1 \
	TCP4-LISTEN:5432,bind=0.0.0.0 SYSTEM:true' sh "$cg" "$bin" 2>/dev/null
pg_wait_for 5 grep -q '"hook":"bind"' "$PG_TMP/events.json" || pg_log "no bind event"
say "$(cat "$PG_TMP/events.txt")"
clean "$PG_TMP/events.txt" && grep -q ' comm a"b\\x5cc\\x1b\[31m\\x20\\xff uid ' "$PG_TMP/events.txt"
pg_check events_text_escaped [ $? = 0 ]
json_ok "$PG_TMP/events.json" &&
	[ "$(jq -r 'select(.hook == "bind") | .comm' "$PG_TMP/events.json" | head -1)" = "$(printf 'a"b\\c\033[31m \357\277\275')" ]
pg_check events_json_valid [ $? = 0 ]

# status: the policy path, from the pins.
"$PORTGUARD" status --pin-dir "$bpffs/pg" >"$PG_TMP/status.txt" 2>&1
say "$(cat "$PG_TMP/status.txt")"
clean "$PG_TMP/status.txt" && grep -q '^policy: .*\\x1b\[31m \\xff' "$PG_TMP/status.txt"
pg_check status_text_escaped [ $? = 0 ]
"$PORTGUARD" status --json --pin-dir "$bpffs/pg" >"$PG_TMP/status.json" 2>/dev/null
json_ok "$PG_TMP/status.json" && [ "$(jq -r .policy "$PG_TMP/status.json")" = "$(printf '%s/a"b\\c\033[31m \357\277\275.d/p.policy' "$PG_TMP")" ]
pg_check status_json_valid [ $? = 0 ]
pg_stop "$run"

# explain: the rule's FILE:LINE.
"$PORTGUARD" explain "$policy" in tcp 198.18.0.2 5432 >"$PG_TMP/explain.txt" 2>&1
clean "$PG_TMP/explain.txt" && grep -q '^rule: .*\\x1b\[31m' "$PG_TMP/explain.txt"
pg_check explain_text_escaped [ $? = 0 ]
"$PORTGUARD" explain --json "$policy" in tcp 198.18.0.2 5432 >"$PG_TMP/explain.json" 2>/dev/null
json_ok "$PG_TMP/explain.json" && jq -e '.rule | endswith("p.policy:3")' "$PG_TMP/explain.json" >/dev/null
pg_check explain_json_valid [ $? = 0 ]

pg_done
