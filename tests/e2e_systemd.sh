#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian package under a real systemd: systemd 252 as PID 1 of a Debian 12 root (made by
# debootstrap, cached) in systemd-nspawn, with a private bpffs as its /sys/fs/bpf, its own
# network namespace and a veth whose other end is in a test namespace of ours. The .deb is
# the one `make deb` builds, and a second one with a newer version for the upgrade.
#
# Covered: install starts nothing; no policy, no start (a clear message); a missing interface
# fails once, without a restart loop; start on an empty bpffs, READY, enforcement seen from
# the test namespace; reload with a good policy and with a broken one (fails, old one kept);
# restart and upgrade with an open connection that survives and a bounded probe loop on a
# blocked port that gets nothing through, the upgrade across a change of the maps' layouts
# (the state replaced whole); the operator's conffile edit survives the upgrade;
# stop leaves enforcement and status says so; the unit's journal (events, diagnostics, all
# but systemd's word on a failure) is JSON Lines, its errors at priority err;
# systemd-analyze security scores <= 2.8; enabled, the unit enforces on boot before
# network-pre.target; remove unloads; purge removes /etc/portguard.
#
# Everything is removed in a trap, also on failure: the container, its overlay, the bpffs
# mounts, the namespaces and veths, the cgroups nspawn leaves, our processes.
. "$(dirname "$0")/lib.sh"

PG_CASES="debs_built container_boots package_installs not_started_on_install
refuses_without_policy missing_iface_awaited start_ready enforces_from_other_ns
reload_good reload_broken_fails_keeps_old restart_no_gap upgrade_no_gap
upgrade_replaces_other_layout conffile_edit_survives_upgrade stop_keeps_enforcement journal_json_lines security_score
boot_enforces_before_network remove_unloads purge_removes_etc"

if [ "$(id -u)" = 0 ] && [ -z "${PG_IN_UNSHARE:-}" ]; then
	# Run directly (not by tests/run.sh): build or check the root here, then run in namespaces
	# of our own all the same.
	"$(dirname "$0")/nspawn_root.sh" >/dev/null
	PG_IN_UNSHARE=1 exec unshare --net --mount --propagation private bash "$0" "$@"
fi
pg_setup systemd-nspawn debootstrap make dpkg-buildpackage dpkg-deb jq socat ncat nsenter ip bpftool
ip link set lo up 2>/dev/null
repo=$(cd "$PG_TESTS/.." && pwd)
t_start=$SECONDS

# --- the Debian 12 root, built once and cached by tests/nspawn_root.sh ----------------------
# (make check runs it first; run here directly, this script runs it before entering its
# namespaces, whose network reaches nothing.)
root=$("$PG_TESTS/nspawn_root.sh" --cached 2>/dev/null) ||
	pg_skip_all "no cached Debian 12 root: run tests/nspawn_root.sh (make check does)" $PG_CASES

# --- the packages: make deb's, and one with a newer version -------------------------------
arch=$(dpkg --print-architecture)
v1=$(head -n1 "$repo/debian/changelog" | cut -d' ' -f2 | tr -d '()')
v2=$v1+pgtest1
deb1=$BUILD/deb/portguard_${v1}_$arch.deb
deb2=$PG_TMP/portguard_${v2}_$arch.deb
debs() {
	make -s -C "$repo" BUILD="$BUILD" deb >"$PG_TMP/deb.log" 2>&1 && [ -f "$deb1" ] || return 1
	# The upgrade: the same tree with a changelog entry on top, built in a copy of make deb's
	# build tree (-nc: its objects are reused).
	cp -a "$BUILD/deb/src" "$PG_TMP/src2" || return 1
	local who
	who=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$PG_TMP/src2/debian/changelog" | head -n 1)
	{
		printf 'portguard (%s) unstable; urgency=medium\n\n  * The upgrade of tests/e2e_systemd.sh.\n\n -- %s  %s\n\n' \
			"$v2" "$who" "$(date -R)"
		cat "$PG_TMP/src2/debian/changelog"
	} >"$PG_TMP/changelog" && mv "$PG_TMP/changelog" "$PG_TMP/src2/debian/changelog"
	(cd "$PG_TMP/src2" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
		dpkg-buildpackage -us -uc -b -nc) >>"$PG_TMP/deb.log" 2>&1 &&
		[ -f "$deb2" ]
}
t=$SECONDS
if debs; then
	pg_ok debs_built
	pg_log "packages built in $((SECONDS - t)) s"
