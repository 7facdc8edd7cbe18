#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the pdma test kernel from Debian's linux-source-6.12, cached outside
# the repository and keyed by what determines its content:
#   the source package version, the config fragments and the patch series.
#
#   kernel.sh dir     print the cache directory for the current key
#   kernel.sh build   build it unless already built (prints the directory)
#
# Environment: PDMA_CACHE (default ~/.cache/pdma), KCONFIG (default|debug),
#              SRC_TARBALL (default /usr/src/linux-source-6.12.tar.xz).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PDMA_CACHE:-$HOME/.cache/pdma}
variant=${KCONFIG:-default}
tarball=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

die() { echo "kernel.sh: $*" >&2; exit 1; }

fragments=("$top/kernel/pdma.config")
case "$variant" in
default) ;;
debug) fragments+=("$top/kernel/debug.config") ;;
*) die "unknown KCONFIG='$variant' (expected default or debug)" ;;
esac

patches=()
for p in "$top"/kmod/patches/*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-cover-letter.patch) continue ;; esac
	patches+=("$p")
done

key() {
	local srcver
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
		die "linux-source-6.12 is not installed: run 'make deps'"
	{
		echo "src $srcver"
		echo "variant $variant"
		for f in "${fragments[@]}"; do echo "fragment $(basename "$f")"; cat "$f"; done
		for p in "${patches[@]}"; do echo "patch $(basename "$p")"; cat "$p"; done
	} | sha256sum | cut -c1-16
}

dir="$cache/linux-$variant-$(key)"

case "${1:-}" in
dir) echo "$dir"; exit 0 ;;
build) ;;
*) die "usage: kernel.sh dir|build" ;;
esac

if [ -e "$dir/.built" ]; then
	echo "$dir"
	exit 0
fi

[ -r "$tarball" ] || die "$tarball missing: run 'make deps'"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
[ -e "$dir/.built" ] && { echo "$dir"; exit 0; }

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
echo "kernel.sh: building $variant kernel in $dir (about 8 min on 2 cores)" >&2
tar -C "$dir.tmp" -xf "$tarball"
src="$dir.tmp/linux-source-6.12"
for p in "${patches[@]}"; do
	echo "kernel.sh: applying $(basename "$p")" >&2
	patch -d "$src" -p1 --quiet --forward <"$p" ||
		die "patch $(basename "$p") does not apply to linux-source-6.12"
done
jobs=$(nproc)
make -C "$src" -s ARCH=x86_64 tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "${fragments[@]}" >/dev/null
make -C "$src" -s ARCH=x86_64 olddefconfig >&2
# Fail loudly when a fragment line did not survive olddefconfig (an unmet
# dependency), instead of silently testing a different kernel.
missing=0
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case "$line" in CONFIG_*=n)
			sym=${line%%=*}
			grep -q "^$sym=" "$src/.config" && { echo "kernel.sh: $sym still set" >&2; missing=1; }
			continue ;;
		CONFIG_*) grep -qx "$line" "$src/.config" || { echo "kernel.sh: $line not in .config" >&2; missing=1; } ;;
		esac
	done <"$f"
done
[ "$missing" = 0 ] || die "config fragment not satisfied, see above"
make -C "$src" -s ARCH=x86_64 -j"$jobs" bzImage modules >&2
mv "$dir.tmp" "$dir"
ln -sfn "$dir" "$cache/linux-$variant-latest"
touch "$dir/.built"
# Keep the four newest builds of this variant (about 2 GB each): branches
# with different patch series share the cache.
ls -dt "$cache/linux-$variant-"*[0-9a-f] | tail -n +5 | xargs -r rm -rf
echo "$dir"
