#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module through DKMS (dkms.conf at the top of the repository).
#
#   dkms.sh source DIR            copy what DKMS builds from into DIR
#   dkms.sh register              source into /usr/src/pdma-VERSION, `dkms add`
#   dkms.sh unregister            `dkms remove --all`, remove /usr/src/pdma-VERSION
#   dkms.sh build KDIR KVER OUT   build with DKMS against the headers tree KDIR
#                                 for kernel KVER, in private DKMS trees under
#                                 OUT (the host's DKMS state is not touched);
#                                 OUT/pdma.ko is the result
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "dkms.sh: $*" >&2; exit 1; }
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[ -n "$version" ] || die "no PACKAGE_VERSION in $top/dkms.conf"

need_dkms() {
	command -v dkms >/dev/null || die "dkms not found: run 'make deps' (Debian package dkms)"
}

# Only sources: never a build output of the source tree.
copy_source() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst/kmod" "$dst/uapi/linux"
	install -m 0644 "$top/dkms.conf" "$dst/"
	install -m 0644 "$top"/kmod/*.c "$top"/kmod/*.h "$top/kmod/Kbuild" "$top/kmod/core.mk" \
		"$dst/kmod/"
	install -m 0644 "$top"/uapi/linux/*.h "$dst/uapi/linux/"
}

case "${1:-}" in
source)
	[ $# -eq 2 ] || die "usage: dkms.sh source DIR"
	copy_source "$2" ;;
register)
	need_dkms
	if dkms status -m pdma -v "$version" 2>/dev/null | grep -q .; then
		dkms remove -m pdma -v "$version" --all >/dev/null
	fi
	copy_source "/usr/src/pdma-$version"
	dkms add -m pdma -v "$version"
	echo "pdma $version registered with DKMS; 'dkms install pdma/$version' builds it for the running kernel" ;;
unregister)
	need_dkms
	if dkms status -m pdma -v "$version" 2>/dev/null | grep -q .; then
		dkms remove -m pdma -v "$version" --all
	fi
	rm -rf "/usr/src/pdma-$version" ;;
build)
	[ $# -eq 4 ] || die "usage: dkms.sh build KDIR KVER OUT"
	need_dkms
	kdir=$(realpath "$2") kver=$3 out=$(realpath -m "$4")
	[ -r "$kdir/Makefile" ] || die "$kdir: not a kernel headers tree"
	rm -rf "$out"
	mkdir -p "$out/dkms" "$out/lib-modules"
	copy_source "$out/src/pdma-$version"
	trees=(--sourcetree "$out/src" --dkmstree "$out/dkms" --installtree "$out/lib-modules")
	dkms add "${trees[@]}" -m pdma -v "$version" >"$out/dkms.log" 2>&1 ||
		{ cat "$out/dkms.log" >&2; die "dkms add failed"; }
	if ! dkms build "${trees[@]}" -m pdma -v "$version" -k "$kver" \
		--kernelsourcedir "$kdir" >>"$out/dkms.log" 2>&1; then
		cat "$out/dkms.log" >&2
		find "$out/dkms" -name make.log -exec tail -n 30 {} + >&2 || true
		die "dkms build failed (log: $out/dkms.log)"
	fi
	ko=$(find "$out/dkms/pdma/$version/$kver" -name 'pdma.ko*' | head -n 1)
	[ -n "$ko" ] || die "dkms build left no pdma.ko under $out/dkms"
	case "$ko" in
	*.xz) xz -dc "$ko" >"$out/pdma.ko" ;;
	*.zst) zstd -dcq "$ko" >"$out/pdma.ko" ;;
	*) cp "$ko" "$out/pdma.ko" ;;
	esac
	echo "$out/pdma.ko" ;;
*)
	die "usage: dkms.sh source DIR | register | unregister | build KDIR KVER OUT" ;;
esac
