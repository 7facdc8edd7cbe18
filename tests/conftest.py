# SPDX-License-Identifier: GPL-2.0
"""Fixtures shared by the guest tests: built artifacts and QEMU guests.

Every missing tool or artifact is a failure with a message saying what to
run, never a skip: CI must not go green by testing nothing.
"""

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "vm"))

from pdmavm import GiB, MiB, Guest, GuestError  # noqa: E402

# tests/mainline holds the upstream selftests of Linux 7.x (issue 13): they
# run with `make check KVER=7.2` only.
collect_ignore = ["mainline"] if os.environ.get("KVER", "6.12") == "6.12" else []

# The reserved range used by most tests: 64 MiB at 768 MiB of a 1 GiB guest.
RANGE_START = 0x30000000
RANGE_SIZE = 64 * MiB
# The range at the top of guest RAM (q35 with 1 GiB: usable RAM ends at
# 0x3ffd7000), where kexec-tools places its segments.
TOP_RANGE_START = 0x3BC00000


def initramfs_name():
    """The initramfs of the KVER and KCONFIG under test (see Makefile)."""
    kver = os.environ.get("KVER", "6.12")
    variant = os.environ.get("KCONFIG", "default")
    return ("initramfs" + ("" if kver == "6.12" else f"-{kver}")
            + ("" if variant == "default" else f"-{variant}") + ".cpio")


@dataclasses.dataclass
class Artifacts:
    tree: str       # the built, cached kernel source tree
    kernel: str     # its bzImage
    initramfs: str


@pytest.fixture(scope="session")
def artifacts():
    for tool in ("qemu-system-x86_64", "make"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: run 'make deps'")
    r = subprocess.run(["make", "-s", "initramfs"], cwd=ROOT, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.fail("'make initramfs' failed:\n" + r.stdout[-4000:])
    tree = subprocess.check_output([os.path.join(ROOT, "tools/vm/kernel.sh"), "tree"],
                                   text=True).strip()
    art = Artifacts(tree, os.path.join(tree, "arch/x86/boot/bzImage"),
                    os.path.join(ROOT, "build", initramfs_name()))
    for path in (art.kernel, art.initramfs):
        if not os.path.exists(path):
            pytest.fail(f"{path} missing after 'make initramfs'")
    return art


@pytest.fixture
def guest(artifacts, tmp_path):
    """Factory: guest(**Guest fields) -> Guest with its own work directory."""
    count = 0

    def make(**kw):
        nonlocal count
        count += 1
        return Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path / f"vm{count}"), **kw)
    return make


def ok(run):
    """Assert every phase of a run exited 0; return the run."""
    bad = {n: p.rc for n, p in run.phases.items() if p.rc != 0}
    assert not bad, f"guest phases failed {bad}; console: {run.workdir}/console.log"
    return run


__all__ = ["GiB", "MiB", "Guest", "GuestError", "ok", "RANGE_START", "RANGE_SIZE",
           "TOP_RANGE_START"]
