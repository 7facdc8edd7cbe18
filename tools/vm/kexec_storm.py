#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Kexec a guest again and again, and catch a reset in the act.

A diagnostic, not a test: it hunts the rare machine reset right after
"kexec_core: Starting new kernel" (README, "Realistic kernels"), which
struck about once in 300 to 1,300 kexecs until the test kernel carried
kmod/patches/0012. Each guest loads pdma and
kexecs (kexec -s) KEXECS times. QEMU is told to pause instead of resetting
(-action reboot=shutdown,shutdown=pause), so when a vCPU triple-faults the
machine stops with every vCPU's registers as they were. The script then
reads, through the human monitor:

- info registers -a;
- per vCPU, through its own page tables (monitor "cpu N"): its LAPIC, the
  physical address and page of its stack pointer (direct map, IRQ or
  exception stack alike), and the code at its RIP ("unable to read
  memory" once the copy has overwritten those page tables),

and writes them to WORKDIR/paused.txt. Guests that complete are deleted.
Each run line also counts "Shutting down cpus with NMI" in the guest's
console: the old kernel's fallback when a CPU did not answer the reboot
IPI within a second, which can leave an NMI in flight to a CPU that then
counts as stopped.

  [KVER=7.2] tools/vm/kexec_storm.py [--runs N] [--kexecs K] [--workdir DIR]
                                     [--tree DIR] [--cmdline ARG]...

--tree boots another build of the kernel, such as a copy of the test
kernel's tree with tools/vm/kexec-stop-window.diff applied, which turns
the rare reset into one on every first kexec (unless it also has
kmod/patches/0012, which fixes it).

KVER (6.12 by default) picks the test kernel and its initramfs, as for
make. Needs `make initramfs` (with the same KVER) first; takes 4 to 9 s
per kexec, depending on the host.
Exit: 0 if no guest reset, 1 if one did (its directory is printed).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "vm"))
from pdmavm import Guest  # noqa: E402


def hmp(path, *commands):
    """Run human-monitor commands in one session on the socket at path.

    One session, because "cpu N" selects the vCPU that later commands
    (gva2gpa, x) translate through, for that session only. Returns the
    answer to each command.
    """
    answers = []
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.settimeout(5)
        for send in (None,) + commands:
            if send:
                s.sendall(send.encode() + b"\n")
            out = b""
            try:
                while not out.rstrip().endswith(b"(qemu)"):
                    data = s.recv(65536)
                    if not data:
                        break
                    out += data
            except socket.timeout:
                pass
            # The monitor echoes the command key by key, then answers, then
            # prompts: keep the answer.
            lines = out.decode(errors="replace").splitlines()[1:]
            answers.append("\n".join(line for line in lines if line.strip() != "(qemu)") + "\n")
    return answers[1:]


