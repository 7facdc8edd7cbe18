#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: an NVMe controller serviced across kexec, with and without keep-alive.

Boots the test kernel (q35, NVMe behind a PCIe root port at 0000:01:00.0, a
128 MiB memmap= range for pdma) and drives the controller with pdma-nvme
(tools/nvme/), whose queues, PRP lists and data buffers live in pdma:

  1. init, write 32 MiB of a seeded pattern;
  2. save, kexec with keep-alive (the feature set, and
     vfio_pci.keep_alive=0000:01:00.0 on the next command line), restore on
     the existing queues, verify the 32 MiB, write and verify 8 MiB more;
  3. the same cycle with keep-alive off: the new kernel's open resets the
     controller, restore detects it and re-initialises; the data is verified;
  4. a table measured in the guest: blackout per path (start of quiesce in
     the old kernel to the first I/O completion in the new one), split into
     save, kexec and device restore, with admin commands and CC writes;
  5. pdma-dump of the region before the first kexec and
  6. after the last one, when pdma-dump is built.

Times across kexec come from the TSC (not reset by kexec; its rate is
measured against CLOCK_MONOTONIC_RAW by each save and restore); see README
"NVMe servicing". The next kernel is loaded before the save, as a
servicing host would, so the blackout holds only kexec -e and the boot.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pdmavm import MiB, Guest, GuestError  # noqa: E402

BDF = "0000:01:00.0"
BLOCKS_PER_MIB = 2048  # QEMU's NVMe namespace: 512-byte blocks

SCENARIO = """
BDF=%s
# nv KEY ARGS...: run pdma-nvme, report its JSON line and exit status.
nv() { local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }
dump() {
    if command -v pdma-dump >/dev/null; then emit "dump.$1" "$(pdma-dump 2>&1)"; fi
}
phase_1() {
    pdma_load
    nv init init
    nv write write 0 --pattern 1001 --count 32M
    pdmavm_kexec_load -a vfio_pci.keep_alive=$BDF
    dump before
    nv save save
    pdmavm_kexec_exec
}
phase_2() {
    pdma_load
    nv restore restore
    nv verify verify
    emit list "$(pdmactl list | grep nvme/ | awk '{ print $1, $2, $5, $6 }')"
    nv write write 65536 --pattern 1002 --count 8M
    nv verify2 verify 65536 --pattern 1002 --count 8M
    pdmavm_kexec_load -d vfio_pci.keep_alive
    nv save save --no-keep-alive
    pdmavm_kexec_exec
}
phase_3() {
    pdma_load
    nv restore restore
    nv verify verify
    nv write write 81920 --pattern 1003 --count 8M
    nv verify2 verify 81920 --pattern 1003 --count 8M
    nv verify_all verify
    dump after
    emit err "$(cat /tmp/pdma-nvme.err 2>/dev/null)"
}
""" % BDF


def ms(ns):
    return f"{ns / 1e6:.1f}" if isinstance(ns, (int, float)) and ns >= 0 else "-"


