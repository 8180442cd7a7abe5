#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Never fail open, never misreport (issue 11): what `status` and portguard_enforcing say is
# checked against what the kernel shows attached (ip link's XDP program id, bpftool's links),
# after an interface is deleted and re-created, after load is interrupted by SIGTERM and
# SIGKILL at many points, for pin directories that are not bpffs and for two fresh loads at
# once; events name their rule exactly across reloads; non-root users are told why; a bind
# event has no peer; a SIGHUP while the lock is held waits for it. In namespaces, a private
# bpffs and a child cgroup of our own.
. "$(dirname "$0")/lib.sh"

PG_CASES="iface_recreated_not_enforcing iface_recreated_metric cgroup_removed_not_enforcing sigterm_load_old_or_nothing
sigterm_takeover_keeps_state sigkill_load_truthful pin_dir_plain_refused pin_dir_root_refused
pin_dir_created_under_bpffs pin_dir_concurrent_fresh event_rule_after_two_reloads
event_rule_replaced_not_misnamed nonroot_unload_says_why nonroot_reload_says_why
nonroot_monitor_says_why bind_event_has_no_peer sighup_waits_for_lock"
pg_setup bpftool socat flock setpriv

bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES
pin=$bpffs/pg
cg=$(pg_cgroup failopen) || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
srv=$(pg_netns fosrv) && cli=$(pg_netns focli) || pg_skip_all "cannot create namespaces" $PG_CASES
mkveth() {
	pg_veth "$srv" pgs0 198.18.11.1/24 2001:db8:11::1/64 "$cli" pgc0 198.18.11.2/24 2001:db8:11::2/64
}
mkveth || pg_skip_all "cannot create a veth pair" $PG_CASES

pol=$PG_TMP/p1.policy
printf 'default in deny\nallow in tcp 22\nlocal tcp 5432\nlocal tcp 5433\n' >"$pol"
out=$PG_TMP/out err=$PG_TMP/err
pgs() { pg_in "$srv" "$PORTGUARD" "$@"; }
load() { pgs load "$pol" --iface pgs0 --no-cgroup --pin-dir "${1:-$pin}"; }
# The XDP program the kernel runs on pgs0 (ip link).
xdp_id() { pg_in "$srv" ip -d link show dev pgs0 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$'; }
metric() { pgs status --prometheus --pin-dir "$pin" 2>/dev/null | awk -v k="$1" 'index($0, k) == 1 { print $2 }'; }
status_rc() { pgs status --pin-dir "$pin" >/dev/null 2>&1; echo $?; }

agree() { pg_status_agrees "$srv" pgs0 "$pin"; }
# Nothing of ours left: no pins, nothing attached, status says nothing is loaded.
nothing() { [ -z "$(xdp_id)" ] && [ -z "$(ls "$pin" 2>/dev/null | grep '^pg_')" ] && [ "$(status_rc)" = 1 ]; }
secs() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }
unload() { pgs unload --pin-dir "${1:-$pin}" >/dev/null 2>&1; }

# --- 11.2: an interface deleted and re-created: not enforcing there, and said so ---
load 2>/dev/null
before=$(status_rc)
pg_in "$srv" ip link del pgs0
mkveth
txt=$(pgs status --pin-dir "$pin" 2>&1); rc=$?
pg_check iface_recreated_not_enforcing eval '[ "$before" = 0 ] && [ "$rc" = 3 ] &&
	grep -q "state:      loaded but NOT enforcing" <<<"$txt" &&
	grep -q "iface pgs0: NOT enforcing: the interface was deleted" <<<"$txt" && [ -z "$(xdp_id)" ]'
pg_check iface_recreated_metric eval '[ "$(metric "portguard_enforcing{iface=\"pgs0\"}")" = 0 ] && agree'
unload

