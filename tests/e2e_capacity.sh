#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Capacity is part of `check` (issue 15): on every policy here, `portguard check` and
# `portguard load` agree. A policy that fits (a 100,000-prefix blocklist on every port, the
# same list again on other rules and ports) checks clean and loads; one that overflows a map's
# limit is an error of check at the rule that overflows, naming the limit, and load refuses it
# with the same error, leaving nothing in force. In a private bpffs, on a veth of our own
# namespace (XDP only, no cgroup).
. "$(dirname "$0")/lib.sh"

PG_CASES="blocklist_checks blocklist_loads blocklist_reloads rules_overflow_check
rules_overflow_names_line rules_overflow_load_refused rules_overflow_same_error
overflow_leaves_policy overflow_fresh_pins_nothing"
pg_setup awk

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
ns=$(pg_netns cap) || pg_skip_all "cannot create a namespace" $PG_CASES
pg_in "$ns" ip link add pgk0 type veth peer name pgk1 &&
	pg_in "$ns" ip link set pgk0 up && pg_in "$ns" ip link set pgk1 up ||
	pg_skip_all "cannot create a veth pair" $PG_CASES
pg_defer "'$PORTGUARD' unload --pin-dir '$pin' >/dev/null 2>&1"

# 100,000 distinct prefixes: IPv4 /24s under 10.0.0.0/8 and IPv6 /64s under 2001:db8::/32,
# denied on every port and again outbound on 25: one set, stored once.
bl=$PG_TMP/bl.policy
awk 'BEGIN {
	print "default in deny\nallow in tcp 22\nallow in tcp 443 from 198.18.0.0/15"
	printf "set blocklist = "
	for (i = 0; i < 100000; i++) {
		if (i) printf ", "
		if (i % 2) printf "10.%d.%d.0/24", int(i / 2 / 256) % 256, int(i / 2) % 256
		else printf "2001:db8:%x:%x::/64", int(i / 2 / 65536), int(i / 2) % 65536
	}
	print "\ndeny in tcp,udp 1-65535 from @blocklist\ndeny out tcp 25 to @blocklist"
}' >"$bl"

# 16,382 rules: one more than a generation's rule slots (PG_MAX_RULES - PG_RULE_FIRST).
big=$PG_TMP/rules.policy
awk 'BEGIN { print "default in deny"; for (i = 0; i < 16382; i++) printf "allow in tcp %d\n", 1 + i }' >"$big"
over_line=16382 # its first line is the default; rule 16382 (the one past the limit) is line 16383

check() { "$PORTGUARD" check "$1" >/dev/null 2>"$PG_TMP/check.err"; }
load() { pg_in "$ns" "$PORTGUARD" load "$1" --iface pgk0 --no-cgroup --pin-dir "$pin" >/dev/null 2>"$PG_TMP/load.err"; }

pg_check blocklist_checks check "$bl"
pg_check blocklist_loads load "$bl"
pg_check blocklist_reloads eval '"$PORTGUARD" reload "$bl" --pin-dir "$pin" >/dev/null 2>&1'

pg_check rules_overflow_check eval '! check "$big"'
pg_log "check: $(grep error "$PG_TMP/check.err" | head -1)"
pg_check rules_overflow_names_line grep -q "rules.policy:$((over_line + 1)):.*error: .*PG_MAX_RULES" "$PG_TMP/check.err"
pg_check rules_overflow_load_refused eval '! load "$big"'
pg_log "load: $(grep error "$PG_TMP/load.err" | head -1)"
pg_check rules_overflow_same_error eval 'grep error "$PG_TMP/check.err" | head -1 >"$PG_TMP/a" &&
	grep error "$PG_TMP/load.err" | head -1 >"$PG_TMP/b" && test -s "$PG_TMP/a" && cmp -s "$PG_TMP/a" "$PG_TMP/b"'
# The refused load changed nothing: the blocklist policy is still the one in force.
pg_check overflow_leaves_policy eval '"$PORTGUARD" status --pin-dir "$pin" 2>/dev/null | grep -q bl.policy'
# Where nothing is pinned yet, load compiles while it creates the maps ahead of need: a policy
# that does not fit is refused with the same error before anything is pinned or attached.
fresh=$(dirname "$pin")/fresh
pg_defer "'$PORTGUARD' unload --pin-dir '$fresh' >/dev/null 2>&1"
pg_check overflow_fresh_pins_nothing eval '! pg_in "$ns" "$PORTGUARD" load "$big" --iface pgk0 \
	--no-cgroup --pin-dir "$fresh" >/dev/null 2>"$PG_TMP/fresh.err" &&
	grep error "$PG_TMP/fresh.err" | head -1 | cmp -s - "$PG_TMP/a" &&
	! ls "$fresh"/pg_* >/dev/null 2>&1'
pg_log "fresh: $(ls "$fresh" 2>&1 | tr '\n' ' ')"

pg_done
