#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reload --confirm and confirm (issue 14), with real TCP across a veth pair: a change to a
# policy that blocks the client's port
#   - under a daemon, not confirmed: the port is reachable again after the deadline; the
#     daemon's stream records the apply and the rollback; status shows the pending change
#     and its deadline; a second reload --confirm (and any reload) is refused with the reason;
#   - under a daemon, confirmed: it stays blocked; the stream records the confirmation;
#   - without a daemon, the caller's whole session killed with SIGKILL right after the
#     change is in force: the detached keeper still rolls it back.
PG_CASES="run-start allowed-before reload-confirm-applies status-pending second-confirm-refused
	reload-refused-while-pending rolled-back-after-deadline status-after-rollback
	events-apply-rollback confirmed-stays confirm-says events-confirmed confirm-nothing
	load keeper-blocked caller-killed-rolled-back keeper-gone"
source "$(dirname "$0")/lib.sh"
pg_setup jq nsenter socat ncat setsid

SRV4=198.18.11.1 CLI4=198.18.11.2
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pgcs0 $SRV4/24 2001:db8:11::1/64 "$cli" pgcc0 $CLI4/24 2001:db8:11::2/64 ||
	pg_skip_all "cannot create namespaces and veths" $PG_CASES
pins=$(pg_bpffs)/portguard || pg_skip_all "cannot mount bpffs" $PG_CASES
open=$PG_TMP/open.policy strict=$PG_TMP/strict.policy
printf 'default in deny\nallow in tcp 7800\n' >"$open"
printf 'default in deny\nallow in tcp 22\n' >"$strict"
pg_listen "$srv" tcp 7800
pg_wait_for 10 pg_listening "$srv" tcp 7800 || pg_skip_all "the echo server did not start" $PG_CASES
reachable() { pg_probe "$cli" tcp $SRV4 7800; }
blocked() { ! pg_probe "$cli" tcp $SRV4 7800; }
pg() { "$PORTGUARD" "$@" --pin-dir "$pins"; }

# --- under a daemon ----------------------------------------------------------------------------
out=$PG_TMP/run.json
pg_in_bg "$srv" "$PORTGUARD" run "$open" --iface pgcs0 --no-cgroup --pin-dir "$pins" --json \
	>"$out" 2>"$out.err"
RUN=$PG_BG_PID
pg_check run-start eval 'pg_json_wait 15 "$out" ".event_type == \"start\"" >/dev/null'
pg_check allowed-before reachable

pg reload "$strict" --confirm 8 2>"$PG_TMP/reload.err"
rc=$?
sed 's/^/# /' "$PG_TMP/reload.err"
[ $rc = 0 ] && grep -q "the daemon keeps the timer" "$PG_TMP/reload.err" && blocked
applied=$?
pg_check reload-confirm-applies test $applied = 0
st=$(pg status)
js=$(pg status --json)
grep '^pending:' <<<"$st" | sed 's/^/# /'
grep -Eq '^pending: .* rolled back at [0-9T:.-]+Z \(in [0-9]+ s\) to .*open.policy' <<<"$st" &&
	jq -e '.pending.keeper == "daemon" and (.pending.deadline | test("Z$")) and
		.pending.confirm_seconds == 8 and (.policy | endswith("strict.policy"))' \
		<<<"$js" >/dev/null
pg_check status-pending test $? = 0
pg reload "$strict" --confirm 8 2>"$PG_TMP/second.err"
rc=$?
sed 's/^/# /' "$PG_TMP/second.err"
[ $rc = 1 ] && grep -q "refused: the change to .*strict.policy .* awaits confirmation until" \
	"$PG_TMP/second.err"
pg_check second-confirm-refused test $? = 0
pg reload "$open" 2>"$PG_TMP/plain.err"
[ $? = 1 ] && grep -q "reload refused: the change" "$PG_TMP/plain.err"
pg_check reload-refused-while-pending test $? = 0
# Reachable again proves a rollback only after the change was seen in force.
pg_check rolled-back-after-deadline eval '[ $applied = 0 ] && pg_wait_for 15 reachable'
st=$(pg status --json)
jq -e '.pending == null and (.policy | endswith("open.policy"))' <<<"$st" >/dev/null
pg_check status-after-rollback test $? = 0
pg_json_wait 5 "$out" '.event_type == "change" and .state == "pending" and
	(.policy | endswith("strict.policy")) and (.previous_policy | endswith("open.policy"))' \
	>/dev/null && pg_json_wait 5 "$out" '.event_type == "change" and .state == "rolled-back"' \
	>/dev/null && grep -q "rolled back the change to .*strict.policy" "$out.err"
pg_check events-apply-rollback test $? = 0

pg reload "$strict" --confirm 3 2>/dev/null && pg confirm 2>"$PG_TMP/confirm.err"
rc=$?
sleep 4.5
[ $rc = 0 ] && blocked && [ "$(pg status --json | jq -r .pending)" = null ]
pg_check confirmed-stays test $? = 0
pg_check confirm-says grep -q "confirmed: .*strict.policy .* stays in force" "$PG_TMP/confirm.err"
pg_check events-confirmed eval 'pg_json_wait 5 "$out" ".event_type == \"change\" and .state == \"confirmed\"" >/dev/null'
pg confirm 2>"$PG_TMP/nothing.err"
[ $? = 1 ] && grep -q "nothing awaits confirmation" "$PG_TMP/nothing.err"
pg_check confirm-nothing test $? = 0
pg_stop "$RUN"

# --- without a daemon: the caller's session dies -------------------------------------------------
if ! pg_in "$srv" "$PORTGUARD" load "$open" --iface pgcs0 --no-cgroup --pin-dir "$pins" \
	>"$PG_TMP/load" 2>&1; then
	sed 's/^/# /' "$PG_TMP/load"
	pg_fail load
	pg_done
	exit
fi
pg_defer "'$PORTGUARD' unload --pin-dir '$pins'"
pg_ok load
# The caller in a session of its own, as an SSH login is: it and its whole process group are
# killed at once, as a dropped connection does to a session.
setsid bash -c 'echo $$ >"$1"; "$2" reload "$3" --confirm 8 --pin-dir "$4"; sleep 60' \
	caller "$PG_TMP/caller.pid" "$PORTGUARD" "$strict" "$pins" >/dev/null 2>&1 &
job=$!
pg_wait_for 10 test -s "$PG_TMP/caller.pid"
caller=$(cat "$PG_TMP/caller.pid")
# Killed right after the change is in force (killed before, there is nothing to roll back:
# the keeper finds the old generation still active and voids the change).
pg_wait_for 10 sh -c "'$PORTGUARD' status --json --pin-dir '$pins' |
	jq -e '.pending != null and (.policy | endswith(\"strict.policy\"))' >/dev/null"
keeper=$(pg status --json | jq -r '.pending.keeper_pid // 0')
[ "$keeper" -gt 0 ] && pg_defer "kill -9 $keeper"
kill -KILL -- -"$caller"
wait "$job" 2>/dev/null
pg_log "caller session $caller killed; keeper pid $keeper"
[ "$keeper" -gt 0 ] && kill -0 "$keeper" && blocked
kept=$?
pg_check keeper-blocked test $kept = 0
pg_check caller-killed-rolled-back eval '[ $kept = 0 ] && pg_wait_for 15 reachable'
pg_check keeper-gone pg_wait_for 5 sh -c "! kill -0 $keeper 2>/dev/null"
pg_done
