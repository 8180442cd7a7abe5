#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make install` into a DESTDIR: the binary, the example policies, the man page, the systemd
# unit and the configuration (which names no policy), with PREFIX and UNITDIR honoured; the
# installed binary works; the unit passes `systemd-analyze verify`; an edited configuration is
# never overwritten (the new one goes beside it as .dist); `make uninstall` removes the rest;
# the man page covers every command and every long option the commands accept.
. "$(dirname "$0")/lib.sh"

PG_CASES="install_files install_prefix installed_binary_checks_policies unit_contents unit_verifies install_keeps_edited_conf uninstall_removes man_renders man_covers_commands man_covers_options"
pg_setup make install cmp
repo=$(cd "$PG_TESTS/.." && pwd)
inst() { # DESTDIR [VAR=VALUE...]: make install; its output in $PG_TMP/out
	local d=$1
	shift
	make -s -C "$repo" BUILD="$BUILD" install DESTDIR="$d" "$@" >"$PG_TMP/out" 2>&1
}

dest=$PG_TMP/dest
# The build is the suite's: install must not rebuild anything.
if ! inst "$dest" PREFIX=/usr; then
	sed 's/^/# /' "$PG_TMP/out"
	pg_skip_all "make install failed" $PG_CASES
fi

# The policies are examples; /etc/portguard holds the configuration, which names none.
mode() { stat -c %a "$1" 2>/dev/null; }
[ "$(mode "$dest/usr/sbin/portguard")" = 755 ] &&
	[ "$(mode "$dest/usr/share/man/man8/portguard.8")" = 644 ] &&
	[ "$(mode "$dest/usr/lib/systemd/system/portguard.service")" = 644 ] &&
	[ "$(mode "$dest/usr/share/doc/portguard/examples/novavms-cloud.policy")" = 644 ] &&
	[ -f "$dest/usr/share/doc/portguard/examples/novavms-gateway.policy" ] &&
	[ -f "$dest/usr/share/doc/portguard/examples/novavms-cloud-dev.policy" ] &&
	[ "$(mode "$dest/etc/portguard/portguard.conf")" = 644 ] &&
	[ "$(ls "$dest/etc/portguard")" = portguard.conf ] &&
	grep -qx 'PORTGUARD_POLICY=' "$dest/etc/portguard/portguard.conf" &&
	! grep -q '@[A-Z]*@' "$dest/etc/portguard/portguard.conf" &&
	grep -q "cp /usr/share/doc/portguard/examples/novavms-cloud.policy /etc/portguard/" \
		"$dest/etc/portguard/portguard.conf" &&
	[ ! -e "$dest/etc/systemd" ]
if [ $? = 0 ]; then pg_ok install_files; else find "$dest" | sed 's/^/# /'; pg_fail install_files; fi

# PREFIX moves everything but the configuration; UNITDIR moves the unit.
dest2=$PG_TMP/dest2
inst "$dest2" PREFIX=/opt/portguard &&
	[ -x "$dest2/opt/portguard/sbin/portguard" ] &&
	[ -f "$dest2/opt/portguard/share/man/man8/portguard.8" ] &&
	[ -f "$dest2/opt/portguard/share/doc/portguard/examples/novavms-cloud.policy" ] &&
	[ -f "$dest2/etc/portguard/portguard.conf" ] &&
	grep -q '^ExecStart=/opt/portguard/sbin/portguard run --keep' \
		"$dest2/opt/portguard/lib/systemd/system/portguard.service" &&
	inst "$PG_TMP/dest3" UNITDIR=/etc/systemd/system &&
	grep -q '^ExecStart=/usr/local/sbin/portguard run --keep' \
		"$PG_TMP/dest3/etc/systemd/system/portguard.service"
if [ $? = 0 ]; then pg_ok install_prefix; else pg_fail install_prefix; fi

