# SPDX-License-Identifier: GPL-2.0
"""make install: files, pkg-config and a program built against the result.

One `make install DESTDIR=... PREFIX=/usr` into a temporary root; the
checks then use only what landed there.
"""

import os
import stat
import subprocess

import pytest

from conftest import ROOT

VERSION = "0.1.0"

FILES = {
    "usr/bin/pdma-dump": "exec",
    "usr/bin/pdmactl": "exec",
    "usr/lib/libpdma.a": "file",
    "usr/lib/libpdma.so.0.1.0": "exec",
    "usr/lib/libpdma.so.0": "link:libpdma.so.0.1.0",
    "usr/lib/libpdma.so": "link:libpdma.so.0",
    "usr/lib/pkgconfig/libpdma.pc": "file",
    "usr/include/libpdma.h": "file",
    "usr/include/linux/pdma.h": "file",
    "usr/include/linux/pdma_table.h": "file",
}

PROGRAM = r"""
#include <errno.h>
#include <stdio.h>
#include <libpdma.h>

int main(void)
{
	struct pdma *p;
	int ret = pdma_open("/nonexistent/pdma", &p);

	printf("%s %s %d %d\n", pdma_state_str(PDMA_ENTRY_PRESERVED),
	       pdma_state_str(PDMA_ENTRY_CLAIMED), ret == -ENOENT,
	       (int)sizeof(struct pdma_table_entry));
	return 0;
}
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A DESTDIR holding `make install PREFIX=/usr`."""
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr"], cwd=ROOT,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout[-4000:]
    return dest


def pkg_config(root, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(root / "usr/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(root))
    env.pop("PKG_CONFIG_LIBDIR", None)
    r = subprocess.run(["pkg-config", *args, "libpdma"], env=env, text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_install_puts_every_file(root):
    """Expect exactly the tools, static and shared libpdma with soname links,
    its header, the uapi headers and libpdma.pc under DESTDIR/usr."""
    found = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = "link:" + os.readlink(path)
            else:
                found[rel] = "exec" if os.stat(path).st_mode & stat.S_IXUSR else "file"
    assert found == FILES


def test_installed_headers_match_the_source(root):
    """Expect the installed headers to be the repository's, byte for byte."""
    for inst, src in (("usr/include/libpdma.h", "tools/libpdma/libpdma.h"),
                      ("usr/include/linux/pdma.h", "uapi/linux/pdma.h"),
                      ("usr/include/linux/pdma_table.h", "uapi/linux/pdma_table.h")):
        with open(root / inst, "rb") as a, open(os.path.join(ROOT, src), "rb") as b:
            assert a.read() == b.read(), inst


def test_pkg_config_flags_point_into_destdir(root):
    """Expect pkg-config, given PKG_CONFIG_PATH and the DESTDIR as sysroot,
    to print -I and -L into the DESTDIR and -lpdma, and version 0.1.0."""
    assert pkg_config(root, "--cflags", "--libs") == [
        f"-I{root}/usr/include", f"-L{root}/usr/lib", "-lpdma"]
    assert pkg_config(root, "--modversion") == [VERSION]


def build_and_run(root, tmp_path, extra, env=None):
    src = tmp_path / "prog.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "prog"
    cmd = ["cc", *extra, "-Wall", "-Werror", "-o", str(exe), str(src),
           *pkg_config(root, "--cflags", "--libs")]
    r = subprocess.run(cmd, text=True, capture_output=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr}"
    r = subprocess.run([str(exe)], text=True, capture_output=True, env=env)
    assert r.returncode == 0, r.stderr
    return exe, r.stdout


def test_program_links_the_installed_shared_library(root, tmp_path):
    """Expect a program built with the pkg-config flags to link
    libpdma.so.0 and run against the installed copy."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(root / "usr/lib"))
    exe, out = build_and_run(root, tmp_path, [], env)
    assert out == "preserved-unclaimed claimed 1 128\n"
    ldd = subprocess.run(["ldd", str(exe)], text=True, capture_output=True, env=env).stdout
    assert f"libpdma.so.0 => {root}/usr/lib/libpdma.so.0" in ldd


def test_program_links_the_installed_static_library(root, tmp_path):
    """Expect the same program built with -static to run with no library
    path at all."""
    _, out = build_and_run(root, tmp_path, ["-static"])
    assert out == "preserved-unclaimed claimed 1 128\n"


def test_installed_tools_run(root):
    """Expect the installed pdma-dump and pdmactl to be runnable static
    binaries: --help exits 0, pdmactl without arguments exits 2."""
    r = subprocess.run([str(root / "usr/bin/pdma-dump"), "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: pdma-dump")
    r = subprocess.run([str(root / "usr/bin/pdmactl")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("usage: pdmactl")
