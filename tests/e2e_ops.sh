#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Operating a loaded policy with real traffic across a veth pair between two namespaces of our
# own, pins in a private bpffs:
#   - `status` counters rise by exactly the number of packets sent (per rule, per reason);
#   - `status` shows the policy, its sha256, the mode and the interface, in text and JSON;
#   - `explain` names the rule whose counter moved;
#   - `monitor --metrics` (when the loader offers it) serves the same counters;
#   - after `unload`, status says nothing is loaded and exits 1.
. "$(dirname "$0")/lib.sh"

PG_CASES="load status_text status_sha256 status_rule_counts_exact status_reason_counts_exact status_pass_reason_counts_exact explain_names_counted_rule metrics_served_by_monitor prometheus_scrapes_monitor log_file_from_monitor unload_then_status_exits_1"
pg_setup socat nsenter sha256sum

srv=$(pg_netns srv) && cli=$(pg_netns cli) || pg_skip_all "cannot create namespaces" $PG_CASES
pg_veth "$srv" pgs0 198.18.7.1/24 2001:db8:7::1/64 "$cli" pgc0 198.18.7.2/24 2001:db8:7::2/64 ||
	pg_skip_all "cannot create a veth pair" $PG_CASES
pins=$(pg_bpffs)/portguard || pg_skip_all "cannot mount bpffs" $PG_CASES

policy=$PG_TMP/server.policy
cat >"$policy" <<'EOF'
default in deny
allow in tcp 22
allow in udp 7000
local tcp 5432
EOF
pgs() { pg_in "$srv" "$PORTGUARD" "$@"; }
has() { printf '%s\n' "$1" | grep -Eq "$2"; }
result() { if [ "$1" = 0 ]; then pg_ok "$2"; else pg_fail "$2"; fi; }