# The cgroup is checked the same way: its hooks' links live there and listed by the kernel;
# the cgroup removed, they are defunct.
cg2=$(pg_cgroup failopen2)
pgs load "$pol" --iface pgs0 --cgroup "$cg2" --pin-dir "$pin" 2>/dev/null
before=$(status_rc) mbefore=$(metric "portguard_enforcing{cgroup=\"$cg2\"}")
rmdir "$cg2"
pg_check cgroup_removed_not_enforcing eval '[ "$before" = 0 ] && [ "$mbefore" = 1 ] &&
	pg_wait_for 5 eval "[ \$(status_rc) = 3 ]" &&
	pgs status --pin-dir "$pin" 2>/dev/null | grep -q "cgroup $cg2: NOT enforcing: the cgroup was removed" &&
	[ "$(metric "portguard_enforcing{cgroup=\"$cg2\"}")" = 0 ] &&
	[ "$(metric "portguard_enforcing{iface=\"pgs0\"}")" = 1 ]'
unload

# --- 11.3: a signal during load leaves the old state or nothing, never a state that looks
# enforcing with nothing attached. The delays spread over the whole load (about 2 s here). ---
ok=1
for ms in 30 200 400 600 800 1000 1300 1700; do
	pg_interrupt TERM "$(secs "$ms")" nsenter --net=/run/netns/"$srv" "$PORTGUARD" load "$pol" --iface pgs0 \
		--no-cgroup --pin-dir "$pin" 2>/dev/null
	rc=$(status_rc)
	if ! agree || { [ "$rc" != 0 ] && ! nothing; }; then
		pg_log "SIGTERM after $ms ms: status $rc; pins: $(ls "$pin" 2>/dev/null | tr '\n' ' ')"
		ok=0
	fi
	unload
done
pg_check sigterm_load_old_or_nothing [ $ok = 1 ]

# A load taking over a state in force: whatever the moment, the state stays enforcing.
load 2>/dev/null
ok=1
for ms in 100 700 1400; do
	pg_interrupt TERM "$(secs "$ms")" nsenter --net=/run/netns/"$srv" "$PORTGUARD" load "$pol" --iface pgs0 \
		--no-cgroup --pin-dir "$pin" 2>/dev/null
	{ agree && [ "$(status_rc)" = 0 ]; } || { pg_log "takeover SIGTERM after $ms ms"; ok=0; }
done
pg_check sigterm_takeover_keeps_state [ $ok = 1 ]
unload

# SIGKILL cannot be held back: whatever it leaves, status tells the truth (exit 3 when the
# pins are there and the kernel does not run them), and the next load or unload repairs it.
ok=1
for ms in 100 300 500 700 900 1100 1400 1700; do
	pg_interrupt KILL "$(secs "$ms")" nsenter --net=/run/netns/"$srv" "$PORTGUARD" load "$pol" --iface pgs0 \
		--no-cgroup --pin-dir "$pin" 2>/dev/null
	agree || { pg_log "SIGKILL after $ms ms: status $(status_rc)"; ok=0; }
	unload
	nothing || { pg_log "unload after SIGKILL at $ms ms left something"; ok=0; }
done
pg_check sigkill_load_truthful [ $ok = 1 ]

# --- 11.4: --pin-dir must be on bpffs; bpffs is never mounted over anything else ---
plain=$PG_TMP/plain
mkdir -p "$plain" && echo mine >"$plain/file"
pg_defer "umount -l '$plain'"
pg_check pin_dir_plain_refused eval '! load "$plain" 2>"$err" && grep -q "not on bpffs" "$err" &&
	[ "$(cat "$plain/file")" = mine ] && [ "$(stat -f -c %T "$plain")" != bpf_fs ] && [ -z "$(xdp_id)" ]'
root_is_bpf() { awk '$5 == "/" && $0 ~ / - bpf / { f = 1 } END { exit !f }' /proc/self/mountinfo; }
if [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]; then
	pg_defer "root_is_bpf && umount -l /"
	pg_check pin_dir_root_refused eval '! load / 2>"$err" && grep -q "not on bpffs" "$err" && ! root_is_bpf'
else
	pg_skip pin_dir_root_refused "not in a mount namespace of our own (tests/run.sh makes one)"
fi
pg_check pin_dir_created_under_bpffs eval 'load "$bpffs/a/b" 2>/dev/null && [ -e "$bpffs/a/b/links/xdp-pgs0" ] &&
	unload "$bpffs/a/b" && [ -z "$(xdp_id)" ]'

# Two loads at once on a fresh pin directory under an unmounted /sys/fs/bpf: one bpffs mount,
# one load, one takeover. Only in a mount namespace of our own, where /sys/fs/bpf is ours.
bpf_root_mounts() { awk '$5 == "/sys/fs/bpf" && $0 ~ / - bpf / { n++ } END { print n + 0 }' /proc/self/mountinfo; }
if [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] && [ -d /sys/fs/bpf ]; then
	while [ "$(bpf_root_mounts)" -gt 0 ]; do umount -l /sys/fs/bpf || break; done
	pg_defer 'while [ "$(bpf_root_mounts)" -gt 0 ]; do umount -l /sys/fs/bpf || break; done'
	ok=1
	for round in $(seq "${PG_RACE_ROUNDS:-4}"); do
		d=/sys/fs/bpf/$PG_ID-$round
		pg_in "$srv" "$PORTGUARD" load "$pol" --iface pgs0 --no-cgroup --pin-dir "$d" 2>"$PG_TMP/r1" &
		a=$!
		pg_in "$srv" "$PORTGUARD" load "$pol" --iface pgs0 --no-cgroup --pin-dir "$d" 2>"$PG_TMP/r2" &
		b=$!
		wait $a; ra=$?
		wait $b; rb=$?
		n=$(bpf_root_mounts)
		fresh=$(cat "$PG_TMP/r1" "$PG_TMP/r2" | grep -c "portguard: loaded ")
		took=$(cat "$PG_TMP/r1" "$PG_TMP/r2" | grep -c "replaced the policy in force")
		if [ $ra != 0 ] || [ $rb != 0 ] || [ "$n" != 1 ] || [ "$fresh" != 1 ] || [ "$took" != 1 ]; then
			pg_log "round $round: exits $ra $rb, $n bpffs mounts, $fresh loaded, $took took over"
			ok=0
		fi
		unload "$d"
		while [ "$(bpf_root_mounts)" -gt 0 ]; do umount -l /sys/fs/bpf || break; done
	done
	pg_check pin_dir_concurrent_fresh [ $ok = 1 ]
else
	pg_skip pin_dir_concurrent_fresh "not in a mount namespace of our own (tests/run.sh makes one)"
fi

# --- 11.5: events name the rule that decided them, across reloads ---
# p2 and p3 put allow rules in the slots p1's `local` rules had.
printf 'default in deny\nallow in tcp 22\nallow in tcp 8080\nallow in tcp 8081\n' >"$PG_TMP/p2.policy"
cp "$PG_TMP/p2.policy" "$PG_TMP/p3.policy"
probe() { timeout 2 nsenter --net=/run/netns/"$cli" socat -u /dev/null "TCP:198.18.11.1:$1,connect-timeout=1" 2>/dev/null; }
reload2() { pgs reload "$PG_TMP/p2.policy" --pin-dir "$pin" 2>/dev/null && pgs reload "$PG_TMP/p3.policy" --pin-dir "$pin" 2>/dev/null; }
load 2>/dev/null
: >"$out"
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" monitor --json --pin-dir "$pin" >"$out" 2>/dev/null
mon=$PG_BG_PID
pg_wait_for 5 grep -q '"event_type":"monitor"' "$out"
# A monitor that has seen the version, held up while the backlog spans two reloads.
kill -STOP "$mon"
probe 5432
reload2
kill -CONT "$mon"
pg_check event_rule_after_two_reloads eval 'pg_wait_for 5 grep -q "\"dest_port\":5432," "$out" &&
	grep "\"dest_port\":5432," "$out" | grep -q "\"rule\":\"$pol:3\",\"reason\":\"local-only\""'
pg_stop "$mon"
# A monitor started after both reloads never saw the version: it says so, and does not name
# p3's allow rule of the same slot.
pgs reload "$pol" --pin-dir "$pin" 2>/dev/null
probe 5433
reload2
: >"$out"
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" monitor --json --pin-dir "$pin" >"$out" 2>/dev/null
pg_check event_rule_replaced_not_misnamed eval 'pg_wait_for 5 grep -q "\"dest_port\":5433," "$out" &&
	! grep "\"dest_port\":5433," "$out" | grep -q "p3.policy" &&
	grep "\"dest_port\":5433," "$out" | grep -q "\"rule\":\"slot 5 of policy version [0-9]* (replaced"'
pg_stop "$PG_BG_PID"

# --- 11.10: not root: say what failed and why ---
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$PORTGUARD" "$@"; }
pg_check nonroot_unload_says_why eval '! nobody unload --pin-dir "$pin" 2>"$err" >/dev/null &&
	grep -q "Permission denied" "$err" && [ -e "$pin/pg_active" ]'
# A policy nobody may read: the refusal must be about the pins, not the file.
pub=$(mktemp /tmp/portguard-failopen.XXXXXX)
pg_defer "rm -f '$pub'"
cp "$pol" "$pub" && chmod 644 "$pub"
pg_check nonroot_reload_says_why eval '! nobody reload "$pub" --pin-dir "$pin" 2>"$err" >/dev/null &&
	grep -q "pin directory .*Permission denied" "$err"'
pg_check nonroot_monitor_says_why eval '! nobody monitor --pin-dir "$pin" 2>"$err" >/dev/null &&
	grep -q "Permission denied" "$err" && ! grep -q "nothing loaded" "$err"'
unload

# --- 11.11: a bind has no peer; a SIGHUP while another command holds the lock waits ---
: >"$out"
: >"$err"
pg_bg nsenter --net=/run/netns/"$srv" "$PORTGUARD" run "$pol" --iface pgs0 --cgroup "$cg" --pin-dir "$pin" \
	--json >"$out" 2>"$err"
run=$PG_BG_PID
pg_wait_for $PG_START_SECS grep -q '"event_type":"start"' "$out"
timeout 5 nsenter --net=/run/netns/"$srv" sh -c 'echo $$ >"$1/cgroup.procs"; exec socat TCP-LISTEN:5432,bind=0.0.0.0 -' \
	_ "$cg" 2>/dev/null
pg_check bind_event_has_no_peer eval 'pg_wait_for 5 grep -q "\"hook\":\"bind\"" "$out" &&
	grep "\"hook\":\"bind\"" "$out" | grep -q "\"proto\":\"TCP\",\"dest_ip\":\"0.0.0.0\",\"dest_port\":5432," &&
	! grep "\"hook\":\"bind\"" "$out" | grep -q src_'
flock "$pin" sleep 1.5 &
holder=$!
sleep 0.3
kill -HUP "$run"
sleep 0.4
kill -HUP "$run" # arrives while the first reload waits for the lock
wait "$holder"
pg_check sighup_waits_for_lock eval 'pg_wait_for 5 grep -q "\"event_type\":\"reload\"" "$out" &&
	! grep -q "Interrupted system call\|reload of .* failed" "$err"'
pg_stop "$run"

pg_done
