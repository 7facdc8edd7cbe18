#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch a linux-source-X.Y package that the host's suite does not carry
# (7.2 is only in sid) into the pdma cache, without touching the system's
# apt sources: a private sources list, lists and cache directory, then
# `apt-get download` and `dpkg-deb -x`. Nothing is installed on the host.
#
#   debsource.sh fetch X.Y     fetch and unpack unless cached; print the tarball
#   debsource.sh tarball X.Y   print the cached tarball (fails if none)
#   debsource.sh version X.Y   print the cached package version (e.g. 7.2.13-1)
#
# Environment: PDMA_CACHE (default ~/.cache/pdma), PDMA_DEB_MIRROR (the
# archive the host already uses, default http://deb.debian.org/debian),
# PDMA_SRC_SUITE (default sid).
set -euo pipefail

cache=${PDMA_CACHE:-$HOME/.cache/pdma}
mirror=${PDMA_DEB_MIRROR:-http://deb.debian.org/debian}
suite=${PDMA_SRC_SUITE:-sid}
apt_dir=$cache/apt-$suite

die() { echo "debsource.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: debsource.sh fetch|tarball|version X.Y"
cmd=$1
kver=$2
case "$kver" in [0-9]*.[0-9]*) ;; *) die "bad version '$kver' (expected X.Y)" ;; esac
dir=$cache/src-$kver
tarball=$dir/usr/src/linux-source-$kver.tar.xz

case "$cmd" in
tarball)
	[ -e "$dir/.done" ] || die "linux-source-$kver is not cached: run 'make deps KVER=$kver'"
	echo "$tarball"
	exit 0 ;;
version)
	[ -e "$dir/.done" ] || die "linux-source-$kver is not cached: run 'make deps KVER=$kver'"
	cat "$dir/version"
	exit 0 ;;
fetch) ;;
*) die "usage: debsource.sh fetch|tarball|version X.Y" ;;
esac

if [ -e "$dir/.done" ]; then
	echo "$tarball"
	exit 0
fi
for t in apt-get dpkg-deb; do
	command -v "$t" >/dev/null || die "$t not found (a Debian host is needed)"
done
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
exec 9>"$cache/.debsource.lock"
flock 9
[ -e "$dir/.done" ] && { echo "$tarball"; exit 0; }

apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o APT::Sandbox::User=root -q)
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
	>"$apt_dir/sources.list"
echo "debsource.sh: updating a private package list of $suite" >&2
apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
	die "apt-get update of $suite failed; see $apt_dir/update.log"

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs"
echo "debsource.sh: fetching linux-source-$kver (about 165 MB)" >&2
(cd "$dir.tmp/debs" && apt-get "${apt_opts[@]}" download "linux-source-$kver") \
	>"$dir.tmp/download.log" 2>&1 ||
	die "apt-get download linux-source-$kver failed; see $dir.tmp/download.log"
deb=$(ls "$dir.tmp"/debs/linux-source-"$kver"_*.deb)
dpkg-deb -f "$deb" Version >"$dir.tmp/version"
dpkg-deb -x "$deb" "$dir.tmp"
rm -rf "$dir.tmp/debs"
[ -r "$dir.tmp/usr/src/linux-source-$kver.tar.xz" ] ||
	die "linux-source-$kver.tar.xz missing from $(basename "$deb")"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
touch "$dir/.done"
echo "$tarball"
