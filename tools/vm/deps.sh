#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages pdma needs; do nothing when all are present.
set -euo pipefail

pkgs=(
	linux-source-6.12 qemu-system-x86 kexec-tools busybox-static python3-pytest
	bc bison flex libelf-dev libssl-dev cpio dwarves xz-utils make gcc libc6-dev
	clang llvm libclang-rt-14-dev valgrind sparse patch
)

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "pdma: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "pdma: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
