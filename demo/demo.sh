#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# portguard demo (`sudo make demo`): the NovaVMS cloud policy on a throwaway network.
#
#   namespace "internet"  198.18.0.2, 2001:db8::2  --veth--  198.18.0.1, 2001:db8::1  namespace "server"
#
# The server runs real listeners on every port of the NovaVMS port table, the loopback-only ones
# bound to all addresses as a misconfigured host would have them, and `portguard run
# policy/novavms-cloud.policy` on its veth. The internet probes it with nmap and ncat. The
# violations print as they stream; a table of what was reachable ends the run.
#
# Last, a service started in the server's cgroup tries to bind a loopback-only port on every
# address, and the socket hooks refuse it.
#
# The whole demo runs in a network and mount namespace of its own (it re-executes itself under
# `unshare -n -m`): it never sees the host's interfaces, and its bpffs and namespace files
# vanish with it. The socket hooks attach to a child cgroup the demo creates and removes; the
# host's own cgroups are never touched. Everything it starts is stopped on exit, also on Ctrl-C.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
PORTGUARD=${PORTGUARD:-$BUILD/portguard}
POLICY=${POLICY:-policy/novavms-cloud.policy}

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root to load BPF programs and make namespaces: sudo make demo" >&2
	exit 1
fi
if [ -z "${PG_DEMO_UNSHARED:-}" ]; then
	export PG_DEMO_UNSHARED=1 BUILD PORTGUARD POLICY
	exec unshare --net --mount --propagation private "$0" "$@"
fi

for tool in nmap ncat socat ss nsenter; do
	command -v "$tool" >/dev/null ||
		{ echo "demo: $tool not found (sudo make deps installs it)" >&2; exit 1; }
done
[ -x "$PORTGUARD" ] || { echo "demo: $PORTGUARD not built (make)" >&2; exit 1; }
cd "$top" || exit 1

