#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pdma against the upstream anchor, in one 7.2 guest: the same buffer
preserved across one kexec as a memfd in a Live Update Orchestrator session
(/dev/liveupdate, mm/memfd_luo.c) and as a pdma allocation, at 64 MiB and
1 GiB (tests/guest/preserve_bench.c does the guest side).

One guest, 7 kernels: a kexec with nothing preserved (the baseline), one
kexec per (method, size), and a second baseline. For each it prints the time to preserve, the
extra time the kexec takes over the baseline (TSC from the end of the save
to the start of the restore program; the TSC keeps counting across kexec),
the time to get the buffer back and map it, the page faults and time to
touch every page, whether the physical pages are the same, and whether the
buffer is one physically contiguous block (what noiommu DMA needs). Every
kernel loads pdma, so the kexecs differ only in what is preserved.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "vm"))
from pdmavm import GiB, MiB, Guest  # noqa: E402

SIZES = (64 * MiB, 1 * GiB)
# (method, size) in kexec order, after the baseline.
ROUNDS = [(how, size) for how in ("luo", "pdma") for size in SIZES]
# pdma's range holds the 1 GiB buffer, the 64 MiB one and the table.
PDMA_RANGE = (1152 * MiB, 0x100000000)

SCENARIO_LIB = """
pb() { local key=$1; shift; emit_tool "$key" preserve_bench "$@"; }
"""


def scenario():
    """Every phase loads pdma and reads the TSC first (tsc) and last
    (tsc_end, just before the kexec), so phase n's kexec takes
    tsc(n + 1) - tsc_end(n) in every round. The first and the last kexec
    preserve nothing: two baselines, whose spread shows the noise."""
    last = len(ROUNDS) + 3
    lines = [SCENARIO_LIB]
    for n in range(1, last + 1):
        lines += [f"phase_{n}() {{", "    pdma_load", "    pb tsc tsc"]
        if 3 <= n <= len(ROUNDS) + 2:
            prev_how, prev_size = ROUNDS[n - 3]
            lines.append(f"    pb restore {prev_how}-restore {prev_size}")
        if 2 <= n <= len(ROUNDS) + 1:
            how, size = ROUNDS[n - 2]
            lines.append(f"    pb save {how}-save {size}")
        if n < last:
            lines += ["    pb tsc_end tsc", "    pdmavm_kexec"]
        lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initramfs", required=True)
    a = ap.parse_args()
    g = Guest(a.kernel, a.initramfs, tempfile.mkdtemp(prefix="pdma-luo-bench-"),
              memory=4 * GiB, memmap=PDMA_RANGE, nvme=False, timeout=900,
              cmdline=["liveupdate=on"])
    run = g.run(scenario(), phases=len(ROUNDS) + 3)
    for n, p in sorted(run.phases.items()):
        for key in ("tsc.rc", "save.rc", "restore.rc", "load.rc"):
            v = p.get(key)
            if v is not None and v != "0":
                sys.exit(f"luo_bench: phase {n} {key} = {v}: {p.get(key[:-3] + '.err')}; "
                         f"see {g.workdir}/console.log")
    hz = run.phase(1)["tsc"]["tsc_hz"]

    def kexec_ms(n):
        return (run.phase(n + 1)["tsc"]["tsc"] - run.phase(n)["tsc_end"]["tsc"]) / hz * 1e3

    bases = (kexec_ms(1), kexec_ms(len(ROUNDS) + 2))
    base_ms = sum(bases) / 2
    print(f"preserving one buffer across one kexec, Linux 7.2 guest (TCG, 2 vCPUs); "
          f"kexec with nothing preserved: {bases[0]:.0f} and {bases[1]:.0f} ms "
          f"(first and last kexec, to the next kernel's first program, pdma loaded); "
          f"kexec +ms is against their mean")
    hdr = ("method", "size", "preserve ms", "kexec +ms", "get+map ms", "touch ms",
           "faults", "same pages", "contiguous", "data")
    print("    " + "  ".join(f"{h:>11}" for h in hdr))
    for n, (how, size) in enumerate(ROUNDS, start=2):
        save, rest = run.phase(n)["save"], run.phase(n + 1)["restore"]
        same = ("yes" if (rest["pfn_hash"], rest["first_pfn"], rest["missing"])
                == (save["pfn_hash"], save["first_pfn"], 0) else "no")
        row = (how, f"{size // MiB} MiB", f"{save['preserve_ns'] / 1e6:.2f}",
               f"{kexec_ms(n) - base_ms:+.0f}", f"{rest['get_map_ns'] / 1e6:.2f}",
               f"{rest['touch_ns'] / 1e6:.1f}", str(rest["faults"]),
               same,
               "yes" if rest["runs"] == 1 else f"no ({rest['runs']} runs)",
               "ok" if rest["bad_pages"] == 0 else f"{rest['bad_pages']} bad pages")
        print("    " + "  ".join(f"{c:>11}" for c in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
