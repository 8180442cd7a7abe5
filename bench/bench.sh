#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: portguard side by side with its peers and with the bare limit (issue 5).
# Writes bench/results.md and bench/results.png; the raw numbers stay in $B/raw/.
#
# Everything runs inside a new network and mount namespace (re-executed under unshare, as
# tests/run.sh does): the veths, the namespaces, the nftables rulesets and the bpffs mounts
# it makes cannot reach the host's, and a trap removes them also on failure or interrupt.
# The only thing outside is a child cgroup for the socket hooks, removed the same way.
# A benchmark reports; it does not pass or fail: a missed target is written down, and this
# script exits 0 unless it could not run at all.
#
# Knobs (environment): BENCH_QUICK=1 (a fast pass: fewer rounds, shorter runs),
# BENCH_ROUNDS, BENCH_REPEAT (item 1), BENCH_SECONDS (per drop-rate run), BENCH_OUT (where
# results.md and results.png go; default bench/), BENCH_REPORT_ONLY=1 (rewrite them from the
# raw numbers of the last run), BENCH_ITEMS (which items to run; default "1 2 4 5 6").
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
B=${B:-$BUILD/bench}
PORTGUARD=${PORTGUARD:-$BUILD/portguard}
OUT=${BENCH_OUT:-$here}

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF, namespaces, cgroups); nothing measured"
	exit 0
fi
if [ -z "${PG_BENCH_UNSHARED:-}" ]; then
	export PG_BENCH_UNSHARED=1
	exec unshare --net --mount --propagation private "$0" "$@"
fi
ip link set lo up

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1} REPEAT=${BENCH_REPEAT:-1000000} SECONDS_PER_RUN=${BENCH_SECONDS:-0.3}
	SOCK_ITERS=20000
else
	ROUNDS=${BENCH_ROUNDS:-3} REPEAT=${BENCH_REPEAT:-10000000} SECONDS_PER_RUN=${BENCH_SECONDS:-0.5}
	SOCK_ITERS=100000
fi
SIZES="10 1000 10000"
BLOCKLIST=${BENCH_BLOCKLIST:-100000} # prefixes of the blocklist workload
# Everything measured runs on the last CPU; the other one is left to the rest of the machine.
NCPU=$(nproc)
CPU=$((NCPU - 1))
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

