#!/usr/bin/env bash
# Builds the cgroup v2 guest's initramfs: busybox, the kernel modules the guest needs (virtio,
# 9p, overlay, ext4, loop, in dependency order) and init.sh as /init. The guest is generic: what it
# runs is the out share's run.sh (see run-guest.sh), so this is rebuilt only when a kernel changes.
# Needs: busybox-static cpio kmod linux-image-amd64. Usage: make-initrd.sh KERNEL-VERSION OUT.gz
set -euo pipefail
KVER=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D"/{bin,dev,proc,sys,lib/modules}
cp "$(command -v busybox)" "$D/bin/busybox"
# modprobe prints "insmod <path>" per module, dependencies first; built-in ones print "builtin".
for m in virtio_pci virtio_blk 9pnet_virtio 9p overlay ext4 loop; do
  modprobe -S "$KVER" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
  cp "$ko" "$D/lib/modules/"
  basename "$ko" .ko >>"$D/lib/modules/order"
done
cp "$HERE/init.sh" "$D/init"
chmod +x "$D/init"
(cd "$D" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
