#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest initramfs (cpio newc, uncompressed):
#   mkinitramfs.sh OUT.cpio BZIMAGE [FILE...]
# FILEs ending in .ko go to /lib/modules, everything else to /usr/bin.
# The image carries busybox, kexec with the libraries ldd lists, the bzImage
# itself (the next kernel of every kexec) and the guest helpers.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: mkinitramfs.sh OUT.cpio BZIMAGE [FILE...]" >&2; exit 2; }
out=$(realpath -m "$1")
bzimage=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }
[ -r "$bzimage" ] || die "$bzimage: no such kernel image (run 'make kernel')"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing: install busybox-static"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static: install busybox-static"
kexec_bin=$(command -v kexec || true)
[ -x "$kexec_bin" ] || kexec_bin=/usr/sbin/kexec
[ -x "$kexec_bin" ] || die "kexec not found: install kexec-tools"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,boot,lib/modules,pdmavm,mnt,etc}
# mktemp -d is 0700, and the cpio's "." becomes the guest's /: an ordinary
# user could then reach no path at all, and a permission test would see
# EACCES from / instead of from what it tests.
chmod 0755 "$stage"

install -m 0755 "$busybox" "$stage/bin/busybox"
install -m 0755 "$here/guest/init" "$stage/init"
install -m 0644 "$here/guest/lib.sh" "$stage/pdmavm/lib.sh"
install -m 0644 "$bzimage" "$stage/boot/bzImage"

copy_with_libs() {
	local bin=$1 dest=$2 lib
	install -D -m 0755 "$bin" "$stage/$dest"
	# ldd prints "name => /path (addr)" or "/path (addr)"; copy each path.
	{ ldd "$bin" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
		[ -e "$stage$lib" ] || install -D -m 0755 "$lib" "$stage$lib"
	done
}
copy_with_libs "$kexec_bin" /sbin/kexec

for f in "$@"; do
	[ -e "$f" ] || die "$f: missing (run 'make tools modules')"
	case "$f" in
	*.ko) install -m 0644 "$f" "$stage/lib/modules/" ;;
	*) copy_with_libs "$f" "/usr/bin/$(basename "$f")" ;;
	esac
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
