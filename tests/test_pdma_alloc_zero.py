# SPDX-License-Identifier: GPL-2.0
"""ALLOC with PDMA_ALLOC_ZERO across a kexec, or a panic into the crash
kernel, in the middle of the zeroing.

The buffer's pages first hold a pattern (a previous owner's data); then a
512 MiB ALLOC(ZERO) runs in the background and the guest kexecs after a
varied delay. The next kernel must find either no entry or an entry that
is entirely zero: never an entry flagged ZERO that still holds old data.

The module of commit 3b74db6 (commit first, zero after, under the lock)
fails this: run with it, the kexec 0.05 s into the ALLOC left an entry
"big" with 459,961,841 non-zero bytes.
"""

import pytest

from conftest import GiB, MiB, ok

BIG = 512 * MiB
# 640 MiB reserved at 1 GiB of a 2 GiB guest: room for BIG and the table.
RANGE = (640 * MiB, 0x40000000)
# Delays (seconds) between starting the ALLOC and kexec -e, one per cycle.
DELAYS = ("0.05", "0.2", "0.6")

SCENARIO_LIB = f"""
# dirty_pages SEED: leave old data in the pages the next ALLOC gets.
dirty_pages() {{
    pdmactl alloc dirty {BIG} >/dev/null
    pdma_buf fill dirty "$1" >/dev/null
    emit dirty "$(pdma_buf nonzero dirty)"
    pdmactl free dirty >/dev/null
}}

# report_big [free]: found (0 or 1) and, if found, nonzero of the entry
# "big", which "free" then frees.
report_big() {{
    if pdmactl list | grep -q '^big '; then
        emit found 1
        emit nonzero "$(pdma_buf nonzero big)"
        [ "${{1:-}}" != free ] || pdmactl free big >/dev/null
    else
        emit found 0
    fi
}}
"""


def test_kexec_during_alloc_zero_leaves_no_dirty_entry(guest):
    """Expect, for each of 3 kexecs at different points of a 512 MiB
    ALLOC(ZERO) over dirty pages, the next kernel to hold either no entry
    for it or an entry whose every byte is zero."""
    phases = {}
    for n, delay in enumerate(DELAYS, start=1):
        check = "" if n == 1 else """
    report_big free"""
        phases[n] = f"""
phase_{n}() {{
    pdma_load{check}
    dirty_pages {n}
    pdmavm_kexec_load || return 1
    pdmactl alloc big {BIG} --zero >/dev/null 2>&1 &
    sleep {delay}
    pdmavm_kexec_exec
}}"""
    last = len(DELAYS) + 1
    phases[last] = f"""
phase_{last}() {{
    pdma_load
    report_big
}}"""
    run = ok(guest(memory=2 * GiB, memmap=RANGE, timeout=1800).run(
        SCENARIO_LIB + "".join(phases.values()), phases=last))
    for n in range(1, last + 1):
        p = run.phase(n)
        assert p["load.rc"] == "0", p["load.err"]
        if n < last:
            assert int(p["dirty"]) > BIG // 2, "the pages must hold old data first"
        if n > 1:
            if p["found"] == "1":
                assert p["nonzero"] == "0", f"kexec {n - 1}: a ZERO entry holds old data"


def crash_during_alloc_zero(delay_ms):
    """Phase 1 panics delay_ms into the ALLOC(ZERO); phase 2 is the crash kernel."""
    return SCENARIO_LIB + f"""
phase_1() {{
    pdma_load
    dirty_pages 7
    pdmavm_crash_load
    pdmactl alloc big {BIG} --zero >/dev/null 2>&1 &
    usleep {delay_ms * 1000}
    pdmavm_panic
}}
phase_2() {{
    emit vmcore "$(test -e /proc/vmcore && echo yes || echo no)"
    pdma_load
    report_big
}}
"""


@pytest.mark.parametrize("delay_ms", [30, 250, 900])
def test_panic_during_alloc_zero_leaves_no_dirty_entry(guest, delay_ms):
    """Expect a panic (sysrq c) at a varied moment of a 512 MiB ALLOC(ZERO)
    over dirty pages to leave the kexec -s -p crash kernel either no entry
    for it or an entry whose every byte is zero."""
    g = guest(memory=2 * GiB, memmap=RANGE, cmdline=["crashkernel=256M"], timeout=600,
              allow_splat=r"sysrq triggered crash|Call Trace:")
    run = ok(g.run(crash_during_alloc_zero(delay_ms), phases=2))
    p1, p2 = run.phase(1), run.phase(2)
    assert p1["load.rc"] == "0", p1["load.err"]
    assert int(p1["dirty"]) > BIG // 2, "the pages must hold old data first"
    assert p1["crash_loaded"] == "1"
    assert p2["vmcore"] == "yes", "phase 2 must be the crash kernel"
    assert p2["load.rc"] == "0", p2["load.err"]
    if p2["found"] == "1":
        assert p2["nonzero"] == "0", f"panic at {delay_ms} ms: a ZERO entry holds old data"
