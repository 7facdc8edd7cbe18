# SPDX-License-Identifier: GPL-2.0
"""Several controllers, many queues, one kexec (tools/nvme/, issue 11
section 4).

One guest with 4 NVMe controllers (QEMU max_ioqpairs=8, msix_qsize=9), each
driven with 8 I/O queue pairs of depth 256, and a 256 MiB pdma range.
Phase 1 initialises and writes all 4, saves them all and kexecs once with
keep-alive for the 4. Phase 2 restores the 4 in parallel (one process per
controller), verifies them, writes more, saves and kexecs again; phase 3
restores controller 1 alone, then the other 3 in parallel, so that one run
measures a restore alone and restores side by side. The blackout table
has one row per controller and a total (first save to last first I/O, by
the TSC, which counts across kexec).
"""

import pytest

from conftest import GiB, MiB, Guest, ok

BDFS = [f"0000:0{i + 1}:00.0" for i in range(4)]
KA = "-d vfio_pci.keep_alive -a vfio_pci.keep_alive=" + ",".join(BDFS)
QUEUES, DEPTH = 8, 256
MB4 = 8192  # blocks of 512 bytes

LIB = """
nv() { local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }
"""


def scenario():
    all4 = " ".join(BDFS)
    p1 = ["pdma_load", f"BDFS='{all4}'",
          f"nvme_par init init --queues {QUEUES} --depth {DEPTH}"]
    p1 += [f"nv w{i + 1} -d {b} write 0 --pattern {i + 1} --count {MB4}"
           for i, b in enumerate(BDFS)]
    p1 += [f"pdmavm_kexec_load {KA}"]
    p1 += [f"nv save{i + 1} -d {b} save" for i, b in enumerate(BDFS)]
    p1 += ["pdmavm_kexec_exec"]
    p2 = ["pdma_load", f"BDFS='{all4}'", "nvme_par restore restore"]
    p2 += [f"nv v{i + 1} -d {b} verify 0 --pattern {i + 1} --count {MB4}"
           for i, b in enumerate(BDFS)]
    p2 += [f"nv w{i + 1} -d {b} write {MB4} --pattern {10 + i} --count {MB4}"
           for i, b in enumerate(BDFS)]
    p2 += [f"pdmavm_kexec_load {KA}"]
    p2 += [f"nv save{i + 1} -d {b} save" for i, b in enumerate(BDFS)]
    p2 += ["pdmavm_kexec_exec"]
    p3 = ["pdma_load", f"BDFS='{BDFS[0]}'", "nvme_par alone restore",
          f"BDFS='{' '.join(BDFS[1:])}'", "nvme_par three restore"]
    p3 += [f"nv v{i + 1} -d {b} verify" for i, b in enumerate(BDFS)]
    text = LIB
    for n, body in ((1, p1), (2, p2), (3, p3)):
        text += f"phase_{n}() {{\n" + "\n".join(f"    {x}" for x in body) + "\n}\n"
    return text


@pytest.fixture(scope="module")
def multi(artifacts, tmp_path_factory):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("multi")),
              cmdline=["vfio_pci.ids=1b36:0010"], memory=2 * GiB,
              memmap=(256 * MiB, 0x30000000), nvme_count=4, nvme_max_ioqpairs=QUEUES,
              nvme_msix_qsize=QUEUES + 1, timeout=600)
    run = ok(g.run(scenario(), phases=3))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


def res(phase, key, rc="0"):
    got = phase.get(key)
    assert isinstance(got, dict), f"{key}: no JSON (exit {phase.get(key + '.rc')}): " \
                                  f"{phase.get(key + '.err')}"
    assert phase.get(f"{key}.rc") == rc, f"{key}: exit {phase.get(key + '.rc')}: " \
                                         f"{got.get('error')}"
    return got


def blackout_table(rows):
    """Per-controller rows and a total from restore JSONs (TSC stamps)."""
    hz = rows[0]["tsc_hz_save"]
    start = min(r["save_tsc_start"] for r in rows)
    end = max(r["tsc_first_io"] for r in rows)
    lines = [f"{'controller':14} {'save ms':>8} {'device restore ms':>18} {'blackout ms':>12}"]
    for r in rows:
        lines.append(f"{r['bdf']:14} {r['save_ns'] / 1e6:>8.2f} "
                     f"{r['device_restore_ns'] / 1e6:>18.2f} {r['blackout_ns'] / 1e6:>12.2f}")
    lines.append(f"{'total':14} {'':>8} {'':>18} {(end - start) / hz * 1e3:>12.2f}")
    return "\n".join(lines), (end - start) / hz * 1e9


def test_four_controllers_of_8_queue_pairs_are_initialised(multi):
    """Expect init on each of the 4 controllers to get 8 I/O queue pairs of
    depth 256 (Set Features checked, 19 admin commands each)."""
    for n in range(1, 5):
        i = res(multi.phase(1), f"init.{n}")
        assert (i["bdf"], i["queues"], i["depth"], i["admin_cmds"]) == \
            (BDFS[n - 1], QUEUES, DEPTH, 3 + 2 * QUEUES), n


def test_all_four_restore_in_parallel_on_their_queues_after_one_kexec(multi):
    """Expect the 4 restores run side by side after one kexec to take the
    keep-alive path with no admin command and no CC write, and each
    controller's data to verify, before and after more writes."""
    p2, p3 = multi.phase(2), multi.phase(3)
    rows = [res(p2, f"restore.{n}") for n in range(1, 5)]
    for n, r in enumerate(rows, 1):
        assert (r["path"], r["checks_failed"], r["admin_cmds"], r["cc_writes"]) == \
            ("keep-alive", "", 0, 0), n
        assert res(p2, f"v{n}")["match"] is True, n
        assert res(p3, f"v{n}")["match"] is True, n
        assert res(p3, f"v{n}")["bytes_verified"] == 2 * MB4 * 512, n
    table, total = blackout_table(rows)
    print("\n" + table)
    assert total >= max(r["blackout_ns"] for r in rows)


def test_restores_side_by_side_grow_at_most_linearly(multi):
    """Expect the blackout of 4 controllers restored side by side to exceed
    that of the slowest one by less than the sum of the other 3 device
    restores (the restores overlap), and each of 3 side by side to stay
    within 3x the one restored alone (2 vCPUs for 3 processes)."""
    p2, p3 = multi.phase(2), multi.phase(3)
    rows = [res(p2, f"restore.{n}") for n in range(1, 5)]
    _, total = blackout_table(rows)
    slowest = max(r["blackout_ns"] for r in rows)
    others = sum(sorted(r["device_restore_ns"] for r in rows)[:-1])
    assert total - slowest < others, (total, slowest, others)
    alone = res(p3, "alone.1")["device_restore_ns"]
    for n in range(1, 4):
        r = res(p3, f"three.{n}")
        assert r["path"] == "keep-alive"
        assert r["device_restore_ns"] <= 3 * alone, (n, r["device_restore_ns"], alone)
