#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages pdma needs; do nothing when all are present.
#
# apt's own output goes to a log file, not the terminal: a newcomer sees one
# line per step, and on failure the line that names the log.
set -euo pipefail

pkgs=(
	linux-source-6.12 qemu-system-x86 kexec-tools busybox-static python3-pytest
	bc bison flex libelf-dev libssl-dev cpio dwarves xz-utils make gcc libc6-dev
	clang llvm libclang-rt-14-dev valgrind sparse patch lz4 dkms uuid-dev
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

log=${PDMA_DEPS_LOG:-${PDMA_CACHE:-$HOME/.cache/pdma}/deps.log}
mkdir -p "$(dirname "$log")"
: >"$log"
step() {
	local what=$1
	shift
	echo "pdma: $what" >&2
	if ! "$@" >>"$log" 2>&1; then
		echo "pdma: '$what' failed; the full log is $log" >&2
		tail -n 5 "$log" | sed 's/^/  | /' >&2
		exit 1
	fi
}
export DEBIAN_FRONTEND=noninteractive
step "updating the package lists" apt-get update -q
step "installing ${#missing[@]} packages: ${missing[*]}" \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "pdma: packages ready (log: $log)" >&2