TMP=$(mktemp -d /tmp/portguard-bench.XXXXXX)
RAW=$B/raw
mkdir -p "$RAW"
ID="pgb$$"
NS_S=$ID-s NS_R=$ID-r
CG=""
BG_PIDS=()
cleanups=()
defer() { cleanups+=("$*"); }
# stop PID: a process we started; TERM, then KILL after 5 s.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
cleanup() {
	local i pid
	for pid in "${BG_PIDS[@]}"; do stop "$pid"; done
	for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
		eval "${cleanups[$i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
in_s() { nsenter --net=/run/netns/"$NS_S" "$@"; }
in_r() { nsenter --net=/run/netns/"$NS_R" "$@"; }

# xdp-filter's BPF object ships in libxdp1 (pulled in by xdp-tools).
XF=$(dpkg -L libxdp1 xdp-tools 2>/dev/null | grep '/xdpfilt_dny_all\.o$' | head -1)
[ -n "$XF" ] && [ -f "$XF" ] || XF=""
PG_OK=0
"$B/xdpload" --load-time 10 --rounds 1 >/dev/null 2>&1 && PG_OK=1

########################################################################################
# Item 1 (and 3): per-packet cost with BPF_PROG_TEST_RUN.
########################################################################################
item1() {
	log "item 1: per-packet cost, $ROUNDS rounds x $REPEAT packets, CPU $CPU"
	# With the blocklist workload (issue 15): the same policies and frames plus a set of
	# $BLOCKLIST prefixes denied on every TCP and UDP port, at the smallest and largest
	# size, in the same rounds as the rest.
	"$B/xdpcost" --rules "${SIZES// /,}" --blocklist "$BLOCKLIST" --repeat "$REPEAT" \
		--rounds "$ROUNDS" --cpu "$CPU" ${XF:+--xdp-filter "$XF"} --tsv "$RAW/cost.tsv" \
		--rounds-tsv "$RAW/cost-rounds.tsv" >"$RAW/cost.log" 2>&1 ||
		log "item 1: xdpcost failed (see $RAW/cost.log)"
	grep -h '^# verdict' "$RAW/cost.log" >"$RAW/cost-verdicts.txt" || true
}

########################################################################################
# Item 2 (and 3): drop rate on a veth path.
########################################################################################
BLOCKED_UDP=9 # discard: no rule of any policy here allows it, nothing listens on it
setup_net() {
	ip netns add "$NS_S" && defer "ip netns del $NS_S" || return 1
	ip netns add "$NS_R" && defer "ip netns del $NS_R" || return 1
	ip link add vS netns "$NS_S" type veth peer name vR netns "$NS_R" || return 1
	# A spare pair in the sender's namespace that carries no traffic: livegen keeps its
	# program attached there (--hold), so that its calls do not wait out two RCU grace
	# periods each (bench/livegen.c).
	ip -n "$NS_S" link add vH0 type veth peer name vH1 || return 1
	ip -n "$NS_S" link set lo up
	ip -n "$NS_R" link set lo up
	ip -n "$NS_S" addr add 198.18.0.1/24 dev vS
	ip -n "$NS_R" addr add 198.18.0.2/24 dev vR
	ip -n "$NS_S" link set vS up
	ip -n "$NS_R" link set vR up
	SMAC=$(ip -n "$NS_S" -j link show vS | sed 's/.*"address":"\([^"]*\)".*/\1/')
	RMAC=$(ip -n "$NS_R" -j link show vR | sed 's/.*"address":"\([^"]*\)".*/\1/')
	FRAME=(--smac "$SMAC" --dmac "$RMAC" --saddr 198.18.0.1 --daddr 198.18.0.2
		--dport "$BLOCKED_UDP" --len 60)
	GEN_EXTRA=()
	"$B/livegen" "${FRAME[@]}" --trafgen >"$TMP/udp.trafgen"
}

# "RX UDP": packets the receiving veth received, and datagrams that reached UDP in the
# receiver (delivered, no port, or errors), in one look (/proc/net is the reader's netns).
rx_counters() {
	in_r awk '$1 == "vR:" { rx = $3 } /^Udp:/ { if (h) u = $2 + $3 + $4; h = 1 }
		END { print rx + 0, u + 0 }' /proc/net/dev /proc/net/snmp
}

nft_ports() { # the allowed TCP ports of the N-rule policy, comma-separated
	local n=$1 i out=22
	for ((i = 1; i < n; i++)); do out+=",$((10000 + i))"; done
	echo "$out"
}

# setup_recv NAME RULES: the receiver's filter, for both paths. The stack receivers get the
# pass-through XDP program only while the XDP-frame path runs (see pass.bpf.c).
setup_recv() {
	local name=$1 n=$2 i
	case $name in
	none) ;;
	portguard) in_r "$B/xdpload" --dev vR --prog portguard --rules "$n" ;;
	xdp-drop) in_r "$B/xdpload" --dev vR --prog floor ;;
	xdp-filter) in_r "$B/xdpload" --dev vR --prog xdp-filter --rules "$n" --xdp-filter "$XF" ;;
	nft-netdev)
		in_r nft -f - <<-EOF
		table netdev bench {
			chain in { type filter hook ingress device "vR" priority 0; udp dport $BLOCKED_UDP drop; }
		}
		EOF
		;;
	nft-inet)
		in_r nft -f - <<-EOF
		table inet bench {
			chain in { type filter hook input priority 0; udp dport $BLOCKED_UDP drop; }
		}
		EOF
		;;
	iptables-raw) in_r iptables -t raw -A PREROUTING -p udp --dport "$BLOCKED_UDP" -j DROP ;;
	nft-linear)
		# The policy as a default-deny chain of one accept per allowed port: the blocked
		# datagram is compared against every rule before the final drop.
		{
			echo "table netdev bench {"
			echo "  chain in { type filter hook ingress device \"vR\" priority 0;"
			echo "    tcp dport 22 accept"
			for ((i = 1; i < n; i++)); do echo "    tcp dport $((10000 + i)) accept"; done
			echo "    drop; }"
			echo "}"
		} >"$TMP/linear.nft"
		in_r nft -f "$TMP/linear.nft"
		;;
	nft-set)
		in_r nft -f - <<-EOF
		table netdev bench {
			set allowed { type inet_service; elements = { $(nft_ports "$n") } }
			chain in { type filter hook ingress device "vR" priority 0; tcp dport @allowed accept; drop; }
		}
		EOF
		;;
	*) return 1 ;;
	esac
}

