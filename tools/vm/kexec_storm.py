#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Kexec a guest again and again, and catch a reset in the act.

A diagnostic, not a test: it hunts the rare machine reset right after
"kexec_core: Starting new kernel" (README, "Realistic kernels"), which
strikes about once in several hundred kexecs. Each guest loads pdma and
kexecs (kexec -s) KEXECS times. QEMU is told to pause instead of resetting
(-action reboot=shutdown,shutdown=pause), so when a vCPU triple-faults the
machine stops with every vCPU's registers as they were. The script then
reads, through the human monitor:

- info registers -a and info lapic;
- for each vCPU with a direct-map stack (RSP in 0xffff888...), that stack
  page, physically (the old kernel's page tables may be overwritten);
- the physical bytes of stop_this_cpu and swap_pages (addresses from the
  kernel tree's System.map; no KASLR), to see whether they still hold the
  old kernel's code.

and writes them to WORKDIR/paused.txt. Guests that complete are deleted.

  tools/vm/kexec_storm.py [--runs N] [--kexecs K] [--workdir DIR]

Needs `make initramfs` first; takes about 4 s per kexec on this machine.
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

DIRECT_MAP = 0xffff888000000000
KERNEL_TEXT = 0xffffffff80000000  # __START_KERNEL_map, physical 0 without KASLR


def hmp(path, command):
    """Run one human-monitor command on the socket at path; its output."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.settimeout(5)
        out = b""
        for send in (None, command):
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
    # The monitor echoes the command key by key, then answers, then prompts:
    # keep the answer.
    lines = out.decode(errors="replace").splitlines()[1:]
    return "\n".join(line for line in lines if line.strip() != "(qemu)") + "\n"


def symbols(tree, names):
    """Physical addresses of the kernel text symbols in names."""
    found = {}
    with open(os.path.join(tree, "System.map")) as f:
        for line in f:
            addr, _, name = line.split()
            if name in names:
                found[name] = int(addr, 16) - KERNEL_TEXT
    return found


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

    def phases_done(self):
        return sum(p.rc is not None for p in self._parse().values())

    def storm(self, scenario, phases, code):
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
                    if "paused" not in hmp(self.path("mon.sock"), "info status"):
                        continue
                except OSError:
                    continue  # not listening yet
                if self.phases_done() == phases:
                    return "done"  # the last phase powers off
                self.dump(code)
                return "reset"
            return f"exit {proc.returncode}"
        finally:
            proc.kill()
            proc.wait()

    def dump(self, code):
        sock = self.path("mon.sock")
        regs = hmp(sock, "info registers -a")
        out = [regs, hmp(sock, "info lapic")]
        for m in re.finditer(r"RSP=(ffff888[0-9a-f]{9})", regs):
            page = (int(m.group(1), 16) - DIRECT_MAP) & ~0xfff
            out.append(f"--- stack page {page:#x}\n" + hmp(sock, f"xp/512gx {page:#x}"))
        for name, phys in code.items():
            out.append(f"--- {name} at {phys:#x}\n" + hmp(sock, f"xp/40i {phys:#x}"))
        with open(self.path("paused.txt"), "w") as f:
            f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="guests, one after the other")
    ap.add_argument("--kexecs", type=int, default=30, help="kexecs per guest")
    ap.add_argument("--workdir", default="/tmp/kexec-storm")
    a = ap.parse_args()
    tree = subprocess.check_output([os.path.join(ROOT, "tools/vm/kernel.sh"), "tree"],
                                   text=True).strip()
    kernel = os.path.join(tree, "arch/x86/boot/bzImage")
    initramfs = os.path.join(ROOT, "build", "initramfs.cpio")
    for path in (kernel, initramfs):
        if not os.path.exists(path):
            sys.exit(f"kexec_storm: {path} missing: run 'make initramfs'")
    code = symbols(tree, {"stop_this_cpu", "swap_pages"})
    phases = a.kexecs + 1
    scenario = "".join(f"phase_{n}() {{\n    pdma_load\n    pdmavm_kexec\n}}\n"
                       for n in range(1, phases)) + f"phase_{phases}() {{\n    pdma_load\n}}\n"
    resets = 0
    for r in range(a.runs):
        g = StormGuest(kernel, initramfs, os.path.join(a.workdir, f"run{r}"),
                       timeout=60 + 6 * phases)
        t0 = time.monotonic()
        result = g.storm(scenario, phases, code)
        print(f"{time.strftime('%H:%M:%S')} run {r}: {result}, {g.phases_done()}/{phases} "
              f"phases, {time.monotonic() - t0:.0f} s", flush=True)
        if result == "done":
            shutil.rmtree(g.workdir)
        else:
            resets += result == "reset"
            print(f"  kept {g.workdir}", flush=True)
    return 1 if resets else 0


if __name__ == "__main__":
    sys.exit(main())