ok=0
for p in "$dest"/usr/share/doc/portguard/examples/*.policy; do
	"$dest/usr/sbin/portguard" check "$p" >/dev/null 2>&1 || { ok=1; pg_log "check failed: $p"; }
done
if [ $ok = 0 ]; then pg_ok installed_binary_checks_policies; else pg_fail installed_binary_checks_policies; fi

# The unit: no policy of its own; the start checks that one is named and valid, reload checks
# before it signals; bpffs writable in a read-only /sys; no restart on an exit status; up
# before network-pre.target.
unit=$dest/usr/lib/systemd/system/portguard.service
has() { grep -qx -- "$1" "$unit" || { pg_log "unit lacks: $1"; return 1; }; }
has 'Type=notify' &&
	has 'ExecStart=/usr/sbin/portguard run --keep --json $PORTGUARD_OPTS ${PORTGUARD_POLICY}' &&
	has 'EnvironmentFile=-/etc/portguard/portguard.conf' &&
	has 'Environment=PORTGUARD_POLICY= PORTGUARD_OPTS=' &&
	grep -q '^ExecStartPre=.*no policy configured: set PORTGUARD_POLICY in /etc/portguard/portguard.conf' "$unit" &&
	has "ExecReload=/bin/sh -c '/usr/sbin/portguard check --json \"\$\$PORTGUARD_POLICY\" >/dev/null && kill -HUP \"\$\$MAINPID\"'" &&
	has 'LogLevelMax=notice' && has 'SyslogLevel=notice' &&
	has 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN CAP_DAC_READ_SEARCH' &&
	has 'ProtectSystem=strict' && has 'ProtectKernelTunables=no' && has 'ReadOnlyPaths=/sys' &&
	has 'ReadWritePaths=/sys/fs/bpf' && has 'NoNewPrivileges=yes' && has 'ProtectHome=yes' &&
	has 'Restart=on-abnormal' && has 'Before=network-pre.target shutdown.target' &&
	has 'DefaultDependencies=no' &&
	! grep -q '\.policy$' "$unit" && ! grep -q '@[A-Z]*@' "$unit"
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

# An edited configuration is never overwritten: the new one goes beside it as .dist, with a
# message; an unedited one is left as it is, with no .dist.
conf=$dest/etc/portguard/portguard.conf
inst "$dest" PREFIX=/usr && ! [ -e "$conf.dist" ] && grep -q "is up to date" "$PG_TMP/out"
same=$?
echo 'PORTGUARD_POLICY=/etc/portguard/host.policy' >>"$conf"
cp "$conf" "$PG_TMP/edited"
inst "$dest" PREFIX=/usr
sed 's/^/# | /' "$PG_TMP/out"
pg_check install_keeps_edited_conf eval '[ $same = 0 ] && cmp -s "$PG_TMP/edited" "$conf" &&
	cmp -s "$BUILD/dist/portguard.conf" "$conf.dist" &&
	grep -q "kept $conf, which differs" "$PG_TMP/out"'

# uninstall removes what install wrote; the edited configuration stays, and says so. An
# unedited one goes, with /etc/portguard.
make -s -C "$repo" BUILD="$BUILD" uninstall DESTDIR="$dest" PREFIX=/usr >"$PG_TMP/un" 2>&1
sed 's/^/# | /' "$PG_TMP/un"
left=$(cd "$dest" && find . -type f | sort)
make -s -C "$repo" BUILD="$BUILD" uninstall DESTDIR="$dest2" PREFIX=/opt/portguard >/dev/null 2>&1
left2=$(cd "$dest2" && find . -type f | sort)
pg_log "left by uninstall: $left; $left2"
pg_check uninstall_removes eval '[ "$left" = ./etc/portguard/portguard.conf ] &&
	grep -q "kept $conf: it was edited" "$PG_TMP/un" && [ -z "$left2" ] &&
	[ ! -e "$dest2/etc/portguard" ] && [ ! -e "$dest2/opt/portguard/share/doc/portguard" ]'
# The man page checks below read the pages of the first install.
inst "$dest" PREFIX=/usr

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
