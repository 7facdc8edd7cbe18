# SPDX-License-Identifier: GPL-2.0
"""Realistic kernels: SMP guests, concurrent users, and crash kexec.

Servicing hosts are SMP. These tests check that the guests really run on
two CPUs, that many threads and processes using /dev/pdma at once (some of
them SIGKILLed mid-operation) leave a consistent region behind, and that a
kdump kernel booted by a panic adopts the table.

Every guest run also fails on any kernel splat in its console
(tools/vm/pdmavm.py SPLAT), so on the debug kernel (`make check-debug`:
KASAN, lockdep) the stress test is a race detector.
"""

import pytest

from conftest import MiB, ok

STABLE = {"keep/a": 64 * 1024, "keep/b": 2 * MiB, "keep/c": 12 * 1024, "keep/d": 4 * MiB}


def stable_scenario_parts():
    """Shell that allocates and fills STABLE, and shell that reports sums."""
    fill = "\n".join(f"    pdmactl alloc {n} {s} >/dev/null\n    pdma_buf fill {n} {i + 11} >/dev/null"
                     for i, (n, s) in enumerate(STABLE.items()))
    report = "\n".join(f'    emit sum.{n} "$(pdma_buf sum {n})"' for n in STABLE)
    return fill, report


def test_guest_runs_two_cpus(guest):
    """Expect the default test kernel to be SMP and to bring both vCPUs
    online, before and after a kexec (machine_shutdown() stops the others)."""
    run = ok(guest().run("""
phase_1() {
    emit online "$(cat /sys/devices/system/cpu/online)"
    emit smp "$(zcat /proc/config.gz | grep '^CONFIG_SMP=')"
    pdmavm_kexec
}
phase_2() {
    emit online "$(cat /sys/devices/system/cpu/online)"
}
""", phases=2))
    assert run.phase(1)["smp"] == "CONFIG_SMP=y"
    assert run.phase(1)["online"] == "0-1"
    assert run.phase(2)["online"] == "0-1"


@pytest.mark.parametrize("threads,seed", [(4, 0x51), (6, 0x7A3)])
def test_concurrent_users_and_killed_children_leave_every_buffer_freeable(guest, threads, seed):
    """Expect 30 s of threads doing ALLOC/FREE/LOOKUP/LIST/mmap/munmap/read()
    and sysfs reads, while children that allocate and map are SIGKILLed at
    random moments, to see no overlap and no unexpected errno, and to leave
    every remaining entry freeable (no leaked map count); then the table
    still adopts cleanly across a kexec."""
    run = ok(guest(timeout=240).run(f"""
phase_1() {{
    pdma_load
    emit_tool stress pdma_stress 30 {threads} {seed}
    emit info "$(pdmactl info)"
    pdmavm_kexec
}}
phase_2() {{
    pdma_load
    emit list "$(pdmactl list)"
}}
""", phases=2))
    p1, p2 = run.phase(1), run.phase(2)
    assert p1["load.rc"] == "0", p1["load.err"]
    assert p1["stress.rc"] == "0", p1.get("stress.err")
    st = p1["stress"]
    assert st["failures"] == 0 and st["left"] == 0, st
    assert st["kills"] >= 20 and st["allocs"] >= 100, f"too little load to mean much: {st}"
    assert p2["load.rc"] == "0" and "adopted" in p2["load.log"], p2["load.log"]
    assert p2["list"].strip() == "", "every entry was freed before the kexec"


def crash_scenario(delay_ms, threads, seed):
    fill, report = stable_scenario_parts()
    return f"""
phase_1() {{
    pdma_load
{fill}
{report}
    pdmavm_crash_load
    pdma_stress 60 {threads} {seed} >/dev/null 2>&1 &
    usleep {delay_ms * 1000}
    pdmavm_panic
}}
phase_2() {{
    emit vmcore "$(test -e /proc/vmcore && echo yes || echo no)"
    pdma_load
    emit state "$(cat /sys/class/misc/pdma/state)"
{report}
    emit_rc dump_rc pdma-dump --quiet
    # Every entry the dead kernel left, finished or not, is claimable and freeable.
    left=0
    for n in $(pdmactl list | awk '{{print $1}}'); do
        pdmactl free "$n" >/dev/null 2>&1 || left=$((left + 1))
    done
    emit unfreeable "$left"
    pdmactl alloc after-crash 1M >/dev/null
    emit alloc_after "$?"
}}
"""


@pytest.mark.parametrize("delay_ms,threads,seed", [(150, 2, 0xC1), (700, 3, 0xC2), (1900, 4, 0xC3)])
def test_crash_kernel_adopts_table_mid_alloc_free(guest, delay_ms, threads, seed):
    """Expect a panic (sysrq c) while threads allocate and free, at varied
    moments, to boot the kexec -s -p crash kernel, where the module adopts
    the table (state adopted, not read-only), every buffer complete before
    the panic verifies byte for byte, and every entry is freeable."""
    g = guest(cmdline=["crashkernel=256M"], timeout=240,
              allow_splat=r"sysrq triggered crash|Call Trace:")
    run = ok(g.run(crash_scenario(delay_ms, threads, seed), phases=2))
    p1, p2 = run.phase(1), run.phase(2)
    assert p1["crash_loaded"] == "1"
    assert p2["vmcore"] == "yes", "phase 2 must be the crash kernel"
    assert p2["load.rc"] == "0", p2["load.err"]
    assert p2["state"] == "adopted", p2["load.log"]
    for n in STABLE:
        assert p2[f"sum.{n}"] == p1[f"sum.{n}"], f"{n} changed across the crash"
    assert p2["dump_rc"] == "0", "pdma-dump must call the adopted table consistent"
    assert p2["unfreeable"] == "0"
    assert p2["alloc_after"] == "0"
