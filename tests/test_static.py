# SPDX-License-Identifier: GPL-2.0
"""Host-side checks that need no guest: the core's unit, torn-write and fuzz
tests, kernel style (checkpatch --strict, sparse) and the in-tree build."""

import glob
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

KERNEL_FILES = sorted(p for d in ("kmod", "tests/guest/kmod")
                      for p in glob.glob(os.path.join(ROOT, d, "*.[ch]"))
                      if not p.endswith(".mod.c"))
KVER = os.environ.get("KVER", "6.12")
# The series of the kernel under test: kmod/patches for 6.12, a directory of
# its own for the others. The cover letter is prose, not a patch:
# checkpatch does not apply to it.
SERIES = os.path.join(ROOT, "kmod", "patches", *([] if KVER == "6.12" else [KVER]))
PATCHES = sorted(p for p in glob.glob(os.path.join(SERIES, "*.patch"))
                 if not p.endswith("0000-cover-letter.patch"))


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, **kw)


@pytest.fixture(scope="module")
def kernel_tree(artifacts):
    return artifacts.tree


def test_core_unit_torn_and_fuzz_tests_pass():
    """Expect the core's unit, model, torn-write tests and the short fuzz run
    (tests/unit, ASan + UBSan) to pass."""
    r = sh(["make", "-s", "-C", "tests/unit", "check"])
    assert r.returncode == 0, r.stdout[-6000:]
    assert " 0 failed" in r.stdout, r.stdout[-6000:]


@pytest.mark.parametrize("path", KERNEL_FILES, ids=[os.path.basename(p) for p in KERNEL_FILES])
def test_kernel_file_is_checkpatch_strict_clean(kernel_tree, path):
    """Expect scripts/checkpatch.pl --strict to report nothing for a kmod/ file."""
    r = sh([f"{kernel_tree}/scripts/checkpatch.pl", "--strict", "--no-tree", "-f", path])
    assert r.returncode == 0 and "total: 0 errors, 0 warnings, 0 checks" in r.stdout, r.stdout


def test_patch_series_is_present():
    """Expect the keep-alive series (0001-0011 and a cover letter) for the
    kernel under test, then 0012, the x86 kexec fix the test kernel
    carries (see the cover letter)."""
    names = [os.path.basename(p) for p in PATCHES]
    assert [n[:4] for n in names] == [f"{i:04d}" for i in range(1, len(names) + 1)], names
    assert len(PATCHES) == 12, names
    assert os.path.exists(os.path.join(SERIES, "0000-cover-letter.patch"))


@pytest.mark.parametrize("path", PATCHES, ids=[os.path.basename(p) for p in PATCHES])
def test_patch_is_checkpatch_strict_clean(kernel_tree, path):
    """Expect every patch of the series to pass checkpatch --strict."""
    r = sh([f"{kernel_tree}/scripts/checkpatch.pl", "--strict", "--no-tree", path])
    assert r.returncode == 0, r.stdout[-4000:]


def test_module_is_sparse_clean(kernel_tree):
    """Expect sparse (make C=2) to run and report nothing for the module
    sources. 7.x refuses bookworm's sparse, so there it is sid's, built by
    tools/vm/sparse.sh."""
    check = []
    if KVER != "6.12":
        r = sh([os.path.join(ROOT, "tools/vm/sparse.sh")])
        assert r.returncode == 0, r.stdout[-4000:]
        check = [f"CHECK={r.stdout.strip().splitlines()[-1]}"]
    r = sh(["make", "-C", kernel_tree, "ARCH=x86_64", f"M={ROOT}/kmod", "C=2", "modules"] + check)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "not available or not up to date" not in r.stdout, r.stdout[-4000:]
    reports = [line for line in r.stdout.splitlines()
               if "warning:" in line or "error:" in line]
    assert not reports, "\n".join(reports)


def test_in_tree_build_with_kconfig_snippet(kernel_tree):
    """Expect pdma to build in tree (CONFIG_PDMA=y, W=1, no warnings) as
    Kconfig.snippet describes."""
    out = os.path.join(ROOT, "build", "intree")
    r = sh(["tools/vm/intree-check.sh", out])
    assert r.returncode == 0, r.stdout[-4000:]
    shutil.rmtree(out)  # a full kernel tree copy


def test_user_mappings_are_decrypted():
    """Expect the mmap path to give user mappings pgprot_decrypted() page
    protections (through pdma_user_pgprot()), as memremap() maps the range
    in the kernel: under SME/SEV both must see the same bytes. TCG emulates
    no memory encryption, so this is checked in the source, not at run
    time (see README)."""
    with open(os.path.join(ROOT, "kmod", "pdma_mmap.c")) as f:
        src = f.read()
    assert "vma->vm_page_prot = pdma_user_pgprot(vma->vm_page_prot);" in src
    assert "return pgprot_decrypted(prot);" in src
