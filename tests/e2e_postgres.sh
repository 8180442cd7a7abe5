#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A real server under the socket hooks: PostgreSQL from Debian's packages, started in a child
# cgroup that `portguard run --cgroup` enforces, with a policy that makes 5432 `local`.
#  - listen_addresses='*': postgres's binds of 0.0.0.0:5432 and [::]:5432 are refused, it
#    cannot create a TCP socket and exits, and a JSON event names comm "postgres", hook "bind".
#  - listen_addresses='localhost': it starts, and psql (in the same cgroup, under
#    `default out deny`) connects over loopback.
# Runs in the suite's private network namespace (tests/run.sh); the cluster lives in the
# test's temporary directory, with its own unix socket directory, run as the postgres user.
PG_CASES="wildcard_bind_refused bind_event_names_postgres localhost_starts psql_connects"
source "$(dirname "$0")/lib.sh"
pg_setup setpriv

initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)
[ -n "$initdb" ] || pg_skip_all "PostgreSQL not installed (make deps: postgresql)" $PG_CASES
bindir=$(dirname "$initdb")
id postgres >/dev/null 2>&1 || pg_skip_all "no postgres user (make deps: postgresql)" $PG_CASES
command -v psql >/dev/null || pg_skip_all "psql not installed (make deps: postgresql-client)" \
	$PG_CASES
"$PORTGUARD" help 2>/dev/null | grep -qE '^ +run ' ||
	pg_skip_all "this portguard has no run command yet" $PG_CASES
[ -n "$(pg_cgroup2_root)" ] || pg_skip_all "no cgroup v2 hierarchy in /proc/mounts" $PG_CASES

# The postgres user must reach its files under our private (0700) temporary directory.
chmod 755 "$PG_TMP"
pgdir=$PG_TMP/pg
mkdir -p "$pgdir/sock"
chown -R postgres: "$pgdir"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

if ! as_postgres "$bindir/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync \
	>"$PG_TMP/initdb.log" 2>&1; then
	sed 's/^/# /' "$PG_TMP/initdb.log"
	pg_fail_all "initdb failed" $PG_CASES
fi

# Not $(pg_bpffs): in a command substitution their cleanup would be registered in a subshell,
# and lost.
pg_bpffs >"$PG_TMP/bpffs.path" || pg_skip_all "cannot mount bpffs" $PG_CASES
pg_cgroup postgres >"$PG_TMP/cg.path" || pg_skip_all "cannot create a child cgroup" $PG_CASES
bpffs=$(cat "$PG_TMP/bpffs.path") cg=$(cat "$PG_TMP/cg.path")

cat >"$PG_TMP/e2e.policy" <<'EOF'
# e2e_postgres: the database is loopback-only, and nothing may dial out.
default in allow
default out deny
local tcp 5432   # PostgreSQL
EOF

events=$PG_TMP/events.json
pg_bg "$PORTGUARD" run "$PG_TMP/e2e.policy" --cgroup "$cg" --json --pin-dir "$bpffs/portguard" \
	>"$events" 2>"$PG_TMP/run.err"
run_pid=$PG_BG_PID
if ! pg_wait_for 20 grep -q '"event_type": *"start"' "$events"; then
	sed 's/^/# run: /' "$PG_TMP/run.err"
	pg_fail wildcard_bind_refused
	pg_fail "bind_event_names_postgres # portguard run did not start"
	pg_fail "localhost_starts # portguard run did not start"
	pg_fail "psql_connects # portguard run did not start"
	pg_done
	exit
fi

# The command line that starts a command in the test cgroup: the shell moves itself there and
# execs, so the PID stays the command's (setpriv execs too: it is the postmaster's).
CG_EXEC=(bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg")
POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --
	"$bindir/postgres" -D "$pgdir/data" -p 5432 -k "$pgdir/sock"
	-c logging_collector=off -c fsync=off)

# 1. listen_addresses='*': every TCP bind of 5432 is off loopback and refused; postgres gives
#    up ("could not create any TCP/IP sockets") and exits non-zero on its own. Bounded: the
#    timeout stops a postgres that unexpectedly starts.
timeout 20 "${CG_EXEC[@]}" "${POSTGRES[@]}" -c "listen_addresses=*" >"$PG_TMP/pg-star.log" 2>&1
rc=$?
sed 's/^/# postgres: /' "$PG_TMP/pg-star.log"
if [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
	grep -q 'could not bind.*Operation not permitted' "$PG_TMP/pg-star.log" &&
	grep -q 'could not create any TCP/IP sockets' "$PG_TMP/pg-star.log"; then
	pg_ok wildcard_bind_refused
else
	pg_fail "wildcard_bind_refused (postgres exited $rc)"
fi

# 2. The event names the process, the hook and the port.
bind_event() {
	grep -E '"hook": *"bind"' "$events" | grep -E '"comm": *"postgres"' |
		grep -E '"dest_port": *5432[,}]' | grep -E '"action": *"blocked"' |
		grep -qE '"reason": *"local-only"'
}
if pg_wait_for 5 bind_event; then
	pg_ok bind_event_names_postgres
else
	sed 's/^/# event: /' "$events"
	pg_fail bind_event_names_postgres
fi

# 3. listen_addresses='localhost': 127.0.0.1 and ::1 are loopback; it starts.
pg_bg "${CG_EXEC[@]}" "${POSTGRES[@]}" -c listen_addresses=localhost >"$PG_TMP/pg-local.log" 2>&1
# A clean shutdown before the cgroup goes, so that no shared memory is left behind.
pg_defer "as_postgres '$bindir/pg_ctl' -D '$pgdir/data' stop -m fast -t 10"
ready() { "$bindir/pg_isready" -q -h 127.0.0.1 -p 5432; }
if pg_wait_for 30 ready; then
	pg_ok localhost_starts
else
	sed 's/^/# postgres: /' "$PG_TMP/pg-local.log"
	pg_fail localhost_starts
fi

# 4. A local client in the same cgroup: `default out deny` does not cover loopback.
out=$("${CG_EXEC[@]}" psql -h 127.0.0.1 -p 5432 -U postgres -At -c 'select 40 + 2' 2>&1)
if [ "$out" = 42 ]; then
	pg_ok psql_connects
else
	pg_log "psql: $out"
	pg_fail psql_connects
fi

kill -0 "$run_pid" 2>/dev/null || pg_log "portguard run exited early: $(cat "$PG_TMP/run.err")"
pg_done
