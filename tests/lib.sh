# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the end-to-end scripts (tests/e2e_*.sh), in the style of the kernel's
# selftests/net/lib.sh: unique names, one cleanup trap, one TAP line per case.
#
# Every script sources this, calls pg_setup, registers what it creates with pg_defer, and
# reports with pg_ok / pg_fail / pg_skip. Cleanup runs on every exit, also on failure.

set -u
PG_TESTS=${PG_TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
BUILD=${BUILD:-$PG_TESTS/../build}
PORTGUARD=${PORTGUARD:-$BUILD/portguard}
PG_ID="pg$$$RANDOM"
PG_TMP=""
# How long a daemon may take from its start to its start record: loading means the verifier
# walking each BPF object, seconds of CPU apiece, and longer while tests/run.sh runs suites side
# by side. A bound for what must happen, not a measurement: no case passes by being fast.
PG_START_SECS=${PG_START_SECS:-60}
pg_n=0
pg_failed=0
pg_cleanups=()

# demo/demo.sh borrows the helpers and is no test: PG_NO_TAP=1 keeps TAP out of its output.
[ -n "${PG_NO_TAP:-}" ] || echo "TAP version 13"

pg_ok() { pg_n=$((pg_n + 1)); echo "ok $pg_n $*"; }
pg_fail() { pg_n=$((pg_n + 1)); pg_failed=1; echo "not ok $pg_n $*"; }
pg_skip() { pg_n=$((pg_n + 1)); echo "ok $pg_n $1 # SKIP ${2:-}"; }
# pg_check NAME CMD...: one case from a command's exit status.
pg_check() { local name=$1; shift; if "$@"; then pg_ok "$name"; else pg_fail "$name"; fi; }
pg_log() { echo "# $*"; }

# Run a command at cleanup, last registered first. Once pg_setup has made PG_TMP the commands
# go to a file there, so that helpers called in a command substitution (srv=$(pg_netns srv))
# register their cleanup too: an array assignment in that subshell would be lost.
pg_defer() {
	if [ -n "$PG_TMP" ]; then
		printf '%s\n' "$*" >>"$PG_TMP/cleanup"
	else
		pg_cleanups+=("$*")
	fi
}

pg_cleanup() {
	local i
	[ -n "$PG_TMP" ] && [ -f "$PG_TMP/cleanup" ] &&
		mapfile -t -O ${#pg_cleanups[@]} pg_cleanups <"$PG_TMP/cleanup" && rm -f "$PG_TMP/cleanup"
	for ((i = ${#pg_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${pg_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	pg_cleanups=()
	[ -n "$PG_TMP" ] && rm -rf "$PG_TMP"
}

# Skip every case of the script (NAME...) with one reason, and exit.
pg_skip_all() {
	local reason=$1 name
	shift
	for name in "$@"; do pg_skip "$name" "$reason"; done
	exit 0
}

# Fail every case of the script (NAME...) with one reason, and exit: the set-up that every case
# needs broke (a server that did not start, an install that failed). That is no platform limit,
# so it is no skip either.
pg_fail_all() {
	local reason=$1 name
	shift
	for name in "$@"; do pg_fail "$name # $reason"; done
	exit 1
}

# Require root and the tools named; otherwise skip the cases named in PG_CASES and exit.
pg_setup() {
	trap pg_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "$(id -u)" != 0 ]; then
		pg_skip_all "needs root" ${PG_CASES:-all}
	fi
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
			pg_skip_all "$tool not installed (make deps)" ${PG_CASES:-all}
	done
	[ -x "$PORTGUARD" ] || pg_skip_all "$PORTGUARD not built" ${PG_CASES:-all}
	PG_TMP=$(mktemp -d /tmp/portguard-test.XXXXXX)
	# In a mount namespace of our own (tests/run.sh, or unshare -m by hand), a tmpfs over
	# /run/netns keeps the namespace files in it too: nothing is left on the host's /run, even
	# when a script is killed before its cleanup. Never in the host's mount namespace.
	if [ -n "$(readlink /proc/1/ns/mnt)" ] &&
		[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]; then
		mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=0755 pg-netns /run/netns &&
			pg_defer "umount -l /run/netns"
		# The daemon's sockets and pending changes (PG_RUN_DIR) likewise.
		mkdir -p /run/portguard && mount -t tmpfs -o size=1m,mode=0700 pg-run /run/portguard &&
			pg_defer "umount -l /run/portguard"
	fi
}

# A private bpffs for this script's pins; prints its path.
pg_bpffs() {
	local dir=$PG_TMP/bpffs
	mkdir -p "$dir"
	mount -t bpf bpf "$dir" || return 1
	pg_defer "umount -l '$dir'"
	echo "$dir"
}

# The cgroup v2 mount point, from /proc/mounts (not always /sys/fs/cgroup).
pg_cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# A child cgroup of the v2 root for this script; prints its path. Cleanup moves stragglers out.
pg_cgroup() {
	local root dir
	root=$(pg_cgroup2_root)
	[ -n "$root" ] || return 1
	dir=$root/$PG_ID-${1:-cg}
	mkdir "$dir" || return 1
	pg_defer "pg_cgroup_remove '$dir'"
	echo "$dir"
}

pg_cgroup_remove() {
	local dir=$1 pid
	if [ -f "$dir/cgroup.procs" ]; then
		while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
		sleep 0.2
	fi
	rmdir "$dir"
}

# pg_netns NAME: a network namespace, removed at cleanup. Prints its full name.
pg_netns() {
	local ns=$PG_ID-$1
	ip netns add "$ns" || return 1
	pg_defer "ip netns del '$ns'"
	ip -n "$ns" link set lo up
	echo "$ns"
}

# pg_veth NS_A IF_A ADDR4_A ADDR6_A NS_B IF_B ADDR4_B ADDR6_B: a veth pair between two
# namespaces, addressed from 198.18.0.0/15 and 2001:db8::/32 (prefix lengths included).
pg_veth() {
	local nsa=$1 ifa=$2 a4=$3 a6=$4 nsb=$5 ifb=$6 b4=$7 b6=$8
	ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb" || return 1
	ip -n "$nsa" addr add "$a4" dev "$ifa"
	ip -n "$nsb" addr add "$b4" dev "$ifb"
	ip -n "$nsa" addr add "$a6" dev "$ifa" nodad
	ip -n "$nsb" addr add "$b6" dev "$ifb" nodad
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
}

# Run in a namespace without remounting /sys (ip netns exec would hide bpffs and cgroup2).
pg_in() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }

# pg_wait_for SECONDS CMD...: poll until CMD succeeds; bounded.
pg_wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Start a command in the background, stopped by PID at cleanup. Sets PG_BG_PID.
pg_bg() {
	"$@" &
	PG_BG_PID=$!
	pg_defer "pg_stop $PG_BG_PID"
}

# Through a change of the enforcement (takeover, upgrade): pg_session_start NS ADDR:PORT SPORT
# STOP OUT sends one line every 10 ms from NS to the echo server at ADDR:PORT, from source
# port SPORT, until the file STOP exists (60 s at most), and appends what comes back to OUT.
# pg_binds_start CGROUP PORT STOP OUT binds 0.0.0.0:PORT from CGROUP over and over until
# STOP, then writes "TRIED LISTENED" to OUT. A bind that got through is one whose socat says
# it is listening (then timeout stops it); a refused one exits at once. The exit status
# alone would not tell: on a loaded machine timeout can fire before socat even reached
# bind(). Both set PG_BG_PID.
pg_session_start() {
	pg_bg nsenter --net=/run/netns/"$1" bash -c 'end=$((SECONDS + 60)); i=0
		while [ ! -e "$1" ] && [ $SECONDS -lt $end ]; do echo $((i++)); sleep 0.01; done |
		socat -t 5 - TCP:"$2",sourceport="$3" >"$4"' _ "$4" "$2" "$3" "$5"
}
pg_binds_start() {
	pg_bg bash -c 'echo $$ >"$1/cgroup.procs"; end=$((SECONDS + 60)); n=0 ok=0
		while [ ! -e "$3" ] && [ $SECONDS -lt $end ]; do
			timeout 0.3 socat -d -d -u TCP-LISTEN:"$2",bind=0.0.0.0,reuseaddr - </dev/null 2>&1 |
				grep -q " listening on " && ok=$((ok + 1))
			n=$((n + 1))
		done; echo "$n $ok" >"$4"' _ "$1" "$2" "$3" "$4"
}

# pg_through_start SRV CLI CLI_ADDR SPORT CGROUP STOP: both loops above, around a change of
# the enforcement of SRV: an echo server on CLI's port 9999 (a port no rule allows inbound to
# SRV), the session to it from SRV (replies in $PG_TMP/echoes), binds of 5432 from CGROUP
# ($PG_TMP/binds), until STOP exists. Sets PG_SESSION_PID and PG_BINDER_PID; returns once the
# session carries data.
pg_through_start() {
	pg_listen "$2" tcp 9999
	pg_wait_for 10 pg_listening "$2" tcp 9999 || pg_fail_all "the echo server did not start" $PG_CASES
	pg_session_start "$1" "$3:9999" "$4" "$6" "$PG_TMP/echoes"
	PG_SESSION_PID=$PG_BG_PID
	pg_binds_start "$5" 5432 "$6" "$PG_TMP/binds"
	PG_BINDER_PID=$PG_BG_PID
	pg_wait_for 10 test -s "$PG_TMP/echoes"
	sleep 0.5
}

# Stop a process we started: TERM, then KILL after 5 s.
pg_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

pg_done() {
	echo "1..$pg_n"
	return $pg_failed
}

# --- Real peers and the event stream (added for e2e_nmap.sh, e2e_run.sh and demo/demo.sh) ---

# pg_in_bg NS CMD...: pg_bg inside a namespace. nsenter execs CMD, so PG_BG_PID is CMD's own
# PID: pg_stop and kill -9 reach the program, not a wrapper.
pg_in_bg() { local ns=$1; shift; pg_bg nsenter --net=/run/netns/"$ns" "$@"; }

# Stop many of our processes at once: TERM to all, then KILL what is left after 3 s. One
# pg_stop per listener would cost a poll interval each.
pg_stop_all() {
	local pid i alive
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		alive=0
		for pid; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null
	for pid; do wait "$pid" 2>/dev/null; done
	return 0
}

# pg_listen NS tcp|udp PORT...: an echo server per port, on every address of both families
# (one dual-stack socket). UDP answers each datagram, so that nmap can tell "open" from
# "open|filtered". All are stopped together at cleanup, each with the children it forked for
# its connections first: a connection whose client side vanished with its namespace never
# sees a FIN, and its child would echo into it forever (e2e_systemd's long-lived connection
# left one per run).
PG_LISTEN_PIDS=()
pg_listen_stop() {
	local pid
	for pid; do pkill -KILL -P "$pid" 2>/dev/null; done
	pg_stop_all "$@"
}
pg_listen() {
	local ns=$1 proto=$2 port
	shift 2
	[ ${#PG_LISTEN_PIDS[@]} -gt 0 ] || pg_defer 'pg_listen_stop "${PG_LISTEN_PIDS[@]}"'
	for port; do
		case $proto in
		tcp) nsenter --net=/run/netns/"$ns" socat \
			TCP6-LISTEN:"$port",ipv6only=0,reuseaddr,fork PIPE </dev/null >/dev/null 2>&1 & ;;
		udp) nsenter --net=/run/netns/"$ns" socat -T 1 \
			UDP6-RECVFROM:"$port",ipv6only=0,reuseaddr,fork PIPE </dev/null >/dev/null 2>&1 & ;;
		*) return 1 ;;
		esac
		PG_LISTEN_PIDS+=($!)
	done
}

# pg_listening NS tcp|udp PORT...: every port has a listening socket in NS.
pg_listening() {
	local ns=$1 proto=$2 port have
	shift 2
	have=$(nsenter --net=/run/netns/"$ns" ss -Hln --"$proto" | awk '{ n = split($4, a, ":"); print a[n] }')
	for port; do grep -qx "$port" <<<"$have" || return 1; done
}

# pg_probe NS tcp|udp ADDR PORT [SPORT]: send a token from NS (from source port SPORT if given)
# and succeed only if the echo server at ADDR PORT sends it back. Blocked traffic gets no
# answer; the wait for one is bounded: PG_PROBE_WAIT (4 s) to connect, or that long after a
# datagram (the echo server forks per connection or datagram, which takes a while on a loaded
# machine), and 15 s in all. A "blocked" that matters is proven by the drop's record too.
pg_probe() {
	local ns=$1 proto=$2 addr=$3 port=$4 sport=${5:-} token="pg-$RANDOM$RANDOM" got
	local w=${PG_PROBE_WAIT:-4}
	if [ "$proto" = tcp ]; then
		got=$(echo "$token" | timeout 15 nsenter --net=/run/netns/"$ns" \
			ncat -w "$w" ${sport:+-p "$sport"} "$addr" "$port" 2>/dev/null)
	else
		[[ $addr == *:* ]] && addr="[$addr]"
		got=$(echo "$token" | timeout 15 nsenter --net=/run/netns/"$ns" \
			socat -t "$w" - "UDP:$addr:$port${sport:+,sourceport=$sport}" 2>/dev/null)
	fi
	[ "$got" = "$token" ]
}

# pg_json_match FILE FILTER: print the JSON records of FILE (one per line) for which the jq
# expression FILTER is true. Lines that are not JSON are ignored here (pg_json_all checks them).
pg_json_match() { jq -cR "fromjson? | select($2)" "$1" 2>/dev/null; }

# pg_json_wait SECONDS FILE FILTER: wait (bounded) for a record matching FILTER; prints the first.
pg_json_wait() {
	local file=$2 filter=$3 out end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	while :; do
		out=$(pg_json_match "$file" "$filter" | head -n 1)
		[ -n "$out" ] && { echo "$out"; return 0; }
		[ "${EPOCHREALTIME/./}" -lt $end ] || return 1
		sleep 0.1
	done
}

# pg_json_all FILE: every non-empty line of FILE is one whole JSON object (JSON Lines).
pg_json_all() {
	jq -e -R -s 'split("\n") | map(select(length > 0) | fromjson | type == "object") | all' \
		"$1" >/dev/null 2>&1
}

# pg_nmap NS tcp|udp ADDR PORTS [NMAP-ARG...]: an nmap scan from NS (SYN scan, or UDP scan
# with a payload our echo servers answer), printing "PORT STATE" for every port. Fast: no host
# discovery, no DNS, few retries. -d3 keeps nmap from folding ports of one state into "Ignored
# State", so every port is listed.
pg_nmap() {
	local ns=$1 proto=$2 addr=$3 ports=$4 out
	shift 4
	local -a a=(-Pn -n -T4 --max-retries 3 --max-rtt-timeout 2000ms --host-timeout 80s -d3
		-p "$ports")
	[[ $addr == *:* ]] && a+=(-6)
	# Retries and round-trip allowance are sized for a loaded 2-core machine: an echo server
	# forks per connection or datagram and may answer late, and an open port must not be
	# mistaken for an unanswered one.
	if [ "$proto" = tcp ]; then
		a+=(-sS)
	else
		a+=(-sU --data-string portguard-probe)
	fi
	out=$(mktemp -p "${PG_TMP:-/tmp}" nmap.XXXXXX) || return 1
	if ! timeout 90 nsenter --net=/run/netns/"$ns" nmap "${a[@]}" "$@" -oG "$out" "$addr" \
		>/dev/null 2>&1; then
		rm -f "$out"
		return 1
	fi
	# Host: 198.18.0.1 ()	Ports: 443/open/tcp//https///, 5432/filtered/tcp//postgresql///
	grep -o 'Ports: [^	]*' "$out" | sed 's/^Ports: //' | tr ',' '\n' |
		awk -F/ 'NF > 2 { gsub(/ /, "", $1); print $1, $2 }'
	rm -f "$out"
}

# pg_allowed_in POLICY tcp|udp PORT...: of the PORTs, print those that POLICY lets in from any
# peer, judged from the normalized rules `portguard check` prints: deny and local win, then an
# allow in from any, then the inbound default (deny unless the policy says allow).
pg_allowed_in() {
	local policy=$1 proto=$2 norm
	shift 2
	norm=$("$PORTGUARD" check "$policy" 2>/dev/null) || return 1
	awk -v proto="$proto" -v ports="$*" '
	# Does "PROTOS PORTLIST" (tcp,udp 80,443-445) cover proto and port p?
	function covers(spec, p,    f, n, i, r, lh) {
		split(spec, f, " ")
		if (("," f[1] ",") !~ ("," proto ","))
			return 0
		n = split(f[2], r, ",")
		for (i = 1; i <= n; i++) {
			if (split(r[i], lh, "-") == 1)
				lh[2] = lh[1]
			if (p + 0 >= lh[1] + 0 && p + 0 <= lh[2] + 0)
				return 1
		}
		return 0
	}
	# The peers of a rule: the word after from/to, or any.
	function peers(    i) {
		for (i = 1; i < NF; i++)
			if ($i == "from" || $i == "to")
				return $(i + 1)
		return "any"
	}
	{ sub(/#.*/, "") }
	$1 == "default" && $2 == "in" { def = $3 }
	$1 == "allow" && $2 == "in" && peers() == "any" { allow[na++] = $3 " " $4 }
	$1 == "deny" && $2 == "in" && peers() == "any" { block[nb++] = $3 " " $4 }
	$1 == "local" { block[nb++] = $2 " " $3 }
	END {
		n = split(ports, want, " ")
		for (k = 1; k <= n; k++) {
			p = want[k]; ok = (def == "allow")
			for (i = 0; i < na; i++) if (covers(allow[i], p)) ok = 1
			for (i = 0; i < nb; i++) if (covers(block[i], p)) ok = 0
			if (ok) print p
		}
	}' <<<"$norm"
}

# --- What status says against what the kernel shows (added for e2e_failopen.sh, e2e_faults.sh) ---

# pg_status_agrees NS IFACE PIN: `portguard status` and portguard_enforcing{iface=IFACE} agree
# with the kernel: IFACE is reported enforcing iff XDP on it (ip link) runs the program of the
# pinned link (bpftool); status exits 0 only then, 1 only with nothing pinned and nothing
# attached, 3 when something is pinned that the kernel does not run. Sets PG_STATUS_RC.
pg_status_agrees() {
	local ns=$1 ifc=$2 pin=$3 id lp m inc attached=0 prom
	nsenter --net=/run/netns/"$ns" "$PORTGUARD" status --pin-dir "$pin" >/dev/null 2>&1
	PG_STATUS_RC=$?
	id=$(nsenter --net=/run/netns/"$ns" ip -d link show dev "$ifc" 2>/dev/null |
		grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$')
	lp=$(bpftool -j link show pinned "$pin/links/xdp-$ifc" 2>/dev/null | grep -o '"prog_id":[0-9]*' | cut -d: -f2)
	prom=$(nsenter --net=/run/netns/"$ns" "$PORTGUARD" status --prometheus --pin-dir "$pin" 2>/dev/null)
	m=$(awk -v k="portguard_enforcing{iface=\"$ifc\"}" 'index($0, k) == 1 { print $2 }' <<<"$prom")
	inc=$(awk 'index($0, "portguard_enforcing{load=\"incomplete\"}") == 1 { print $2 }' <<<"$prom")
	[ -n "$id" ] && [ "$id" = "$lp" ] && attached=1
	pg_log "status $PG_STATUS_RC, xdp '$id', link prog '$lp', enforcing{$ifc} '$m', incomplete '$inc'"
	case $PG_STATUS_RC in
	0) [ $attached = 1 ] && [ "$m" = 1 ] && [ -z "$inc" ] ;;
	1) [ -z "$id" ] && [ ! -e "$pin/pg_active" ] ;;
	3) { [ "$m" = 1 ] && [ $attached = 1 ] && [ -n "$inc" ]; } || { [ "$m" != 1 ] && [ $attached = 0 ]; } ;;
	*) false ;;
	esac
}

# pg_interrupt SIG SECONDS CMD...: start CMD (nsenter execs: the signal reaches the program), send
# it SIG after SECONDS, and wait for it to end.
pg_interrupt() {
	local sig=$1 t=$2 pid
	shift 2
	"$@" &
	pid=$!
	sleep "$t"
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# --- Sinks that stop answering (e2e_sinks.sh, e2e_faults.sh) ---------------------------------

# pg_stall_pipe PATH: a FIFO at PATH that this shell holds open for reading (fd 8) and never
# reads: once its 64 KiB are full, every write to it would block. pg_unstall_pipe lets go.
pg_stall_pipe() { rm -f "$1" && mkfifo "$1" && exec 8<>"$1"; }
pg_unstall_pipe() { exec 8<&-; }

# pg_stall_syslog PATH: a datagram socket at PATH whose reader is stopped (SIGSTOP): it queues
# max_dgram_qlen datagrams (512 by default), then every send would wait. PG_STALL_PID is the
# reader (continued at cleanup, and by pg_unstall_syslog).
pg_stall_syslog() {
	pg_bg socat -u UNIX-RECV:"$1" /dev/null
	PG_STALL_PID=$PG_BG_PID
	pg_defer "kill -CONT $PG_STALL_PID"
	pg_wait_for 5 test -S "$1" && kill -STOP "$PG_STALL_PID"
}
pg_unstall_syslog() { kill -CONT "$PG_STALL_PID" 2>/dev/null; }

# pg_stall_fs DIR: an ext4 filesystem of our own (an image on a loop device, detached when it
# is unmounted) at DIR. pg_freeze DIR makes it a disk that does not answer: every write to a
# file on it waits (in the kernel, uninterruptibly) until pg_thaw DIR. Thawed and unmounted at
# cleanup. Needs mkfs.ext4 and fsfreeze.
pg_stall_fs() {
	local dir=$1 img=$PG_TMP/stall-fs.img
	truncate -s 16M "$img" && mkfs.ext4 -q -F "$img" >/dev/null 2>&1 && mkdir -p "$dir" &&
		mount -o loop "$img" "$dir" || return 1
	pg_defer "umount -l '$dir'"
	pg_defer "fsfreeze -u '$dir'"
}
pg_freeze() { fsfreeze -f "$1"; }
pg_thaw() { fsfreeze -u "$1" 2>/dev/null; }

# pg_udp_burst NS ADDR FIRST LAST: one datagram from NS to each port FIRST..LAST (bounded: 60 s).
pg_udp_burst() {
	timeout 60 nsenter --net=/run/netns/"$1" bash -c \
		'for ((p = $2; p <= $3; p++)); do printf x >"/dev/udp/$1/$p"; done' send "$2" "$3" "$4"
}

# pg_gone PID SECONDS: PID exits within SECONDS.
pg_gone() { timeout "$2" tail --pid="$1" -f /dev/null; ! kill -0 "$1" 2>/dev/null; }

# pg_metric NS PORT NAME: the value of sample NAME at http://127.0.0.1:PORT/metrics in NS.
pg_metric() {
	pg_in "$1" curl -sf -m 5 "http://127.0.0.1:$2/metrics" | awk -v m="$3" '$1 == m { print $2 }'
}