class StormGuest(Guest):
    """A Guest that pauses on reset and answers on a monitor socket."""

    def qemu_argv(self, initrd):
        argv = super().qemu_argv(initrd)
        i = argv.index("-no-reboot")
        argv[i:i + 1] = ["-action", "reboot=shutdown,shutdown=pause",
                         "-d", "cpu_reset,guest_errors", "-D", self.path("qemu.log")]
        argv[argv.index("-monitor") + 1] = f"unix:{self.path('mon.sock')},server,nowait"
        return argv

    def path(self, name):
        return os.path.join(self.workdir, name)

    def nmi_stops(self):
        """How often the old kernel had to stop the other CPUs by NMI.

        native_stop_other_cpus() falls back to an NMI when a CPU has not
        answered the reboot IPI within a second; its own comment says a
        CPU that reaches the hlt loop late still takes that NMI, which can
        then land while relocate_kernel overwrites its memory.
        """
        try:
            with open(self.path("console.log"), errors="replace") as f:
                return f.read().count("Shutting down cpus with NMI")
        except OSError:
            return 0

    def phases_done(self):
        return sum(p.rc is not None for p in self._parse().values())

    def storm(self, scenario, phases):
        """Run the scenario; "done", "reset", "timeout" or "exit N"."""
        proc = subprocess.Popen(self.qemu_argv(self.prepare(scenario)), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.monotonic()
        try:
            while proc.poll() is None:
                time.sleep(1)
                if time.monotonic() - start > self.timeout:
                    return "timeout"
                try:
                    if "paused" not in hmp(self.path("mon.sock"), "info status")[0]:
                        continue
                except OSError:
                    continue  # not listening yet
                if self.phases_done() == phases:
                    return "done"  # the last phase powers off
                self.dump()
                return "reset"
            return f"exit {proc.returncode}"
        finally:
            proc.kill()
            proc.wait()

    def dump(self):
        sock = self.path("mon.sock")
        regs, = hmp(sock, "info registers -a")
        out = [regs]
        # Per vCPU, through its own page tables: its LAPIC, where its stack
        # pointer lands physically and that page, and the code at its RIP.
        # A stack pointer may be in the direct map, an IRQ stack or an
        # exception (IST) stack; gva2gpa covers all three while the vCPU's
        # page tables are intact, and says "Unmapped" once they are not.
        for cpu, block in re.findall(r"CPU#(\d+)\n(.*?)(?=CPU#\d+\n|\Z)", regs, re.S):
            rip = re.search(r"[RE]IP=([0-9a-f]+)", block)
            rsp = re.search(r"[RE]SP=([0-9a-f]+)", block)
            if not (rip and rsp):
                continue
            _, lapic, gpa, text = hmp(sock, f"cpu {cpu}", "info lapic",
                                      f"gva2gpa 0x{rsp.group(1)}", f"x/24i 0x{rip.group(1)}")
            out += [f"=== CPU {cpu}", lapic, f"--- RSP {rsp.group(1)}: {gpa}",
                    f"--- code at RIP {rip.group(1)}\n{text}"]
            m = re.search(r"gpa: 0x([0-9a-f]+)", gpa)
            if m:
                page = int(m.group(1), 16) & ~0xfff
                out.append(f"--- stack page {page:#x}\n" + hmp(sock, f"xp/512gx {page:#x}")[0])
        with open(self.path("paused.txt"), "w") as f:
            f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="guests, one after the other")
    ap.add_argument("--kexecs", type=int, default=30, help="kexecs per guest")
    ap.add_argument("--workdir", default="/tmp/kexec-storm")
    ap.add_argument("--tree", help="kernel tree whose bzImage to boot; "
                    "default: the test kernel's")
    ap.add_argument("--cmdline", action="append", default=[], metavar="ARG",
                    help="add ARG to every kernel's command line (repeatable), "
                    "e.g. kho=off on 7.x")
    a = ap.parse_args()
    tree = a.tree or subprocess.check_output([os.path.join(ROOT, "tools/vm/kernel.sh"), "tree"],
                                             text=True).strip()
    kernel = os.path.join(tree, "arch/x86/boot/bzImage")
    # KVER picks the kernel (kernel.sh) and, as in the Makefile, its initramfs
    kver = os.environ.get("KVER", "6.12")
    initramfs = os.path.join(ROOT, "build",
                             "initramfs.cpio" if kver == "6.12" else f"initramfs-{kver}.cpio")
    for path in (kernel, initramfs):
        if not os.path.exists(path):
            sys.exit(f"kexec_storm: {path} missing: run 'make initramfs KVER={kver}'")
    phases = a.kexecs + 1
    scenario = "".join(f"phase_{n}() {{\n    pdma_load\n    pdmavm_kexec\n}}\n"
                       for n in range(1, phases)) + f"phase_{phases}() {{\n    pdma_load\n}}\n"
    resets = nmi = 0
    for r in range(a.runs):
        g = StormGuest(kernel, initramfs, os.path.join(a.workdir, f"run{r}"),
                       timeout=60 + 12 * phases, cmdline=a.cmdline)
        t0 = time.monotonic()
        result = g.storm(scenario, phases)
        stops = g.nmi_stops()
        nmi += stops
        print(f"{time.strftime('%H:%M:%S')} run {r}: {result}, {g.phases_done()}/{phases} "
              f"phases, {stops} NMI stops, {time.monotonic() - t0:.0f} s", flush=True)
        if result == "done":
            shutil.rmtree(g.workdir)
        else:
            resets += result == "reset"
            print(f"  kept {g.workdir}", flush=True)
    print(f"{resets} resets, {nmi} NMI stops in {a.runs} guests", flush=True)
    return 1 if resets else 0


if __name__ == "__main__":
    sys.exit(main())
