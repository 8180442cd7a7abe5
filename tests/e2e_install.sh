#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make install` into a DESTDIR: the binary, the policies, the man page and the systemd unit,
# with PREFIX honoured; the installed binary works; the unit passes `systemd-analyze verify`;
# the man page covers every command and every long option the commands accept.
. "$(dirname "$0")/lib.sh"

PG_CASES="install_files install_prefix installed_binary_checks_policies unit_contents unit_verifies man_renders man_covers_commands man_covers_options"
pg_setup make install
repo=$(cd "$PG_TESTS/.." && pwd)

dest=$PG_TMP/dest
# The build is the suite's: install must not rebuild anything.
if ! make -s -C "$repo" BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/usr >"$PG_TMP/out" 2>&1; then
	sed 's/^/# /' "$PG_TMP/out"
	pg_fail_all "make install failed" $PG_CASES
fi

mode() { stat -c %a "$1" 2>/dev/null; }
[ "$(mode "$dest/usr/sbin/portguard")" = 755 ] &&
	[ "$(mode "$dest/etc/portguard/novavms-cloud.policy")" = 644 ] &&
	[ -f "$dest/etc/portguard/novavms-gateway.policy" ] &&
	[ -f "$dest/etc/portguard/novavms-cloud-dev.policy" ] &&
	[ "$(mode "$dest/usr/share/man/man8/portguard.8")" = 644 ] &&
	[ -f "$dest/etc/systemd/system/portguard.service" ]
if [ $? = 0 ]; then pg_ok install_files; else find "$dest" | sed 's/^/# /'; pg_fail install_files; fi

dest2=$PG_TMP/dest2
make -s -C "$repo" BUILD="$BUILD" install DESTDIR="$dest2" PREFIX=/opt/portguard >/dev/null 2>&1 &&
	[ -x "$dest2/opt/portguard/sbin/portguard" ] &&
	[ -f "$dest2/opt/portguard/share/man/man8/portguard.8" ] &&
	grep -q '^ExecStart=/opt/portguard/sbin/portguard run --keep' "$dest2/etc/systemd/system/portguard.service"
if [ $? = 0 ]; then pg_ok install_prefix; else pg_fail install_prefix; fi

ok=0
for p in "$dest"/etc/portguard/*.policy; do
	"$dest/usr/sbin/portguard" check "$p" >/dev/null 2>&1 || { ok=1; pg_log "check failed: $p"; }
done
if [ $ok = 0 ]; then pg_ok installed_binary_checks_policies; else pg_fail installed_binary_checks_policies; fi

unit=$dest/etc/systemd/system/portguard.service
grep -q '^Type=notify$' "$unit" &&
	grep -q '^ExecStart=/usr/sbin/portguard run --keep ' "$unit" &&
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" &&
	grep -q '^CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN$' "$unit" &&
	grep -q '^ProtectSystem=strict$' "$unit" &&
	grep -q '^ReadWritePaths=/sys/fs/bpf$' "$unit" &&
	grep -q '^NoNewPrivileges=yes$' "$unit" &&
	grep -q '^ProtectHome=yes$' "$unit" &&
	! grep -q '@SBINDIR@' "$unit"
if [ $? = 0 ]; then pg_ok unit_contents; else pg_fail unit_contents; fi

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that the binaries exist: point the unit at the DESTDIR's binary, and man
	# at the DESTDIR's pages for Documentation=.
	sed "s|/usr/sbin/portguard|$dest/usr/sbin/portguard|g" "$unit" >"$PG_TMP/portguard.service"
	if MANPATH=$dest/usr/share/man systemd-analyze verify "$PG_TMP/portguard.service" \
		>"$PG_TMP/verify" 2>&1; then
		pg_ok unit_verifies
	else
		sed 's/^/# /' "$PG_TMP/verify"
		pg_fail unit_verifies
	fi
	systemd-analyze security --offline=true "$PG_TMP/portguard.service" 2>/dev/null |
		grep 'Overall exposure' | sed 's/^/# /'
else
	pg_skip unit_verifies "systemd-analyze not installed"
fi

man8=$dest/usr/share/man/man8/portguard.8
if command -v man >/dev/null 2>&1; then
	MANWIDTH=200 man -l "$man8" >"$PG_TMP/man.txt" 2>"$PG_TMP/man.err" && [ -s "$PG_TMP/man.txt" ] &&
		! grep -q warning "$PG_TMP/man.err"
	if [ $? = 0 ]; then pg_ok man_renders; else sed 's/^/# /' "$PG_TMP/man.err"; pg_fail man_renders; fi
else
	pg_skip man_renders "man not installed"
	groff -man -Tutf8 "$man8" >"$PG_TMP/man.txt" 2>/dev/null || cp "$man8" "$PG_TMP/man.txt"
fi

# Every command `portguard help` lists has its own entry under COMMANDS. An empty or short
# list would make both checks below pass: the commands this suite knows must be in it.
cmds=$("$dest/usr/sbin/portguard" help | awk '/^commands:/ { on = 1; next } on && NF { print $1 }')
missing=
for c in check explain audit run load reload unload status monitor; do
	grep -qx "$c" <<<"$cmds" || missing="$missing help:$c"
done
for c in $cmds; do
	grep -Eq "^       $c( |$)" "$PG_TMP/man.txt" || missing="$missing $c"
done
if [ -z "$missing" ]; then pg_ok man_covers_commands; else pg_log "not in the man page:$missing"; pg_fail man_covers_commands; fi

# Every long option of every command's usage line is documented; run's usage, at least, has
# the options the unit and the README use (so an empty usage cannot pass).
missing=
for o in --iface --cgroup --pin-dir --keep --json --metrics --log-file --syslog; do
	"$dest/usr/sbin/portguard" run --help 2>&1 | grep -q -- "$o" || missing="$missing usage:run:$o"
done
for c in $cmds; do
	for o in $("$dest/usr/sbin/portguard" "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$o" "$PG_TMP/man.txt" || missing="$missing $c:$o"
	done
done
if [ -z "$missing" ]; then pg_ok man_covers_options; else pg_log "not in the man page:$missing"; pg_fail man_covers_options; fi

pg_done
