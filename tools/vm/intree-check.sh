#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile pdma in tree, built in (CONFIG_PDMA=y), exactly as Kconfig.snippet
# describes, on a copy of the cached test kernel, so the snippet and the
# !MODULE paths of the driver cannot rot. Usage: intree-check.sh OUTDIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: intree-check.sh OUTDIR}
src=$("$top/tools/vm/kernel.sh" tree)
[ -e "$src/../.built" ] || { echo "intree-check: no cached kernel: run 'make kernel'" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# A full copy (not hard links): the build below rewrites objects in place.
cp -a "$src" "$out/linux"
k=$out/linux
mkdir -p "$k/drivers/misc/pdma"
cp "$top"/kmod/Kbuild "$top"/kmod/core.mk "$top"/kmod/*.[ch] "$k/drivers/misc/pdma/"
cp "$top"/uapi/linux/pdma.h "$top"/uapi/linux/pdma_table.h "$k/include/uapi/linux/"
sed -n '/^config PDMA/,$p' "$top/Kconfig.snippet" >>"$k/drivers/misc/Kconfig"
echo 'obj-$(CONFIG_PDMA) += pdma/' >>"$k/drivers/misc/Makefile"
"$k/scripts/config" --file "$k/.config" --enable PDMA
make -C "$k" -s ARCH=x86_64 olddefconfig
grep -qx 'CONFIG_PDMA=y' "$k/.config" || { echo "intree-check: CONFIG_PDMA did not stick" >&2; exit 1; }
make -C "$k" -s ARCH=x86_64 -j"$(nproc)" W=1 drivers/misc/pdma/ 2>&1 | tee "$out/build.log"
ls "$k"/drivers/misc/pdma/pdma_main.o >/dev/null
if grep -q 'warning:' "$out/build.log"; then
	echo "intree-check: the in-tree build has warnings (W=1), see above" >&2
	exit 1
fi
echo "intree-check: drivers/misc/pdma built in with CONFIG_PDMA=y"
