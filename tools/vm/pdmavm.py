#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run a multi-phase scenario in a QEMU guest across real kexec cycles.

A scenario is a shell file with functions phase_1, phase_2, ... . The guest's
/init runs phase_N, where N comes from ``pdmavm.phase=N`` on the kernel
command line; a phase that calls ``pdmavm_kexec`` hands over to phase N+1 in
the next kernel. Results travel back on the second serial port as one JSON
object per line, the console goes to a log file, and every run has a hard
timeout.
"""

import argparse
import dataclasses
import functools
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

MiB = 1 << 20
GiB = 1 << 30


class GuestError(Exception):
    """The guest did not complete its scenario; message has the console tail."""


# A kernel splat in any guest's console fails the run: a BUG, an oops, a
# KASAN or UBSAN report, a lockdep report, a WARNING, a hung task, or an
# interrupt nobody handled. On the debug kernel (KASAN + lockdep) this is
# what turns a silent race into a failing test.
SPLAT = re.compile(r"BUG:|Oops|WARNING:|KASAN:|UBSAN:|general protection fault|"
                   r"possible circular locking|possible recursive locking|"
                   r"inconsistent lock state|suspicious RCU usage|"
                   r"INFO: task .* blocked for more than|nobody cared|"
                   r"kernel BUG at|Call Trace:")


def splats(console, allowed=None):
    """Console lines that report a kernel problem, minus those matching the
    regex ``allowed`` (a test that panics on purpose names its panic)."""
    return [line for line in console.splitlines()
            if SPLAT.search(line) and not (allowed and re.search(allowed, line))]


# QEMU before 8.1.1 (Debian 12 has 7.2) lacks commit 0d58c660689f
# ("softmmu: Use async_run_on_cpu in tcg_commit"): with one host thread per
# vCPU (MTTCG), a vCPU that changes the memory map, as the kernel does when
# it sizes a PCI BAR at boot, publishes the new dispatch table to the other
# vCPUs before their TLBs are flushed, and an MMIO access there in that
# window can crash QEMU with SIGSEGV (QEMU issues 1826, 1834, 1846). CI hit
# it twice, during PCI enumeration after a kexec. There the vCPUs share one
# host thread (thread=single): the guest is still SMP (two CPUs, IPIs, CPUs
# stopped at kexec, preemption between them at any translation block) but
# no two vCPUs run at the same instant. PDMA_GUEST_TCG_THREAD=single|multi
# overrides the choice.
MTTCG_SAFE_QEMU = (8, 1, 1)


@functools.lru_cache(maxsize=None)
def qemu_version(qemu):
    """(major, minor, micro) of the QEMU binary, or None if it cannot tell."""
    try:
        out = subprocess.run([qemu, "--version"], stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.DEVNULL, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def tcg_thread(qemu):
    """The TCG threading for guests of this QEMU: "multi" only where MTTCG
    is safe (see MTTCG_SAFE_QEMU), else "single"."""
    forced = os.environ.get("PDMA_GUEST_TCG_THREAD")
    if forced:
        if forced not in ("single", "multi"):
            raise GuestError(f"PDMA_GUEST_TCG_THREAD={forced}: expected single or multi")
        return forced
    version = qemu_version(qemu)
    return "multi" if version and version >= MTTCG_SAFE_QEMU else "single"


def exit_reason(returncode):
    """QEMU's exit status in words: a negative status is a signal."""
    if returncode >= 0:
        return f"exited {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"was killed by {name} (a QEMU crash, not a guest failure)"


@dataclasses.dataclass
class Phase:
    number: int
    rc: int | None = None
    values: dict = dataclasses.field(default_factory=dict)
    start_uptime: float | None = None
    end_uptime: float | None = None

    def __getitem__(self, key):
        if key not in self.values:
            raise KeyError(f"phase {self.number} reported no value {key!r}; "
                           f"it reported {sorted(self.values)}")
        return self.values[key]

    def get(self, key, default=None):
        return self.values.get(key, default)


@dataclasses.dataclass
class Run:
    phases: dict
    console: str
    workdir: str
    seconds: float

    def phase(self, n):
        if n not in self.phases:
            raise GuestError(f"phase {n} never started; see {self.workdir}/console.log\n"
                             + tail(self.console))
        return self.phases[n]

    def summary(self):
        rows = []
        for n in sorted(self.phases):
            p = self.phases[n]
            rows.append({"phase": n, "rc": p.rc, "values": len(p.values),
                         "uptime_start": p.start_uptime, "uptime_end": p.end_uptime})
        return rows


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def newc_archive(files):
    """Return a cpio newc archive holding {path: (mode, bytes)}."""
    out = bytearray()

    def add(name, mode, data, ino):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        out.extend(hdr.encode() + name_b)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (path, (mode, data)) in enumerate(sorted(files.items()), start=1):
        add(path, mode, data, ino)
    add("TRAILER!!!", 0, b"", 0)
    out.extend(b"\0" * (-len(out) % 512))
    return bytes(out)


