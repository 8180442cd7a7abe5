# SPDX-License-Identifier: GPL-2.0
# Sourced by bench.sh: turns the raw numbers in $RAW into results.md (report) and
# results.png (chart). Medians over rounds, with the range [min-max].

# stats KEYCOLS VALCOL < TSV: "key<TAB>median<TAB>min<TAB>max<TAB>n" per distinct key, where
# key is the columns KEYCOLS (comma-separated, 1-based) joined by '|'.
stats() {
	awk -F'\t' -v keys="$1" -v col="$2" '
	BEGIN { nk = split(keys, K, ",") }
	/^#/ || NF < col || $col == "" || $col == "-" { next }
	{
		k = $K[1]; for (i = 2; i <= nk; i++) k = k "|" $K[i]
		if (!(k in n)) order[++no] = k
		v[k, ++n[k]] = $col + 0
	}
	END {
		for (o = 1; o <= no; o++) {
			k = order[o]; m = n[k]
			for (i = 1; i <= m; i++) a[i] = v[k, i]
			for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
			med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
			printf "%s\t%s\t%s\t%s\t%d\n", k, med, a[1], a[m], m
		}
	}'
}

# lookup FILE KEY FIELD: field (2 = median, 3 = min, 4 = max) of the stats line for key.
lookup() { awk -F'\t' -v k="$2" -v f="$3" '$1 == k { print $f; exit }' "$1"; }

# fmt_pps N: "1.23 Mpps" style; fmt_ns N: one decimal.
fmt_pps() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else if (x >= 1e6) printf "%.2f M", x / 1e6; else printf "%.0f k", x / 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
range_ns() { # median min max -> "12.3 [11.0-14.2]"
	awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { if (m == "") print "-"; else printf "%.1f [%.1f-%.1f]", m, lo, hi }'
}

# The commit measured, and whether the tree differed from it.
pg_rev() {
	echo "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet HEAD -- . ':!bench/results.md' ':!bench/results.png' 2>/dev/null || echo ' (with local changes)')"
}

machine() {
	local model mem
	model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "| | |"
	echo "|---|---|"
	echo "| date | ${RUN_DATE:-$(date -u '+%Y-%m-%d %H:%M UTC')} |"
	echo "| machine | $model, $NCPU CPUs, $mem |"
	echo "| kernel | $(uname -r) |"
	echo "| portguard | ${PG_REV:-$(pg_rev)} |"
	echo "| tools | clang $(clang --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1), libbpf $(dpkg-query -W -f='${Version}' libbpf1 2>/dev/null), xdp-tools $(dpkg-query -W -f='${Version}' xdp-tools 2>/dev/null), nftables $(dpkg-query -W -f='${Version}' nftables 2>/dev/null), iptables $(iptables --version 2>/dev/null | sed 's/iptables //'), netsniff-ng $(dpkg-query -W -f='${Version}' netsniff-ng 2>/dev/null) |"
	echo "| pinned CPU | $CPU (every measured process; softirq work of the veth path runs there too) |"
	echo "| load average | $LOAD_START at start, ${LOAD_END:-$(cut -d' ' -f1-3 /proc/loadavg)} at end (1, 5, 15 min) |"
	echo "| run | $ROUNDS rounds; item 1: $REPEAT packets per test_run; item 2: ${SECONDS_PER_RUN} s per run; took $((END - START)) s |"
}

# Medians of the raw numbers, into $TMP/r/ and the COST and RATE arrays.
declare -A COST=() RATE=()
# c RULES MODE PROGRAM COLUMN: item 1; 4=median 5=min 6=max 7=net 8=net min 9=net max 10=bad
c() { echo "${COST[$1|$2|$3|$4]:-}"; }
# rate PATH RECEIVER RULES [COLUMN]: item 2; packets per CPU-second, 2=median 3=min 4=max
rate() { echo "${RATE[$1|$2|$3|${4:-2}]:-}"; }
load_data() {
	local f=$TMP/r r m p v4 v5 v6 v7 v8 v9 v10 k med lo hi cnt
	mkdir -p "$f"
	# Item 1: cost.tsv is already per (rules, mode, program) with median/min/max.
	: >"$f/cost"
	[ -s "$RAW/cost.tsv" ] && grep -v '^#' "$RAW/cost.tsv" >"$f/cost"
	while IFS=$'\t' read -r r m p v4 v5 v6 v7 v8 v9 v10; do
		COST[$r|$m|$p|4]=$v4 COST[$r|$m|$p|5]=$v5 COST[$r|$m|$p|6]=$v6 COST[$r|$m|$p|7]=$v7
		COST[$r|$m|$p|8]=$v8 COST[$r|$m|$p|9]=$v9 COST[$r|$m|$p|10]=$v10
	done <"$f/cost"
	stats 1,2,3 9 <"$RAW/rates.tsv" >"$f/rates" 2>/dev/null
	stats 1,2,3 10 <"$RAW/rates.tsv" >"$f/reached" 2>/dev/null
	stats 1,2,3 11 <"$RAW/rates.tsv" >"$f/rates-wall" 2>/dev/null
	while IFS=$'\t' read -r k med lo hi cnt; do
		RATE[$k|2]=$med RATE[$k|3]=$lo RATE[$k|4]=$hi
	done <"$f/rates"
	stats 1 3 <"$RAW/sock.tsv" >"$f/sock_bind" 2>/dev/null
	stats 1 4 <"$RAW/sock.tsv" >"$f/sock_conn" 2>/dev/null
	stats 1 5 <"$RAW/sock.tsv" >"$f/sock_bprog" 2>/dev/null
	stats 1 6 <"$RAW/sock.tsv" >"$f/sock_cprog" 2>/dev/null
	stats 1 7 <"$RAW/sock.tsv" >"$f/sock_send" 2>/dev/null
	stats 1 8 <"$RAW/sock.tsv" >"$f/sock_sprog" 2>/dev/null
	stats 1 9 <"$RAW/sock.tsv" >"$f/sock_send6" 2>/dev/null
	stats 1 10 <"$RAW/sock.tsv" >"$f/sock_s6prog" 2>/dev/null
	stats 1 11 <"$RAW/sock.tsv" >"$f/sock_spread" 2>/dev/null
	stats 1 12 <"$RAW/sock.tsv" >"$f/sock_spprog" 2>/dev/null
	stats 2 9 <"$RAW/events.tsv" >"$f/events" 2>/dev/null
	stats 2 7 <"$RAW/events.tsv" >"$f/events_wall" 2>/dev/null
	stats 2 8 <"$RAW/events.tsv" >"$f/events_cpu" 2>/dev/null
}

