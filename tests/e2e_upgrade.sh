#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A state pinned by another version of portguard, whose maps are of other layouts (a package
# upgrade across a change of them), is replaced whole by load, with no gap: new maps, the old
# links updated in place, the pins swapped. The other version is made by hand from this one:
# its pg_peers pin replaced by a map of another value size (what the layout change of issue
# 15 did to pg_peers), and a pin of a map this version does not define. Through the
# replacement a process in the enforced cgroup tries to bind a `local` port over and over and
# never succeeds, and a TCP session this host opened to a port no rule allows inbound keeps
# every reply (its flow is seeded into the new flow table from the open socket).
. "$(dirname "$0")/lib.sh"

PG_CASES="replaced new_policy_in_force programs_replaced pins_this_version status_enforcing
bind_refused_throughout session_replies_throughout broken_policy_keeps_other_version
reload_says_load_replaces served_by_a_run_refused half_way_put_back unload_removes_all"
pg_setup bpftool socat ncat flock

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup upgrade) || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgu0 198.18.13.1/24 2001:db8:13::1/64 "$cli" pgu1 198.18.13.2/24 \
	2001:db8:13::2/64 || pg_skip_all "cannot create a veth pair" $PG_CASES

old=$PG_TMP/old.policy new=$PG_TMP/new.policy bad=$PG_TMP/bad.policy
printf 'default in deny\nallow in tcp 22\nlocal tcp 5432\n' >"$old"
printf 'default in deny\nallow in tcp 22\nallow in tcp 8080\nlocal tcp 5432\n' >"$new"
printf 'default in deny\nallow in tcp 70000\n' >"$bad"
pgs() { pg_in "$srv" "$PORTGUARD" "$@"; }
load() { pgs load "$1" --iface pgu0 --cgroup "$cg" --pin-dir "$pin"; }
xdp_id() { pg_in "$srv" ip -d link show dev pgu0 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$'; }
tc_id() { pg_in "$srv" tc filter show dev pgu0 egress 2>/dev/null | grep -o 'pg_tc_egress.* id [0-9]*' | grep -o '[0-9]*$'; }
# The programs of the socket hooks' links (links are updated in place: their ids stay). Not
# `bpftool cgroup show`, which lists nothing on Debian 11's kernel.
hook_ids() {
	local l
	for l in "$pin"/links/cgroup-*; do
		[ -e "$l" ] && bpftool -j link show pinned "$l" 2>/dev/null | grep -o '"prog_id":[0-9]*' | cut -d: -f2
	done | sort | tr '\n' ' '
}
value_size() { bpftool -j map show pinned "$pin/$1" 2>/dev/null | grep -o '"bytes_value":[0-9]*' | cut -d: -f2; }
# other_version: make the pinned state look like another version's.
other_version() {
	rm -f "$pin/pg_peers" &&
		bpftool map create "$pin/pg_peers" type hash key 4 value 4 entries 16 name pg_peers &&
		bpftool map create "$pin/pg_gone" type array key 4 value 4 entries 1 name pg_gone
}

load "$old" >"$PG_TMP/out" 2>&1 || pg_fail_all "load failed: $(tr '\n' ' ' <"$PG_TMP/out")" $PG_CASES
pg_defer "pg_in '$srv' '$PORTGUARD' unload --pin-dir '$pin' >/dev/null 2>&1"
other_version || pg_skip_all "bpftool cannot create a map" $PG_CASES

# A policy that does not compile changes nothing: the other version's state stays as it is.
x0=$(xdp_id)
load "$bad" >"$PG_TMP/out" 2>&1
rc=$?
pg_check broken_policy_keeps_other_version eval '[ $rc = 1 ] && [ "$(xdp_id)" = "$x0" ] &&
	[ "$(value_size pg_peers)" = 4 ] && [ -e "$pin/pg_gone" ]'
# reload cannot replace a state: it says so, and what can.
pgs reload "$new" --pin-dir "$pin" >"$PG_TMP/out" 2>&1
rc=$?
pg_check reload_says_load_replaces eval '[ $rc = 1 ] &&
	grep -q "pg_peers is not the map this portguard defines.*portguard load" "$PG_TMP/out"'

# A run of the other version serving the state (its lock on the links directory, as run
# holds it) would go on reading the old maps: load leaves the replacing to its restart.
# exec: the process that holds the lock is the one pg_stop stops.
pg_bg bash -c 'exec 8<"$1" && flock -x 8 && exec sleep 30' _ "$pin/links"
holder=$PG_BG_PID
pg_wait_for 5 eval '! flock -s -n "$pin/links" true'
load "$new" >"$PG_TMP/out" 2>&1
rc=$?
pg_stop "$holder"
pg_check served_by_a_run_refused eval '[ $rc = 1 ] && [ "$(xdp_id)" = "$x0" ] &&
	grep -q "a portguard run of that version serves it: restart that run" "$PG_TMP/out" &&
	[ "$(value_size pg_peers)" = 4 ]'

# A replacement that stops half-way is put back. A second interface whose MTU one-buffer XDP
# cannot take (--xdp-mode native) fails after pgu0's XDP link and tc filter were updated and
# a tc filter of ours went onto pgu2: each goes back as it was, and the new one goes.
pg_veth "$srv" pgu2 198.18.14.1/24 2001:db8:14::1/64 "$cli" pgu3 198.18.14.2/24 \
	2001:db8:14::2/64 && pg_in "$srv" ip link set dev pgu2 mtu 9000 &&
	pg_in "$cli" ip link set dev pgu3 mtu 9000 || pg_log "cannot make the jumbo veth pair"
x0=$(xdp_id) t0=$(tc_id) h0=$(hook_ids)
pgs load "$new" --iface pgu0 --iface pgu2 --xdp-mode native --cgroup "$cg" --pin-dir "$pin" \
	>"$PG_TMP/out" 2>&1
rc=$?
sed 's/^/# /' "$PG_TMP/out"
pg_check half_way_put_back eval '[ $rc = 1 ] && [ -n "$x0" ] && [ "$(xdp_id)" = "$x0" ] &&
	[ "$(tc_id)" = "$t0" ] && [ "$(hook_ids)" = "$h0" ] && [ "$(value_size pg_peers)" = 4 ] &&
	[ ! -e "$pin/links/xdp-pgu2" ] &&
	! pg_in "$srv" tc filter show dev pgu2 egress 2>/dev/null | grep -q pg_tc_egress &&
	grep -q "every attach point runs the old version.s programs again" "$PG_TMP/out"'

stop=$PG_TMP/stop
# The client's echo server, dialled by the server from a port no rule allows inbound, and
# binds of a `local` port from the enforced cgroup, from now until $stop.
pg_through_start "$srv" "$cli" 198.18.13.2 40124 "$cg" "$stop"
session=$PG_SESSION_PID binder=$PG_BINDER_PID

x0=$(xdp_id) t0=$(tc_id) h0=$(hook_ids)
before=$(wc -l <"$PG_TMP/echoes")
load "$new" >"$PG_TMP/out" 2>&1
rc=$?
sed 's/^/# /' "$PG_TMP/out"
sleep 1
touch "$stop"
wait "$session" "$binder"
after=$(wc -l <"$PG_TMP/echoes")

pg_check replaced eval '[ $rc = 0 ] && grep -q "is another version.s (pg_peers: .*replacing it" "$PG_TMP/out" &&
	grep -q "replaced the policy in force" "$PG_TMP/out"'
pg_listen "$srv" tcp 8080
pg_wait_for 10 pg_listening "$srv" tcp 8080
pg_check new_policy_in_force pg_probe "$cli" tcp 198.18.13.1 8080
pg_log "xdp $x0 -> $(xdp_id), tc egress $t0 -> $(tc_id), socket hooks $h0-> $(hook_ids)"
pg_check programs_replaced eval '[ -n "$x0" ] && [ -n "$(xdp_id)" ] && [ "$(xdp_id)" != "$x0" ] &&
	[ -n "$t0" ] && [ "$(tc_id)" != "$t0" ] && [ -n "$h0" ] && [ "$(hook_ids)" != "$h0" ]'
pg_check pins_this_version eval '[ "$(value_size pg_peers)" != 4 ] && [ ! -e "$pin/pg_gone" ] &&
	! ls -a "$pin" | grep -q "^\.new-"'
pg_check status_enforcing eval 'pgs status --pin-dir "$pin" 2>/dev/null | grep -q "state: *enforcing"'
read -r n ok <"$PG_TMP/binds"
pg_log "binds: $n tried, $ok listened; echoes: $before before the replacement, $after in all"
pg_check bind_refused_throughout eval '[ "$n" -gt 0 ] && [ "$ok" = 0 ]'
# The loop sends one line per 10 ms for a second after the load: most come back.
pg_check session_replies_throughout eval '[ "$before" -gt 0 ] && [ "$after" -gt $((before + 50)) ]'

pgs unload --pin-dir "$pin" >"$PG_TMP/out" 2>&1
pg_check unload_removes_all eval '[ -z "$(xdp_id)" ] && [ -z "$(tc_id)" ] && [ ! -e "$pin" ] &&
	! bpftool cgroup show "$cg" 2>/dev/null | grep -q pg_'

pg_done
