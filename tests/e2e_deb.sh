#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make deb`: a Debian package built with debhelper through dpkg-buildpackage, that lintian
# passes without an error, with the binary in /usr/sbin, the unit in /lib/systemd/system, the
# man page, the NovaVMS policies as examples (plain text) and nothing but conffiles in
# /etc/portguard: no policy is named, so nothing enforces until the operator names one.
# tests/e2e_systemd.sh installs it under systemd.
. "$(dirname "$0")/lib.sh"

PG_CASES="deb_builds deb_files deb_conffiles_only deb_names_no_policy deb_scripts lintian_no_errors"
pg_setup make dpkg-buildpackage dh dpkg-deb lintian
repo=$(cd "$PG_TESTS/.." && pwd)

if ! make -s -C "$repo" BUILD="$BUILD" deb >"$PG_TMP/out" 2>&1; then
	sed 's/^/# /' "$PG_TMP/out"
	pg_fail deb_builds
	pg_skip_all "make deb failed" ${PG_CASES#deb_builds }
fi
version=$(head -n1 "$repo/debian/changelog" | cut -d' ' -f2 | tr -d '()')
deb=$BUILD/deb/portguard_${version}_$(dpkg --print-architecture).deb
pg_check deb_builds test -f "$deb"

dpkg-deb -c "$deb" | awk '{ print $1, $6 }' | sed 's|^\(.\{10\}\) \./|\1 /|' >"$PG_TMP/files"
has() { grep -qx -- "$1" "$PG_TMP/files" || { pg_log "not in the package: $1"; return 1; }; }
files_ok() {
	has '-rwxr-xr-x /usr/sbin/portguard' &&
		has '-rw-r--r-- /lib/systemd/system/portguard.service' &&
		has '-rw-r--r-- /usr/share/man/man8/portguard.8.gz' &&
		has '-rw-r--r-- /usr/share/doc/portguard/copyright' &&
		has '-rw-r--r-- /etc/portguard/portguard.conf' &&
		for p in "$repo"/policy/*.policy; do
			has "-rw-r--r-- /usr/share/doc/portguard/examples/${p##*/}" || return 1
		done
}
pg_check deb_files files_ok

# Every file under /etc is a conffile, and there is one: portguard.conf.
mkdir "$PG_TMP/ctl" && dpkg-deb -e "$deb" "$PG_TMP/ctl"
awk '$1 ~ /^-/ && $2 ~ /^\/etc\// { print $2 }' "$PG_TMP/files" >"$PG_TMP/etc"
pg_check deb_conffiles_only eval 'diff -u "$PG_TMP/etc" "$PG_TMP/ctl/conffiles" &&
	[ "$(cat "$PG_TMP/ctl/conffiles")" = /etc/portguard/portguard.conf ]'

mkdir "$PG_TMP/x" && dpkg-deb -x "$deb" "$PG_TMP/x"
pg_check deb_names_no_policy eval 'grep -qx "PORTGUARD_POLICY=" "$PG_TMP/x/etc/portguard/portguard.conf" &&
	! grep -q "^Environment=.*\.policy" "$PG_TMP/x/lib/systemd/system/portguard.service" &&
	grep -q "^EnvironmentFile=-/etc/portguard/portguard.conf$" "$PG_TMP/x/lib/systemd/system/portguard.service" &&
	! grep -q "@[A-Z]*@" "$PG_TMP/x/lib/systemd/system/portguard.service" "$PG_TMP/x/etc/portguard/portguard.conf"'

# Installing starts nothing (no start in postinst); an upgrade try-restarts; removal stops and
# unloads; purge removes /etc/portguard.
pg_check deb_scripts eval '! grep -qE "deb-systemd-invoke (start|restart)" "$PG_TMP/ctl/postinst" &&
	grep -q "deb-systemd-invoke try-restart" "$PG_TMP/ctl/postinst" &&
	grep -q "portguard unload" "$PG_TMP/ctl/prerm" &&
	grep -q "rm -rf /etc/portguard" "$PG_TMP/ctl/postrm"'

changes=${deb%.deb}.changes
lintian --tag-display-limit 0 "$changes" >"$PG_TMP/lintian" 2>&1
sed 's/^/# /' "$PG_TMP/lintian"
pg_check lintian_no_errors eval '! grep -q "^E:" "$PG_TMP/lintian"'

pg_done
