# SPDX-License-Identifier: GPL-2.0
# Helpers for guest scenarios. Results go to ttyS1 as one JSON object per
# line; the console (ttyS0) is only for humans.

PDMAVM_PHASE=$(sed -n 's/.*pdmavm\.phase=\([0-9]*\).*/\1/p' /proc/cmdline)
PDMAVM_OUT=/dev/ttyS1

# pdmavm_json LINE: one result line to the host. Not printf straight to the
# tty: once the shell has background children it catches SIGCHLD without
# SA_RESTART, so a child exiting while a long line waits for room in the
# UART's buffer makes the write return short and then fail with EINTR, and
# the rest of the line is lost. cat (its own process, no handler) writes
# it whole; the pipe write cannot block for a line this size.
pdmavm_json() {
	printf '%s\n' "$1" | cat >"$PDMAVM_OUT"
}

pdmavm_start() {
	stty -F "$PDMAVM_OUT" raw -echo 2>/dev/null || true
	pdmavm_json "{\"event\":\"phase-start\",\"phase\":$PDMAVM_PHASE,\"uptime\":\"$(cut -d' ' -f1 /proc/uptime)\"}"
}

pdmavm_end() {
	pdmavm_json "{\"event\":\"phase-end\",\"phase\":$PDMAVM_PHASE,\"rc\":$1,\"uptime\":\"$(cut -d' ' -f1 /proc/uptime)\"}"
}

# emit KEY VALUE: report a string value for the host to assert on.
emit() {
	local v
	# JSON string escaping; lines are kept, joined by \n.
	v=$(printf '%s\n' "$2" | awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, " ");
		printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }')
	pdmavm_json "{\"event\":\"value\",\"phase\":$PDMAVM_PHASE,\"key\":\"$1\",\"value\":\"$v\"}"
}

# emit_json KEY JSON: report a JSON value (a tool's one-line JSON output).
emit_json() {
	pdmavm_json "{\"event\":\"value\",\"phase\":$PDMAVM_PHASE,\"key\":\"$1\",\"value\":$2}"
}

# emit_rc KEY CMD...: run CMD, report its exit status (never fails).
emit_rc() {
	local key=$1 rc=0
	shift
	"$@" || rc=$?
	emit "$key" "$rc"
}

# emit_tool KEY CMD [ARG...]: run a tool that prints one JSON line and report
# it as KEY (null when it printed nothing), its exit status as KEY.rc
# ("missing-tool" when CMD is not in the initramfs) and, when it failed,
# its stderr as KEY.err. Every run's stderr is also kept in /tmp/CMD.err.
emit_tool() {
	local key=$1 cmd=$2 out rc=0
	shift
	command -v "$cmd" >/dev/null || { emit "$key.rc" missing-tool; return 0; }
	out=$("$@" 2>/tmp/emit_tool.err) || rc=$?
	cat /tmp/emit_tool.err >>"/tmp/$(basename "$cmd").err"
	emit_json "$key" "$(printf '%s' "${out:-null}" | tr -d '\n')"
	emit "$key.rc" "$rc"
	[ "$rc" = 0 ] || emit "$key.err" "$(cat /tmp/emit_tool.err)"
}

# nvme_par KEY CMD...: run pdma-nvme -d BDF CMD for each BDF in $BDFS at
# once, then report each one's JSON as KEY.N (N from 1), its exit status as
# KEY.N.rc and, when it failed, its stderr as KEY.N.err.
nvme_par() {
	local key=$1 n=0 b rc
	shift
	for b in $BDFS; do
		n=$((n + 1))
		pdma-nvme -d "$b" "$@" >/tmp/par.$n.out 2>/tmp/par.$n.err &
		eval "pid$n=\$!"
	done
	n=0
	for b in $BDFS; do
		n=$((n + 1))
		rc=0
		eval "wait \$pid$n" || rc=$?
		emit_json "$key.$n" "$(cat /tmp/par.$n.out)"
		emit "$key.$n.rc" "$rc"
		[ "$rc" = 0 ] || emit "$key.$n.err" "$(cat /tmp/par.$n.err)"
	done
}

# pdmavm_kexec [-d WORD]... [-a WORD]...: kexec into /boot/bzImage with the
# same initramfs and the current command line, phase + 1, minus every
# parameter starting with a -d WORD, plus each -a WORD.
# kexec_file_load (-s) places segments in System RAM only, so it never
# writes a memmap= range; see README.md "Which kexec is safe".
pdmavm_kexec() {
	pdmavm_kexec_load "$@" || return 1
	pdmavm_kexec_exec
}