@dataclasses.dataclass
class Guest:
    """One QEMU q35 machine: kernel, initramfs, optional memmap= and NVMe."""
    kernel: str
    initramfs: str
    workdir: str
    memory: int = 1 * GiB
    memmap: tuple | None = (64 * MiB, 0x30000000)  # (size, start)
    nvme: bool = True
    nvme_size: int = 64 * MiB
    # NVMe controllers, each behind its own root port: controller i (from 0)
    # is 0000:0{i+1}:00.0 with serial pdma000{i+1} and image nvme{i or ""}.img.
    nvme_count: int = 1
    # QEMU nvme properties when set: I/O queue pairs and MSI-X vectors
    # offered, and metadata bytes per block of namespace 1 (an nvme-ns).
    nvme_max_ioqpairs: int | None = None
    nvme_msix_qsize: int | None = None
    nvme_ms: int = 0
    cmdline: list = dataclasses.field(default_factory=list)
    # Servicing hosts are SMP; every guest gets two vCPUs unless a test says
    # (PDMA_GUEST_SMP overrides the default, to measure what SMP costs).
    smp: int = dataclasses.field(default_factory=lambda: int(os.environ.get("PDMA_GUEST_SMP", 2)))
    # PCIe port services (AER, DPC, hotplug). Off by default because portdrv
    # sets a bridge's Bus Master bit again at probe, which would hide what the
    # kexec shutdown did to it; tests of the realistic setup turn it on.
    portdrv: bool = False
    # Regex of console lines a scenario provokes on purpose (see splats()).
    allow_splat: str | None = None
    # A real IOMMU (QEMU intel-iommu, intel_iommu=on): VFIO groups are then
    # type1 groups, not no-IOMMU ones.
    iommu: bool = False
    # SR-IOV on the NVMe controller (in an nvme-subsys, as QEMU requires):
    # the number of VFs it can have; the guest enables them via sriov_numvfs.
    nvme_sriov_vfs: int = 0
    timeout: float = 120.0
    qemu: str = "qemu-system-x86_64"

    def kernel_cmdline(self):
        args = ["console=ttyS0", "nokaslr", "retain_initrd", "panic=-1",
                "vfio.enable_unsafe_noiommu_mode=1", "pdmavm.phase=1"]
        if self.memmap:
            size, start = self.memmap
            # memmap=SIZE$START: the '$' is literal here, no shell involved.
            args.append(f"memmap={size >> 10}K${start:#x}")
        if not self.portdrv:
            args.append("pcie_ports=compat")
        if self.iommu:
            args.append("intel_iommu=on")
        return " ".join(args + list(self.cmdline))

    def qemu_argv(self, initrd):
        argv = [self.qemu, "-machine", "q35", "-accel", f"tcg,thread={tcg_thread(self.qemu)}",
                "-cpu", "max",
                "-m", f"{self.memory >> 20}M", "-smp", str(self.smp), "-nographic", "-no-reboot",
                "-monitor", "none",
                "-kernel", self.kernel, "-initrd", initrd,
                "-append", self.kernel_cmdline(),
                "-serial", f"file:{self.workdir}/console.log",
                "-serial", f"file:{self.workdir}/results.jsonl"]
        if self.iommu:
            # Before the PCI devices it translates.
            argv += ["-device", "intel-iommu"]
        if self.nvme and self.nvme_sriov_vfs:
            argv += ["-device", "nvme-subsys,id=pdmasubsys,nqn=pdmasubsys"]
        for i in range(self.nvme_count if self.nvme else 0):
            argv += self.nvme_argv(i)
        return argv

    def nvme_argv(self, i):
        """QEMU arguments of NVMe controller i, its root port and image."""
        img = os.path.join(self.workdir, f"nvme{i or ''}.img")
        if not os.path.exists(img):
            with open(img, "wb") as f:
                f.truncate(self.nvme_size)
        n, drive = i + 1, "nvm" if i == 0 else f"nvm{i}"
        ctrl = f"nvme,serial=pdma{n:04d},bus=rp{n}"
        if self.nvme_max_ioqpairs is not None:
            ctrl += f",max_ioqpairs={self.nvme_max_ioqpairs}"
        if self.nvme_msix_qsize is not None:
            ctrl += f",msix_qsize={self.nvme_msix_qsize}"
        sriov = i == 0 and self.nvme_sriov_vfs
        if sriov:
            ctrl += self._nvme_sriov()
        argv = ["-device", f"pcie-root-port,id=rp{n},bus=pcie.0,chassis={n},slot={n}",
                "-drive", f"file={img},if=none,id={drive},format=raw"]
        if self.nvme_ms or sriov:
            # Metadata needs an nvme-ns; a subsystem takes no legacy drive=.
            ms = f",ms={self.nvme_ms}" if self.nvme_ms else ""
            return argv + ["-device", f"{ctrl},id=nvme{n}",
                           "-device", f"nvme-ns,drive={drive},bus=nvme{n},nsid=1{ms}"]
        return argv + ["-device", f"{ctrl},drive={drive}"]

    def _nvme_sriov(self):
        """The nvme -device suffix for SR-IOV; the subsystem goes before it."""
        n = self.nvme_sriov_vfs
        # QEMU 7.2: flexible queues >= 2 per VF, interrupts >= 1 per VF.
        return (f",subsys=pdmasubsys,sriov_max_vfs={n},sriov_vq_flexible={2 * n},"
                f"sriov_vi_flexible={n}")

    def prepare(self, scenario, extra_files=None):
        """Write the initrd (base initramfs plus the scenario and any extra
        executables) and empty the logs of a previous run; its path."""
        os.makedirs(self.workdir, exist_ok=True)
        files = {"scenario": (0o100644, scenario.encode())}
        for path, data in (extra_files or {}).items():
            files[path] = (0o100755, data)
        initrd = os.path.join(self.workdir, "initrd.cpio")
        with open(self.initramfs, "rb") as base, open(initrd, "wb") as out:
            out.write(base.read())
            out.write(newc_archive(files))
        for name in ("console.log", "results.jsonl"):
            open(os.path.join(self.workdir, name), "w").close()
        return initrd

    def run(self, scenario, phases, extra_files=None):
        """Run phases 1..N of the scenario text; return a Run."""
        argv = self.qemu_argv(self.prepare(scenario, extra_files))
        with open(os.path.join(self.workdir, "qemu.argv"), "w") as f:
            f.write(json.dumps(argv) + "\n")
        start = time.monotonic()
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=self.timeout)
        except FileNotFoundError as e:
            raise GuestError(f"{self.qemu} not found: run 'make deps'") from e
        except subprocess.TimeoutExpired:
            raise GuestError(f"guest timed out after {self.timeout:.0f} s; "
                             f"console {self.workdir}/console.log:\n"
                             + tail(self._read("console.log")))
        seconds = time.monotonic() - start
        console = self._read("console.log")
        if proc.returncode != 0:
            raise GuestError(f"qemu {exit_reason(proc.returncode)}, argv in {self.workdir}/qemu.argv: "
                             f"{proc.stdout.decode(errors='replace')}" + tail(console))
        run = Run(self._parse(), console, self.workdir, seconds)
        if len(run.phases) != phases or any(p.rc is None for p in run.phases.values()):
            raise GuestError(f"expected {phases} completed phases, got {run.summary()}; "
                             f"console {self.workdir}/console.log:\n" + tail(console))
        bad = splats(console, self.allow_splat)
        if bad:
            raise GuestError(f"kernel splat in console {self.workdir}/console.log:\n"
                             + "\n".join(bad[:20]))
        return run

    def _read(self, name):
        with open(os.path.join(self.workdir, name), errors="replace") as f:
            return f.read()

    def _parse(self):
        phases = {}
        for line in self._read("results.jsonl").splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                ev = json.loads(line)
            except json.JSONDecodeError as e:
                raise GuestError(f"bad result line {line!r}: {e}") from e
            n = int(ev["phase"])
            p = phases.setdefault(n, Phase(n))
            if ev["event"] == "phase-start":
                p.start_uptime = float(ev["uptime"])
            elif ev["event"] == "phase-end":
                p.rc = int(ev["rc"])
                p.end_uptime = float(ev["uptime"])
            elif ev["event"] == "value":
                p.values[ev["key"]] = ev["value"]
        return phases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--scenario", required=True, help="shell file with phase_N functions")
    ap.add_argument("--phases", type=int, required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--memory-mib", type=int, default=1024)
    ap.add_argument("--memmap", default="64M@0x30000000",
                    help="SIZE@START of the reserved range, or 'none'")
    ap.add_argument("--append", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    memmap = None
    if a.memmap != "none":
        size, start = a.memmap.split("@")
        mult = {"K": 1 << 10, "M": MiB, "G": GiB}
        memmap = (int(size[:-1]) * mult[size[-1]], int(start, 0))
    g = Guest(a.kernel, a.initramfs, a.workdir, memory=a.memory_mib * MiB, memmap=memmap,
              cmdline=a.append, timeout=a.timeout)
    with open(a.scenario) as f:
        run = g.run(f.read(), a.phases)
    for n in sorted(run.phases):
        p = run.phases[n]
        print(json.dumps({"phase": n, "rc": p.rc, "values": p.values}))
    return 0 if all(p.rc == 0 for p in run.phases.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
