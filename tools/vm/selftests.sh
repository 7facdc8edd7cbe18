#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the upstream selftests a reviewer of the series runs, from the
# cached 7.x test kernel's own tree, as static binaries for the busybox
# guest: tools/testing/selftests/vfio and tools/testing/selftests/liveupdate.
#
#   selftests.sh OUTDIR     (KVER=7.2; the kernel must be built: make kernel)
#
# OUTDIR gets vfio/ and liveupdate/ with the test programs.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: selftests.sh OUTDIR}
tree=$("$top/tools/vm/kernel.sh" tree)
[ -e "$tree/../.built" ] || { echo "selftests.sh: no built kernel at $tree: run 'make kernel KVER=${KVER:-6.12}'" >&2; exit 1; }
[ -d "$tree/tools/testing/selftests/liveupdate" ] ||
	{ echo "selftests.sh: $tree has no liveupdate selftests (KVER=7.2 only)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
# The uapi headers of this tree in its usr/include, where kselftest's
# KHDR_INCLUDES looks (headers_install would need rsync).
make -C "$tree" -s ARCH=x86_64 headers >/dev/null
for t in vfio liveupdate; do
	mkdir -p "$out/$t"
	extra="-static"
	# An upstream build break of 7.2.13's vfio selftests (see the header).
	if [ "$t" = vfio ] && ! grep -rqs 'calloc_assert(size_t' "$tree/tools/testing/selftests/vfio/lib"; then
		extra="$extra -include $top/tools/vm/selftests-fix/calloc_assert.h"
	fi
	make -C "$tree/tools/testing/selftests/$t" -s ARCH=x86_64 \
		OUTPUT="$out/$t" KHDR_INCLUDES="-isystem $tree/usr/include" \
		LDFLAGS="-static -pthread" EXTRA_CFLAGS="$extra" >"$out/$t.log" 2>&1 ||
		{ tail -n 20 "$out/$t.log" >&2; echo "selftests.sh: building $t failed, see $out/$t.log" >&2; exit 1; }
done
ls "$out/vfio/vfio_pci_device_test" "$out/liveupdate/luo_kexec_simple" >/dev/null
