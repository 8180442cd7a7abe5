#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A pinned map is anybody's file (issue 11.6): pg_info replaced by an array whose value is
# 16 KiB, or 8 bytes. status (every format), monitor, reload and unload refuse it with a
# message naming the map, and none of them crashes; unload still removes what it attached.
. "$(dirname "$0")/lib.sh"

PG_CASES="load status_refuses_16k status_json_refuses_16k status_prometheus_refuses_16k reload_refuses_16k monitor_refuses_16k monitor_refuses_8 unload_despite_bad_info
load_reuses_half_pinned_state"
pg_setup bpftool nsenter

srv=$(pg_netns pms) && cli=$(pg_netns pmc) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgm0 198.18.8.1/24 2001:db8:8::1/64 "$cli" pgm1 198.18.8.2/24 2001:db8:8::2/64 ||
	pg_skip_all "cannot create a veth pair" $PG_CASES
pins=$(pg_bpffs)/portguard || pg_skip_all "cannot mount bpffs" $PG_CASES

policy=$PG_TMP/p.policy
printf 'default in deny\nallow in tcp 22\n' >"$policy"
pgs() { pg_in "$srv" "$PORTGUARD" "$@"; }

if ! pgs load "$policy" --iface pgm0 --no-cgroup --pin-dir "$pins" >"$PG_TMP/load" 2>&1; then
	sed 's/^/# /' "$PG_TMP/load"
	pg_fail load
	pg_skip_all "load failed" ${PG_CASES#load }
fi
pg_defer "pg_in '$srv' '$PORTGUARD' unload --pin-dir '$pins'"
pg_ok load

# plant VALUE_SIZE: replace the pinned pg_info with an array of that value size.
plant() {
	rm -f "$pins/pg_info"
	bpftool map create "$pins/pg_info" type array key 4 value "$1" entries 1 name pg_info
}
# refused NAME CMD...: exits 1 (not a signal: > 128), and says pg_info is not the map.
refused() {
	local name=$1 rc
	shift
	timeout 10 nsenter --net=/run/netns/"$srv" "$PORTGUARD" "${@:2}" >"$PG_TMP/out" 2>&1 </dev/null
	rc=$?
	sed 's/^/# /' "$PG_TMP/out" | head -3
	[ "$rc" = 1 ] && grep -q "pg_info is not the map this portguard defines" "$PG_TMP/out"
	pg_check "$name" [ $? = 0 ]
}

plant 16384 || pg_skip_all "bpftool cannot create a map" ${PG_CASES#load }
refused status_refuses_16k pg status --pin-dir "$pins"
refused status_json_refuses_16k pg status --json --pin-dir "$pins"
refused status_prometheus_refuses_16k pg status --prometheus --pin-dir "$pins"
refused reload_refuses_16k pg reload "$policy" --pin-dir "$pins"
refused monitor_refuses_16k pg monitor --pin-dir "$pins"
plant 8
refused monitor_refuses_8 pg monitor --json --pin-dir "$pins"

# unload: the links go, and the pins with them, whatever pg_info holds.
pgs unload --pin-dir "$pins" >"$PG_TMP/out" 2>&1
rc=$?
sed 's/^/# /' "$PG_TMP/out" | head -3
[ "$rc" -lt 128 ] && [ ! -e "$pins/pg_active" ] && ! pg_in "$srv" ip link show pgm0 2>/dev/null | grep -q xdp
pg_check unload_despite_bad_info [ $? = 0 ]

# A state that died half-way: pg_active gone, the other maps still pinned. load does not make
# its maps ahead and pin them over these (it would meet EEXIST): it takes the pinned way and
# reuses them, as it did before maps were made ahead.
map_id() { bpftool -j map show pinned "$pins/$1" 2>/dev/null | sed -n 's/.*"id":\([0-9]*\).*/\1/p'; }
if pgs load "$policy" --iface pgm0 --no-cgroup --pin-dir "$pins" >"$PG_TMP/out" 2>&1; then
	before=$(map_id pg_peers)
	rm -f "$pins/pg_active"
	pgs load "$policy" --iface pgm0 --no-cgroup --pin-dir "$pins" >"$PG_TMP/out" 2>&1 &&
		[ -n "$before" ] && [ "$(map_id pg_peers)" = "$before" ] && [ -e "$pins/pg_active" ] &&
		pgs status --pin-dir "$pins" 2>/dev/null | grep -q 'state: *enforcing'
	rc=$?
else
	rc=1
fi
sed 's/^/# /' "$PG_TMP/out" | head -3
pg_check load_reuses_half_pinned_state [ $rc = 0 ]

pg_done
