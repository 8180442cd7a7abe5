#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of a tests/kernels guest (exec'd by the root image's /sbin/pg-init, with the build disk
# mounted read-only at /pg). Mounts what portguard and its tests need, loads the modules a
# Debian kernel keeps out of its image, runs the job /pg/cmd with bash, and writes the job's
# output then one line "pg-exit STATUS" to the second serial port (/dev/ttyS1). Powers off in
# every case: the host bounds the whole boot with a timeout as well.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
out=/dev/ttyS1

mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
stty -F $out raw -echo 2>/dev/null
hostname portguard-guest
ip link set lo up
# veth, the clsact qdisc and the tc BPF classifier are modules on Debian's kernels.
for m in veth sch_ingress cls_bpf; do modprobe -q $m; done
ulimit -l unlimited

kernel=$(sed -n 's/.*pg\.kernel=\([^ ]*\).*/\1/p' /proc/cmdline)
{
	cd /pg && PG_KERNEL=$kernel BUILD=/pg/build bash /pg/cmd
	echo "pg-exit $?"
} >$out 2>&1 </dev/null
sync
busybox poweroff -f 2>/dev/null
echo o >/proc/sysrq-trigger
sleep 10