def result(phase, key):
    """pdma-nvme's JSON for KEY, failing loudly if the tool failed."""
    res = phase.get(key)
    if not isinstance(res, dict) or not res.get("ok"):
        err = res.get("error") if isinstance(res, dict) else phase.get("err", "no output")
        raise GuestError(f"phase {phase.number}: pdma-nvme {key} failed: {err}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pdma-demo-")
    g = Guest(a.kernel, os.path.join(a.build, "initramfs.cpio"), work, timeout=300,
              memmap=(128 * MiB, 0x30000000), nvme_size=128 * MiB,
              cmdline=["vfio_pci.ids=1b36:0010"])
    print(f"pdma demo: q35 under TCG, NVMe {BDF} ({g.nvme_size // MiB} MiB image), "
          f"memmap={g.memmap[0] // MiB}M${g.memmap[1]:#x}; logs in {work}")
    start = time.monotonic()
    try:
        run = g.run(SCENARIO, phases=3)
        p1, p2, p3 = run.phase(1), run.phase(2), run.phase(3)
        init, w1 = result(p1, "init"), result(p1, "write")
        ka, full = result(p2, "restore"), result(p3, "restore")
        rows = [("keep-alive", result(p1, "save"), ka, result(p2, "verify"),
                 result(p2, "verify2")),
                ("full re-init", result(p2, "save"), full, result(p3, "verify"),
                 result(p3, "verify2"))]
        final = result(p3, "verify_all")
    except GuestError as e:
        print(f"pdma demo: FAILED: {e}")
        return 1
    wall = time.monotonic() - start

    print(f"\n1. init: {init['model']} serial {init['serial']}, {init['queues']} I/O queue pairs "
          f"of {init['depth']}, {init['admin_cmds']} admin commands, {init['cc_writes']} CC "
          f"writes, {ms(init['init_ns'])} ms; wrote {w1['bytes'] // MiB} MiB "
          f"({w1['mib_s']} MiB/s)")
    print("2. pdma allocations after the keep-alive restore (name, state, phys, size):\n   "
          + p2["list"].replace("\n", "\n   "))
    print(f"3. full re-init path: restore found {full['checks_failed']}")
    print("\n4. blackout: start of quiesce (old kernel) to first I/O completion (new kernel), "
          "ms, TSC-timed in the guest")
    hdr = (f"   {'path':13} {'save':>6} {'kexec':>8} {'dev.restore':>11} {'blackout':>9} "
           f"{'admin cmds':>10} {'CC writes':>9} {'MiB verified':>12}  restore path taken")
    print(hdr)
    good = True
    for name, save, res, ver, ver2 in rows:
        mib = (ver["bytes_verified"] + ver2["bytes_verified"]) / MiB
        print(f"   {name:13} {ms(res.get('quiesce_to_save_end_ns')):>6} "
              f"{ms(res.get('kexec_ns')):>8} {ms(res['restore_ns']):>11} "
              f"{ms(res.get('blackout_ns')):>9} {res['admin_cmds']:>10} {res['cc_writes']:>9} "
              f"{mib:>12.0f}  {res['path']}")
        good &= ver["match"] and ver2["match"]
    good &= ka["path"] == "keep-alive" and full["path"] == "full-init"
    good &= ka["admin_cmds"] == 0 and ka["cc_writes"] == 0
    ratio = ka["restore_ns"] / full["restore_ns"]
    print(f"   device restore keep-alive / full re-init = {ratio:.3f} (1/{1 / ratio:.0f})")
    for name, r in (("keep-alive", ka), ("full re-init", full)):
        print(f"   {name:13} device restore = pdma claims {ms(r['claim_ns'])} + VFIO open "
              f"{ms(r['vfio_open_ns'])} + checks/init and first I/O "
              f"{ms(r['open_to_first_io_ns'])}")
    print("   (save with keep-alive off includes a Flush; MiB verified: everything written "
          "before the kexec, then the 8 MiB written after the restore)")
    print(f"   at the end all {final['bytes_verified'] // MiB} MiB written over the run verify "
          f"({final['ranges_checked']} ranges from the state record)")

    have_dump = os.path.exists(os.path.join(a.build, "bin", "pdma-dump"))
    dumps = ((5, "before", "before the first kexec (kernel 1)", p1),
             (6, "after", "after the last kexec (kernel 3)", p3))
    for n, key, label, p in dumps:
        if have_dump and f"dump.{key}" in p.values:
            print(f"\n{n}. pdma-dump {label}:\n   "
                  + p[f"dump.{key}"].replace("\n", "\n   "))
        else:
            print(f"\n{n}. pdma-dump {label}: not built (build/bin/pdma-dump missing)")
    print(f"\nwhole demo {wall:.1f} s (guest run {run.seconds:.1f} s, 3 kernels, 2 kexec)")
    print("pdma demo: " + ("OK, data verified on both paths" if good else "FAILED"))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
