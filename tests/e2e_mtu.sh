#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Jumbo frames: enforcement on a veth pair with MTU 9000, in each inbound mode portguard picks
# or is told to use. For auto (native XDP with frags where the kernel has multi-buffer XDP, tc
# ingress where it does not) and for a forced tc ingress:
#   - the mode is printed at start and shown by status;
#   - an 8,000-byte TCP exchange with an echo server on an allowed port comes back whole, and
#     the allowed-rule byte counter moved by at least that much (XDP or tc judged the frames);
#   - a TCP port no rule allows stays filtered;
#   - 8,000-byte UDP datagrams are judged like small ones: echoed on the allowed port, dropped
#     (and counted as not-allowed) on another.
# And native XDP without frags, forced, is refused on this MTU with a message that says why.
PG_CASES="auto-mode-printed auto-status-mode auto-tcp-8000 auto-tcp-counted auto-tcp-blocked
	auto-udp-8000 auto-udp-blocked tc-mode-printed tc-status-mode tc-tcp-8000 tc-tcp-counted
	tc-tcp-blocked tc-udp-8000 tc-udp-blocked native-refused-says-why"
source "$(dirname "$0")/lib.sh"
pg_setup socat ncat jq nsenter sha256sum

SRV4=198.18.0.1 CLI4=198.18.0.2
srv=$(pg_netns srv) && cli=$(pg_netns cli) &&
	pg_veth "$srv" pg-srv $SRV4/24 2001:db8::1/64 "$cli" pg-cli $CLI4/24 2001:db8::2/64 &&
	ip -n "$srv" link set pg-srv mtu 9000 && ip -n "$cli" link set pg-cli mtu 9000 ||
	pg_skip_all "cannot create namespaces and MTU 9000 veths" $PG_CASES
bpffs=$(pg_bpffs) || pg_skip_all "cannot mount bpffs" $PG_CASES

pol=$PG_TMP/jumbo.policy
printf '%s\n' "mode enforce" "default in deny" "default out allow" "allow in tcp 7100" \
	"allow in udp 7200" >"$pol"
pg_listen "$srv" tcp 7100 7101
pg_listen "$srv" udp 7200 7201
pg_wait_for 10 pg_listening "$srv" tcp 7100 7101 && pg_wait_for 10 pg_listening "$srv" udp 7200 7201 ||
	pg_fail_all "echo servers did not start" $PG_CASES

head -c 6000 /dev/urandom | base64 -w 0 | head -c 8000 >"$PG_TMP/payload"
want=$(sha256sum <"$PG_TMP/payload" | cut -d' ' -f1)

# tcp_echo PORT: 8000 bytes to the echo server and back, whole.
tcp_echo() {
	local got
	got=$(timeout 10 nsenter --net=/run/netns/"$cli" ncat -w 3 $SRV4 "$1" <"$PG_TMP/payload" |
		sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
}
# udp_echo PORT: one 8000-byte datagram (no IP fragments at MTU 9000) and its echo.
udp_echo() {
	local got
	got=$(timeout 10 nsenter --net=/run/netns/"$cli" socat -b 9000 -t 2 - UDP:$SRV4:"$1" \
		<"$PG_TMP/payload" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
}
status_json() { pg_in "$srv" "$PORTGUARD" status --json --pin-dir "$bpffs"; }
reason() { status_json | jq -r --arg r "$1" ".reasons[\$r].$2"; }

# Before enforcement the exchange works at all (else every case below proves nothing).
tcp_echo 7100 && udp_echo 7200 || pg_fail_all "no 8000-byte exchange even without portguard" $PG_CASES

run_mode() { # LABEL XDP-MODE EXPECTED-IFMODE EXPECTED-TEXT
	local label=$1 mode=$2 ifmode=$3 text=$4 err=$PG_TMP/$1.err b0 b1 d0 d1 c
	if ! pg_in "$srv" "$PORTGUARD" load "$pol" --iface pg-srv --pin-dir "$bpffs" --no-cgroup \
		--xdp-mode "$mode" 2>"$err"; then
		sed 's/^/# /' "$err"
		for c in mode-printed status-mode tcp-8000 tcp-counted tcp-blocked udp-8000 udp-blocked; do
			pg_fail "$label-$c (load failed)"
		done
		return
	fi
	sed 's/^/# /' "$err"
	pg_check "$label-mode-printed" grep -q "pg-srv: $text" "$err"
	pg_check "$label-status-mode" jq -e --arg m "$ifmode" \
		'.interfaces[0].ifmode == $m and .interfaces[0].attached' <<<"$(status_json)"
	b0=$(reason allowed-rule bytes)
	pg_check "$label-tcp-8000" tcp_echo 7100
	b1=$(reason allowed-rule bytes)
	pg_log "$label: allowed-rule bytes $b0 -> $b1"
	pg_check "$label-tcp-counted" test $((b1 - b0)) -ge 8000
	if tcp_echo 7101; then pg_fail "$label-tcp-blocked"; else pg_ok "$label-tcp-blocked"; fi
	pg_check "$label-udp-8000" udp_echo 7200
	d0=$(reason not-allowed bytes)
	if udp_echo 7201; then
		pg_fail "$label-udp-blocked"
	else
		d1=$(reason not-allowed bytes)
		pg_log "$label: not-allowed bytes $d0 -> $d1"
		pg_check "$label-udp-blocked" test $((d1 - d0)) -ge 8000
	fi
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
}

# Multi-buffer XDP is 5.18 and later; before it, auto falls back to tc.
if uname -r | awk -F. '{ exit !($1 > 5 || ($1 == 5 && $2 >= 18)) }'; then
	run_mode auto auto xdp-frags "native XDP with frags"
else
	run_mode auto auto tc "tc ingress"
fi
run_mode tc tc tc "tc ingress"

err=$PG_TMP/native.err
if pg_in "$srv" "$PORTGUARD" load "$pol" --iface pg-srv --pin-dir "$bpffs" --no-cgroup \
	--xdp-mode native 2>"$err"; then
	pg_fail native-refused-says-why
	pg_in "$srv" "$PORTGUARD" unload --pin-dir "$bpffs" >/dev/null 2>&1
else
	sed 's/^/# /' "$err"
	pg_check native-refused-says-why grep -q "MTU does not fit one buffer" "$err"
fi
pg_done
