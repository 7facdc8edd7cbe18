# SPDX-License-Identifier: GPL-2.0
"""Upgrade and downgrade across a real kexec: the module of commit 3b74db6
(v1 format, full-copy commits) and this one share the table.

The old module is built at test time from a git worktree of 3b74db6 (in the
test's temporary directory) against the same kernel tree, and handed to the
guest as an extra file.
"""

import os
import subprocess

import pytest

from conftest import ROOT, ok

OLD = "3b74db6"
BUFFERS = {"nvme/asq": 64 * 1024, "data/big": 4 << 20, "tiny": 4096}


@pytest.fixture(scope="module")
def old_module(artifacts, tmp_path_factory):
    """pdma.ko built from commit OLD against the test kernel tree."""
    wt = tmp_path_factory.mktemp("old") / "src"
    r = subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", str(wt), OLD],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"git worktree add {OLD} failed: {r.stderr}")
    try:
        r = subprocess.run(["make", "-C", artifacts.tree, "ARCH=x86_64", f"M={wt}/kmod",
                            "modules"], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"building the {OLD} module failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        with open(os.path.join(wt, "kmod", "pdma.ko"), "rb") as f:
            return f.read()
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", str(wt)],
                       capture_output=True)


def test_old_table_adopted_and_back(guest, old_module):
    """Expect a table written by the 3b74db6 module to be adopted by this
    module after a kexec with every buffer intact, and, after this module
    changed it and another kexec, to be adopted by the old module again
    with every buffer intact: the format is unchanged, nothing is lost or
    wiped in either direction."""
    allocs = "\n".join(f"    pdmactl alloc {n} {s} >/dev/null\n    pdma_buf fill {n} {i + 3} >/dev/null"
                       for i, (n, s) in enumerate(BUFFERS.items()))
    sums = "\n".join(f'    emit sum.{n} "$(pdma_buf sum {n})"' for n in BUFFERS)
    run = ok(guest().run(f"""
old_load() {{
    dmesg -c >/dev/null
    emit_rc old.rc insmod /pdma-v1.ko
    emit old.log "$(dmesg | grep pdma || true)"
}}
phase_1() {{
    old_load
{allocs}
{sums}
    pdmavm_kexec
}}
phase_2() {{
    pdma_load
{sums}
    pdmactl alloc new 8K >/dev/null
    pdma_buf fill new 9 >/dev/null
    emit sum.new "$(pdma_buf sum new)"
    pdmactl free tiny >/dev/null
    pdmavm_kexec
}}
phase_3() {{
    old_load
    emit list "$(pdmactl list)"
    emit sum.nvme/asq "$(pdma_buf sum nvme/asq)"
    emit sum.data/big "$(pdma_buf sum data/big)"
    emit sum.new "$(pdma_buf sum new)"
}}
""", phases=3, extra_files={"pdma-v1.ko": old_module}))
    p1, p2, p3 = run.phase(1), run.phase(2), run.phase(3)
    assert p1["old.rc"] == "0", p1["old.log"]
    assert p2["load.rc"] == "0", p2["load.err"]
    assert "adopted" in p2["load.log"]
    for n in BUFFERS:
        assert p2[f"sum.{n}"] == p1[f"sum.{n}"], n
    assert p3["old.rc"] == "0", p3["old.log"]
    assert "adopted" in p3["old.log"]
    for n in ("nvme/asq", "data/big", "new"):
        want = p2[f"sum.{n}"]
        assert p3[f"sum.{n}"] == want, n
    assert "tiny" not in p3["list"]
