#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the pdma core test binaries, then replay the seed corpus through the
# fuzz target and fuzz for a fixed time. Each test function counts, and
# each fuzz stage counts as one test. Ends with "N passed, N failed".
#
# usage: run_tests.sh BUILD_DIR FUZZ_SECONDS TEST_BINARY...
#        FUZZ_SECONDS = 0 runs the test binaries only.

B=$1
FUZZ=$2
shift 2
passed=0
failed=0
skipped=0

count() {	# count NAME LOGFILE EXIT_CODE
	ok=$(grep -c '^ok ' "$2")
	nok=$(grep -c '^not ok ' "$2")
	if [ "$3" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "# $1: skipped"
		return
	fi
	# A crash, leak or sanitizer report fails the binary even if every
	# test it printed had passed.
	if [ "$3" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "# $1: exited with $3"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
}

for t in "$@"; do
	name=$(basename "$t")
	"$t" >"$B/$name.log" 2>&1
	rc=$?
	cat "$B/$name.log"
	count "$name" "$B/$name.log" $rc
done

if [ "$FUZZ" -gt 0 ]; then
	log=$B/fuzz_replay.log
	"$B/fuzz_replay" "$B"/corpus-seed/* >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok - fuzz_replay ($(ls "$B"/corpus-seed | wc -l) seed inputs, gcc sanitizers)" | tee -a "$log"
	else
		tail -n 30 "$log"
		echo "not ok - fuzz_replay" | tee -a "$log"
	fi
	count fuzz_replay "$log" $rc

	log=$B/fuzz_table.log
	if [ -x "$B/fuzz_table" ]; then
		mkdir -p "$B/corpus"
		"$B/fuzz_table" -max_total_time="$FUZZ" -timeout=10 -seed=1 \
			-print_final_stats=1 -artifact_prefix="$B/" \
			"$B/corpus" "$B/corpus-seed" >"$log" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok - fuzz_table ($FUZZ s: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs)" | tee -a "$log"
		else
			tail -n 40 "$log"
			echo "not ok - fuzz_table (crash input saved under $B/)" | tee -a "$log"
		fi
	else
		# Never a silent skip: a missing fuzzer means an untested loader.
		echo "not ok - fuzz_table not built: needs clang and libclang-rt-14-dev (make deps), see $B/fuzz_build.log" | tee "$log"
		rc=1
	fi
	count fuzz_table "$log" $rc
fi

[ $skipped -gt 0 ] && echo "# $skipped skipped"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