teardown_recv() {
	in_r "$B/xdpload" --dev vR --detach >/dev/null 2>&1
	in_r nft flush ruleset >/dev/null 2>&1
	in_r iptables -t raw -F >/dev/null 2>&1
	return 0
}

is_stack() { case $1 in none | nft-* | iptables-*) return 0 ;; esac; return 1; }

# Run time so far, in seconds, of this CPU's ksoftirqd: receive work the kernel deferred to
# it is work of the path under test that the sender's own CPU time does not include.
KSOFTIRQD=$(pgrep -x "ksoftirqd/$CPU" | head -1)
ksoftirqd_time() {
	[ -n "$KSOFTIRQD" ] && awk '{ printf "%.6f", $1 / 1e9 }' "/proc/$KSOFTIRQD/schedstat" 2>/dev/null ||
		echo 0
}

# The XDP-frame path once more with the receiver apart: its veth's NAPI threaded (a kthread,
# napi/vR-N, instead of softirq on the sender's core) and that thread pinned to another CPU,
# so that the receiver's own CPU time per packet is measured, whatever bounds the generator.
# Needs a second CPU and a kernel with threaded NAPI (5.12); without them the path is left
# out. OTHER_CPU is the receiver's.
OTHER_CPU=$((CPU > 0 ? CPU - 1 : 1))
napi_threaded() { # on|off: vR's NAPI as a kthread pinned to OTHER_CPU, or back in softirq
	local v=0 pid
	[ "$1" = on ] && v=1
	ip netns exec "$NS_R" sh -c "echo $v >/sys/class/net/vR/threaded" 2>/dev/null || return 1
	[ $v = 0 ] && return 0
	for pid in $(pgrep '^napi/vR-'); do taskset -pc "$OTHER_CPU" "$pid" >/dev/null || return 1; done
	[ -n "$(pgrep '^napi/vR-')" ]
}
napi_time() { # seconds of CPU the vR NAPI threads have run
	local pid t=0
	for pid in $(pgrep '^napi/vR-'); do
		t=$(awk -v t="$t" '{ printf "%.6f", t + $1 / 1e9 }' "/proc/$pid/schedstat" 2>/dev/null || echo "$t")
	done
	echo "$t"
}