# pdmavm_next_cmdline [-d WORD]... [-a WORD]...: print the next kernel's
# command line: the current one, phase + 1, minus every parameter starting
# with a -d WORD, plus each -a WORD.
pdmavm_next_cmdline() {
	local cmdline drop add
	cmdline=$(cat /proc/cmdline)
	add=""
	while [ $# -gt 0 ]; do
		case "$1" in
		-d) drop=$2; cmdline=$(echo "$cmdline" | tr ' ' '\n' | grep -v "^$drop" | tr '\n' ' '); shift 2 ;;
		-a) add="$add $2"; shift 2 ;;
		*) echo "pdmavm_kexec: bad argument $1" >&2; return 2 ;;
		esac
	done
	cmdline=$(echo "$cmdline" | tr ' ' '\n' | grep -v '^pdmavm\.phase=' | tr '\n' ' ')
	echo "$cmdline$add pdmavm.phase=$((PDMAVM_PHASE + 1))"
}

# pdmavm_kexec_load [-d WORD]... [-a WORD]...: only load the next kernel
# (same arguments as pdmavm_kexec), so that a servicing scenario can do the
# slow part before it quiesces its devices; then pdmavm_kexec_exec.
# PDMAVM_KEXEC_SYSCALL=kexec_load loads with kexec -l instead of kexec -s,
# for the loader-safety tests only.
pdmavm_kexec_load() {
	local cmdline mode=-s
	cmdline=$(pdmavm_next_cmdline "$@") || return 2
	[ "${PDMAVM_KEXEC_SYSCALL:-}" = kexec_load ] && mode=""
	kexec $mode -l /boot/bzImage --initrd=/sys/firmware/initrd --append="$cmdline" || return 1
}

# pdmavm_crash_load: load the crash kernel (kexec -s -p) as phase + 1: the
# same image and initramfs and command line, minus crashkernel=, on one CPU
# as kdump does; report crash_loaded (1 once it is loaded). Needs
# crashkernel= on this kernel's command line.
pdmavm_crash_load() {
	local cmdline
	cmdline=$(pdmavm_next_cmdline -d crashkernel= -a nr_cpus=1) || return 2
	kexec -s -p /boot/bzImage --initrd=/sys/firmware/initrd --append="$cmdline"
	emit crash_loaded "$(cat /sys/kernel/kexec_crash_loaded)"
}

# pdmavm_panic: end this phase and panic (sysrq c) into the crash kernel
# pdmavm_crash_load loaded.
pdmavm_panic() {
	pdmavm_end 0
	echo c >/proc/sysrq-trigger
}

# pdmavm_kexec_exec: end this phase and boot the kernel pdmavm_kexec_load
# loaded.
pdmavm_kexec_exec() {
	sync
	pdmavm_end 0
	kexec -e
	echo "kexec -e returned" >&2
	return 1
}

# pdma_load [PARAM=VALUE...]: insmod the pdma module, the one place every
# scenario loads it. Unless base= is given, the range comes from the
# memmap= on the command line, through `pdmactl range` (what a modprobe.d
# line holds on a real system). Reports KEY.rc (0 or insmod's status),
# KEY.err (insmod's message) and KEY.log (the module's kernel log lines),
# with KEY from PDMA_LOAD_KEY (default "load").
pdma_load() {
	local key=${PDMA_LOAD_KEY:-load} rc=0 range=""
	case " $* " in
	*" base="*) ;;
	*) range=$(pdmactl range 2>/dev/null) || range="" ;;
	esac
	dmesg -c >/dev/null
	# Modules pdma.ko needs on a distribution kernel (tools/vm/stock.sh), in
	# their numbered order; already loaded is fine.
	for m in /lib/modules/[0-9][0-9]-*.ko; do
		[ -e "$m" ] && { insmod "$m" 2>/dev/null || true; }
	done
	# $range is two words, base= and size=, split on purpose.
	# shellcheck disable=SC2086
	insmod /lib/modules/pdma.ko $range "$@" 2>/tmp/insmod.err || rc=$?
	emit "$key.rc" "$rc"
	emit "$key.err" "$(cat /tmp/insmod.err)"
	emit "$key.log" "$(dmesg | grep 'pdma' || true)"
	return 0
}

# pdma_unload: rmmod pdma, failing the phase if that fails.
pdma_unload() {
	rmmod pdma
}