if ! pgs load "$policy" --iface pgs0 --no-cgroup --pin-dir "$pins" >"$PG_TMP/load" 2>&1; then
	sed 's/^/# /' "$PG_TMP/load"
	pg_fail load
	pg_skip_all "load failed" ${PG_CASES#load }
fi
pg_defer "pg_in '$srv' '$PORTGUARD' unload --pin-dir '$pins'"
pg_ok load

# json_get JSON RULE FIELD: a rule's counter from status --json (python3 is not assumed).
rule_field() {
	printf '%s\n' "$1" | grep -oE "\"rule\":\"$2\",\"text\":\"[^\"]*\",\"packets\":[0-9]+,\"bytes\":[0-9]+" |
		grep -oE "\"$3\":[0-9]+" | cut -d: -f2
}
reason_packets() {
	printf '%s\n' "$1" | grep -oE "\"$2\":\\{\"drop\":(true|false),\"packets\":[0-9]+" |
		grep -oE '[0-9]+$'
}
# send N ADDR PORT: N single UDP datagrams from the client: bash's /dev/udp is one connected
# socket, and each write one datagram.
send_udp() {
	timeout 10 nsenter --net=/run/netns/"$cli" bash -c \
		'exec 3>"/dev/udp/$2/$3" || exit 1; for ((i = 0; i < $1; i++)); do printf x >&3 || exit 1; done' \
		send "$@"
}

# A service on the allowed port (dual-stack): without one the stack would answer port
# unreachable and the client's connected socket would refuse its next datagram.
pg_bg nsenter --net=/run/netns/"$srv" socat -u UDP6-RECV:7000,ipv6only=0 /dev/null
pg_wait_for 5 sh -c "nsenter --net=/run/netns/$srv ss -Hluan | grep -q ':7000 '"

# Resolve the neighbours first: ARP and ND are not port traffic, but keep the counting window
# to the datagrams we count.
pg_in "$cli" ping -c1 -W2 198.18.7.1 >/dev/null 2>&1
pg_in "$cli" ping -6 -c1 -W2 2001:db8:7::1 >/dev/null 2>&1

before=$(pgs status --json --pin-dir "$pins")
text=$(pgs status --pin-dir "$pins")
printf '%s\n' "$text" | sed 's/^/# /'
has "$text" "^policy: +$policy\$" && has "$text" '^mode: +enforce$' &&
	has "$text" '^interfaces: pgs0 \(ifindex [0-9]+\)$' &&
	has "$text" "^ +[0-9]+ +[0-9]+ +(never|[0-9T:.Z-]+) +$policy:3: allow in udp 7000\$"
result $? status_text
sum=$(sha256sum "$policy" | cut -d' ' -f1)
has "$text" "^sha256: +$sum\$" && has "$before" "\"sha256\":\"$sum\""
result $? status_sha256

N4=25 N6=7 NB=11
send_udp $N4 198.18.7.1 7000 && send_udp $N6 2001:db8:7::1 7000 && send_udp $NB 198.18.7.1 9999
sent=$?
after=$(pgs status --json --pin-dir "$pins")

p0=$(rule_field "$before" "$policy:3" packets) p1=$(rule_field "$after" "$policy:3" packets)
b0=$(rule_field "$before" "$policy:3" bytes) b1=$(rule_field "$after" "$policy:3" bytes)
pg_log "rule $policy:3 packets $p0 -> $p1, bytes $b0 -> $b1 (sent $N4 over IPv4, $N6 over IPv6)"
# Bytes are whole frames: 14 + 20 + 8 + 1 over IPv4, 14 + 40 + 8 + 1 over IPv6.
[ "$sent" = 0 ] && [ $((p1 - p0)) -eq $((N4 + N6)) ] &&
	[ $((b1 - b0)) -eq $((N4 * 43 + N6 * 63)) ] &&
	has "$after" "\"rule\":\"$policy:3\",[^}]*\"last_hit\":\"[0-9]{4}-"
result $? status_rule_counts_exact

d0=$(rule_field "$before" "default in" packets) d1=$(rule_field "$after" "default in" packets)
r0=$(reason_packets "$before" not-allowed) r1=$(reason_packets "$after" not-allowed)
pg_log "default in $d0 -> $d1, not-allowed $r0 -> $r1 (sent $NB to a port no rule allows)"
[ "$sent" = 0 ] && [ $((d1 - d0)) -eq $NB ] && [ $((r1 - r0)) -eq $NB ]
result $? status_reason_counts_exact

# The first pass reason is "an allow rule" (PG_R_PASS_RULE), whatever names.c calls it.
first_pass() { printf '%s\n' "$1" | grep -oE '"[a-z-]+":\{"drop":false,"packets":[0-9]+' | head -1 | grep -oE '[0-9]+$'; }
q0=$(first_pass "$before") q1=$(first_pass "$after")
[ "$sent" = 0 ] && [ $((q1 - q0)) -eq $((N4 + N6)) ]
result $? status_pass_reason_counts_exact

ex=$(pgs explain --json "$policy" in udp 198.18.7.2 7000)
has "$ex" "\"verdict\":\"allowed\"" && has "$ex" "\"rule\":\"$policy:3\""
result $? explain_names_counted_rule

# Metrics and log sinks ride on monitor's event loop, where the loader offers the options.
port=19464
pg_bg pg_in "$srv" "$PORTGUARD" monitor --json --pin-dir "$pins" --metrics "127.0.0.1:$port" \
	--log-file "$PG_TMP/events.json" >"$PG_TMP/monitor.out" 2>&1
if pg_wait_for 10 pg_in "$srv" curl -sf "http://127.0.0.1:$port/metrics"; then
	m=$(pg_in "$srv" curl -sf "http://127.0.0.1:$port/metrics")
	has "$m" "^portguard_rule_packets_total\\{rule=\"$policy:3\",action=\"allow\"\\} $p1\$" &&
		has "$m" "^portguard_drops_total\\{reason=\"not-allowed\"\\} $r1\$" &&
		has "$m" '^portguard_policy_loaded 1$'
	result $? metrics_served_by_monitor
else
	pg_fail metrics_served_by_monitor
fi
# A real Prometheus scrapes the monitor, in the server's namespace; bounded wait.
if command -v prometheus >/dev/null 2>&1; then
	printf '%s\n' 'global: { scrape_interval: 1s, scrape_timeout: 1s }' \
		'scrape_configs:' '  - job_name: portguard' \
		"    static_configs: [ { targets: ['127.0.0.1:$port'] } ]" >"$PG_TMP/prometheus.yml"
	pg_bg nsenter --net=/run/netns/"$srv" prometheus --config.file="$PG_TMP/prometheus.yml" \
		--storage.tsdb.path="$PG_TMP/prom" --web.listen-address=127.0.0.1:19090 \
		--log.level=error
	q="portguard_rule_packets_total{rule=\"$policy:3\",action=\"allow\"}"
	prom_has() {
		nsenter --net=/run/netns/"$srv" curl -s -G http://127.0.0.1:19090/api/v1/query \
			--data-urlencode "query=$q" | grep -q "\"job\":\"portguard\".*,\"$p1\"\]"
	}
	pg_wait_for 60 prom_has
	result $? prometheus_scrapes_monitor
else
	pg_skip prometheus_scrapes_monitor "prometheus not installed (make deps)"
fi
send_udp 3 198.18.7.1 9998
pg_wait_for 10 grep -q '"dest_port":9998' "$PG_TMP/events.json"
[ "$(stat -c %a "$PG_TMP/events.json")" = 600 ] && grep -q '"event_type":"violation"' "$PG_TMP/events.json"
result $? log_file_from_monitor

pgs unload --pin-dir "$pins" >/dev/null 2>&1
out=$(pgs status --pin-dir "$pins" 2>&1); rc=$?
[ $rc -eq 1 ] && has "$out" "nothing loaded under $pins"
result $? unload_then_status_exits_1

pg_done
