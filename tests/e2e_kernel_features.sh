#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What portguard says of the running kernel (issue 9, kernel/features.c; what it loads for
# what is enforced is test_load_parts), in a network namespace and a child cgroup of our own,
# pins in a private bpffs:
#   - `status --json`, `status --prometheus` and the start line agree on the kernel's features;
#   - `deny raw` where the kernel refuses the LSM hook fails in one line naming sock_lsm, the
#     kernel and the reason, and leaves nothing loaded; where it takes the hook it loads;
#   - `reload` to a `deny raw` policy is refused when the state in force has no LSM hook.
. "$(dirname "$0")/lib.sh"

PG_CASES="features_agree deny_raw_needs_lsm reload_deny_raw_needs_lsm"
pg_setup bpftool jq

ns=$(pg_netns feat) || pg_skip_all "cannot create a namespace" $PG_CASES
pg_veth "$ns" pgf0 198.18.9.1/24 2001:db8:9::1/64 "$(pg_netns featp)" pgf1 198.18.9.2/24 \
	2001:db8:9::2/64 || pg_skip_all "cannot create a veth pair" $PG_CASES
pins=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup feat) || pg_skip_all "cannot create a child cgroup" $PG_CASES
pgn() { pg_in "$ns" "$PORTGUARD" "$@"; }
release=$(uname -r)

plain=$PG_TMP/plain.policy raw=$PG_TMP/raw.policy
printf 'default in deny\nallow in tcp 22\n' >"$plain"
printf 'default in deny\nallow in tcp 22\ndeny raw\n' >"$raw"

# 1. load on an interface and the cgroup; the three reports of the features agree.
pins2=$pins/load
if pgn load "$plain" --iface pgf0 --cgroup "$cg" --pin-dir "$pins2" 2>"$PG_TMP/load.err"; then
	pg_defer "pg_in '$ns' '$PORTGUARD' unload --pin-dir '$pins2' >/dev/null 2>&1"
	json=$(pgn status --json --pin-dir "$pins2" | jq -c '.kernel')
	prom=$(pgn status --prometheus --pin-dir "$pins2" | grep '^portguard_feature{')
	pg_log "status --json kernel: $json"
	ok=1
	[ "$(jq -r .release <<<"$json")" = "$release" ] || ok=0
	[ "$(jq '.features | length' <<<"$json")" = 3 ] || ok=0
	missing=
	for f in $(jq -r '.features | keys[]' <<<"$json"); do
		v=$(jq -r ".features.$f" <<<"$json")
		want=$([ "$v" = true ] && echo 1 || echo 0)
		grep -qx "portguard_feature{feature=\"$f\"} $want" <<<"$prom" || ok=0
		[ "$v" = true ] || missing="$missing $f"
	done
	# The start line names exactly the missing features, or is absent.
	line=$(grep "^portguard: kernel $release lacks" "$PG_TMP/load.err")
	if [ -n "$missing" ]; then
		for f in $missing; do [[ $line == *" $f ("* ]] || ok=0; done
	else
		[ -z "$line" ] || ok=0
	fi
	[ $ok = 1 ] && pg_ok features_agree || { sed 's/^/# /' "$PG_TMP/load.err"; pg_fail features_agree; }
	lsm=$(jq -r .features.lsm_cgroup <<<"$json")
	# 2. reload to deny raw: refused without the LSM hook in force, taken with it.
	pgn reload "$raw" --pin-dir "$pins2" 2>"$PG_TMP/reload.err"
	rc=$?
	sed 's/^/# /' "$PG_TMP/reload.err"
	if [ "$lsm" = false ]; then
		[ $rc = 1 ] && grep -q 'reload rejected: deny raw needs sock_lsm' "$PG_TMP/reload.err" &&
			pgn status --json --pin-dir "$pins2" | jq -e '.rules | length > 0' >/dev/null
	else
		[ $rc = 0 ]
	fi && pg_ok reload_deny_raw_needs_lsm || pg_fail reload_deny_raw_needs_lsm
	pgn unload --pin-dir "$pins2" >/dev/null 2>&1
else
	sed 's/^/# /' "$PG_TMP/load.err"
	pg_fail features_agree
	pg_fail reload_deny_raw_needs_lsm
	lsm=unknown
fi

# 3. deny raw on the cgroup: one line and nothing loaded without the LSM hook.
pins3=$pins/raw
pgn load "$raw" --cgroup "$cg" --pin-dir "$pins3" 2>"$PG_TMP/raw.err"
rc=$?
sed 's/^/# /' "$PG_TMP/raw.err"
if [ "$lsm" = false ]; then
	[ $rc = 1 ] && [ "$(wc -l <"$PG_TMP/raw.err")" = 1 ] &&
		grep -Eq "^portguard: failed to load sock_lsm on kernel $release: .+ \(deny raw needs it" \
			"$PG_TMP/raw.err" && ! pgn status --pin-dir "$pins3" >/dev/null 2>&1
elif [ "$lsm" = true ]; then
	[ $rc = 0 ] && pgn unload --pin-dir "$pins3" >/dev/null
else
	false
fi && pg_ok deny_raw_needs_lsm || pg_fail deny_raw_needs_lsm
pg_done
