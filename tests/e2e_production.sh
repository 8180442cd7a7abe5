#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The README's production walkthrough (its "Production" section, steps 1 to 8) runs as written: its `sh` blocks,
# in order, in one shell, from the repository's root. Everything it writes outside the repo is
# made private first, in a mount namespace of our own: overlays on /etc, /usr/local and
# /var/log (make install writes there), a tmpfs on /run/netns, a private bpffs on /sys/fs/bpf.
# Its child cgroup is removed at cleanup, also on failure.
. "$(dirname "$0")/lib.sh"

PG_CASES="walkthrough_completes doc_install doc_audit_exposed doc_load_enforces doc_bind_refused doc_status doc_explain doc_metrics doc_unload doc_cleaned_up"

if [ -z "${PG_PROD_PRIVATE:-}" ] && [ "$(id -u)" = 0 ]; then
	# Re-run in a private mount namespace: nothing mounted below leaks to the host.
	PG_PROD_PRIVATE=1 exec unshare -m --propagation private bash "$0" "$@"
fi
pg_setup socat nsenter curl make awk
repo=$(cd "$PG_TESTS/.." && pwd)
doc=$repo/README.md
grep -q '^## Production$' "$doc" || pg_skip_all "README.md has no Production section" $PG_CASES

ovl=$PG_TMP/ovl
mkdir -p "$ovl"
mount -t tmpfs tmpfs "$ovl" || pg_skip_all "cannot mount tmpfs" $PG_CASES
pg_defer "umount -l '$ovl'"
overlay() { # DIR: writes to DIR go to our tmpfs
	local name
	name=$(echo "$1" | tr / _)
	mkdir -p "$ovl/$name.up" "$ovl/$name.work"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$ovl/$name.up,workdir=$ovl/$name.work" "$1" &&
		pg_defer "umount -l '$1'"
}
overlay /etc && overlay /usr/local && overlay /var/log || pg_skip_all "cannot mount overlays" $PG_CASES
mkdir -p /run/netns
mount -t tmpfs tmpfs /run/netns && pg_defer "umount -l /run/netns" || pg_skip_all "cannot mount /run/netns" $PG_CASES
mount -t bpf bpf /sys/fs/bpf && pg_defer "umount -l /sys/fs/bpf" || pg_skip_all "cannot mount bpffs" $PG_CASES
cgdir=$(pg_cgroup2_root)/pg-demo
[ -e "$cgdir" ] && pg_skip_all "$cgdir exists already (a demo running?)" $PG_CASES
pg_defer "[ -d '$cgdir' ] && pg_cgroup_remove '$cgdir'"
pg_defer "ip netns del pg-server; ip netns del pg-client"

# Steps 1 to 8: every ```sh block up to the service section.
script=$PG_TMP/walkthrough.sh
awk '/^## Production$/ { prod = 1; next } !prod { next }
	/^### Running it as a service/ || /^## / { exit }
	/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$doc" >"$script"
pg_log "running $(grep -c . "$script") lines of the README's production section"
out=$PG_TMP/walkthrough.out
(
	cd "$repo" || exit 1
	unset MAKEFLAGS MAKELEVEL MFLAGS
	export PATH=/usr/local/sbin:/usr/local/bin:$PATH
	timeout --kill-after=5 240 bash "$script"
) >"$out" 2>&1 </dev/null
rc=$?
sed 's/^/# | /' "$out"
pg_log "walkthrough exit $rc"

has() { grep -Eq -- "$1" "$out"; }
result() { if [ "$1" = 0 ]; then pg_ok "$2"; else pg_fail "$2"; fi; }

# Every step ran to its end (timeout says 124): a step that hung or broke fails here even where
# the checks below still find their lines.
[ "$rc" = 0 ]
result $? walkthrough_completes

has '^policy ok$' && [ -x /usr/local/sbin/portguard ] &&
	[ -f /usr/local/lib/systemd/system/portguard.service ] &&
	[ -f /usr/local/share/doc/portguard/examples/novavms-cloud.policy ] &&
	[ -f /usr/local/share/man/man8/portguard.8 ]
result $? doc_install
has '^EXPOSED +tcp 0\.0\.0\.0:5432 +socat\[[0-9]+\] .*local-only' && has '^audit failed: fix the listeners above$'
result $? doc_audit_exposed
# 5432 and 8080 both listen (step 2): "filtered" is XDP's drop, which the metrics of step 7
# count by reason.
has '^caddy$' && has '^443: exit 0$' && has '^5432: exit 1 \(filtered\)$' && has '^8080: exit 1 \(filtered\)$' &&
	has '^portguard_drops_total\{reason="not-allowed"\} [1-9]' && ! has '^console$|^postgres$'
result $? doc_load_enforces
has 'bind.*0\.0\.0\.0:9000.*Operation not permitted' && has '^bind 0\.0\.0\.0:9000 refused$' &&
	has '^bind 127\.0\.0\.1:9000: exit 124 '
result $? doc_bind_refused
has '^policy: +/etc/portguard/novavms-cloud\.policy$' && has '^interfaces: pg-eth0 \(ifindex [0-9]+\)$' &&
	has "^cgroup: +$cgdir\$" && has '^ +[1-9][0-9]* +[0-9]+ +[0-9T:.Z-]+ +/etc/portguard/novavms-cloud\.policy:[0-9]+: local tcp 5432$'
result $? doc_status
has '^verdict: blocked \(local-only\)$' && has '^rule: +/etc/portguard/novavms-cloud\.policy:[0-9]+: local tcp 5432$' &&
	has '^verdict: allowed \(allowed-rule\)$' &&
	has '^rule: +/etc/portguard/novavms-cloud\.policy:[0-9]+: allow in tcp 22 from '
result $? doc_explain
has '^portguard_drops_total\{reason="local-only"\} [1-9]' && has '^portguard_policy_loaded 1$'
result $? doc_metrics
has '^portguard: nothing loaded under /sys/fs/bpf/portguard$' && has '^nothing loaded: status exits 1$'
result $? doc_unload
left=$(ls /run/netns; [ -e "$cgdir" ] && echo "$cgdir"; ls /sys/fs/bpf/portguard 2>/dev/null)
[ -z "$left" ]
result $? doc_cleaned_up
[ -n "$left" ] && pg_log "left behind: $left"

pg_done