# measure PATH NAME RULES ROUND [OUTFILE]: one run; one line of rates.tsv. PATH xdpt is the
# XDP-frame path with the receiver's NAPI threaded on OTHER_CPU: its rate is per second of
# that thread's CPU time, the receiver's own.
#
# The rate is per second of CPU time on the pinned core: the sending thread's own (which
# includes the receiver's softirq work, run on this core when the sender flushes a batch)
# plus what this core's ksoftirqd did meanwhile. On a machine shared with other work that
# is far steadier than wall time, which counts the time the sender waited for the CPU;
# the wall-clock rate is kept in the raw numbers.
measure() {
	local path=$1 name=$2 n=$3 round=$4 outfile=${5:-$RAW/rates.tsv}
	local r0 r1 u0 u1 k0 k1 n0 n1 out sent secs cpu
	if [ "$path" != skb ] && is_stack "$name"; then
		in_r "$B/xdpload" --dev vR --prog pass || return 1
	fi
	if [ "$path" = xdpt ] && ! napi_threaded on; then
		napi_threaded off
		is_stack "$name" && in_r "$B/xdpload" --dev vR --detach
		log "$name/$n/xdpt: no threaded NAPI on vR: path left out"
		return 1
	fi
	read -r r0 u0 < <(rx_counters)
	k0=$(ksoftirqd_time)
	n0=$(napi_time)
	if [ "$path" != skb ]; then
		out=$(in_s "$B/livegen" --dev vS --hold vH0 "${FRAME[@]}" "${GEN_EXTRA[@]}" \
			--seconds "$SECONDS_PER_RUN" --cpu "$CPU" 2>&1)
		if [ -z "${HOLD_SAID:-}" ] && grep -q "cannot keep the generator" <<<"$out"; then
			HOLD_SAID=1
			log "$(grep -m1 "cannot keep the generator" <<<"$out")"
		fi
		sent=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' <<<"$out")
		secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$out")
		cpu=$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$out")
	else
		# trafgen: one process, pinned to the same CPU, qdisc bypassed (veth has none
		# anyway), socket memory sysctls left alone; SIGINT ends it and it reports. Its
		# CPU time comes from bash's `time` (the rusage of the children it waited for).
		{
			TIMEFORMAT='%U %S'
			time in_s timeout -s INT -k 5 "$SECONDS_PER_RUN" taskset -c "$CPU" trafgen \
				--dev vS --conf "$TMP/udp.trafgen" --cpus 1 --no-sock-mem -n 1000000000 \
				>"$TMP/trafgen.out" 2>&1
		} 2>"$TMP/trafgen.time"
		out=$(tr -d '\r' <"$TMP/trafgen.out")
		sent=$(sed -n 's/^ *\([0-9]*\) packets outgoing.*/\1/p' <<<"$out" | head -1)
		secs=$(sed -n 's/^ *\([0-9]*\) sec, *\([0-9]*\) usec on CPU.*/\1 \2/p' <<<"$out" |
			awk '{ s += $1 + $2 / 1e6 } END { if (NR) printf "%.6f", s }')
		cpu=$(awk '{ printf "%.6f", $1 + $2 }' "$TMP/trafgen.time")
	fi
	read -r r1 u1 < <(rx_counters)
	k1=$(ksoftirqd_time)
	n1=$(napi_time)
	if [ "$path" = xdpt ]; then
		napi_threaded off
		# The receiver's own time: its NAPI thread's, nothing of the sender's core.
		cpu=$(awk -v a="$n0" -v b="$n1" 'BEGIN { printf "%.6f", b - a }')
		k0=0 k1=0
	fi
	if [ "$path" != skb ] && is_stack "$name"; then
		in_r "$B/xdpload" --dev vR --detach
	fi
	if [ -z "$sent" ] || [ -z "$secs" ] || [ -z "$cpu" ]; then
		log "$name/$n/$path: no result: $(tr '\n' ' ' <<<"$out" | cut -c1-200)"
		return 1
	fi
	# path receiver rules round sent received wall_s cpu_s pps(cpu) reached_udp pps(wall)
	# ksoftirqd_s
	awk -v p="$path" -v r="$name" -v n="$n" -v k="$round" -v s="$sent" -v rx=$((r1 - r0)) \
		-v t="$secs" -v c="$cpu" -v ks="$(awk -v a="$k0" -v b="$k1" 'BEGIN { print b - a }')" \
		-v u=$((u1 - u0)) 'BEGIN {
			c += ks
			pc = c > 0 ? rx / c : 0
			pw = t > 0 ? rx / t : 0
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.6f\t%.0f\t%s\t%.0f\t%.6f\n", p, r, n, k, s, rx,
				t, c, pc, u, pw, ks }' >>"$outfile"
}