# The helpers of the end-to-end tests: namespaces, veths, listeners, probes, cleanup.
PG_NO_TAP=1 PG_TESTS=$top/tests
source "$top/tests/lib.sh"
PG_ID=demo
PG_TMP=$(mktemp -d /tmp/portguard-demo.XXXXXX)
trap pg_cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' N=$'\e[0m'
else
	B="" D="" G="" R="" Y="" N=""
fi
step() { echo; echo "${B}== $*${N}"; }
say() { echo "   $*"; }

SRV4=198.18.0.1 NET4=198.18.0.2 SRV6=2001:db8::1 NET6=2001:db8::2
# The port table: every TCP and UDP port it names (the TURN range by its ends and middle), SSH,
# and ports the table does not open: 80/tcp, 443/udp (no HTTP/3), one past the TURN range.
TCP_PORTS="22 80 443 5200 5432 5434 8090 8554 9000 11984"
# Started before portguard, outside its cgroup: the server's running services. MinIO (9000,
# planned for v2) starts last, inside the cgroup.
RUNNING_TCP="22 80 443 5200 5432 5434 8090 8554 11984"
UDP_PORTS="443 3478 8555 49152 49200 49252 49253"

ip link set lo up
mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=0755 pg-demo /run/netns &&
	pg_defer "umount -l /run/netns"

step "portguard demo: $POLICY on a throwaway network"
if ! norm=$("$PORTGUARD" check "$POLICY" 2>&1); then
	echo "$norm"
	exit 1
fi
say "the policy, as portguard check normalizes it:"
grep -v '^#' <<<"$norm" | sed "s/^/     ${D}/; s/\$/${N}/"

step "network: namespace \"server\" (veth pg-server) <-> namespace \"internet\" (veth pg-internet)"
ip netns add server && pg_defer "ip netns del server" && ip -n server link set lo up &&
	ip netns add internet && pg_defer "ip netns del internet" && ip -n internet link set lo up &&
	pg_veth server pg-server $SRV4/24 $SRV6/64 internet pg-internet $NET4/24 $NET6/64 ||
	{ echo "demo: cannot create the namespaces" >&2; exit 1; }
say "server   $SRV4  $SRV6"
say "internet $NET4  $NET6"
bpffs=$(pg_bpffs) || { echo "demo: cannot mount a private bpffs" >&2; exit 1; }
cgroot=$(pg_cgroup2_root)
[ -n "$cgroot" ] || { echo "demo: no cgroup v2 hierarchy in /proc/mounts" >&2; exit 1; }
cg=$cgroot/portguard-demo-$$
mkdir "$cg" && pg_defer "pg_cgroup_remove '$cg'" ||
	{ echo "demo: cannot create the child cgroup $cg" >&2; exit 1; }
say "cgroup   $cg (the server's services that portguard's socket hooks watch)"

step "listeners on the server (socat echo servers, on all addresses)"
pg_listen server tcp $RUNNING_TCP
pg_listen server udp $UDP_PORTS
if ! pg_wait_for 10 pg_listening server tcp $RUNNING_TCP ||
	! pg_wait_for 10 pg_listening server udp $UDP_PORTS; then
	echo "demo: the listeners did not start" >&2
	exit 1
fi
say "tcp $RUNNING_TCP"
say "udp $UDP_PORTS"
say "${D}5432 (PostgreSQL), 8090 (backend), 11984 (go2rtc API) are loopback-only in"
say "the port table; here they listen on every address, as a misconfigured host would.${N}"

step "portguard run $POLICY --iface pg-server --cgroup ${cg#"$cgroot"/}   (events as they stream:)"
# Text mode, as an operator would read it; the timestamps shortened to the time of day.
events=$PG_TMP/events.txt
pg_in_bg server "$PORTGUARD" run "$POLICY" --iface pg-server --pin-dir "$bpffs" --cgroup "$cg" \
	> >(tee "$events" | sed -u -E "s/^[0-9-]+T([0-9:]+\.[0-9]{3})[0-9]*Z/\1/;
		s/^(.* blocked .*)$/${R}\1${N}/; s/^/   ${Y}|${N} /") 2>&1
run_pid=$PG_BG_PID
if ! pg_wait_for 15 grep -q ' start ' "$events"; then
	echo "demo: portguard run did not start" >&2
	exit 1
fi

step "from the internet: nmap (TCP SYN and UDP scans, IPv4 and IPv6)"
declare -A state
for fam in 4 6; do
	[ $fam = 4 ] && dst=$SRV4 || dst=$SRV6
	for proto in tcp udp; do
		[ $proto = tcp ] && ports=$TCP_PORTS || ports=$UDP_PORTS
		say "${D}nmap -$fam $([ $proto = tcp ] && echo -sS || echo -sU) -p ${ports// /,} $dst${N}"
		while read -r port st; do
			state[$proto/$port/$fam]=$st
		# No retries: nothing is lost on a veth, and each blocked probe prints once.
		done < <(pg_nmap internet $proto "$dst" "${ports// /,}" -e pg-internet --max-retries 0)
	done
done
sleep 0.3

step "from the internet: ncat"
for p in 443 5432; do
	if pg_probe internet tcp $SRV4 $p; then
		say "ncat $SRV4 $p   ${G}connected, the echo server answered${N}"
	else
		say "ncat $SRV4 $p   ${R}no answer within 2 s: dropped by XDP${N}"
	fi
done
if pg_probe server tcp 127.0.0.1 5432; then
	say "and on the server itself, ncat 127.0.0.1 5432   ${G}answers: loopback is not filtered${N}"
fi
sleep 0.3

step "in the server's cgroup: MinIO (9000, loopback-only) starts"
in_cgroup() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }
if out=$(in_cgroup nsenter --net=/run/netns/server timeout 2 \
	socat TCP-LISTEN:9000,bind=0.0.0.0,reuseaddr - 2>&1 </dev/null); then
	say "socat TCP-LISTEN:9000,bind=0.0.0.0   ${R}bound: the socket hooks did not refuse it${N}"
else
	say "socat TCP-LISTEN:9000,bind=0.0.0.0   ${G}refused: ${out##*: }${N}"
fi
in_cgroup nsenter --net=/run/netns/server socat TCP-LISTEN:9000,bind=127.0.0.1,reuseaddr,fork PIPE \
	</dev/null >/dev/null 2>&1 &
pg_defer "kill $! 2>/dev/null"
if pg_wait_for 5 pg_listening server tcp 9000 && pg_probe server tcp 127.0.0.1 9000; then
	say "socat TCP-LISTEN:9000,bind=127.0.0.1   ${G}listening, and answers on loopback${N}"
fi
sleep 0.3

# The normalized rule that decides PROTO PORT from the internet: deny and local first, then an
# allow from any, then the default (the same order the datapath applies).
rule_for() {
	awk -v proto="$1" -v port="$2" '
	function covers(pr, list,    n, i, r, lh) {
		if (("," pr ",") !~ ("," proto ","))
			return 0
		n = split(list, r, ",")
		for (i = 1; i <= n; i++) {
			if (split(r[i], lh, "-") == 1)
				lh[2] = lh[1]
			if (port + 0 >= lh[1] + 0 && port + 0 <= lh[2] + 0)
				return 1
		}
		return 0
	}
	/^#/ { next }
	$1 == "default" && $2 == "in" { def = $0 }
	$1 == "deny" && $2 == "in" && covers($3, $4) && !d { d = $0 }
	$1 == "local" && covers($2, $3) && !l { l = $0 }
	$1 == "allow" && $2 == "in" && covers($3, $4) && !a { a = $0 }
	END { print d ? d : l ? l : a ? a : def }' <<<"$norm"
}

step "summary: what the internet reached"
printf '   %-10s %-9s %-9s %s\n' PORT IPv4 IPv6 "DECIDED BY"
show() { # state
	case $1 in
	open) printf '%s%-9s%s' "$G" reachable "$N" ;;
	filtered | "open|filtered") printf '%s%-9s%s' "$R" filtered "$N" ;;
	*) printf '%-9s' "${1:-?}" ;;
	esac
}
reachable=0 filtered=0
for proto in tcp udp; do
	[ $proto = tcp ] && ports=$TCP_PORTS || ports=$UDP_PORTS
	for p in $ports; do
		printf '   %-10s %s %s %s\n' "$p/$proto" "$(show "${state[$proto/$p/4]:-}")" \
			"$(show "${state[$proto/$p/6]:-}")" "$(rule_for $proto $p)"
		[ "${state[$proto/$p/4]:-}" = open ] && reachable=$((reachable + 1)) ||
			filtered=$((filtered + 1))
	done
done
blocked=$(grep -c ' blocked ' "$events")
echo
say "$reachable ports reachable, $filtered filtered (IPv4); $blocked violation events reported."
say "${D}UDP: nmap reports an unanswered port as open|filtered; every listener here answers, so"
say "only portguard makes one unanswered. 9000/tcp had no listener yet when nmap ran: the"
say "probes were dropped by XDP all the same (a port with nothing behind it would say closed).${N}"

kill -TERM "$run_pid" 2>/dev/null
timeout 10 tail --pid="$run_pid" -f /dev/null
sleep 0.2
step "done: portguard detached; namespaces, listeners and bpffs are removed on exit"
say "next: ${PORTGUARD#"$top"/} run $POLICY --dry-run reports the same traffic without blocking it;"
say "      sudo make check runs the test suite."
