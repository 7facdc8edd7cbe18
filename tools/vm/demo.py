#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: named DMA buffers survive a real kexec in a QEMU guest.

Boots the test kernel with a memmap= range, loads pdma, allocates and fills
three buffers, kexecs into the next kernel with kexec_file_load, loads pdma
again (it adopts the table), claims the buffers by name and verifies their
physical addresses and content. Prints what happened as a table.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pdmavm import MiB, Guest, GuestError  # noqa: E402

BUFFERS = [("nvme/0000:01:00.0/asq", "64K", 0), ("nvme/0000:01:00.0/acq", "16K", 0),
           ("data/huge", "8M", "2M")]

SCENARIO = """
show() {{ emit "$1" "$(pdmactl list | sed 's/ id=.*phys=/ phys=/; s/ align=.*//')"; }}
phase_1() {{
    pdma_load
{allocs}
{sums}
    show list
    emit info "$(pdmactl info)"
    pdmavm_kexec
}}
phase_2() {{
    pdma_load
    show list_adopted
{sums}
    show list_claimed
    emit info "$(pdmactl info)"
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel", required=True)
    a = ap.parse_args()
    allocs = "\n".join(
        f"    pdmactl alloc {n} {s}{' --align ' + al if al else ''} >/dev/null\n"
        f"    pdma_buf fill {n} {i + 1} >/dev/null" for i, (n, s, al) in enumerate(BUFFERS))
    sums = "\n".join(f'    emit "sum.{n}" "$(pdma_buf sum {n})"' for n, _, _ in BUFFERS)
    work = tempfile.mkdtemp(prefix="pdma-demo-")
    g = Guest(a.kernel, os.path.join(a.build, "initramfs.cpio"), work, timeout=180)
    print(f"pdma demo: booting q35 under TCG, memmap={g.memmap[0] // MiB}M${g.memmap[1]:#x}, "
          f"logs in {work}")
    start = time.monotonic()
    try:
        run = g.run(SCENARIO.format(allocs=allocs, sums=sums), phases=2)
    except GuestError as e:
        print(f"pdma demo: FAILED: {e}")
        return 1
    p1, p2 = run.phase(1), run.phase(2)
    print("\nkernel 1: " + p1["load.log"].splitlines()[-1])
    print("kernel 2: " + p2["load.log"].splitlines()[-1] + "\n")
    print(f"{'buffer':28} {'phys before':>12} {'phys after':>12} {'content':>8}")
    good = True
    for n, _, _ in BUFFERS:
        b, c = p1[f"sum.{n}"].split(), p2[f"sum.{n}"].split()
        same = b == c
        good &= same
        print(f"{n:28} {b[0]:>12} {c[0]:>12} {'same' if same else 'CHANGED':>8}")
    print("\nafter kexec, before LOOKUP:\n  " + p2["list_adopted"].replace("\n", "\n  "))
    print("after LOOKUP:\n  " + p2["list_claimed"].replace("\n", "\n  "))
    print(f"\nguest uptime at kexec {p1.end_uptime:.2f} s; next kernel ran its phase "
          f"{p2.start_uptime:.2f} s after boot; whole run {time.monotonic() - start:.1f} s")
    print("pdma demo: " + ("OK, every buffer came back" if good and p1.rc == p2.rc == 0
                           else "FAILED"))
    return 0 if good and p1.rc == p2.rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