else
	tail -n 20 "$PG_TMP/deb.log" | sed 's/^/# /'
	pg_fail debs_built
	pg_skip_all "no packages to install" ${PG_CASES#debs_built}
fi
mkdir "$PG_TMP/debs" && cp "$deb1" "$deb2" "$PG_TMP/debs/"

# --- the container ------------------------------------------------------------------------
# The cached root stays pristine: the container runs on an overlay whose upper layer is ours
# (kept across the reboot below, gone at cleanup).
ovl=$PG_TMP/ovl
mkdir -p "$ovl/up" "$ovl/work" "$ovl/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$ovl/up,workdir=$ovl/work" "$ovl/root" ||
	pg_skip_all "cannot mount an overlay on the root" $PG_CASES
pg_defer "umount -l '$ovl/root'"

# nspawn runs in a cgroup of ours, where it leaves payload/ and supervisor/ behind (in the
# cgroup v2 tree and, on a hybrid host, in the name=systemd one): all removed at cleanup.
cgname=$PG_ID-nspawn
cgroot=$(pg_cgroup2_root)
[ -n "$cgroot" ] || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
cg_dirs() {
	awk -v n="$cgname" '$3 == "cgroup2" || ($3 == "cgroup" && $4 ~ /name=systemd/) {
		print $2 "/" n }' /proc/self/mounts
}
cg_remove() { # kill what is left in our cgroups, then remove them, deepest first
	local d f p
	for d in $(cg_dirs); do
		[ -d "$d" ] || continue
		[ -f "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
		for f in $(find "$d" -name cgroup.procs); do
			while read -r p; do kill -9 "$p" 2>/dev/null; done <"$f"
		done
	done
	sleep 0.2
	for d in $(cg_dirs); do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
	return 0
}
mkdir "$cgroot/$cgname" || pg_skip_all "cannot create a cgroup" $PG_CASES
pg_defer cg_remove

tns=$(pg_netns t)
ct=$PG_ID-ct
NSPAWN_PID=
# boot: a fresh private bpffs (a reboot empties bpffs), then systemd as PID 1. The veth end
# pgsd0 exists in the container from its first instant (--network-veth-extra), as a NIC does;
# its peer is moved to our test namespace. Sets L, the container's PID 1 as seen from here.
boot() {
	local i bpffs=$PG_TMP/bpffs.$1
	mkdir -p "$bpffs" && mount -t bpf bpf "$bpffs" || return 1
	pg_defer "umount -l '$bpffs'"
	(
		echo "$BASHPID" >"$cgroot/$cgname/cgroup.procs" || exit 1
		exec systemd-nspawn -D "$ovl/root" --machine="$PG_ID" --register=no --keep-unit \
			--private-network --network-veth-extra=pgsdh0:pgsd0 \
			--capability=CAP_BPF,CAP_PERFMON --system-call-filter='bpf perf_event_open' \
			--bind="$bpffs":/sys/fs/bpf --bind-ro="$PG_TMP/debs":/mnt/debs -b
	) </dev/null >"$PG_TMP/console.$1" 2>&1 &
	NSPAWN_PID=$!
	pg_defer "stop_container $NSPAWN_PID"
	BPFFS=$bpffs L=
	for ((i = 0; i < 100; i++)); do
		L=$(leader) && break
		kill -0 $NSPAWN_PID 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$L" ] || { sed 's/^/# | /' "$PG_TMP/console.$1"; return 1; }
	# "offline" until systemd listens (the leader may not even be systemd yet), then
	# "starting" until the boot is over: bounded, 60 s.
	for ((i = 0; i < 300; i++)); do
		timeout 60 nsenter -t "$L" -a systemctl is-system-running --wait >"$PG_TMP/state" 2>&1
		grep -qxE 'running|degraded' "$PG_TMP/state" && break
		kill -0 $NSPAWN_PID 2>/dev/null || break
		sleep 0.2
	done
	grep -qxE 'running|degraded' "$PG_TMP/state" ||
		{ sed 's/^/# /' "$PG_TMP/state"; sed 's/^/# | /' "$PG_TMP/console.$1"; return 1; }
	E systemctl --failed --no-legend --plain | sed 's/^/# failed unit: /'
	touch "/run/netns/$ct" && mount --bind "/proc/$L/ns/net" "/run/netns/$ct" || return 1
	pg_defer "umount '/run/netns/$ct'; rm -f '/run/netns/$ct'"
	ip link set pgsdh0 netns "$tns" &&
		ip -n "$tns" addr add 198.18.10.2/24 dev pgsdh0 && ip -n "$tns" link set pgsdh0 up &&
		ip -n "$ct" link set lo up && ip -n "$ct" addr add 198.18.10.1/24 dev pgsd0 &&
		ip -n "$ct" link set pgsd0 up
}
# The container's PID 1: the process of the payload cgroups whose innermost PID is 1.
leader() {
	local f p
	for f in $(find "$cgroot/$cgname/payload" -name cgroup.procs 2>/dev/null); do
		for p in $(cat "$f"); do
			awk '/^NSpid:/ { exit !(NF > 2 && $NF == 1) }' "/proc/$p/status" 2>/dev/null &&
				{ echo "$p"; return 0; }
		done
	done
	return 1
}
stop_container() { # nspawn shuts the container down on SIGTERM
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
E() { nsenter -t "$L" -a "$@"; }
unit() { E systemctl show -p "$1" --value portguard; }
journal() { E journalctl -u portguard -o cat --no-pager; }

t=$SECONDS
if boot 1; then
	pg_ok container_boots
	pg_log "container booted in $((SECONDS - t)) s"
else
	pg_fail container_boots
	pg_skip_all "no container" ${PG_CASES#*container_boots}
fi

# Echo servers in the container's network namespace (host processes: the XDP program on
# pgsd0 decides what reaches them, whoever they are); a UDP sink that records every datagram
# that gets through to port 9091.
pg_listen "$ct" tcp 8080 7070 9090
sink=$PG_TMP/udp9091
: >"$sink"
pg_in_bg "$ct" socat -u UDP-RECV:9091 "OPEN:$sink,creat,append"
SINK_PID=$PG_BG_PID
pg_wait_for 5 pg_listening "$ct" tcp 8080 7070 9090
udp_send() { # N datagrams to 9091
	nsenter --net="/run/netns/$tns" bash -c 'for ((i = 0; i < $1; i++)); do
		echo "probe $i" >/dev/udp/198.18.10.1/9091; done' _ "$1" 2>/dev/null
}
# Without enforcement everything gets through: the probes below can see a change.
udp_send 1
pg_wait_for 5 test -s "$sink" && pg_probe "$tns" tcp 198.18.10.1 9090 ||
	pg_log "the path to the container does not work even before enforcement"
: >"$sink"

# --- install ------------------------------------------------------------------------------
E dpkg -i "/mnt/debs/${deb1##*/}" >"$PG_TMP/dpkg1" 2>&1
rc=$?
sed 's/^/# | /' "$PG_TMP/dpkg1"
pg_check package_installs eval '[ $rc = 0 ] &&
	[ "$(E dpkg-query -W -f="\${Status} \${Version}" portguard)" = "install ok installed $v1" ] &&
	E test -x /usr/sbin/portguard -a -f /lib/systemd/system/portguard.service \
		-a -f /usr/share/doc/portguard/examples/novavms-cloud.policy'
pg_check not_started_on_install eval '[ "$(unit ActiveState)" = inactive ] &&
	[ "$(E systemctl is-enabled portguard)" = disabled ] && [ ! -e "$BPFFS/portguard" ]'

# No policy named: the start fails, saying why (a JSON record at priority err, as the daemon's
# own would be), and nothing is pinned.
E systemctl start portguard 2>/dev/null
rc=$?
no_policy_said() {
	E journalctl -u portguard -p err -o cat --no-pager | jq -cR 'fromjson? |
		select(.event_type == "diagnostic" and .severity == "error" and (.message |
		startswith("no policy configured: set PORTGUARD_POLICY in /etc/portguard/portguard.conf")))' |
		grep -q .
}
pg_check refuses_without_policy eval '[ $rc != 0 ] && [ "$(unit ActiveState)" = failed ] &&
	no_policy_said &&
	[ ! -e "$BPFFS/portguard" ]'
E systemctl reset-failed portguard

# The operator's configuration: a policy, named in the conffile.
policy() { # the policy, with extra lines from the arguments
	{
		printf 'default in deny\ndefault out allow\ninterface %s\n' "${IFACE:-pgsd0}"
		printf 'allow in tcp 22\nallow in tcp 8080\n'
		printf '%s\n' "$@"
	} | E sh -c 'cat >/etc/portguard/host.policy'
}
E sed -i 's|^PORTGUARD_POLICY=$|PORTGUARD_POLICY=/etc/portguard/host.policy|' \
	/etc/portguard/portguard.conf

# An interface that is not there: awaited (run attaches it when it appears), not a failed
# start and no restart loop; status says it is not enforced.
IFACE=pgnone0 policy
E systemctl start portguard 2>/dev/null
rc=$?
sleep 3 # RestartSec=2s: a restart would have happened by now
pg_check missing_iface_awaited eval '[ $rc = 0 ] && [ "$(unit ActiveState)" = active ] &&
	[ "$(unit NRestarts)" = 0 ] && journal | grep -q "pgnone0: awaited" &&
	E portguard status | grep -q "pgnone0 (awaited: not enforcing"'
E systemctl stop portguard 2>/dev/null
E portguard unload >/dev/null 2>&1
E systemctl reset-failed portguard 2>/dev/null

# --- start, reload ------------------------------------------------------------------------
# The journal of the unit operating normally (start, reload, restart, upgrade, stop) must be
# JSON Lines throughout: its lines are counted here, where that window opens (see
# journal_json_lines below).
jlines() { E journalctl --sync 2>/dev/null; journal | wc -l; }
jw0=$(jlines)
policy
E systemctl start portguard
rc=$?
pg_check start_ready eval '[ $rc = 0 ] && [ "$(unit ActiveState)" = active ] &&
	[ "$(unit StatusText)" = enforcing ] && [ -d "$BPFFS/portguard" ] &&
	journal | grep -q "\"event_type\":\"start\".*\"takeover\":false"'

blocked_udp() { # N datagrams to 9091 get nothing through (a TCP echo is the barrier)
	udp_send "$1" && pg_probe "$tns" tcp 198.18.10.1 8080 && [ ! -s "$sink" ]
}
pg_check enforces_from_other_ns eval 'pg_probe "$tns" tcp 198.18.10.1 8080 &&
	! pg_probe "$tns" tcp 198.18.10.1 9090 && blocked_udp 3'

policy 'allow in tcp 7070'
E systemctl reload portguard
rc=$?
pg_check reload_good eval '[ $rc = 0 ] && pg_probe "$tns" tcp 198.18.10.1 7070 &&
	journal | grep -q "\"event_type\":\"reload\""'

sha=$(E portguard status --json | jq -r .sha256)
# A reload refused is no normal operation: systemd says so in text of its own (notice and
# above pass LogLevelMax=). Its lines are left out of the window, and checked apart.
pg_wait_for 5 eval 'journal | grep -q "\"event_type\":\"reload\""'
jb0=$(jlines)
policy 'allow in tcp 7070' 'allow in tcp 70000'
E systemctl reload portguard 2>/dev/null
rc=$?
pg_wait_for 5 eval 'journal | grep -q "port 70000 out of range"'
sleep 0.5
jb1=$(jlines)
pg_check reload_broken_fails_keeps_old eval '[ $rc != 0 ] && [ "$(unit ActiveState)" = active ] &&
	[ "$(E portguard status --json | jq -r .sha256)" = "$sha" ] &&
	pg_probe "$tns" tcp 198.18.10.1 7070 && journal | grep -q "port 70000 out of range"'
policy 'allow in tcp 7070'

# --- restart and upgrade: no gap ----------------------------------------------------------
# An open session to 8080 that must carry data after; a probe loop to the blocked 9091 that
# runs from before the action until after it (bounded: 3000 datagrams, 60 s) and must get
# nothing through.
mkfifo "$PG_TMP/session.in"
exec 7<>"$PG_TMP/session.in"
pg_in_bg "$tns" socat -T 120 "OPEN:$PG_TMP/session.in,rdonly!!CREATE:$PG_TMP/session.out" \
	TCP:198.18.10.1:8080
echo ping-0 >&7
pg_wait_for 5 grep -qx ping-0 "$PG_TMP/session.out" || pg_log "the session carries no data"
no_gap() { # CASE CMD...: CMD restarts the daemon
	local name=$1 pid0 pid1 sent loop rc n=$((++GAPS))
	shift
	: >"$sink"
	rm -f "$PG_TMP/stop"
	nsenter --net="/run/netns/$tns" bash -c 'i=0; end=$((SECONDS + 60))
		while [ ! -e "$1" ] && [ $i -lt 3000 ] && [ $SECONDS -lt $end ]; do
			echo "probe $i" >/dev/udp/198.18.10.1/9091; i=$((i + 1)); sleep 0.005
		done; echo $i >"$2"' _ "$PG_TMP/stop" "$PG_TMP/sent" 2>/dev/null &
	loop=$!
	sleep 0.3
	pid0=$(unit MainPID)
	"$@" >"$PG_TMP/$name.out" 2>&1
	rc=$?
	pid1=$(unit MainPID)
	sleep 0.3
	touch "$PG_TMP/stop"
	wait $loop
	sent=$(cat "$PG_TMP/sent" 2>/dev/null)
	echo "ping-$n" >&7
	pg_log "$name: exit $rc, daemon $pid0 -> $pid1, $sent probes sent, $(wc -c <"$sink") bytes through"
	[ $rc = 0 ] && [ "$pid1" != 0 ] && [ "$pid1" != "$pid0" ] &&
		[ "$(unit ActiveState)" = active ] && [ "${sent:-0}" -ge 10 ] &&
		pg_probe "$tns" tcp 198.18.10.1 8080 && [ ! -s "$sink" ] &&
		pg_wait_for 5 grep -qx "ping-$n" "$PG_TMP/session.out" &&
		[ "$(journal | grep -c '"takeover":true')" -ge "$n" ]
}
GAPS=0
pg_check restart_no_gap no_gap restart E systemctl restart portguard
# The upgrade crosses a change of the maps' layouts (as issue 15's did): the pinned state is
# made to look like another version's first (its pg_peers of another value size, a map this
# version does not define), so the new daemon replaces it whole rather than take it over.
rm -f "$BPFFS/portguard/pg_peers" &&
	bpftool map create "$BPFFS/portguard/pg_peers" type hash key 4 value 4 entries 16 name pg_peers &&
	bpftool map create "$BPFFS/portguard/pg_gone" type array key 4 value 4 entries 1 name pg_gone ||
	pg_log "could not make the pinned state look like another version's"
pg_check upgrade_no_gap no_gap upgrade E dpkg -i "/mnt/debs/${deb2##*/}"
sed 's/^/# | /' "$PG_TMP/upgrade.out"
pg_check upgrade_replaces_other_layout eval 'journal | grep -q "is another version.s (pg_peers: .*replacing it" &&
	[ ! -e "$BPFFS/portguard/pg_gone" ] &&
	[ "$(bpftool -j map show pinned "$BPFFS/portguard/pg_peers" | grep -o "\"bytes_value\":[0-9]*" | cut -d: -f2)" != 4 ] &&
	E portguard status | grep -q "state: *enforcing"'

pg_check conffile_edit_survives_upgrade eval '
	[ "$(E dpkg-query -W -f="\${Version}" portguard)" = "$v2" ] &&
	E grep -qx PORTGUARD_POLICY=/etc/portguard/host.policy /etc/portguard/portguard.conf &&
	! E test -e /etc/portguard/portguard.conf.dpkg-dist'

# --- stop keeps enforcing -----------------------------------------------------------------
E systemctl stop portguard
E portguard status >"$PG_TMP/status"
rc=$?
pg_check stop_keeps_enforcement eval '[ "$(unit ActiveState)" = inactive ] && [ $rc = 0 ] &&
	grep -qx "policy: *\/etc\/portguard\/host.policy" "$PG_TMP/status" &&
	grep -q "^mode: *enforce" "$PG_TMP/status" &&
	! pg_probe "$tns" tcp 198.18.10.1 9090 && pg_probe "$tns" tcp 198.18.10.1 7070 &&
	journal | grep -q "enforcement stays in force"'

# The journal of the window opened before the start: every line, the event stream and the
# diagnostics alike, one JSON object (no record split or merged, no text beside them), but for
# the refused reload's lines (jb0..jb1). Those hold the policy's error as a JSON diagnostic at
# priority err, which `journalctl -p err` finds; what else is there is systemd's own word.
E journalctl --sync 2>/dev/null
journal >"$PG_TMP/journal.txt"
{ sed -n "$((jw0 + 1)),${jb0}p" "$PG_TMP/journal.txt"
	sed -n "$((jb1 + 1)),\$p" "$PG_TMP/journal.txt"; } >"$PG_TMP/window.jsonl"
sed -n "$((jb0 + 1)),${jb1}p" "$PG_TMP/journal.txt" >"$PG_TMP/refused"
grep -v '^{' "$PG_TMP/window.jsonl" | sed 's/^/# not JSON: /' | head -n 5
grep -v '^{' "$PG_TMP/refused" | sed 's/^/# the refused reload, in text: /' | head -n 5
E journalctl -u portguard -p err -o cat --no-pager >"$PG_TMP/errors"
pg_log "journal: $(wc -l <"$PG_TMP/journal.txt") lines, $(wc -l <"$PG_TMP/window.jsonl") in the window, $(wc -l <"$PG_TMP/errors") at priority err"
pg_check journal_json_lines eval '[ "$(wc -l <"$PG_TMP/window.jsonl")" -ge 5 ] &&
	pg_json_all "$PG_TMP/window.jsonl" &&
	[ "$(jq -r "select(.event_type == \"start\") | .policy" "$PG_TMP/window.jsonl" | sort -u)" = /etc/portguard/host.policy ] &&
	[ "$(jq -s "map(.event_type) | (index(\"start\") != null) and (index(\"reload\") != null)" "$PG_TMP/window.jsonl")" = true ] &&
	jq -e "select(.event_type == \"diagnostic\" and .severity == \"notice\" and
		(.message | test(\"enforcement stays in force\")))" "$PG_TMP/window.jsonl" >/dev/null &&
	! grep -q "stays in force" "$PG_TMP/errors" &&
	pg_json_match "$PG_TMP/refused" ".event_type == \"diagnostic\" and .severity == \"error\" and
		(.message | test(\"port 70000 out of range\"))" | grep -q . &&
	pg_json_match "$PG_TMP/errors" "(.message | test(\"port 70000 out of range\"))" | grep -q .'

score=$(E systemd-analyze security portguard --no-pager 2>/dev/null |
	sed -n 's/.*Overall exposure level for portguard.service: \([0-9.]*\).*/\1/p')
pg_log "systemd-analyze security portguard: ${score:-none}"
pg_check security_score awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.8) }'

# --- closed from boot ---------------------------------------------------------------------
# Enabled, a reboot (a fresh bpffs: nothing pinned) starts it, and it is READY before
# network-pre.target is reached, so before any network configuration runs.
E systemctl enable portguard 2>/dev/null
pg_listen_stop "${PG_LISTEN_PIDS[@]}" "$SINK_PID"
PG_LISTEN_PIDS=()
ip -n "$tns" link del pgsdh0
umount "/run/netns/$ct" && rm -f "/run/netns/$ct"
stop_container "$NSPAWN_PID"
cg_remove
mkdir -p "$cgroot/$cgname"
if boot 2; then
	pg_listen "$ct" tcp 8080 9090
	pg_wait_for 5 pg_listening "$ct" tcp 8080 9090
	ready=$(unit ActiveEnterTimestampMonotonic)
	pre=$(E systemctl show -p ActiveEnterTimestampMonotonic --value network-pre.target)
	pg_log "after boot: portguard ready at ${ready:-?} us, network-pre.target at ${pre:-?} us"
	pg_check boot_enforces_before_network eval '[ "$(unit ActiveState)" = active ] &&
		[ "${ready:-0}" -gt 0 ] && [ "${pre:-0}" -ge "$ready" ] &&
		journal | grep -q "\"event_type\":\"start\".*\"takeover\":false" &&
		pg_probe "$tns" tcp 198.18.10.1 8080 && ! pg_probe "$tns" tcp 198.18.10.1 9090'
else
	pg_fail "boot_enforces_before_network (no second boot)"
fi

# --- remove, purge ------------------------------------------------------------------------
E dpkg -r portguard >"$PG_TMP/remove" 2>&1
rc=$?
sed 's/^/# | /' "$PG_TMP/remove"
pg_check remove_unloads eval '[ $rc = 0 ] && [ ! -e "$BPFFS/portguard" ] &&
	! ip -n "$ct" link show pgsd0 2>/dev/null | grep -q xdp && pg_probe "$tns" tcp 198.18.10.1 9090 &&
	E test -f /etc/portguard/portguard.conf -a -f /etc/portguard/host.policy'
E dpkg -P portguard >/dev/null 2>&1
rc=$?
pg_check purge_removes_etc eval '[ $rc = 0 ] && ! E test -e /etc/portguard'

pg_log "e2e_systemd took $((SECONDS - t_start)) s"
pg_done
