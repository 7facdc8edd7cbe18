#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's own 6.12 kernel (bookworm-backports) and its headers into
# the pdma cache, without installing anything on the host: the packages are
# downloaded with a private apt configuration and unpacked with dpkg-deb -x.
#
#   debkernel.sh fetch   fetch and unpack unless already there; print the directory
#   debkernel.sh dir     print the directory of the cached kernel (fails if none)
#
# The directory holds root/ (the unpacked packages), vmlinuz (the signed
# image, exactly as Debian ships it), build (the headers tree to build
# modules against: root/usr/src/linux-headers-KVER), config, and kver.
#
# Environment: PDMA_CACHE (default ~/.cache/pdma), PDMA_DEB_KVER (an ABI
# version such as 6.12.95+deb12; default: the one linux-image-amd64 in
# bookworm-backports depends on, or the newest one already cached when the
# archive cannot be reached).
set -euo pipefail

cache=${PDMA_CACHE:-$HOME/.cache/pdma}
apt_dir=$cache/apt-bookworm-backports
mirror=${PDMA_DEB_MIRROR:-http://deb.debian.org/debian}

die() { echo "debkernel.sh: $*" >&2; exit 1; }

apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o APT::Sandbox::User=root -q)

newest_cached() {
	local d
	d=$(ls -d "$cache"/debian-6.12.*/.done 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && basename "$(dirname "$d")" | sed 's/^debian-//'
}

# Private apt state: the system's sources stay untouched.
apt_update() {
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" \
		>"$apt_dir/sources.list"
	apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
		return 1
}

resolve_kver() {
	local v
	[ -n "${PDMA_DEB_KVER:-}" ] && { echo "$PDMA_DEB_KVER"; return 0; }
	if apt_update; then
		v=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(6\.12\..*\)-amd64$/\1/p' | head -n 1)
		[ -n "$v" ] && { echo "$v"; return 0; }
	fi
	v=$(newest_cached)
	[ -n "$v" ] || die "cannot reach bookworm-backports (see $apt_dir/update.log) and no kernel is cached"
	echo "debkernel.sh: archive unreachable, using the cached $v" >&2
	echo "$v"
}

case "${1:-}" in
dir)
	v=${PDMA_DEB_KVER:-$(newest_cached)}
	[ -n "$v" ] && [ -e "$cache/debian-$v/.done" ] ||
		die "no Debian kernel in $cache: run 'tools/vm/debkernel.sh fetch'"
	echo "$cache/debian-$v"
	exit 0 ;;
fetch) ;;
*) die "usage: debkernel.sh fetch|dir" ;;
esac

for t in apt-get dpkg-deb; do
	command -v "$t" >/dev/null || die "$t not found (a Debian host is needed)"
done
mkdir -p "$cache"
exec 9>"$cache/.debkernel.lock"
flock 9

if [ -z "${PDMA_DEB_KVER:-}" ] && v=$(newest_cached) && [ -n "$v" ] && [ -z "${PDMA_DEB_REFRESH:-}" ]; then
	# A cached kernel is reused without asking the archive; set
	# PDMA_DEB_REFRESH=1 to move to the archive's current one.
	echo "$cache/debian-$v"
	exit 0
fi
kver=$(resolve_kver)
dir=$cache/debian-$kver
if [ -e "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
[ -d "$apt_dir/lists" ] && ls "$apt_dir"/lists/*Packages* >/dev/null 2>&1 || apt_update ||
	die "apt-get update of bookworm-backports failed; see $apt_dir/update.log"

pkgs=("linux-image-$kver-amd64" "linux-headers-$kver-amd64" "linux-headers-$kver-common"
	"linux-kbuild-$kver")
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
echo "debkernel.sh: fetching ${pkgs[*]}" >&2
(cd "$dir.tmp/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}") >"$dir.tmp/download.log" 2>&1 ||
	die "apt-get download failed; see $dir.tmp/download.log"
for deb in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root"
done
vmlinuz=$dir.tmp/root/boot/vmlinuz-$kver-amd64
build=$dir.tmp/root/usr/src/linux-headers-$kver-amd64
[ -r "$vmlinuz" ] || die "$vmlinuz missing from linux-image-$kver-amd64"
[ -r "$build/Makefile" ] || die "$build/Makefile missing from the headers packages"
# The headers tree points at kbuild and the common headers by absolute
# /usr paths; inside the cache they must point into root/ instead.
fix_links() {
	local l t
	find "$1" -maxdepth 1 -type l | while read -r l; do
		t=$(readlink "$l")
		case "$t" in /usr/*) ln -sfn "$dir/root$t" "$l" ;; esac
	done
}
fix_links "$build"
grep -l '/usr/src/linux-headers-' "$build/Makefile" >/dev/null 2>&1 &&
	sed -i "s|/usr/src/linux-headers-|$dir/root/usr/src/linux-headers-|g" "$build/Makefile"
ln -sfn "root/boot/vmlinuz-$kver-amd64" "$dir.tmp/vmlinuz"
ln -sfn "root/boot/config-$kver-amd64" "$dir.tmp/config"
ln -sfn "root/usr/src/linux-headers-$kver-amd64" "$dir.tmp/build"
echo "$kver-amd64" >"$dir.tmp/kver"
rm -rf "$dir.tmp/debs"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
# Absolute links were written for the final directory name.
touch "$dir/.done"
echo "$dir"
