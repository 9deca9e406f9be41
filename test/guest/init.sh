#!/bin/busybox sh
# PID 1 of the cgroup v2 guest (copied into its initramfs by make-initrd.sh). It mounts the host's
# root filesystem read-only over 9p with a tmpfs overlay on top (so the guest writes nothing on the
# host), the writable "out" share for results, cgroup2 at /sys/fs/cgroup, then runs
# /mnt/guest-out/run.sh and powers off. Busybox only: nothing else exists before the root is mounted.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "GUEST-INIT-FAILED: $*"; poweroff -f; }
# Debian's kernel has virtio, 9p, overlay and ext4 as modules; the list is in dependency order.
# A module that does not apply (crc32c-intel without SSE4.2) fails to load and is not needed.
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower ||
  fail "9p mount of the host root"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/up /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/up,workdir=/rw/work /newroot || fail "overlay"
mkdir -p /newroot/mnt/guest-out
# Results go straight to the host: no cache, so nothing is lost at power-off.
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 out /newroot/mnt/guest-out ||
  fail "9p mount of the out share"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mount -t cgroup2 -o nsdelegate cgroup2 /newroot/sys/fs/cgroup || fail "cgroup2 mount"
mkdir -p /newroot/dev/shm /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
for d in tmp run; do mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d"; done
ip link set lo up
hostname warden-guest
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
# The new root mounted over / (as switch_root does, and as on any host booted from an initramfs),
# not a chroot into /newroot: a mount namespace's root is then that mount, which is where a
# container's pivot_root puts its root and where setns(CLONE_NEWNS) lands a `docker exec`. Under
# a chroot both stay at /newroot while setns goes to the initramfs. This shell keeps the
# initramfs as its root, so poweroff below still finds busybox.
cd /newroot && mount --move . / || fail "move the new root over /"
chroot . /bin/sh /mnt/guest-out/run.sh
echo "GUEST-EXIT $?"
sync
poweroff -f
