# SPDX-License-Identifier: GPL-2.0
# Shared by tests/kernels/guest-run.sh and tests/kernels/check.sh: fetch Debian's kernels
# through a private apt configuration, build (once) a Debian 12 root with debootstrap, make
# per-kernel boot images, and boot one in QEMU with this checkout's build on a second disk.
#
# Cache (PG_KERNELS_CACHE, default /var/cache/portguard-kernels; survives `make clean`):
#   apt/SUITE/         sources.list, package lists and downloaded .debs, one per suite
#   rootfs/            the debootstrap tree (Debian 12 userspace, same libbpf as the build host)
#   kernel/NAME/       vmlinuz, initrd.img (busybox + virtio/ext4 modules), root.img (the root
#                      tree + that kernel's /lib/modules, ext4), release (uname -r)
# Everything cached is keyed by what it was built from: a new kernel package in the archive,
# or a change to this file's rootfs package list, rebuilds only what depends on it.
# Nothing here is written outside the cache, the run's temporary directory and build/.

set -u
KLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The checkout whose tests/ and policy/ go into the guest, and the build copied with them.
PG_SRC=${PG_SRC:-$(cd "$KLIB_DIR/../.." && pwd)}
BUILD=${BUILD:-$PG_SRC/build}
PG_KERNELS_CACHE=${PG_KERNELS_CACHE:-/var/cache/portguard-kernels}
PG_KERNELS_MIRROR=${PG_KERNELS_MIRROR:-http://deb.debian.org/debian}
PG_KERNELS_SECURITY=${PG_KERNELS_SECURITY:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The matrix, oldest first: NAME:SUITE. "running" is this machine's own kernel.
PG_KERNELS_ALL=${PG_KERNELS_ALL:-"5.10:bullseye 6.1:bookworm 6.12:trixie running:"}
# The guest root: what the tests inside need (bash, coreutils and util-linux are essential).
ROOTFS_PKGS="iproute2 kmod libbpf1 libelf1 zlib1g ncat socat procps jq bpftool busybox-static"
# Modules the initrd loads to reach the root disk, in modprobe's dependency order.
INITRD_MODS="virtio_pci virtio_blk ext4 crc32c_generic crc32c_intel"

klog() { echo "kernels: $*" >&2; }

# The suite of a kernel name (5.10 -> bullseye); empty for "running"; fails if unknown.
kernel_suite() {
	local e
	for e in $PG_KERNELS_ALL; do
		[ "${e%%:*}" = "$1" ] && { echo "${e#*:}"; return 0; }
	done
	return 1
}

# apt-get/apt-cache with a private configuration for one suite: its own sources, lists and
# archives, none of the host's sources, preferences or dpkg lock.
kapt() { # suite, apt-get|apt-cache, args...
	local suite=$1 tool=$2 d=$PG_KERNELS_CACHE/apt/$1
	shift 2
	"$tool" -q -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts="$d/empty" \
		-o Dir::Etc::preferencesparts="$d/empty" -o Dir::State::Lists="$d/lists" \
		-o Dir::Cache="$d/cache" -o Dir::Cache::archives="$d/archives" \
		-o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1 \
		-o APT::Sandbox::User=root "$@"
}

kapt_setup() { # suite: write the sources and update the lists (at most once an hour)
	local suite=$1 d=$PG_KERNELS_CACHE/apt/$1
	mkdir -p "$d/lists/partial" "$d/cache" "$d/archives/partial" "$d/empty"
	cat >"$d/sources.list" <<-EOF
	deb [signed-by=$KEYRING] $PG_KERNELS_MIRROR $suite main
	deb [signed-by=$KEYRING] $PG_KERNELS_MIRROR $suite-updates main
	deb [signed-by=$KEYRING] $PG_KERNELS_SECURITY $suite-security main
	EOF
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null)" ]; then
		if ! kapt "$suite" apt-get update >"$d/update.log" 2>&1; then
			# Offline with lists from an earlier run: their kernel is still in the cache.
			[ -n "$(find "$d/lists" -maxdepth 1 -name '*Packages*' 2>/dev/null)" ] ||
				{ klog "apt-get update for $suite failed: $(tail -1 "$d/update.log")"; return 1; }
			klog "apt-get update for $suite failed, using the lists of an earlier run"
		fi
	fi
}

# Fetch the suite's current kernel (the package linux-image-amd64 depends on) and unpack it
# into kernel/NAME/pkg. Prints the package's file name.
kernel_fetch() { # name suite
	local name=$1 suite=$2 d=$PG_KERNELS_CACHE/apt/$2 pkg deb
	kapt_setup "$suite" || return 1
	pkg=$(kapt "$suite" apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { klog "$suite: no linux-image-amd64 in the archive"; return 1; }
	deb=$(ls "$d/archives/${pkg}_"*.deb 2>/dev/null | tail -1)
	if [ -z "$deb" ]; then
		(cd "$d/archives" && kapt "$suite" apt-get download "$pkg" >"$d/download.log" 2>&1) ||
			{ klog "downloading $pkg failed: $(tail -1 "$d/download.log")"; return 1; }
		deb=$(ls "$d/archives/${pkg}_"*.deb | tail -1)
		# The kernel it replaces is no longer the suite's: keep one package per suite.
		find "$d/archives" -maxdepth 1 -name 'linux-image-*.deb' ! -path "$deb" -delete
	fi
	echo "$deb"
}

# The debootstrap tree, rebuilt when the package list changes.
rootfs_build() {
	local r=$PG_KERNELS_CACHE/rootfs key
	key="bookworm $ROOTFS_PKGS"
	[ -f "$r.done" ] && [ "$(cat "$r.done")" = "$key" ] && return 0
	klog "debootstrap bookworm into $r (once)"
	rm -rf "$r" "$r.done"
	mkdir -p "$PG_KERNELS_CACHE/debootstrap-cache"
	debootstrap --variant=minbase --include="${ROOTFS_PKGS// /,}" \
		--cache-dir="$PG_KERNELS_CACHE/debootstrap-cache" \
		bookworm "$r" "$PG_KERNELS_MIRROR" >"$PG_KERNELS_CACHE/debootstrap.log" 2>&1 ||
		{ klog "debootstrap failed: $(tail -3 "$PG_KERNELS_CACHE/debootstrap.log")"; return 1; }
	# PID 1 of every guest: mount the build disk and hand over to its guest-init.sh, so that
	# the init logic is the checkout's, not the cache's.
	cat >"$r/sbin/pg-init" <<-'EOF'
	#!/bin/sh
	mount -t proc proc /proc
	mkdir -p /pg && mount -t ext4 -o ro /dev/vdb /pg && exec /bin/bash /pg/tests/kernels/guest-init.sh
	echo "pg-init: cannot mount the build disk /dev/vdb" >/dev/ttyS1
	echo o >/proc/sysrq-trigger
	EOF
	chmod 755 "$r/sbin/pg-init"
	echo portguard-guest >"$r/etc/hostname"
	rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*
	echo "$key" >"$r.done"
}

# An initrd that loads the virtio and ext4 modules, mounts root= and switches to /sbin/pg-init.
initrd_build() { # moddir-root(stage) release out
	local stage=$1 rel=$2 out=$3 t line m
	t=$(mktemp -d) || return 1
	mkdir -p "$t/bin" "$t/lib/modules" "$t/dev" "$t/proc" "$t/sys" "$t/newroot"
	cp "$stage/bin/busybox" "$t/bin/busybox" || { rm -rf "$t"; return 1; }
	: >"$t/lib/modules/order"
	for m in $INITRD_MODS; do
		chroot "$stage" modprobe -S "$rel" --show-depends "$m" 2>/dev/null
	done | while read -r line; do
		set -- $line
		[ "$1" = insmod ] || continue
		f=$(basename "$2")
		f=${f%.xz}
		f=${f%.zst}
		grep -qx "$f" "$t/lib/modules/order" && continue
		case $2 in
		*.xz) xz -dc "$stage$2" >"$t/lib/modules/$f" ;;
		*.zst) zstd -qdc "$stage$2" >"$t/lib/modules/$f" ;;
		*) cp "$stage$2" "$t/lib/modules/$f" ;;
		esac
		echo "$f" >>"$t/lib/modules/order"
	done
	cat >"$t/init" <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox mount -t proc proc /proc
	/bin/busybox mount -t devtmpfs dev /dev
	for m in $(/bin/busybox cat /lib/modules/order); do
		/bin/busybox insmod /lib/modules/$m 2>/dev/null
	done
	root=/dev/vda
	for a in $(/bin/busybox cat /proc/cmdline); do
		case $a in root=*) root=${a#root=} ;; esac
	done
	i=0
	while [ ! -b "$root" ] && [ $i -lt 100 ]; do /bin/busybox sleep 0.1; i=$((i + 1)); done
	/bin/busybox mount -t ext4 -o rw "$root" /newroot || { echo "initrd: cannot mount $root"; /bin/busybox poweroff -f; }
	/bin/busybox umount /proc
	/bin/busybox mount --move /dev /newroot/dev
	exec /bin/busybox switch_root /newroot /sbin/pg-init
	EOF
	chmod 755 "$t/init"
	(cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" && mv "$out.tmp" "$out"
	local rc=$?
	rm -rf "$t"
	return $rc
}

# Make kernel/NAME/{vmlinuz,initrd.img,root.img,release}. Fails with a reason on stderr; for
# the running kernel, returns 2 when it cannot be booted here (a SKIP, not a failure).
kernel_prepare() { # name
	mkdir -p "$PG_KERNELS_CACHE" || return 1
	# One preparation at a time: guest-run.sh and check.sh may run at once and share the cache.
	(flock 9 && kernel_prepare_locked "$1") 9>"$PG_KERNELS_CACHE/lock"
}

kernel_prepare_locked() { # name
	local name=$1 suite kd=$PG_KERNELS_CACHE/kernel/$1 deb key rel stage src
	suite=$(kernel_suite "$name") || { klog "unknown kernel $name"; return 1; }
	rootfs_build || return 1
	mkdir -p "$kd"
	if [ "$name" = running ]; then
		rel=$(uname -r)
		[ -r "/boot/vmlinuz-$rel" ] ||
			{ klog "running kernel $rel: /boot/vmlinuz-$rel is not present or not readable"; return 2; }
		[ -d "/lib/modules/$rel" ] ||
			{ klog "running kernel $rel: no /lib/modules/$rel to give the guest"; return 2; }
		key="running $rel $(stat -c %Y "/boot/vmlinuz-$rel")"
	else
		deb=$(kernel_fetch "$name" "$suite") || return 1
		key="$(basename "$deb")"
	fi
	key="$key $(cat "$PG_KERNELS_CACHE/rootfs.done" | md5sum | cut -c1-8)"
	[ -f "$kd/done" ] && [ "$(cat "$kd/done")" = "$key" ] && return 0
	klog "$name: making boot images ($key)"
	rm -f "$kd/done"
	stage=$kd/stage
	rm -rf "$stage" "$kd/pkg"
	if [ "$name" = running ]; then
		cp "/boot/vmlinuz-$rel" "$kd/vmlinuz" || return 1
		src=/lib/modules/$rel
	else
		dpkg-deb -x "$deb" "$kd/pkg" || { klog "cannot unpack $deb"; return 1; }
		# Debian 13's packages ship the modules under /usr/lib (merged /usr).
		src=$kd/pkg/lib/modules
		[ -d "$src" ] || src=$kd/pkg/usr/lib/modules
		rel=$(ls "$src" | head -1)
		src=$src/$rel
		cp "$kd/pkg/boot/vmlinuz-$rel" "$kd/vmlinuz" || return 1
	fi
	# The root tree shared by hard links, plus this kernel's modules.
	cp -al "$PG_KERNELS_CACHE/rootfs" "$stage" &&
		mkdir -p "$stage/lib/modules" && cp -a "$src" "$stage/lib/modules/$rel" &&
		chroot "$stage" depmod "$rel" || { klog "$name: cannot install modules"; return 1; }
	initrd_build "$stage" "$rel" "$kd/initrd.img" || { klog "$name: cannot build the initrd"; return 1; }
	rm -f "$kd/root.img"
	mkfs.ext4 -q -F -L pgroot -d "$stage" "$kd/root.img" 3G >"$kd/mkfs.log" 2>&1 ||
		{ klog "$name: mkfs.ext4 failed: $(tail -1 "$kd/mkfs.log")"; return 1; }
	echo "$rel" >"$kd/release"
	rm -rf "$stage" "$kd/pkg"
	echo "$key" >"$kd/done"
}

# The build disk: this checkout's binaries, test scripts and policies, made at every run.
# $1: output image, $2: a file copied to /pg/cmd (the guest's job).
payload_build() { # out.img jobfile
	local out=$1 job=$2 p
	p=$(mktemp -d) || return 1
	mkdir -p "$p/build/tests" "$p/build/bpf"
	cp -a "$BUILD/portguard" "$p/build/" 2>/dev/null
	find "$BUILD/tests" -maxdepth 1 -type f -perm -u+x -exec cp -a {} "$p/build/tests/" \; 2>/dev/null
	cp -a "$BUILD"/bpf/*.bpf.o "$p/build/bpf/" 2>/dev/null
	cp -a "$PG_SRC/tests" "$PG_SRC/policy" "$p/"
	# The guest's init and job scripts are always these, whichever checkout PG_SRC names.
	mkdir -p "$p/tests/kernels" && cp "$KLIB_DIR"/guest-*.sh "$p/tests/kernels/"
	[ -d "$PG_SRC/dist" ] && cp -a "$PG_SRC/dist" "$p/"
	cp "$job" "$p/cmd"
	mkfs.ext4 -q -F -L pgbuild -d "$p" "$out" 512M >/dev/null 2>&1
	local rc=$?
	rm -rf "$p"
	return $rc
}

# Does KVM work here? /dev/kvm may open and still fail: boot the kernel with no root under KVM
# only; a working KVM panics (no root) and exits in seconds. Cached per run in KVM_OK.
kvm_works() { # vmlinuz
	if [ -z "${KVM_OK:-}" ]; then
		KVM_OK=no
		if [ "${PG_KERNELS_ACCEL:-auto}" = auto ] && [ -w /dev/kvm ] &&
			timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -display none \
				-monitor none -serial stdio -no-reboot -kernel "$1" \
				-append "console=ttyS0 panic=-1 root=/dev/nonexistent" 2>/dev/null |
			grep -q 'Kernel panic'; then
			KVM_OK=yes
		fi
	fi
	[ "$KVM_OK" = yes ]
}

# Boot kernel NAME with the build disk; the guest runs the job script JOB (bash) and writes its
# output to the second serial port. Output goes to $out (job output) and $out.console (kernel
# log). Returns 0 when the guest finished (the job's status is the guest's last line
# "pg-exit N"), 124 when it was killed at the timeout.
guest_boot() { # name job out timeout
	local name=$1 job=$2 out=$3 tmo=$4 kd=$PG_KERNELS_CACHE/kernel/$1 accel rc
	local pl=$out.build.img
	payload_build "$pl" "$job" || { klog "cannot make the build disk"; return 1; }
	if kvm_works "$kd/vmlinuz"; then
		accel=(-accel kvm -cpu host)
	else
		accel=(-accel tcg,thread=multi -cpu max)
	fi
	: >"$out"
	timeout --kill-after=5 "$tmo" qemu-system-x86_64 "${accel[@]}" -smp 2 -m 2048 \
		-display none -monitor none -no-reboot \
		-kernel "$kd/vmlinuz" -initrd "$kd/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet loglevel=4 pg.kernel=$name" \
		-drive file="$kd/root.img",format=raw,if=virtio,snapshot=on \
		-drive file="$pl",format=raw,if=virtio,readonly=on \
		-serial file:"$out.console" -serial file:"$out" \
		-nic none </dev/null >"$out.qemu" 2>&1 &
	QEMU_PID=$!
	echo $QEMU_PID >"$out.pid"
	wait $QEMU_PID
	rc=$?
	QEMU_PID=
	rm -f "$pl" "$out.pid"
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && return 124
	return 0
}
