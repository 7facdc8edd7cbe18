#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pdma core benchmark: instruction counts from callgrind, counted inside
# the measured functions only (--toggle-collect), and a ratio table with
# targets. A MISS is reported, not an error: the script fails only if a
# run fails.
#
# usage: bench.sh BUILD_DIR [VALGRIND]

B=$1
VG=${2:-valgrind}
set -e

if ! command -v "$VG" >/dev/null 2>&1; then
	echo "bench: $VG not found, no instruction counts (apt-get install valgrind)"
	exit 0
fi

# cg NAME FUNCTIONS COMMAND...: Ir inside FUNCTIONS (space separated).
cg() {
	name=$1
	funcs=$2
	shift 2
	toggles=""
	for f in $funcs; do
		toggles="$toggles --toggle-collect=$f"
	done
	out=$B/callgrind.$name.out
	if ! "$VG" --tool=callgrind --callgrind-out-file="$out" $toggles \
		"$@" >"$B/callgrind.$name.log" 2>&1; then
		echo "bench: $name failed, see $B/callgrind.$name.log" >&2
		exit 1
	fi
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

echo "pdma core benchmark (callgrind instruction counts, x86-64, gcc -O2)"
echo
"$B/bench_alloc" time | sed 's/^/  native: /'
"$B/bench_load" gen "$B/table4096.bin"
"$B/bench_load" time "$B/table4096.bin" | sed 's/^/  native: /'
"$B/bench_load" p2 "$B/table4096.bin"
echo

ops=$("$B/bench_alloc" ours | awk '{ print $2 }')
ours=$(cg ours "bench_ours_alloc bench_ours_free" "$B/bench_alloc" ours)
gp=$(cg genalloc "bench_gp_alloc bench_gp_free" "$B/bench_alloc" genalloc)
load=$(cg load bench_do_load "$B/bench_load" load "$B/table4096.bin")
crc=$(cg crc bench_do_crc "$B/bench_load" crc "$B/table4096.bin")
adopt=$(cg adopt bench_do_adopt "$B/bench_load" adopt "$B/table4096.bin")
c64=$(cg commit64 bench_do_commits "$B/bench_commit" 64)
c64k=$(cg commit65536 bench_do_commits "$B/bench_commit" 65536)

awk -v c64="$c64" -v c64k="$c64k" 'BEGIN {
	r = c64k / c64
	printf "P5 one commit (alloc+free+claim, 3 commits) at capacity 65536 / at 64 = %.2fx (%d vs %d Ir) (target <= 2x) %s\n",
	       r, c64k, c64, (r <= 2 ? "PASS" : "FAIL")
}'
echo

awk -v ops="$ops" -v ours="$ours" -v gp="$gp" -v load="$load" \
    -v crc="$crc" -v adopt="$adopt" 'BEGIN {
	printf "(a) allocator only, no table commit: %d alloc/free ops at ~4096 live,\n", ops
	printf "    sizes 4K..256K, 2 GiB data area, same trace for both\n"
	printf "    pdma extent rbtree  %12d Ir  %7.1f Ir/op\n", ours, ours / ops
	printf "    genalloc first-fit  %12d Ir  %7.1f Ir/op\n", gp, gp / ops
	printf "(b) 4096-entry table, capacity 4096 (one copy = 524416 bytes)\n"
	printf "    bare CRC32C pass    %12d Ir  %7.2f Ir/byte\n", crc, crc / 524416
	printf "    load (validate+build)%11d Ir\n", load
	printf "    adopt (one commit)  %12d Ir  (informational: a 512 KiB store, no CRC pass)\n", adopt
	printf "\n"
	printf "%-44s %8s %10s %6s\n", "ratio", "value", "target", "result"
	r = gp / ours
	printf "%-44s %7.1fx %10s %6s\n", "genalloc Ir / ours Ir (alloc+free)", r, ">= 5x", (r >= 5 ? "PASS" : "MISS")
	r = load / crc
	printf "%-44s %7.2fx %10s %6s\n", "load Ir / CRC32C Ir (same bytes)", r, "<= 2x", (r <= 2 ? "PASS" : "MISS")
	printf "%-44s %7.0f%% %10s %6s\n", "load throughput, % of CRC32C", 100 * crc / load, ">= 50%", (crc / load >= 0.5 ? "PASS" : "MISS")
}'
