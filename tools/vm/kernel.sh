#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the pdma test kernel from Debian's linux-source-6.12 (or, with
# KVER=7.2, sid's linux-source-7.2), cached outside the repository and keyed
# by what determines its content: the source package version, the config
# fragments and the patch series (each patch's diff, not its commit message,
# so rewording a message does not rebuild the kernel).
#
#   kernel.sh dir     print the cache directory for the current key
#   kernel.sh tree    print the source tree inside it (the one modules build against)
#   kernel.sh build   build it unless already built (prints the directory)
#
# Environment: PDMA_CACHE (default ~/.cache/pdma), KCONFIG (default|debug),
#              KVER (6.12, the default, or 7.2), KSERIES=none (no patches),
#              SRC_TARBALL (default: the tarball of linux-source-$KVER).
#
# Each kernel version has its own series: kmod/patches/*.patch for 6.12,
# kmod/patches/$KVER/*.patch for the others, and may add a config fragment
# kernel/pdma-$KVER.config. A fragment line naming a symbol that the
# version's Kconfig does not have (CONFIG_LIBCRC32C is gone in 7.x) is
# reported and skipped, not silently dropped.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PDMA_CACHE:-$HOME/.cache/pdma}
variant=${KCONFIG:-default}
kver=${KVER:-6.12}

die() { echo "kernel.sh: $*" >&2; exit 1; }

fragments=("$top/kernel/pdma.config")
case "$variant" in
default) ;;
debug) fragments+=("$top/kernel/debug.config") ;;
*) die "unknown KCONFIG='$variant' (expected default or debug)" ;;
esac

case "$kver" in
6.12)
	series=$top/kmod/patches
	prefix=linux-$variant
	tarball=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	srcver() { dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		die "linux-source-6.12 is not installed: run 'make deps'"; } ;;
7.2)
	series=$top/kmod/patches/$kver
	prefix=linux-$kver-$variant
	tarball=${SRC_TARBALL:-$("$top/tools/vm/debsource.sh" tarball "$kver")} ||
		exit 1
	srcver() { "$top/tools/vm/debsource.sh" version "$kver"; } ;;
*) die "unknown KVER='$kver' (expected 6.12 or 7.2)" ;;
esac
[ -e "$top/kernel/pdma-$kver.config" ] && fragments+=("$top/kernel/pdma-$kver.config")
# KSERIES=none: the same kernel without the series, the stock twin that the
# upstream selftests are compared against (tests/mainline).
if [ "${KSERIES:-}" = none ]; then
	series=/nonexistent
	prefix=$prefix-noseries
fi

patches=()
for p in "$series"/*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-cover-letter.patch) continue ;; esac
	patches+=("$p")
done

key() {
	local v
	v=$(srcver) || exit 1
	{
		echo "src $v"
		echo "variant $variant"
		for f in "${fragments[@]}"; do echo "fragment $(basename "$f")"; cat "$f"; done
		for p in "${patches[@]}"; do echo "patch"; sed -n '/^diff --git /,$p' "$p"; done
	} | sha256sum | cut -c1-16
}

dir="$cache/$prefix-$(key)"

case "${1:-}" in
dir) echo "$dir"; exit 0 ;;
tree) echo "$dir/linux-source-$kver"; exit 0 ;;
build) ;;
*) die "usage: kernel.sh dir|tree|build" ;;
esac

if [ -e "$dir/.built" ]; then
	echo "$dir"
	exit 0
fi

[ -r "$tarball" ] || die "$tarball missing: run 'make deps KVER=$kver'"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
[ -e "$dir/.built" ] && { echo "$dir"; exit 0; }

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
echo "kernel.sh: building $variant $kver kernel in $dir (about 5 min on 2 cores)" >&2
tar -C "$dir.tmp" -xf "$tarball"
src="$dir.tmp/linux-source-$kver"
for p in "${patches[@]}"; do
	echo "kernel.sh: applying $(basename "$p")" >&2
	patch -d "$src" -p1 --quiet --forward <"$p" ||
		die "patch $(basename "$p") does not apply to linux-source-$kver"
done
jobs=$(nproc)
make -C "$src" -s ARCH=x86_64 tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "${fragments[@]}" >/dev/null
make -C "$src" -s ARCH=x86_64 olddefconfig >&2
# Fail loudly when a fragment line did not survive olddefconfig (an unmet
# dependency), instead of silently testing a different kernel.
missing=0
grep -rhoE '^(menu)?config [A-Za-z0-9_]+' --include='Kconfig*' "$src" |
	awk '{ print "CONFIG_" $2 }' | sort -u >"$dir.tmp/symbols"
# A later fragment overrides an earlier one, as in merge_config.sh: check
# each symbol's last line only.
while IFS= read -r line; do
	sym=${line%%=*}
	case "$line" in *=n)
		grep -q "^$sym=" "$src/.config" && { echo "kernel.sh: $sym still set" >&2; missing=1; }
		continue ;;
	esac
	if ! grep -qx "$sym" "$dir.tmp/symbols"; then
		echo "kernel.sh: $sym does not exist in linux-$kver, skipped" >&2
		continue
	fi
	grep -qx "$line" "$src/.config" || { echo "kernel.sh: $line not in .config" >&2; missing=1; }
done < <(cat "${fragments[@]}" | grep '^CONFIG_' |
	awk -F= '{ last[$1] = $0; order[$1] = NR } END { for (s in last) print order[s], last[s] }' |
	sort -n | cut -d' ' -f2-)
[ "$missing" = 0 ] || die "config fragment not satisfied, see above"
make -C "$src" -s ARCH=x86_64 -j"$jobs" bzImage modules >&2
mv "$dir.tmp" "$dir"
ln -sfn "$dir" "$cache/$prefix-latest"
touch "$dir/.built"
# Keep the four newest builds of this variant (about 2 GB each): branches
# with different patch series share the cache.
ls -dt "$cache/$prefix-"*[0-9a-f] | tail -n +5 | xargs -r rm -rf
echo "$dir"
