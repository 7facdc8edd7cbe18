#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything a guest on Debian's stock 6.12 kernel needs:
#   stock.sh OUT FILE...
# fetches the kernel and headers (debkernel.sh), builds pdma.ko with DKMS
# against those headers (tools/dkms.sh build), and writes OUT/initramfs.cpio
# whose next kernel (/boot/bzImage) is that same vmlinuz, plus the FILEs
# (tools) and the DKMS-built pdma.ko. OUT/vmlinuz and OUT/kver name the kernel.
#
# The stock kernel has the drivers a guest needs built in: the 8250 serial
# console (ttyS0 console, ttyS1 results), devtmpfs and an uncompressed
# initramfs; pdma.ko is insmod'ed from /lib/modules by the scenarios.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: stock.sh OUT FILE..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(realpath -m "$1")
shift
die() { echo "stock.sh: $*" >&2; exit 1; }

kdir=$("$here/debkernel.sh" fetch)
kver=$(cat "$kdir/kver")
config=$kdir/config
for opt in SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD KEXEC_FILE PROC_FS SYSFS TMPFS; do
	grep -qx "CONFIG_$opt=y" "$config" ||
		die "$kver lacks CONFIG_$opt=y, which the guest needs built in"
done
mkdir -p "$out"
"$top/tools/dkms.sh" build "$kdir/build" "$kver" "$out/dkms" >/dev/null
vermagic=$(modinfo -F vermagic "$out/dkms/pdma.ko" | cut -d' ' -f1)
[ "$vermagic" = "$kver" ] || die "DKMS built pdma.ko for '$vermagic', not $kver"
install -m 0644 "$(realpath "$kdir/vmlinuz")" "$out/vmlinuz"
echo "$kver" >"$out/kver"
# pdma.ko uses the kernel's crc32c(), which Debian builds as libcrc32c.ko;
# libcrc32c needs a crc32c crypto driver first (its softdep). The guest's
# insmod knows no dependencies, so ship them, numbered in load order, and
# pdma_load (tools/vm/guest/lib.sh) inserts /lib/modules/NN-*.ko first.
[ "$(modinfo -F depends "$out/dkms/pdma.ko")" = libcrc32c ] ||
	die "pdma.ko depends on '$(modinfo -F depends "$out/dkms/pdma.ko")', expected libcrc32c"
mods=$kdir/root/lib/modules/$kver/kernel
deps=()
n=0
for m in crypto/crc32c_generic lib/libcrc32c; do
	dep="$out/0$n-$(basename "$m").ko"
	xz -dc "$mods/$m.ko.xz" >"$dep" || die "$mods/$m.ko.xz: cannot unpack"
	deps+=("$dep")
	n=$((n + 1))
done
"$here/mkinitramfs.sh" "$out/initramfs.cpio" "$out/vmlinuz" "$@" "${deps[@]}" "$out/dkms/pdma.ko"
