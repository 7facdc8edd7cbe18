# SPDX-License-Identifier: GPL-2.0
"""ALLOC with PDMA_ALLOC_ZERO across a kexec in the middle of the zeroing.

The buffer's pages first hold a pattern (a previous owner's data); then a
512 MiB ALLOC(ZERO) runs in the background and the guest kexecs after a
varied delay. The next kernel must find either no entry or an entry that
is entirely zero: never an entry flagged ZERO that still holds old data.

The module of commit 3b74db6 (commit first, zero after, under the lock)
fails this: run with it, the kexec 0.05 s into the ALLOC left an entry
"big" with 459,961,841 non-zero bytes.
"""

from conftest import GiB, MiB, ok

BIG = 512 * MiB
# 640 MiB reserved at 1 GiB of a 2 GiB guest: room for BIG and the table.
RANGE = (640 * MiB, 0x40000000)
# Delays (seconds) between starting the ALLOC and kexec -e, one per cycle.
DELAYS = ("0.05", "0.2", "0.6")


def test_kexec_during_alloc_zero_leaves_no_dirty_entry(guest):
    """Expect, for each of 3 kexecs at different points of a 512 MiB
    ALLOC(ZERO) over dirty pages, the next kernel to hold either no entry
    for it or an entry whose every byte is zero."""
    phases = {}
    for n, delay in enumerate(DELAYS, start=1):
        check = "" if n == 1 else """
    if pdmactl list | grep -q '^big '; then
        emit found 1
        emit nonzero "$(pdma_buf nonzero big)"
        pdmactl free big >/dev/null
    else
        emit found 0
    fi"""
        phases[n] = f"""
phase_{n}() {{
    pdma_load{check}
    pdmactl alloc dirty {BIG} >/dev/null
    pdma_buf fill dirty {n} >/dev/null
    emit dirty "$(pdma_buf nonzero dirty)"
    pdmactl free dirty >/dev/null
    pdmavm_kexec_load || return 1
    pdmactl alloc big {BIG} --zero >/dev/null 2>&1 &
    sleep {delay}
    pdmavm_kexec_exec
}}"""
    last = len(DELAYS) + 1
    phases[last] = f"""
phase_{last}() {{
    pdma_load
    if pdmactl list | grep -q '^big '; then
        emit found 1
        emit nonzero "$(pdma_buf nonzero big)"
    else
        emit found 0
    fi
}}"""
    run = ok(guest(memory=2 * GiB, memmap=RANGE, timeout=1800).run(
        "".join(phases.values()), phases=last))
    for n in range(1, last + 1):
        p = run.phase(n)
        assert p["load.rc"] == "0", p["load.err"]
        if n < last:
            assert int(p["dirty"]) > BIG // 2, "the pages must hold old data first"
        if n > 1:
            if p["found"] == "1":
                assert p["nonzero"] == "0", f"kexec {n - 1}: a ZERO entry holds old data"
