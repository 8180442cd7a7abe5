#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# unload removes what portguard attached and only that: another tool's XDP program (on an
# interface of the same namespace), its tc filter beside portguard's on the same interface,
# and its cgroup program on the same cgroup all stay, attached and running, through load and
# unload. The foreign programs are built here from a few lines of BPF C, as another tool would
# bring its own.
. "$(dirname "$0")/lib.sh"

PG_CASES="foreign_built load_beside_foreign foreign_xdp_stays foreign_tc_stays
foreign_cgroup_stays portguard_gone"
pg_setup bpftool clang tc

pin=$(pg_bpffs)/pg || pg_skip_all "cannot mount bpffs" $PG_CASES
cg=$(pg_cgroup foreign) || pg_skip_all "no cgroup v2 hierarchy" $PG_CASES
srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgf0 198.18.9.1/24 2001:db8:9::1/64 "$cli" pgf1 198.18.9.2/24 2001:db8:9::2/64 &&
	pg_veth "$srv" pgf2 198.18.10.1/24 2001:db8:10::1/64 "$cli" pgf3 198.18.10.2/24 \
		2001:db8:10::2/64 || pg_skip_all "cannot create veth pairs" $PG_CASES

cat >"$PG_TMP/foreign.bpf.c" <<'C'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int foreign_xdp(struct xdp_md *c) { return XDP_PASS; }
SEC("tc") int foreign_tc(struct __sk_buff *s) { return TC_ACT_OK; }
SEC("cgroup/connect4") int foreign_cg(struct bpf_sock_addr *c) { return 1; }
char _license[] SEC("license") = "GPL";
C
obj=$PG_TMP/foreign.bpf.o fpin=$pin-foreign
if clang -target bpf -O2 -g -I/usr/include/"$(uname -m)"-linux-gnu -c "$PG_TMP/foreign.bpf.c" \
	-o "$obj" 2>"$PG_TMP/clang.err" && mkdir -p "$fpin" &&
	bpftool prog loadall "$obj" "$fpin" 2>"$PG_TMP/bpftool.err" &&
	pg_in "$srv" ip link set dev pgf2 xdpgeneric pinned "$fpin/foreign_xdp" &&
	pg_in "$srv" tc qdisc add dev pgf0 clsact &&
	pg_in "$srv" tc filter add dev pgf0 egress pref 7 bpf da pinned "$fpin/foreign_tc" &&
	bpftool cgroup attach "$cg" connect4 pinned "$fpin/foreign_cg" multi; then
	pg_ok foreign_built
else
	sed 's/^/# /' "$PG_TMP/clang.err" "$PG_TMP/bpftool.err"
	pg_fail_all "could not build and attach the foreign programs" $PG_CASES
fi
pg_defer "bpftool cgroup detach '$cg' connect4 pinned '$fpin/foreign_cg'"
pg_defer "rm -rf '$fpin'"

foreign_xdp() { pg_in "$srv" ip -d link show dev pgf2 2>/dev/null | grep -q 'prog/xdp.*name foreign_xdp\|xdpgeneric'; }
foreign_tc() { pg_in "$srv" tc filter show dev pgf0 egress | grep -q 'foreign_tc'; }
foreign_cg() { bpftool cgroup show "$cg" 2>/dev/null | grep -q 'foreign_cg'; }
ours() {
	pg_in "$srv" ip link show dev pgf0 2>/dev/null | grep -q " xdp" ||
		pg_in "$srv" tc filter show dev pgf0 egress | grep -q pg_tc_egress ||
		bpftool cgroup show "$cg" 2>/dev/null | grep -q 'pg_' || [ -e "$pin/pg_active" ]
}

cat >"$PG_TMP/p.policy" <<'P'
default in deny
allow in tcp 22
P
pg_check load_beside_foreign eval 'pg_in "$srv" "$PORTGUARD" load "$PG_TMP/p.policy" --iface pgf0 \
	--cgroup "$cg" --pin-dir "$pin" 2>"$PG_TMP/load.err" && ours && foreign_xdp && foreign_tc && foreign_cg'
[ -s "$PG_TMP/load.err" ] && sed 's/^/# load: /' "$PG_TMP/load.err"
pg_in "$srv" "$PORTGUARD" unload --pin-dir "$pin" >"$PG_TMP/unload.out" 2>&1
sed 's/^/# unload: /' "$PG_TMP/unload.out"
pg_check foreign_xdp_stays foreign_xdp
pg_check foreign_tc_stays foreign_tc
pg_check foreign_cgroup_stays foreign_cg
pg_check portguard_gone eval '! ours'
pg_done
