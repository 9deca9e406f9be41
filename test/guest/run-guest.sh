#!/usr/bin/env bash
# Boots Debian's kernel (a real, pure cgroup v2 host) under QEMU with this machine's root
# filesystem shared read-only, and runs OUT/run.sh inside; OUT is shared writable for results and
# the console goes to OUT/console.log. The guest gets a fresh ext4 disk (/dev/vda, OUT/disk.img)
# for state that needs a block device (Warden's data dir: block I/O limits act on a disk), holding
# OUT/seed's files when there is one (what the host prepared at native speed), and
# with DIR a read-only copy of it as /dev/vdb (OUT/dir.img): Node loading ~2,100 modules over 9p
# waits on thousands of round trips through QEMU, from a disk image it does not.
# TCG, not KVM: KVM hung at boot on the development host. The script execs QEMU, so its PID is the
# guest's: whoever starts it kills that PID on timeout. Usage: run-guest.sh OUT [DIR]
set -euo pipefail
OUT=$(cd "$1" && pwd) DIR=${2:-} MEM=${WARDEN_GUEST_MEMORY_MB:-2048}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$OUT/run.sh" ] || { echo "run-guest: $OUT/run.sh is missing" >&2; exit 2; }
KVER=
for k in /boot/vmlinuz-*-amd64; do
  v=${k#/boot/vmlinuz-}
  [ -d "/lib/modules/$v" ] && KVER=$v
done
[ -n "$KVER" ] || { echo "run-guest: no /boot/vmlinuz-*-amd64 with modules: apt-get install linux-image-amd64" >&2; exit 2; }
bash "$HERE/make-initrd.sh" "$KVER" "$OUT/initrd.gz"
rm -f "$OUT/disk.img"
truncate -s 1G "$OUT/disk.img"
seed=()
[ -d "$OUT/seed" ] && seed=(-d "$OUT/seed")
mke2fs -q -t ext4 -F "${seed[@]}" "$OUT/disk.img"
drives=(-drive "file=$OUT/disk.img,if=virtio,format=raw,cache=unsafe")
if [ -n "$DIR" ]; then
  rm -f "$OUT/dir.img"
  truncate -s "$(($(du -sm "$DIR" | cut -f1) * 3 / 2 + 64))M" "$OUT/dir.img"
  mke2fs -q -t ext4 -O ^has_journal -d "$DIR" "$OUT/dir.img"
  drives+=(-drive "file=$OUT/dir.img,if=virtio,format=raw,readonly=on")
fi
exec qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp 2 -m "$MEM" \
  -display none -monitor none -serial "file:$OUT/console.log" -no-reboot -nic none \
  -kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/initrd.gz" -append "console=ttyS0 panic=-1 quiet" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap" \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=passthrough" "${drives[@]}"
