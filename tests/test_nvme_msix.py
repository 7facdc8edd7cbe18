# SPDX-License-Identifier: GPL-2.0
"""pdma-nvme in MSI-X mode (tools/nvme/, issue 11 section 3): completions
by interrupt through VFIO_DEVICE_SET_IRQS eventfds, one vector per queue.

One guest, three kernels: init --msix, writes by interrupt, 8 writes left in
flight at a save, keep-alive kexec; the restore re-arms the vectors (the new
kernel starts with MSI-X off), reaps the 8 completions from the rings, and
new I/O completes by interrupt; then a kexec without keep-alive (reset): the
re-init keeps MSI-X mode. A lost interrupt would show as a command timing
out (exit 1), a lost completion as a verify mismatch. Under TCG the
controller often completes a command before the driver looks, so the
driver may not have to sleep: "irqs" counts the interrupts delivered (the
eventfd counts), "irq_wakeups" the waits an interrupt ended.
"""

import pytest

from conftest import Guest, ok

BDF = "0000:01:00.0"
KA = f"-d vfio_pci.keep_alive -a vfio_pci.keep_alive={BDF}"

SCENARIO = f"""
BDF={BDF}
nv() {{ local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }}
phase_1() {{
    pdma_load
    nv init init --msix
    nv w write 0 --pattern 31 --count 8192
    nv v verify 0 --pattern 31 --count 8192
    nv nowait write 8192 --pattern 32 --count 2048 --no-wait
    nv save save
    pdmavm_kexec {KA}
}}
phase_2() {{
    pdma_load
    nv restore restore
    nv v_inflight verify 8192 --pattern 32 --count 2048
    nv w write 16384 --pattern 33 --count 4096
    nv v verify
    nv save save
    pdmavm_kexec -d vfio_pci.keep_alive
}}
phase_3() {{
    pdma_load
    nv restore restore
    nv w write 20480 --pattern 34 --count 4096
    nv v verify
}}
"""


@pytest.fixture(scope="module")
def msix(artifacts, tmp_path_factory):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("msix")),
              cmdline=["vfio_pci.ids=1b36:0010"], timeout=300)
    run = ok(g.run(SCENARIO, phases=3))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


def res(phase, key):
    got = phase.get(key)
    assert isinstance(got, dict), f"{key}: no JSON (exit {phase.get(key + '.rc')}): " \
                                  f"{phase.get(key + '.err')}"
    assert phase.get(f"{key}.rc") == "0", f"{key}: exit {phase.get(key + '.rc')}: " \
                                          f"{got.get('error')}"
    return got


def test_init_msix_completes_io_by_interrupt(msix):
    """Expect init --msix to create the I/O CQs with interrupts, and a 4 MiB
    write and its verify to be signalled by interrupts (eventfd counts)."""
    p = msix.phase(1)
    assert res(p, "init")["irq"] == "msix"
    for key in ("w", "v"):
        r = res(p, key)
        assert (r["irq"], r["irqs"] > 0) == ("msix", True), key
    assert res(p, "v")["match"] is True
    assert res(p, "save")["inflight_at_save"] == 8


def test_vectors_are_rearmed_after_keep_alive_kexec_and_nothing_is_lost(msix):
    """Expect the restore after the keep-alive kexec to re-arm MSI-X, reap
    the 8 writes in flight at the save from the rings (posted before the
    kexec: no interrupt is due for them, the restore reads the rings after
    arming), then complete new I/O by interrupt, all data verified."""
    p = msix.phase(2)
    r = res(p, "restore")
    assert (r["path"], r["checks_failed"], r["irq"], r["reaped"]) == \
        ("keep-alive", "", "msix", 8)
    assert res(p, "v_inflight")["match"] is True
    w = res(p, "w")
    assert w["irqs"] > 0
    v = res(p, "v")
    assert (v["match"], v["bytes_verified"]) == (True, (8192 + 2048 + 4096) * 512)


def test_reinit_after_reset_keeps_msix_mode(msix):
    """Expect the restore after a kexec without keep-alive to re-initialise
    in MSI-X mode, and new I/O to complete by interrupt, all data verified."""
    p = msix.phase(3)
    r = res(p, "restore")
    assert (r["path"], r["irq"]) == ("full-init", "msix")
    assert res(p, "w")["irqs"] > 0
    assert res(p, "v")["match"] is True
