#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of a sparse that Linux 7.x accepts, building it once into
# the pdma cache. 7.x's scripts/checker-valid.sh needs __typeof_unqual__,
# which bookworm's sparse 0.6.4 lacks, and sid's binary package needs a
# newer glibc; so this fetches sid's source package with a private apt list
# (the system's sources stay untouched) and builds the sparse binary alone.
#
#   KVER=7.2 make modules C=1 CHECK=$(tools/vm/sparse.sh)
set -euo pipefail

cache=${PDMA_CACHE:-$HOME/.cache/pdma}
mirror=${PDMA_DEB_MIRROR:-http://deb.debian.org/debian}
apt_dir=$cache/apt-sid-src
out=$cache/sparse-sid

die() { echo "sparse.sh: $*" >&2; exit 1; }

[ -x "$out/sparse" ] && { echo "$out/sparse"; exit 0; }
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" \
	>"$apt_dir/sources.list"
opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o APT::Sandbox::User=root -q)
apt-get "${opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
	die "apt-get update of sid's sources failed; see $apt_dir/update.log"
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
(cd "$out.tmp" && apt-get "${opts[@]}" source --download-only sparse) >"$apt_dir/download.log" 2>&1 ||
	die "apt-get source sparse failed; see $apt_dir/download.log"
tar -C "$out.tmp" -xf "$out.tmp"/sparse_*.orig.tar.*
make -C "$out.tmp"/sparse-*/ -s sparse HAVE_LLVM=no HAVE_GTK=no HAVE_SQLITE=no HAVE_LIBXML=no \
	>"$apt_dir/build.log" 2>&1 || die "building sparse failed; see $apt_dir/build.log"
cp "$out.tmp"/sparse-*/sparse "$out.tmp/sparse"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out/sparse"
