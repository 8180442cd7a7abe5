#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian 12 root that tests/e2e_systemd.sh boots with systemd-nspawn, built with
# debootstrap once and cached (PG_NSPAWN_CACHE, default /var/cache/portguard). `make check`
# runs this before the suite, in the machine's network namespace (the suite's own reaches
# nothing). A root whose stamp differs (missing, or another package list) is rebuilt; the
# build goes to a temporary directory first, so that an interrupted one is never taken for a
# root. Prints the root's path; exits 1 when it cannot build one. --cached: build nothing, only
# say whether the cached root is there.
set -u
cache=${PG_NSPAWN_CACHE:-/var/cache/portguard}
root=$cache/nspawn-bookworm
mirror=${PG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Only systemd and what the package depends on.
pkgs=systemd,systemd-sysv,libbpf1,libelf1,zlib1g
stamp="bookworm minbase $pkgs"

[ "$(id -u)" = 0 ] || { echo "nspawn_root: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "nspawn_root: debootstrap not installed (make deps)" >&2; exit 1; }
mkdir -p "$cache" || exit 1
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "nspawn_root: $cache/.lock is held" >&2; exit 1; }
if [ "$(cat "$root/.portguard-root" 2>/dev/null)" = "$stamp" ]; then
	echo "$root"
	exit 0
fi
[ "${1:-}" = --cached ] && exit 1
tmp=$cache/.nspawn-bookworm.$$
log=$cache/debootstrap.log
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
echo "nspawn_root: building $root with debootstrap from $mirror" >&2
t=$SECONDS
# The downloaded packages are kept: a rebuild (a deleted root, another package list) reuses them.
mkdir -p "$cache/debs"
if ! debootstrap --variant=minbase --include="$pkgs" --cache-dir="$cache/debs" bookworm "$tmp" \
	"$mirror" >"$log" 2>&1; then
	tail -n 5 "$log" >&2
	echo "nspawn_root: debootstrap failed; its log: $log" >&2
	exit 1
fi
echo "$stamp" >"$tmp/.portguard-root"
rm -rf "$root" && mv "$tmp" "$root" || exit 1
echo "nspawn_root: built in $((SECONDS - t)) s" >&2
echo "$root"