report() {
	local f=$TMP/r
	load_data

	# The numbers the targets are judged on.
	local pg10 pg10k pgx xdrop nftn
	pg10=$(c 10 mix portguard 4) pg10k=$(c 10000 mix portguard 4)
	pgx=$(rate xdp portguard 10) xdrop=$(rate xdp xdp-drop 10) nftn=$(rate xdp nft-netdev 10)

	cat <<-EOF
	# portguard benchmarks

	Produced by \`make bench\` (bench/bench.sh); every number below comes from the run described
	here, on this machine. Medians over rounds, with the range as [min-max]. The raw numbers of
	the run are in \`build/bench/raw/\`.

	**Read these numbers with this in mind:** this machine has $NCPU CPUs, a virtual machine
	whose host may run other work (the load average below says what ran here). Every
	measurement is pinned to CPU $CPU, runs are interleaved (a new order every round) so that
	background load falls on all contestants alike, and item 1 counts the thread's own CPU
	time; even so, absolute figures and even ratios between close peers move from one
	machine, and one run, to the next. Ratios measured in the same round are more trustworthy
	than absolute numbers.

	$(machine)

	## Targets

	Where a target compares two measurements that ran in the same round (item 1's costs, item
	4's hooks, item 5's floods), it is judged round by round: **met** when every round meets it,
	**missed** when every round misses it, **inconclusive** when the rounds disagree, with the
	median of the rounds' ratios and their range in brackets. A verdict from one run on a noisy
	machine is only as firm as its range.

	| target | measured | verdict |
	|---|---|---|
	EOF
	target_rows
	cat <<-EOF

	## 1. Per-packet cost (BPF_PROG_TEST_RUN)

	Each program runs behind a small wrapper (bench/rotate.bpf.c) that writes the next of 64
	frame templates over the packet and tail-calls it: consecutive packets differ in port and
	peer, spread over the whole policy, so that no single frame, port slot or peer bucket stays
	hot in the caches and the branch predictor. "mix" rotates over all five kinds (320 templates).
	Every policy below is loaded before the first round, and each round runs every (policy,
	frames, program) triple once, one test_run of $REPEAT packets each, in an order shuffled per
	round (at 1,000 rules only the mix runs, to keep the whole run within its time). The
	targets are judged on ratios within a round (two runs of one round, seconds apart), their
	median over the rounds and their range: a target is met when every round meets it, missed
	when every round misses it, and inconclusive when the rounds disagree;
	ns/packet is the thread's CPU time over the run divided by the packets, wrapper and test_run
	loop included (the floor shows how much that is). **net** subtracts the floor of the same
	round: what the program itself costs. The reference parses Ethernet/IPv4/TCP|UDP and does one
	hash lookup; it does not parse IPv6 or VLAN and passes those unexamined, so its rows for those
	frames are not comparable. xdp-filter is its own object from Debian (xdpfilt_dny_all.o, what
	\`xdp-filter load -w\` picks for TCP and UDP), given the same allowed ports; neither it nor
	the reference can express the peer CIDRs, which portguard checks (its peer buckets and probes).
	Policies: rule 0 allows tcp/22, rule i allows one TCP port from one IPv4 /32 and one IPv6 /48
	(so N rules make N port classes and 2N peer prefixes), default in deny. **N+bl**: the same
	policy plus the blocklist workload, a set of ${BLOCKLIST:-100000} prefixes (half IPv4 /8 to /32, half IPv6
	/29 to /128, none covering the frames' sources) denied on every TCP and UDP port
	(\`deny in tcp,udp 1-65535 from @blocklist\`, bench/pgglue.c), measured in the same rounds;
	xdp-filter gets the same ports (it cannot express peers).
	The issue's "cloud policy alone" is this synthetic ${SIZES%% *}-rule policy: its frames are built
	for it (allowed ports and peers spread over the rules), and like the cloud policy most of its
	ports are decided without the peer. Where the peer matters, portguard maps it to its peer
	group (a bucket for its first 16 or 32 bits, then one exact probe in pg_peers per prefix
	length in use in that bucket, longest first; every prefix of the policy stored once) and
	decides (port class, group) with one hash lookup in pg_class_peers.

	| rules | frames | floor | reference | xdp-filter | portguard | portguard net | ref. net | x floor | net x ref. | x xdp-filter |
	|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	awk -F'\t' -v sizes="$SIZES ${SIZES%% *}+bl ${SIZES##* }+bl" '
	function rg(m, lo, hi) { return m == "" ? "-" : sprintf("%.1f [%.1f-%.1f]", m, lo, hi) }
	function rt(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
	!/^#/ { k = $1 "|" $2 "|" $3; med[k] = $4; lo[k] = $5; hi[k] = $6; net[k] = $7; nlo[k] = $8; nhi[k] = $9; have[$1 "|" $2] = 1 }
	END {
		ns = split(sizes, S, " "); nm = split("allowed-syn blocked-syn blocked-udp ipv6-syn vlan-syn mix", M, " ")
		for (i = 1; i <= ns; i++) for (j = 1; j <= nm; j++) {
			b = S[i] "|" M[j]; if (!(b in have)) continue
			f = b "|floor"; r = b "|reference"; x = b "|xdp-filter"; p = b "|portguard"
			# The reference passes IPv6 and VLAN frames unexamined: nothing to compare.
			na = M[j] == "ipv6-syn" || M[j] == "vlan-syn"
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", S[i], M[j],
				rg(med[f], lo[f], hi[f]), na ? "(not parsed)" : rg(med[r], lo[r], hi[r]),
				rg(med[x], lo[x], hi[x]), rg(med[p], lo[p], hi[p]), rg(net[p], nlo[p], nhi[p]),
				na ? "-" : rg(net[r], nlo[r], nhi[r]), rt(med[p], med[f]),
				na ? "-" : rt(net[p], net[r]), rt(med[p], med[x])
		}
	}' "$f/cost"
	echo
	if [ -s "$RAW/cost-verdicts.txt" ]; then
		echo "Verdict check before timing (each kind's first and last template, once, against the"
		echo "expected PASS/DROP) found mismatches; the timings of those rows measure the wrong thing:"
		echo
		sed 's/^# verdict: /- /' "$RAW/cost-verdicts.txt" | head -20
	else
		echo "Before timing, every program's verdict on each kind's first and last template was checked"
		echo "against the expected one (allowed: PASS, blocked: DROP): all as expected."
	fi
	[ -s "$f/cost" ] || echo "_Not measured: $(tail -3 "$RAW/cost.log" 2>/dev/null | tr '\n' ' ')_"

	cat <<-EOF

	## 2. Drop rate on a veth path: unsolicited 64-byte UDP to a blocked port

	A veth pair between two namespaces made for the run. The frame is 60 bytes (64 on a wire
	with the FCS): UDP from 198.18.0.1 to port $BLOCKED_UDP of 198.18.0.2, with real checksums and the
	receiver's MAC, so that unfiltered it climbs the receiver's stack to UDP (no listener).
	- **XDP-frame path**: bench/livegen runs BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on
	  a program that redirects every frame into the sending veth, which hands it to the receiver as
	  an XDP frame. The receiver's NAPI poll runs in softirq on the same CPU at each batch flush,
	  so the rate is what sender and receiver together achieve on one core: a cheaper receiver
	  shows as a higher rate, and ns/packet is that core's time per packet, generator included.
	  The generator's program stays attached to a spare veth meanwhile: otherwise each call
	  puts it into the kernel's XDP dispatcher and takes it out, two RCU grace periods that
	  kept the generator off the core three quarters of the time (until 2026-12-02).
	  A veth only takes XDP frames when its NAPI is on (an XDP program or GRO); the receivers that
	  filter in the stack (none, nftables, iptables) get an XDP_PASS program for this path, since
	  ethtool is not a dependency here: its few ns are in their numbers.
	- **skb path**: trafgen (netsniff-ng) on the sending veth, one process pinned to the same CPU,
	  qdisc bypassed. Every packet is an skb from the start; veth runs a native XDP program on it
	  only after converting it, so XDP saves little here: this path shows what a host that
	  receives through the stack pays, and how much of the XDP advantage is the skb.
	- **XDP frames, receiver alone**: the XDP-frame path again, with the receiving veth's NAPI
	  threaded (a kthread, \`napi/vR-N\`, instead of softirq on the sender's core) and that
	  thread pinned to the other CPU. Its rate is what vR received per second of that thread's
	  CPU time: the receiver's own cost per packet (the XDP program, or the stack behind
	  XDP_PASS), with the generator on a core of its own. This is the path the XDP-frame
	  targets are judged on when it is valid (a trivial XDP_DROP clearly the fastest
	  receiver); the sender may outrun the receiver there, and what vR's ring could not take
	  is dropped before it, uncounted. $(awk -F'\t' '$7 > 0 { w[$1] += $5; t[$1] += $7 }
	  END { if (t["xdpt"] > 0 && t["xdp"] > 0) printf "In this run the generator sent %.1f k frames per second of wall time on this path, against %.1f k on the shared-core one: each batch it sends wakes the NAPI thread for a few frames, so that thread'"'"'s time per packet is mostly its wake-ups, not the receiver'"'"'s work, and the validity rule below can find it inconclusive too.", w["xdpt"] / t["xdpt"] / 1e3, w["xdp"] / t["xdp"] / 1e3 }' "$RAW/rates.tsv" 2>/dev/null)
	Rates are packets per second **of CPU time on the pinned core**: what the receiving veth
	received (its rx counter) divided by the sender's CPU time, which includes the receiver's
	softirq work done on that core, plus the time the core's ksoftirqd ran meanwhile (work the
	kernel deferred). On this shared machine that is far steadier than wall time, which also
	counts the time the sender waited for the core; the wall-clock rates are in the raw numbers
	(rates.tsv, column 11). ns/packet is its inverse: the core's time per packet, end to end.
	"reached UDP" is how many datagrams the receiver's UDP layer saw (a filter that works keeps
	it at 0). Policies: 10 rules (item 3 has the larger ones); nftables and iptables drop the
	blocked port with one rule, in the hook named (Debian's iptables is the nf_tables backend:
	its raw PREROUTING rule runs as an nftables chain at raw priority). portguard is its own
	XDP program with the 10-rule policy parsed, compiled and written by its own code
	(bench/xdpload), events on as compiled by default, nobody reading the ring; xdp-filter is
	its own object, configured as xdp-filter does; both attached natively, directly (not
	through libxdp's dispatcher). Every receiver runs in every round, in a
	new order each round, the paths back to back. $(awk -F'\t' '$1 != "xdpt" { d = $5 - $6; d = d < 0 ? -d : d; if (d > m) m = d; k += $12; c += $8 } END { if (NR) share = c > 0 ? 100 * k / c : 0; printf "In every run the receiver counted what was sent to within %d packet(s), and ksoftirqd accounted for %.1f%% of the CPU time.", m, share }' "$RAW/rates.tsv" 2>/dev/null)

	| receiver | XDP-frame path, pps | ns/packet | over XDP_DROP, ns | x XDP_DROP | XDP frames, receiver alone, pps | ns/packet | x XDP_DROP | skb path (trafgen), pps | ns/packet | x no filter | reached UDP (xdp/skb) |
	|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	awk -F'\t' '
	function pr(k) { if (!(k in med)) return "-"; d = med[k] >= 1e6 ? 1e6 : 1e3; u = d == 1e6 ? "M" : "k"
		return sprintf(d == 1e6 ? "%.2f %s [%.2f-%.2f]" : "%.0f %s [%.0f-%.0f]", med[k] / d, u, lo[k] / d, hi[k] / d) }
	function nspp(k) { return (k in med) && med[k] > 0 ? sprintf("%.0f", 1e9 / med[k]) : "-" }
	function rt(a, b) { return (a in med) && (b in med) && med[b] > 0 ? sprintf("%.2f", med[a] / med[b]) : "-" }
	function over(a, b) { return (a in med) && (b in med) && med[a] > 0 && med[b] > 0 ? sprintf("%+.0f", 1e9 / med[a] - 1e9 / med[b]) : "-" }
	FILENAME ~ /reached$/ { reached[$1] = $2; next }
	{ med[$1] = $2; lo[$1] = $3; hi[$1] = $4 }
	END {
		n = split("none xdp-drop portguard xdp-filter nft-netdev nft-inet iptables-raw", R, " ")
		L["none"] = "no filter"; L["xdp-drop"] = "trivial XDP_DROP"; L["portguard"] = "portguard"
		L["xdp-filter"] = "xdp-filter"; L["nft-netdev"] = "nftables, netdev ingress drop"
		L["nft-inet"] = "nftables, inet input drop"; L["iptables-raw"] = "iptables, raw PREROUTING drop"
		for (i = 1; i <= n; i++) {
			x = "xdp|" R[i] "|10"; s = "skb|" R[i] "|10"; t = "xdpt|" R[i] "|10"
			if (!(x in med) && !(s in med)) continue
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s |\n", L[R[i]], pr(x), nspp(x),
				over(x, "xdp|xdp-drop|10"), rt(x, "xdp|xdp-drop|10"), pr(t), nspp(t),
				rt(t, "xdpt|xdp-drop|10"), pr(s), nspp(s), rt(s, "skb|none|10"),
				(x in reached) ? reached[x] : "-", (s in reached) ? reached[s] : "-"
		}
	}' "$f/reached" "$f/rates"
	[ -s "$f/rates" ] || echo "_Not measured._"
	awk -F'\t' '{ m[$1] = $2 } END {
		x = m["xdp|xdp-drop|10"] / m["xdp|none|10"]; s = m["skb|xdp-drop|10"] / m["skb|none|10"]
		px = m["xdp|portguard|10"] / m["xdp|nft-netdev|10"]; ps = m["skb|portguard|10"] / m["skb|nft-netdev|10"]
		if (m["xdp|none|10"] > 0 && m["skb|none|10"] > 0 && m["xdp|nft-netdev|10"] > 0 && m["skb|nft-netdev|10"] > 0)
			printf "\nWhat the skb path shows: dropping in XDP is worth x%.1f over no filter when frames arrive as XDP frames, but only x%.1f when every packet is an skb already (veth converts it back for the XDP program); portguard against nftables netdev goes from x%.2f to x%.2f. The XDP advantage is mostly the skb never built.\n", x, s, px, ps
	}' "$f/rates"

	cat <<-EOF

	## 3. Cost as the policy grows

	The same policies at 10, 1,000 and 10,000 rules. nftables gets the same allowed TCP ports (not
	the peers) in a netdev ingress chain, as a default-deny chain: once as one \`tcp dport P accept\`
	rule per port (linear: the blocked datagram is compared against every one), once as one rule
	matching a set that holds the ports. Per-packet cost is item 1's "mix" row.

	| rules | portguard test_run ns (mix) | x at 10 rules | portguard XDP-frame | nft linear XDP-frame | nft set XDP-frame | portguard skb | nft linear skb | nft set skb |
	|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	awk -F'\t' -v sizes="$SIZES" '
	function pr(k) { if (!(k in med)) return "-"; d = med[k] >= 1e6 ? 1e6 : 1e3; u = d == 1e6 ? "M" : "k"
		return sprintf(d == 1e6 ? "%.2f %s [%.2f-%.2f]" : "%.0f %s [%.0f-%.0f]", med[k] / d, u, lo[k] / d, hi[k] / d) }
	FILENAME ~ /cost$/ { if ($2 == "mix" && $3 == "portguard") { c[$1] = $4; clo[$1] = $5; chi[$1] = $6 } next }
	{ med[$1] = $2; lo[$1] = $3; hi[$1] = $4 }
	END {
		ns = split(sizes, S, " ")
		for (i = 1; i <= ns; i++) {
			n = S[i]
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
				(n in c) ? sprintf("%.1f [%.1f-%.1f]", c[n], clo[n], chi[n]) : "-",
				(n in c) && (S[1] in c) ? sprintf("%.2f", c[n] / c[S[1]]) : "-",
				pr("xdp|portguard|" n), pr("xdp|nft-linear|" n), pr("xdp|nft-set|" n),
				pr("skb|portguard|" n), pr("skb|nft-linear|" n), pr("skb|nft-set|" n)
		}
	}' "$f/cost" "$f/rates"

	cat <<-EOF

	## 4. Socket-hook overhead

	In a child cgroup made for the run, bench/sockbench times five loops of $SOCK_ITERS iterations on
	loopback: socket()+setsockopt(SO_REUSEADDR)+bind(127.0.0.1:20000)+close() of a TCP socket;
	connect() of one UDP socket to 127.0.0.1:20001 (no handshake: the syscall and the hooks are
	all there is); sendto() of an empty datagram from one unconnected UDP socket to
	127.0.0.1:20002 and to [::1]:20002 (sendmsg4, sendmsg6), where a socket that never reads is
	bound, so the datagrams are dropped on arrival once its buffer is full, with no ICMP error;
	and the same to 1024 addresses of 127.0.0.0/8 in turn (port 20003, "spread"): more peers
	than portguard's per-CPU cache of 256 recent answers holds, so that every call is decided
	afresh, peer lookups included (the same-peer loops measure the cache's hits).
	The hooks: none; trivial bind4/bind6/connect4/connect6/sendmsg4/sendmsg6 programs returning 1
	(bench/sock_trivial.bpf.c); portguard's own, attached by \`portguard run POLICY --cgroup DIR\`
	with a policy that allows every call by a rule naming its peer (the peer is looked up, as
	for a DNS or NTP client rule). Times are the thread's CPU time per iteration (the time it
	waited for the CPU does not count), still noisy at this scale on a shared machine, so the
	kernel's own BPF run-time statistics (BPF_ENABLE_STATS, on only during a warm-up pass of a
	tenth of the iterations) give the programs' run time per call as well: cgroup sock_addr
	programs have no BPF_PROG_TEST_RUN. That figure includes the statistics' two clock reads
	per run, which the trivial program's figure shows; the target is judged on the difference.

	| hooks | bind()+close() ns | x none | connect() ns | x none | sendto() ns | x none | sendto() v6 ns | x none | sendto() spread ns | x none |
	|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	local cfgs k
	for cfgs in none trivial portguard; do
		[ -n "$(lookup "$f/sock_bind" "$cfgs" 2)" ] || continue
		printf '| %s' "$cfgs"
		for k in sock_bind sock_conn sock_send sock_send6 sock_spread; do
			printf ' | %s | %s' "$(range_ns "$(lookup "$f/$k" "$cfgs" 2)" "$(lookup "$f/$k" "$cfgs" 3)" "$(lookup "$f/$k" "$cfgs" 4)")" \
				"$(ratio "$(lookup "$f/$k" "$cfgs" 2)" "$(lookup "$f/$k" none 2)")"
		done
		echo " |"
	done
	cat <<-EOF

	Program run time per call (kernel statistics), and portguard's over the trivial hook's
	(the medians' difference):

	| hooks | bind4 ns | connect4 ns | sendmsg4 ns | sendmsg6 ns | sendmsg4, spread ns |
	|---|---:|---:|---:|---:|---:|
	EOF
	for cfgs in trivial portguard; do
		[ -n "$(lookup "$f/sock_bprog" "$cfgs" 2)" ] || continue
		printf '| %s' "$cfgs"
		for k in sock_bprog sock_cprog sock_sprog sock_s6prog sock_spprog; do
			printf ' | %s' "$(range_ns "$(lookup "$f/$k" "$cfgs" 2)" "$(lookup "$f/$k" "$cfgs" 3)" "$(lookup "$f/$k" "$cfgs" 4)")"
		done
		echo " |"
	done
	if [ -n "$(lookup "$f/sock_bprog" portguard 2)" ]; then
		printf '| portguard - trivial'
		for k in sock_bprog sock_cprog sock_sprog sock_s6prog sock_spprog; do
			printf ' | %s' "$(sub "$(lookup "$f/$k" portguard 2)" "$(lookup "$f/$k" trivial 2)")"
		done
		echo " |"
		# The same difference within each round (the two ran side by side).
		awk -F'\t' '$1 == "trivial" { for (c = 5; c <= 12; c++) t[$2, c] = $c }
			$1 == "portguard" { r[++n] = $2; for (c = 5; c <= 12; c++) p[$2, c] = $c }
			END {
				printf "| the same, round by round"
				split("5 6 8 10 12", C, " ")
				for (j = 1; j <= 5; j++) {
					s = ""
					for (i = 1; i <= n; i++)
						if ((r[i], C[j]) in t && t[r[i], C[j]] != "-" && p[r[i], C[j]] != "-")
							s = s (s == "" ? "" : " ") sprintf("%+.0f", p[r[i], C[j]] - t[r[i], C[j]])
					printf " | %s", s == "" ? "-" : s
				}
				print " |"
			}' "$RAW/sock.tsv"
	fi
	[ -s "$f/sock_bind" ] || echo "_Not measured._"

	events_section
	load_section
	ingress_section
	cat <<-EOF

	## Chart

	![item 1 cost against policy size, item 2 rates](results.png)

	## Reproduce

	\`sudo make bench\` (about $(( (END - START + 59) / 60 )) minutes here). \`BENCH_QUICK=1\` gives a fast,
	rougher pass. The drivers are in bench/: xdpcost (item 1), livegen (the XDP-frame generator),
	xdpload (receivers, item 6), sockbench (item 4), ingresscost (item 8, section 7); bench.sh
	runs them, report.sh writes this.
	EOF
}

nspp() { awk -v x="$1" 'BEGIN { if (x == "" || x == 0) print "-"; else printf "%.0f", 1e9 / x }'; }

# mmm FORMAT: the numbers on stdin, one a line, as "median min max" in FORMAT (printf), or
# "-" when there are none.
mmm() {
	sort -g | awk -v f="$1" '{ v[++n] = $1 }
		END { if (!n) { print "-"; exit }
			printf f " " f " " f "\n", n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[1], v[n] }'
}
# rr RULES_A RULES_B MODE PROG_A PROG_B: the ratio A/B of item 1's cost within each round
# (cost-rounds.tsv: the two ran in the same round, in one process), as "median min max", or
# "-" when either is missing. The targets are judged on these: ratios of medians taken
# across rounds mix the rounds' different loads.
rr() {
	awk -F'\t' -v a="$1|$3|$4" -v b="$2|$3|$5" '!/^#/ { k = $1 "|" $2 "|" $3
			if (k == a) x[$4] = $5; if (k == b) y[$4] = $5 }
		END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' \
		"$RAW/cost-rounds.tsv" 2>/dev/null | mmm %.2f
}
# rr_side_ge "MEDIAN MIN MAX" LIMIT: rr_side for a target that is a floor ("under": every round
# at least LIMIT, "over": every round below it).
rr_side_ge() {
	awk -v s="$1" -v l="$2" 'BEGIN { if (split(s, v, " ") < 3) print "-"
		else print (v[2] >= l ? "under" : (v[3] < l ? "over" : "spread")) }'
}
# ev_rr FLOOD: events on over events off within each round of events.tsv (packets per
# CPU-second), as "median min max", or "-".
ev_rr() {
	awk -F'\t' -v on="$1-on" -v off="$1-off" '$2 == on { a[$4] = $9 } $2 == off { b[$4] = $9 }
		END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' \
		"$RAW/events.tsv" 2>/dev/null | mmm %.2f
}
# sock_rr COLUMN: portguard's program time per call minus the trivial hook's, within each
# round of sock.tsv, as "median min max" (ns), or "-".
sock_rr() {
	awk -F'\t' -v c="$1" '$1 == "trivial" && $c != "-" { t[$2] = $c }
		$1 == "portguard" && $c != "-" { p[$2] = $c }
		END { for (r in p) if (r in t) print p[r] - t[r] }' "$RAW/sock.tsv" 2>/dev/null |
		mmm %.1f
}
# sock_fmt "MEDIAN MIN MAX": +44 ns [+35..+57]
sock_fmt() { awk -v s="$1" 'BEGIN { if (split(s, v, " ") < 3) print "- ns"; else printf "%+.0f ns [%+.0f..%+.0f]", v[1], v[2], v[3] }'; }
# rr_fmt "MEDIAN MIN MAX": x1.02 [0.98-1.05]
rr_fmt() { awk -v s="$1" 'BEGIN { if (split(s, v, " ") < 3) print "x-"; else printf "x%s [%s-%s]", v[1], v[2], v[3] }'; }
# rr_side "MEDIAN MIN MAX" LIMIT: "under" when every round is at most LIMIT, "over" when every
# round is above it, "spread" when the rounds fall on both sides, "-" unmeasured.
rr_side() {
	awk -v s="$1" -v l="$2" 'BEGIN { if (split(s, v, " ") < 3) print "-"
		else print (v[3] <= l ? "under" : (v[2] > l ? "over" : "spread")) }'
}

# verdict_rounds "SIDE..." (rr_side of each part of a target): met when every part is under
# the limit in every round, missed when some part is over it in every round, inconclusive
# when none is over but some straddle it.
verdict_rounds() {
	case " $1 " in
	*" over "*) echo "**missed**" ;;
	*" spread "*) echo "**inconclusive**: the rounds fall on both sides of the limit (their range in brackets): the difference is within what the machine moved between rounds" ;;
	*" - "*) echo "not measured" ;;
	*) echo "met" ;;
	esac
}

verdict() { # value op limit -> met / missed
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "" || v == "-") { print "not measured"; exit }
		ok = (op == "<=") ? v <= l : v >= l
		print ok ? "met" : "**missed**" }'
}

# The XDP-frame path is valid when a trivial XDP_DROP is clearly its fastest receiver (at
# least 1.2x every other one): otherwise something else (the generator, the veth, the
# machine) bounds the rate and the receivers' differences are not visible in it.
xdp_valid() { # [PATH]: xdp (the default) or xdpt
	awk -F'\t' -v p="${1:-xdp}" 'index($1, p "|") == 1 && $1 ~ /\|10$/ { split($1, k, "|"); m[k[2]] = $2 }
		END { d = m["xdp-drop"]; if (d == "") { print "unmeasured"; exit }
			best = ""; for (r in m) if (r != "xdp-drop" && m[r] * 1.2 > d) best = best " " r
			print best == "" ? "valid" : "inconclusive:" best }' "$TMP/r/rates"
}

target_rows() {
	local a b m why worst=0 worstm="" v
	if grep -q portguard "$RAW/cost-verdicts.txt" 2>/dev/null; then
		echo "| **portguard decided some frames wrongly in this run** (item 1's verdict check): its numbers below measure the wrong thing | | not judged |"
	fi
	local big=${SIZES##* } small=${SIZES%% *}
	# 1. The blocklist plus 10,000 rules at most 1.1x the policy alone, every kind.
	local per="" sides="" q
	for m in allowed-syn blocked-syn blocked-udp ipv6-syn vlan-syn; do
		q=$(rr "$big+bl" "$small" "$m" portguard portguard)
		per+=" $m $(rr_fmt "$q");"
		sides+=" $(rr_side "$q" 1.10)"
		a=${q%% *}
		worst=$(awk -v x="$a" -v w="$worst" 'BEGIN { print (x != "-" && x > w) ? x : w }')
	done
	echo "| every frame kind: the policy + ${BLOCKLIST:-100000}-prefix blocklist + $big rules at most 1.1x the policy alone ($small rules) | ${per% ;} (median of the rounds' ratios [their range]; worst x$worst; blocklist alone, mix: $(rr_fmt "$(rr "$small+bl" "$small" mix portguard portguard)")) | $(verdict_rounds "$sides")$(why_scale "$worst" "$sides") |"
	# 1b. The peer lookup itself: the same frames, 2 x $big prefixes against 2 x $big + the
	# blocklist's, both needing the peer on every allowed frame.
	a=$(rr "$big+bl" "$big" allowed-syn portguard portguard)
	b=$(rr "$big+bl" "$big" ipv6-syn portguard portguard)
	echo "| the peer lookup costs the same at few and at 100,000 prefixes (allowed SYNs at $big rules, whose peers are looked up either way: $((2 * big)) prefixes against $((2 * big)) + ${BLOCKLIST:-100000}) | IPv4 $(rr_fmt "$a"), IPv6 $(rr_fmt "$b") | $(verdict_rounds "$(rr_side "$a" 1.10) $(rr_side "$b" 1.10)") |"
	# 2. No more than xdp-filter, every kind, every size.
	local slower="" spread="" n
	for n in $SIZES "$small+bl" "$big+bl"; do
		for m in allowed-syn blocked-syn blocked-udp ipv6-syn vlan-syn mix; do
			q=$(rr "$n" "$n" "$m" portguard xdp-filter)
			case $(rr_side "$q" 1.00) in
			over) slower+=" $n/$m ($(rr_fmt "$q"))" ;;
			spread) spread+=" $n/$m ($(rr_fmt "$q"))" ;;
			esac
		done
	done
	if [ -z "$(c "$big" mix xdp-filter 4)" ]; then
		echo "| no more than xdp-filter on every frame both handle, at every policy size | - | not measured |"
	elif [ -z "$slower$spread" ]; then
		echo "| no more than xdp-filter on every frame both handle, at every policy size | at most its cost on every kind and size, in every round | met |"
	elif [ -z "$slower" ]; then
		echo "| no more than xdp-filter on every frame both handle, at every policy size | at most its cost in every round on every other kind and size; within the rounds' spread on:$spread | **inconclusive**: on those, some rounds put portguard under xdp-filter and some over; the differences are smaller than what the machine moved between rounds |"
	else
		echo "| no more than xdp-filter on every frame both handle, at every policy size | more on:$slower | **missed**: portguard decides by port *and* peer (xdp-filter is given the ports only) and counts per rule and per reason, where xdp-filter counts per action. The frames it is cheaper on are those whose peer is looked up (allowed SYNs, IPv6, VLAN: a bucket and a probe of pg_peers, whose entry carries the verdict), and mostly at $big rules, where the counter of the rule that decided is one of $big and misses the caches and the TLB (see the first row): compiled without the per-rule counters (an experiment), portguard at $big rules cost x0.90-0.99 of xdp-filter on those kinds (2026-12-02) |"
	fi
	# 3. XDP-frame drop rate, judged on every path that is valid (a trivial XDP_DROP clearly
	# its fastest receiver): the shared core (xdp) and the receiver alone (xdpt). A target is
	# met only where every valid path meets it; with no valid path it is inconclusive.
	local pgx xf xdrop nftn p vs=() fa="" fb="" worsta="" worstb="" label
	for p in xdp xdpt; do
		[ "$(xdp_valid $p)" = valid ] || continue
		vs+=("$p")
		a=$(ratio "$(rate $p portguard 10)" "$(rate $p xdp-filter 10)")
		b=$(ratio "$(rate $p portguard 10)" "$(rate $p nft-netdev 10)")
		label=$([ $p = xdp ] && echo "shared core" || echo "receiver alone, per second of its NAPI thread's CPU time")
		fa+="${fa:+; }$label: $(fmt_pps "$(rate $p portguard 10)")pps vs $(fmt_pps "$(rate $p xdp-filter 10)")pps, x$a (XDP_DROP $(fmt_pps "$(rate $p xdp-drop 10)")pps)"
		fb+="${fb:+; }$label: vs $(fmt_pps "$(rate $p nft-netdev 10)")pps, x$b"
		worsta=$(awk -v w="$worsta" -v x="$a" 'BEGIN { print (w == "" || x + 0 < w + 0) ? x : w }')
		if [ -z "$worstb" ] || awk -v w="$worstb" -v x="$b" 'BEGIN { exit !(x + 0 < w + 0) }'; then
			worstb=$b
			pgx=$(rate $p portguard 10) xdrop=$(rate $p xdp-drop 10) nftn=$(rate $p nft-netdev 10)
		fi
	done
	if [ ${#vs[@]} -gt 0 ]; then
		echo "| XDP-frame drop rate at least xdp-filter's | $fa (each path valid: a trivial XDP_DROP clearly the fastest) | $(verdict "$worsta" '>=' 1)$(awk -v x="$worsta" 'BEGIN { if (x != "" && x < 1) print ": a blocked datagram costs portguard the event budget and rate-limit checks and the per-rule and per-reason counters, which xdp-filter does not have (the flow table is asked only on ports this host'"'"'s own flows use, not on the blocked port); section 2 gives each receiver'"'"'s ns per packet over XDP_DROP" }') |"
		echo "| XDP-frame drop rate at least 3x nftables netdev | $fb | $(verdict "$worstb" '>=' 3)$(why_nft "$worstb") |"
	else
		pgx=$(rate xdp portguard 10) xf=$(rate xdp xdp-filter 10) xdrop=$(rate xdp xdp-drop 10) nftn=$(rate xdp nft-netdev 10)
		a=$(ratio "$pgx" "$xf") b=$(ratio "$pgx" "$nftn")
		why="the trivial XDP_DROP receiver ($(fmt_pps "$xdrop")pps) is not clearly (1.2x) faster than$(xdp_valid xdp | sed 's/^inconclusive://'): the generator and the veth hand-off on one shared core bound this path, not the receivers$( [ -n "$(rate xdpt xdp-drop 10)" ] && echo "; the receiver-alone path was not valid either ($(xdp_valid xdpt))" )"
		echo "| XDP-frame drop rate at least xdp-filter's | $(fmt_pps "$pgx")pps vs $(fmt_pps "$xf")pps: x$a | **inconclusive**: $why |"
		echo "| XDP-frame drop rate at least 3x nftables netdev | vs $(fmt_pps "$nftn")pps: x$b | **inconclusive**: as above |"
	fi
	# 4. Socket hooks, program run time over the trivial hook, within each round (the two
	# ran side by side): the median of the rounds' differences and their range.
	local k d worst=- parts="" sides="" dsp
	for k in bind4:5 connect4:6 sendmsg4:8 sendmsg6:10; do
		q=$(sock_rr "${k#*:}")
		parts="$parts${parts:+, }${k%%:*} $(sock_fmt "$q")"
		sides+=" $(rr_side "$q" 50)"
		[ "$q" = - ] && continue
		worst=$(awk -v w="$worst" -v d="${q%% *}" 'BEGIN { print (w == "-" || d + 0 > w + 0) ? d + 0 : w }')
	done
	dsp=$(sock_rr 12)
	d=${dsp%% *}
	echo "| socket hooks at most +50 ns of program time over the trivial hook (bind, connect, sendmsg) | $parts over trivial (kernel run-time stats, the median of the rounds' differences [their range]; one peer again and again, the decision cache's hits); sendmsg4 to 1024 peers in turn (every call decided afresh): $(sock_fmt "$dsp") | $(verdict_rounds "$sides")$( [ "$worst" = - ] && echo ' (portguard run had not attached its hooks when the bench measured: the run log says "attached no hooks")') for one peer$(case " $sides " in *" over "*) why_sock "$worst" one ;; esac); $(verdict_rounds "$(rr_side "$dsp" 50)") for 1024 peers$(why_sock "$d" spread) |"
	# 5. Events, both floods.
	local fl
	for fl in one-source new-source; do
		q=$(ev_rr "$fl")
		a=${q%% *}
		echo "| with events on under flood, drop rate at least 0.9x events off ($fl flood) | $(fmt_pps "$(lookup "$f/events" "$fl-on" 2)")pps vs $(fmt_pps "$(lookup "$f/events" "$fl-off" 2)")pps: $(rr_fmt "$q") (the median of the rounds' ratios, on and off measured back to back [their range]) | $(verdict_rounds "$(rr_side_ge "$q" 0.9)")$(case $(rr_side_ge "$q" 0.9) in over) why_events "$a" "$fl" ;; esac) |"
	done
	# 6. Load and reload of the blocklist policy.
	local kind t why
	for kind in bl-cli-load bl-cli-reload; do
		t=$(grep "^$kind " "$RAW/load.txt" 2>/dev/null | sed 's/.*total=//' | sort -n |
			awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
		why=$(grep "^bl-${kind#bl-cli-} " "$RAW/load.txt" 2>/dev/null | awk -v t="$t" -v l="$LOAD_START" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } n++ }
			END { if (n && t > 1) printf ": in the library timing of the same policy (item 6) parsing, compiling and writing the maps take %.2f s on average (parse %.2f, compile %.2f, write %.2f); the rest is creating the maps and verifying xdp_ingress and tc_egress, which a loaded machine slows most (load average at start: %s)", v["total"] / n, v["parse"] / n, v["compile"] / n, v["apply"] / n, l }')
		echo "| \`portguard ${kind#bl-cli-}\` of the ${BLOCKLIST:-100000}-prefix policy under 1 s | $(awk -v t="$t" 'BEGIN { if (t == "") print "-"; else printf "%.3f s (median, wall, everything included)", t }') | $(verdict "$t" '<=' 1)$why |"
	done
}

fmt1() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else printf "%.1f", x }'; }
# why_scale WORST SIDES: why the blocklist + the big policy costs more than the small one (said
# only when some kind misses in every round, SIDES from rr_side): what the blocklist adds at
# the small size, and what the rules add without it, both measured here.
why_scale() { # worst sides
	local m bl=0 rules=0 a
	case " $2 " in *" over "*) ;; *) return ;; esac
	for m in allowed-syn blocked-syn blocked-udp ipv6-syn vlan-syn; do
		a=$(rr "$small+bl" "$small" "$m" portguard portguard)
		bl=$(awk -v a="${a%% *}" -v w="$bl" 'BEGIN { print (a != "-" && a > w) ? a : w }')
		a=$(rr "$big" "$small" "$m" portguard portguard)
		rules=$(awk -v a="${a%% *}" -v w="$rules" 'BEGIN { print (a != "-" && a > w) ? a : w }')
	done
	awk -v x="$1" -v bl="$bl" -v r="$rules" -v big="$big" -v small="$small" 'BEGIN {
		printf ": the blocklist itself costs at most x%.2f at %s rules (every frame'"'"'s peer group, a bucket and at most a probe or two, the same at 10 or 100,000 prefixes: the next row); the rest is the %s rules without it (at most x%.2f): each frame counts against the rule that decided it, a per-CPU counter among %s, and across them the counters no longer stay in the caches and the TLB, while the policy alone counts against a handful. Compiled without the per-rule counters (an experiment, not a build option), %s rules cost x1.03-1.07 of %s on the frames whose peer is looked up and x1.00 on the others (2026-12-02, on another machine); the counters are what status and the metrics report, so they stay", bl, small, big, r, big, big, small }'
}
why_sock() { # delta kind: why a socket-hook figure is over the target
	awk -v x="$1" -v k="$2" 'BEGIN { if (x == "-" || x <= 50) exit
		if (k == "one") print " (an allowed call reads pg_active, its cache slot with two atomic adds, and the rule and reason counters, each a per-CPU lookup; after the kernel code of a syscall each of those cache lines is a miss, which the trivial hook never takes: see the round-by-round differences in section 4)"
		else print " (a call decided afresh pays the peer lookups: for a peer it has not seen, the exact probe of pg_peers lands in a bucket of a hash table sized for millions of prefixes that no earlier call touched, with the cache and TLB misses that brings from a syscall; the per-CPU cache of 256 answers saves it only for peers seen again)" }'
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%+.0f", a - b }'; }
why_events() {
	awk -v x="$1" -v fl="$2" -v w="$(lookup "$f/events_wall" "$2-on" 2)" -v c="$(lookup "$f/events_cpu" "$2-on" 2)" 'BEGIN { if (x == "-" || x >= 0.9) exit
		printf ": with events on, every violation also checks the per-CPU event budget and, while the budget lasts, the rate limiter (one slot of a per-CPU direct-mapped table of recent keys); those admitted also cost a ring buffer reservation, a 104-byte record and a wakeup of run; %s", (fl == "new-source" ? "with a new source per packet every one is admitted until the budget (10,000 events per second and CPU) is spent, and each packet after that costs the budget check alone" : "each repeat costs the budget check and one table slot")
		if (w > 0 && c > 0 && w / c > 2) printf ". The budget is per second of wall time, and each flood kept its sender on the CPU for %.2f s of its %.2f s (the generator waits between its calls): the events a second admits are charged to %.2f s of CPU, %.0f times their weight on a core a flood keeps busy", c, w, c, w / c }'
}
why_growth() {
	# Which frames grew: the blocked ones stop at the port array, the allowed ones go on to
	# the peer trie.
	awk -v x="$1" -v a10="$(c 10 allowed-syn portguard 4)" -v a10k="$(c 10000 allowed-syn portguard 4)" \
		-v b10="$(c 10 blocked-syn portguard 4)" -v b10k="$(c 10000 blocked-syn portguard 4)" 'BEGIN {
		if (x == "-" || x <= 1.10) exit
		printf ": allowed SYNs (port array, then the LPM trie of peers) went from %.0f to %.0f ns (x%.2f), blocked SYNs (port array only, no trie) from %.0f to %.0f ns (x%.2f). The growth is the trie: the kernel'"'"'s LPM trie walks one node per level, and 10,000 rules put about 20,000 (class, prefix) entries in one trie; the port array stays flat", a10, a10k, a10k / a10, b10, b10k, b10k / b10 }'
}
why_ref() { awk -v x="$1" 'BEGIN { if (x != "-" && x > 1.5) print " (portguard parses VLAN, IPv6, IPv4 options and fragments, looks up the peer group in buckets and hash probes, checks the flow table for replies, counts per rule and per reason in per-CPU maps, and rate-limits events: each is work the reference does not do)" }'; }
why_rate() {
	awk -v x="$1" -v pg="$pgx" -v d="$xdrop" 'BEGIN {
		if (x == "-" || x >= 0.85 || pg <= 0 || d <= 0) exit
		printf ": on this path portguard costs %.0f ns per packet more than XDP_DROP (%.0f against %.0f ns, generator included); 0.85x would allow %.0f ns", 1e9 / pg - 1e9 / d, 1e9 / pg, 1e9 / d, (1e9 / d) * (1 / 0.85 - 1) }'
}
why_nft() {
	awk -v x="$1" -v pg="$pgx" -v d="$xdrop" -v n="$nftn" -v sd="$(rate xdp xdp-drop 10)" -v sn="$(rate xdp nft-netdev 10)" 'BEGIN {
		if (x == "-" || x >= 3 || pg <= 0 || d <= 0 || n <= 0) exit
		printf ": over XDP_DROP, nftables netdev costs %.0f ns per packet (the skb it needs, and its chain) and portguard %.0f ns; 3x the rate would need portguard'"'"'s whole pipeline under %.0f ns per packet", 1e9 / n - 1e9 / d, 1e9 / pg - 1e9 / d, (1e9 / n) / 3
		if ((1e9 / n) / 3 - 1e9 / d < 10) printf ", where a trivial XDP_DROP takes %.0f ns: portguard'"'"'s decision would have to cost %.0f ns, less than its parse alone. On this path the target is out of reach of any program that reads the packet", 1e9 / d, (1e9 / n) / 3 - 1e9 / d
		else printf " (a trivial XDP_DROP takes %.0f ns there)", 1e9 / d
		if (sd > 0 && sn > 0 && (1e9 / sn) / 3 - 1e9 / sd < 10) printf ". On the shared core, 3x nftables (%.1f Mpps) leaves %.0f ns over a trivial XDP_DROP (%.1f Mpps), less than portguard'"'"'s parse alone: the generator and the veth hand-off take the rest", 3 * sn / 1e6, (1e9 / sn) / 3 - 1e9 / sd, sd / 1e6 }'
}

events_section() {
	cat <<-EOF

	## 5. Event stream under a flood of violations

	\`portguard run POLICY --iface vR --no-cgroup --json\` on the receiver of item 2 (10-rule
	policy), its stdout into a pipe read by a counter, under the XDP-frame flood of item 2; the
	same with \`--no-events\` for "off", back to back, "on" first in odd rounds and "off" first
	in even ones. Two floods: **one source** (every frame the same: the
	per-(source, port, reason) rate limit absorbs the repeats) and **new source** (the generator
	rewrites the low 16 bits of the source address of every frame: every packet wants an event,
	only the global events-per-second budget and the ring bound them; this also costs the
	generator a few ns per frame). After each flood, the kernel's counters from the pinned
	maps: pg_event_stats (submitted, ring full, rate-limited, over budget) and pg_reason_stats
	(violations: packets under a drop reason). Rates as in item 2 (per CPU-second of the core).
	\`run\` and the counter are pinned to the other CPU (where there is one): the rates are what
	events cost the core that takes the packets, and what \`run\` itself spends on them is its
	own column below (left to the scheduler, they at times ran on the measured core and moved
	the new-source flood by up to 20% between runs).

	| flood | events on | events off | on / off | ns per packet, on - off |
	|---|---:|---:|---:|---:|
	EOF
	local fl on off
	for fl in one-source new-source; do
		on=$(lookup "$f/events" "$fl-on" 2) off=$(lookup "$f/events" "$fl-off" 2)
		[ -n "$on$off" ] || continue
		echo "| $fl | $(ev_range "$fl-on") | $(ev_range "$fl-off") | $(ratio "$on" "$off") | $(awk -v a="$on" -v b="$off" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", 1e9 / a - 1e9 / b; else print "-" }') |"
	done
	[ -s "$f/events" ] || echo "_Not measured._"
	[ -s "$RAW/events-run.tsv" ] || return
	cat <<-EOF

	What \`run --json\` wrote and what the kernel counted, per flood with events on (median over
	rounds; the check is per run):

	| flood | violation records written | records per second of flood | suppressed, in its \`suppressed\` records | kernel: submitted | ring full | rate-limited | over budget | violations counted | submitted + suppressed = violations | \`run\`'s CPU during the flood, ms |
	|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|
	EOF
	awk -F'\t' -v ev="$RAW/events.tsv" '
	BEGIN { while ((getline l < ev) > 0) { split(l, a, "\t"); secs[a[2] "|" a[4]] = a[7] } }
	function med(key,   m, i, j, x, t) {
		m = n[key]; for (i = 1; i <= m; i++) t[i] = v[key, i]
		for (i = 2; i <= m; i++) { x = t[i]; for (j = i - 1; j >= 1 && t[j] > x; j--) t[j + 1] = t[j]; t[j + 1] = x }
		return m % 2 ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
	}
	function add(key, x) { v[key, ++n[key]] = x }
	$2 == "on" {
		fl = $1; if (!(fl in seen)) { seen[fl] = 1; order[++no] = fl }
		nk = split($6, kv, " "); for (i = 0; i < 4; i++) st[i] = 0
		for (i = 1; i <= nk; i++) { split(kv[i], p, "="); st[p[1]] = p[2] }
		add(fl "|rec", $4); add(fl "|sup", $5); add(fl "|sub", st[0]); add(fl "|rf", st[1])
		add(fl "|rl", st[2]); add(fl "|bu", st[3]); add(fl "|viol", $7); add(fl "|cpu", $8 * 1000)
		t = secs[fl "-on|" $3]; add(fl "|rate", t > 0 ? $4 / t : 0)
		runs[fl]++
		if (st[0] + st[1] + st[2] + st[3] == $7) ok[fl]++
	}
	END {
		for (o = 1; o <= no; o++) {
			fl = order[o]
			printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | holds in %d of %d runs | %.0f |\n", fl,
				med(fl "|rec"), med(fl "|rate"), med(fl "|sup"), med(fl "|sub"), med(fl "|rf"),
				med(fl "|rl"), med(fl "|bu"), med(fl "|viol"), ok[fl] + 0, runs[fl], med(fl "|cpu")
		}
	}' "$RAW/events-run.tsv"
	echo
	echo "Records written can trail the kernel's submitted count by the events still in the ring"
	echo "when run was stopped (it drains for a second first)."
}

ev_range() {
	awk -v m="$(lookup "$f/events" "$1" 2)" -v lo="$(lookup "$f/events" "$1" 3)" -v hi="$(lookup "$f/events" "$1" 4)" \
		'BEGIN { if (m == "") print "-"; else if (m >= 1e6) printf "%.2f M [%.2f-%.2f]", m / 1e6, lo / 1e6, hi / 1e6; else printf "%.0f k [%.0f-%.0f]", m / 1e3, lo / 1e3, hi / 1e3 }'
}

load_section() {
	cat <<-EOF

	## 6. Policy load

	The 10,000-rule policy, and the 10-rule policy with the ${BLOCKLIST:-100000}-prefix blocklist ("blocklist
	policy"). **Library**: portguard's own parser (user/policy/parse.c), compiler
	(user/policy/compile.c) and map writer (user/kernel/generation.c: pg_apply, then pg_activate) on portguard's XDP
	skeleton, timed step by step (bench/xdpload --load-time): the first load into the idle
	generation, then reloads that rewrite the other generation and switch. Loading the BPF
	objects is not counted there. **Command line**: \`portguard load POLICY --iface IF
	--no-cgroup\`, \`portguard reload POLICY\` (twice per round) and \`portguard unload\`, wall
	time, everything included (BPF loading and verification, attaching, pinning, the lock), on a
	veth of the run's own namespace. Seconds. A first \`portguard load\` (no state pinned yet)
	parses and compiles the policy on one thread while it creates the maps on the other, loads
	tc egress while the XDP program is verified on a thread of its own, and writes the policy
	into the idle generation before that verification ends; it switches to the policy only once
	every program loaded. The objects carry no CO-RE relocations, so libbpf neither loads nor
	searches the kernel's BTF for them. On 2026-12-02, side by side with the code before these
	changes (main 2a9fef1), the blocklist policy's first load took 0.70-0.81 s against
	0.88-1.15 s (8 loads each, by hand, on the idle machine).

	| | parse | compile | write maps | total |
	|---|---:|---:|---:|---:|
	EOF
	if [ ! -s "$RAW/load.txt" ]; then
		echo "| not measured | | | | |"
		return
	fi
	local kind label
	for kind in load reload cli-load cli-reload cli-unload bl-load bl-reload bl-cli-load bl-cli-reload; do
		awk -v k=$kind '$1 == k { for (i = 2; i <= NF; i++) { split($i, kv, "="); printf "%s\t%s\t%s\n", k, kv[1], kv[2] } }' "$RAW/load.txt" |
			stats 1,2 3 >"$TMP/r/load-$kind"
		[ -s "$TMP/r/load-$kind" ] || continue
		case $kind in
		load) label="library: first load" ;;
		reload) label="library: reload" ;;
		cli-load) label="\`portguard load\`" ;;
		cli-reload) label="\`portguard reload\`" ;;
		cli-unload) label="\`portguard unload\`" ;;
		bl-load) label="blocklist policy, library: first load" ;;
		bl-reload) label="blocklist policy, library: reload" ;;
		bl-cli-load) label="blocklist policy, \`portguard load\`" ;;
		bl-cli-reload) label="blocklist policy, \`portguard reload\`" ;;
		esac
		echo "| $label ($(grep -c "^$kind " "$RAW/load.txt") times) | $(lt $kind parse) | $(lt $kind compile) | $(lt $kind apply) | $(lt $kind total) |"
	done
}
# Item 8: what the tc ingress fallback costs next to XDP.
ingress_section() {
	cat <<-EOF

	## 7. The tc ingress fallback next to XDP

	Where XDP cannot attach (a jumbo MTU on a kernel without multi-buffer XDP), portguard
	enforces with a tc ingress program that runs the same decision (bpf/ingress.bpf.h). Per
	packet, BPF_PROG_TEST_RUN, portguard's 10-rule policy, the same frames for each program
	(bench/ingresscost): ns of the thread's CPU time, median [min-max] over rounds; **net** is
	over the floor of the same hook (XDP_DROP, or a tc program that returns TC_ACT_SHOT). The
	test run builds its skb once and runs the program on it \`repeat\` times, so the cost a real
	tc path adds before the program (allocating the skb: see item 2's nftables netdev against
	XDP) is not in these numbers: they compare the programs.

	| frame | XDP | XDP with frags | tc ingress | XDP net | frags net | tc net | tc net / XDP net |
	|---|---:|---:|---:|---:|---:|---:|---:|
	EOF
	if [ ! -s "$RAW/ingress.tsv" ]; then
		echo "| not measured | | | | | | | |"
		return
	fi
	awk -F'\t' '!/^#/ { m[$1 "|" $2] = $3; lo[$1 "|" $2] = $4; hi[$1 "|" $2] = $5; n[$1 "|" $2] = $6
		if (!($1 in seen)) { seen[$1] = 1; order[k++] = $1 } }
		function cell(key) { return key in m ? sprintf("%.1f [%.1f-%.1f]", m[key], lo[key], hi[key]) : "-" }
		function net(key) { return key in n ? sprintf("%.1f", n[key]) : "-" }
		END { for (i = 0; i < k; i++) { f = order[i]
			r = (f "|xdp") in n && n[f "|xdp"] > 0 ? sprintf("x%.2f", n[f "|tc"] / n[f "|xdp"]) : "-"
			printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f, cell(f "|xdp"), cell(f "|xdp-frags"),
				cell(f "|tc"), net(f "|xdp"), net(f "|xdp-frags"), net(f "|tc"), r } }' "$RAW/ingress.tsv"
}

lt() {
	local m lo hi
	m=$(lookup "$TMP/r/load-$1" "$1|$2" 2) lo=$(lookup "$TMP/r/load-$1" "$1|$2" 3) hi=$(lookup "$TMP/r/load-$1" "$1|$2" 4)
	awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN { if (m == "") print "-"; else if (lo == hi) printf "%.3f", m; else printf "%.3f [%.3f-%.3f]", m, lo, hi }'
}

chart() {
	CHART_OK=""
	have gnuplot || { log "chart: gnuplot not installed (make deps)"; return 1; }
	local f=$TMP/r p
	# Item 1: mix cost per program against rules.
	: >"$f/cost.dat"
	for n in $SIZES; do
		printf '%s' "$n" >>"$f/cost.dat"
		for p in floor reference xdp-filter portguard; do
			printf ' %s' "$(c "$n" mix "$p" 4 | sed 's/^$/NaN/')" >>"$f/cost.dat"
		done
		echo >>"$f/cost.dat"
	done
	# Item 2: rates per receiver, both paths, in Mpps.
	: >"$f/rates.dat"
	for p in none xdp-drop portguard xdp-filter nft-netdev nft-inet iptables-raw; do
		echo "$p $(awk -v x="$(rate xdp "$p" 10)" 'BEGIN { print x == "" ? "NaN" : x / 1e6 }') $(awk -v x="$(rate skb "$p" 10)" 'BEGIN { print x == "" ? "NaN" : x / 1e6 }')" >>"$f/rates.dat"
	done
	gnuplot >"$TMP/gnuplot.log" 2>&1 <<-EOF || { log "chart: gnuplot failed: $(head -c 300 "$TMP/gnuplot.log")"; return 1; }
	set terminal pngcairo size 1400,560 font "sans,10"
	set output "$TMP/results.png"
	set multiplot layout 1,2 title "portguard benchmarks, $(date -u '+%Y-%m-%d'), $(uname -r), $NCPU CPUs (shared)"
	set title "Item 1: per-packet cost (BPF\\\\_PROG\\\\_TEST\\\\_RUN, mixed frames)"
	set xlabel "rules in the policy"
	set ylabel "ns per packet (median; wrapper and test\\\\_run loop included)"
	set logscale x
	set xrange [5:20000]
	set yrange [0:*]
	set key top left
	set grid ytics
	plot "$f/cost.dat" using 1:2 with linespoints lw 2 title "floor (XDP\\\\_DROP)", \
	     "" using 1:3 with linespoints lw 2 title "reference", \
	     "" using 1:4 with linespoints lw 2 title "xdp-filter", \
	     "" using 1:5 with linespoints lw 3 title "portguard"
	unset logscale x
	set title "Item 2: drop rate, 64-byte UDP to a blocked port, one core"
	set xlabel ""
	set ylabel "Mpps per CPU-second of the core (median)"
	set xrange [*:*]
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set xtics rotate by -30
	set key top right
	plot "$f/rates.dat" using 2:xtic(1) title "XDP-frame path (live frames)", \
	     "" using 3 title "skb path (trafgen)"
	unset multiplot
	EOF
	CHART_OK=1
}