item2() {
	local -a runs=() order
	local round i j t run name n path
	log "item 2/3: drop rate on a veth path, $ROUNDS rounds, ${SECONDS_PER_RUN}s per run"
	setup_net || { log "item 2: failed to create the veth pair"; return 1; }
	: >"$RAW/rates.tsv"
	for name in none xdp-drop nft-netdev nft-inet iptables-raw; do runs+=("$name:10"); done
	[ -n "$XF" ] && runs+=("xdp-filter:10")
	for n in $SIZES; do
		[ "$PG_OK" = 1 ] && runs+=("portguard:$n")
		runs+=("nft-linear:$n" "nft-set:$n")
	done
	have trafgen || log "item 2: trafgen not installed (make deps): skb path left out"
	for ((round = 1; round <= ROUNDS; round++)); do
		# A new order every round (seeded, so a rerun repeats it).
		order=("${runs[@]}")
		RANDOM=$round
		for ((i = ${#order[@]} - 1; i > 0; i--)); do
			j=$((RANDOM % (i + 1)))
			t=${order[$i]} order[$i]=${order[$j]} order[$j]=$t
		done
		for run in "${order[@]}"; do
			name=${run%%:*} n=${run##*:}
			if ! setup_recv "$name" "$n" >"$TMP/setup.log" 2>&1; then
				log "item 2: failed to set up $name ($n rules): $(head -c 300 "$TMP/setup.log")"
				teardown_recv
				continue
			fi
			# Alternate which path goes first.
			if ((round % 2)); then set -- xdp skb; else set -- skb xdp; fi
			for path in "$@" xdpt; do
				[ "$path" = skb ] && ! have trafgen && continue
				[ "$path" = xdpt ] && { [ "$NCPU" -lt 2 ] || [ "$n" != 10 ]; } && continue
				measure "$path" "$name" "$n" "$round"
			done
			teardown_recv
		done
		log "item 2/3: round $round/$ROUNDS done"
	done
}

########################################################################################
# Item 4: socket-hook overhead.
########################################################################################
SOCK_POLICY_TEXT='# bench: socket hooks. The loops bind 127.0.0.1:20000, connect UDP to 127.0.0.1:20001,
# send UDP to 127.0.0.1:20002 and [::1]:20002, and to 1024 addresses of 127.0.0.0/8 on 20003:
# each allowed by a rule naming its peer, as a DNS or NTP client rule would (the peer is
# looked up, not only the port).
default in deny
default out deny
allow in tcp 22
allow in tcp 20000
allow out udp 20001 to 127.0.0.1
allow out udp 20002 to 127.0.0.1, ::1
allow out udp 20003 to 127.0.0.0/8
allow out tcp 443
local tcp 5432
'
item4() {
	local root round cfg out pid i
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$root" ]; then
		log "item 4: no cgroup2 mount: skipped"
		return
	fi
	CG=$root/$ID-sock
	mkdir "$CG" || { log "item 4: failed to create $CG"; return; }
	defer "rmdir '$CG'"
	mkdir -p "$TMP/bpffs"
	mount -t bpf bpf "$TMP/bpffs" && defer "umount -l '$TMP/bpffs'"
	printf '%s' "$SOCK_POLICY_TEXT" >"$TMP/sock.policy"
	: >"$RAW/sock.tsv"
	log "item 4: socket hooks, $ROUNDS rounds x $SOCK_ITERS iterations"
	for ((round = 1; round <= ROUNDS; round++)); do
		for cfg in none trivial portguard; do
			pid=""
			case $cfg in
			portguard)
				[ "$PG_OK" = 1 ] || continue
				"$PORTGUARD" run "$TMP/sock.policy" --cgroup "$CG" \
					--pin-dir "$TMP/bpffs/pg" >"$TMP/sock-run.log" 2>&1 &
				pid=$!
				BG_PIDS+=("$pid")
				# Wait (bounded) until the hooks are attached to the cgroup: loading and
				# verifying them took 4.8 s on the loaded 2-CPU machine (2026-12-01).
				for ((i = 0; i < 300; i++)); do
					bpftool cgroup show "$CG" 2>/dev/null | grep -q connect4 && break
					kill -0 "$pid" 2>/dev/null || break
					sleep 0.1
				done
				if ! bpftool cgroup show "$CG" 2>/dev/null | grep -q connect4; then
					log "item 4: portguard run attached no hooks: $(head -c 300 "$TMP/sock-run.log")"
					stop "$pid"
					continue
				fi
				;;
			esac
			out=$("$B/sockbench" --cgroup "$CG" --cpu "$CPU" --iters "$SOCK_ITERS" \
				$([ $cfg = trivial ] && echo --trivial) 2>&1)
			[ -n "$pid" ] && stop "$pid"
			if ! grep -q bind_ns <<<"$out"; then
				log "item 4: $cfg: $out"
				continue
			fi
			# config round bind_ns connect_ns bind_prog_ns connect_prog_ns sendmsg_ns
			# sendmsg_prog_ns sendmsg6_ns sendmsg6_prog_ns sendmsg_spread_ns
			# sendmsg_spread_prog_ns ("-": not measured)
			echo "$out" | awk -v c=$cfg -v r=$round '
				function f(k) { return v[k] == "" ? "-" : v[k] }
				{
				for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
				printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c, r,
					v["bind_ns"], v["connect_ns"], f("bind_prog_ns"),
					f("connect_prog_ns"), f("sendmsg_ns"), f("sendmsg_prog_ns"),
					f("sendmsg6_ns"), f("sendmsg6_prog_ns"), f("sendmsg_spread_ns"),
					f("sendmsg_spread_prog_ns") }' >>"$RAW/sock.tsv"
		done
	done
}

########################################################################################
# Item 5: the event stream under a flood of violations.
########################################################################################
item5() {
	log "item 5: events under flood"
	: >"$RAW/events.tsv"
	: >"$RAW/events-run.tsv"
	[ "$PG_OK" = 1 ] || { log "item 5: portguard not built: skipped"; return; }
	[ -n "${SMAC:-}" ] || setup_net || return
	mountpoint -q "$TMP/bpffs" || {
		mkdir -p "$TMP/bpffs"
		mount -t bpf bpf "$TMP/bpffs" && defer "umount -l '$TMP/bpffs'"
	}
	"$B/xdpload" --policy 10 >"$TMP/ev.policy"
	local round flood ev evs
	# Two rounds at most: each run starts and stops `portguard run`, which takes seconds.
	# Two floods: one source (the per-(source, port, reason) rate limit absorbs the repeats),
	# and a new source for every frame (the generator rewrites the low 16 bits of the
	# address: every packet wants an event, only the global budget and the ring bound them).
	# On and off run back to back, on first in odd rounds and off first in even ones: the
	# first flood of a pair ran up to 1.25x faster or slower than the second, whichever it
	# was (2026-12-02, unexplained), and with "on" always first that fell on "on" alone.
	for ((round = 1; round <= (ROUNDS < 2 ? ROUNDS : 2); round++)); do
		evs="on off"
		((round % 2)) || evs="off on"
		for flood in one-source new-source; do
			for ev in $evs; do
				run_flood "$round" "$flood" "$ev"
			done
		done
	done
}

# run_flood ROUND FLOOD on|off: `portguard run --json` (with --no-events for off) on the
# receiver, its stdout into a pipe read by a counter; the flood; the kernel's counters from
# the pinned maps; run stopped. One line of events.tsv, one of events-run.tsv.
run_flood() {
	local round=$1 flood=$2 ev=$3 pin=$TMP/bpffs/ev pid cnt i v s
	rm -f "$TMP/ev.fifo" "$TMP/ev.count"
	mkfifo "$TMP/ev.fifo"
	# The counter: violation records, and the sum of the counts of "suppressed" records.
	# It and run go on the other CPU (the flood measures what events cost the core that
	# takes the packets; run's own time is taken apart): left to the scheduler, either
	# would at times run on the measured core between the generator's calls and evict its
	# caches, which moved the new-source flood by up to 20% between runs (2026-12-02).
	# With one CPU there is no other: both are left where they are.
	local away=()
	[ "$NCPU" -gt 1 ] && away=(taskset -c "$OTHER_CPU")
	"${away[@]}" awk '/"event_type":"violation"/ { v++ }
	     /"event_type":"suppressed"/ { if (match($0, /"count":[0-9]+/)) s += substr($0, RSTART + 8, RLENGTH - 8) }
	     END { printf "%d %d\n", v, s }' <"$TMP/ev.fifo" >"$TMP/ev.count" &
	cnt=$!
	BG_PIDS+=("$cnt")
	# taskset and nsenter exec: $! is portguard itself (a shell function would put a subshell
	# between, and signals would never reach it). --no-cgroup: XDP only; socket hooks are
	# only ever attached to the child cgroup of item 4.
	"${away[@]}" nsenter --net=/run/netns/"$NS_R" "$PORTGUARD" run "$TMP/ev.policy" --iface vR --no-cgroup \
		--json --pin-dir "$pin" $([ "$ev" = off ] && echo --no-events) \
		>"$TMP/ev.fifo" 2>"$TMP/ev-run.log" &
	pid=$!
	BG_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -e "$pin/pg_event_stats" ] && ip -n "$NS_R" link show vR 2>/dev/null | grep -q 'prog/xdp' && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ip -n "$NS_R" link show vR 2>/dev/null | grep -q 'prog/xdp'; then
		log "item 5: portguard run did not start: $(head -c 300 "$TMP/ev-run.log")"
		stop "$pid"
		stop "$cnt"
		return
	fi
	GEN_EXTRA=()
	[ "$flood" = new-source ] && GEN_EXTRA=(--vary-src)
	local rc0 rc1
	rc0=$(proc_cpu "$pid")
	measure xdp "$flood-$ev" 10 "$round" "$RAW/events.tsv"
	rc1=$(proc_cpu "$pid")
	GEN_EXTRA=()
	sleep 1 # let run drain the ring and write its suppressed record
	bpftool -j map dump pinned "$pin/pg_event_stats" >"$TMP/ev-stats.json" 2>/dev/null
	bpftool -j map dump pinned "$pin/pg_reason_stats" >"$TMP/ev-reasons.json" 2>/dev/null
	kill -INT "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	stop "$pid"
	# The counter ends at end of file, once run is gone; bounded all the same.
	for ((i = 0; i < 50; i++)); do kill -0 "$cnt" 2>/dev/null || break; sleep 0.1; done
	stop "$cnt"
	in_r "$B/xdpload" --dev vR --detach >/dev/null 2>&1
	read -r v s <"$TMP/ev.count" 2>/dev/null || { v=0 s=0; }
	# Per-CPU values summed: pg_event_stats[0..3], then the drop reasons' packets.
	local k
	k=$(awk 'BEGIN { RS = "\"key\":" } NR > 1 {
		k = $0; sub(/[^0-9].*/, "", k); if (k == "") next
		s = 0
		while (match($0, /"value":[0-9]+|"packets":[0-9]+/)) {
			x = substr($0, RSTART, RLENGTH); sub(/.*:/, "", x); s += x
			$0 = substr($0, RSTART + RLENGTH)
		}
		printf "%s=%s ", k, s }' "$TMP/ev-stats.json")
	local viol
	viol=$(awk -v max="$(pg_drop_max)" 'BEGIN { RS = "\"key\":" } NR > 1 {
		k = $0; sub(/[^0-9].*/, "", k); if (k == "" || k + 0 >= max) next
		while (match($0, /"packets":[0-9]+/)) {
			x = substr($0, RSTART, RLENGTH); sub(/.*:/, "", x); s += x
			$0 = substr($0, RSTART + RLENGTH)
		}
	} END { print s + 0 }' "$TMP/ev-reasons.json")
	# flood events round records suppressed_in_records kernel_stats violations run_cpu_s
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$flood" "$ev" "$round" "${v:-0}" "${s:-0}" "$k" \
		"$viol" "$(awk -v a="$rc0" -v b="$rc1" 'BEGIN { printf "%.3f", b - a }')" >>"$RAW/events-run.tsv"
}

# Seconds of CPU (user and system) process PID has used so far, 0 if it is gone.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}

# PG_R_DROP_MAX from include/portguard.h: the number of drop reasons.
pg_drop_max() {
	awk '/^enum pg_reason/ { on = 1; n = 0; next }
	     on && /PG_R_DROP_MAX/ { print n; exit }
	     on && /^[ \t]+PG_R_[A-Z_]+/ { n++ }' "$top/include/portguard.h"
}

########################################################################################
# Item 6: policy load and reload.
########################################################################################
item6() {
	log "item 6: policy load time"
	: >"$RAW/load.txt"
	[ "$PG_OK" = 1 ] || return
	# The library path: parse, compile, write the maps (bench/pgglue.c over portguard's code).
	"$B/xdpload" --load-time 10000 --rounds 5 >"$RAW/load.txt" 2>&1
	# ... and the 10-rule policy with the blocklist: kinds bl-load, bl-reload.
	PGG_BLOCKLIST=$BLOCKLIST "$B/xdpload" --load-time 10 --rounds 5 2>&1 |
		sed 's/^\(load\|reload\) /bl-\1 /' >>"$RAW/load.txt"
	# The command line an operator uses, wall time, BPF loading and attaching included: load
	# onto a veth of this run's own namespace (XDP only), reload twice, unload.
	mountpoint -q "$TMP/bpffs" || {
		mkdir -p "$TMP/bpffs"
		mount -t bpf bpf "$TMP/bpffs" && defer "umount -l '$TMP/bpffs'"
	}
	ip link add pgbl0 type veth peer name pgbl1 || return
	defer "ip link del pgbl0"
	ip link set pgbl0 up
	ip link set pgbl1 up
	"$B/xdpload" --policy 10000 >"$TMP/p10k.policy"
	PGG_BLOCKLIST=$BLOCKLIST "$B/xdpload" --policy 10 >"$TMP/pbl.policy"
	local round i t pin=$TMP/bpffs/load
	for ((round = 1; round <= ROUNDS; round++)); do
		t=$(cli_time "$PORTGUARD" load "$TMP/pbl.policy" --iface pgbl0 --no-cgroup --pin-dir "$pin") &&
			echo "bl-cli-load total=$t" >>"$RAW/load.txt"
		for ((i = 0; i < 2; i++)); do
			t=$(cli_time "$PORTGUARD" reload "$TMP/pbl.policy" --pin-dir "$pin") &&
				echo "bl-cli-reload total=$t" >>"$RAW/load.txt"
		done
		cli_time "$PORTGUARD" unload --pin-dir "$pin" >/dev/null
		t=$(cli_time "$PORTGUARD" load "$TMP/p10k.policy" --iface pgbl0 --no-cgroup --pin-dir "$pin") &&
			echo "cli-load total=$t" >>"$RAW/load.txt"
		for ((i = 0; i < 2; i++)); do
			t=$(cli_time "$PORTGUARD" reload "$TMP/p10k.policy" --pin-dir "$pin") &&
				echo "cli-reload total=$t" >>"$RAW/load.txt"
		done
		t=$(cli_time "$PORTGUARD" unload --pin-dir "$pin") &&
			echo "cli-unload total=$t" >>"$RAW/load.txt"
	done
	"$PORTGUARD" unload --pin-dir "$pin" >/dev/null 2>&1
	return 0
}

########################################################################################
# Item 8: the tc ingress fallback next to XDP (issue 13), BPF_PROG_TEST_RUN.
########################################################################################
item8() {
	log "item 8: tc ingress against XDP, $ROUNDS rounds x $REPEAT packets, CPU $CPU"
	"$B/ingresscost" --repeat "$REPEAT" --rounds "$ROUNDS" --cpu "$CPU" --tsv "$RAW/ingress.tsv" \
		>"$RAW/ingress.log" 2>&1 || log "item 8: ingresscost failed (see $RAW/ingress.log)"
}

# cli_time CMD...: wall seconds of a command that must succeed; its output goes to the log.
cli_time() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >>"$RAW/load-cli.log" 2>&1 || { log "item 6: failed: $*: $(tail -1 "$RAW/load-cli.log")"; return 1; }
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}

########################################################################################
# Item 7: results.md and the chart.
########################################################################################
. "$here/report.sh"

if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
	# Rewrite results.md and the chart from the raw numbers of the last run, with its
	# timing, load and settings.
	END=$START
	# shellcheck source=/dev/null
	[ -f "$RAW/run-info" ] && . "$RAW/run-info"
	mkdir -p "$OUT"
	report >"$TMP/results.md" && cp "$TMP/results.md" "$OUT/results.md"
	chart && cp "$TMP/results.png" "$OUT/results.png"
	exit 0
fi
# A measuring run starts from no raw numbers: nothing of an earlier run is reported as its own.
rm -f "$RAW"/*
# BENCH_ITEMS="1 2 4 5 6" (the default: all) picks items, for work on the benchmarks
# themselves; results.md then says "not measured" for the others.
want() { [[ " ${BENCH_ITEMS:-1 2 4 5 6 8} " == *" $1 "* ]]; }
t=$(date +%s)
want 1 && item1 && log "item 1 took $(($(date +%s) - t)) s"
t=$(date +%s)
want 2 && item2 && log "items 2/3 took $(($(date +%s) - t)) s"
t=$(date +%s)
want 4 && item4 && log "item 4 took $(($(date +%s) - t)) s"
t=$(date +%s)
want 5 && item5 && log "item 5 took $(($(date +%s) - t)) s"
t=$(date +%s)
want 6 && item6 && log "item 6 took $(($(date +%s) - t)) s"
t=$(date +%s)
want 8 && item8 && log "item 8 took $(($(date +%s) - t)) s"
END=$(date +%s)
printf 'START=%s END=%s LOAD_START="%s" LOAD_END="%s" ROUNDS=%s REPEAT=%s SECONDS_PER_RUN=%s SOCK_ITERS=%s RUN_DATE="%s" PG_REV="%s"\n' \
	"$START" "$END" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" "$ROUNDS" "$REPEAT" \
	"$SECONDS_PER_RUN" "$SOCK_ITERS" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(pg_rev)" >"$RAW/run-info"
mkdir -p "$OUT"
report >"$TMP/results.md" && cp "$TMP/results.md" "$OUT/results.md"
chart && cp "$TMP/results.png" "$OUT/results.png"
log "done in $((END - START)) s: $OUT/results.md${CHART_OK:+, $OUT/results.png}"
exit 0
