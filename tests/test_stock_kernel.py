# SPDX-License-Identifier: GPL-2.0
"""pdma alone on Debian's own 6.12 kernel, built by DKMS (issue 12, 3 and 4).

`make stock` fetches linux-image and linux-headers 6.12 from
bookworm-backports into the kernel cache (nothing is installed on the host),
builds pdma.ko with DKMS against those headers, and packs an initramfs whose
next kernel is that same vmlinuz. The stock kernel has no patch series, no
VFIO no-IOMMU and CONFIG_FIRMWARE_MEMMAP=y, like a distribution host.

Every range here is at the top of guest RAM, where kexec-tools places the
next kernel's segments.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, MiB, RANGE_SIZE, TOP_RANGE_START, Guest, ok

TOP = (RANGE_SIZE, TOP_RANGE_START)
TOP_LAST = TOP_RANGE_START + RANGE_SIZE - 1
IOMEM_OWNED = f"{TOP_RANGE_START:x}-{TOP_LAST:x} : Reserved\n  {TOP_RANGE_START:x}-{TOP_LAST:x} : pdma"
# name: (size or None for "the largest free extent", seed). The last one
# covers the end of the range, where a kexec -l segment lands.
BUFFERS = {"nvme/asq": (64 * 1024, 11), "data/4m": (4 * MiB, 12), "data/rest": (None, 13)}


@pytest.fixture(scope="module")
def stock():
    """The stock kernel, its DKMS-built pdma.ko and an initramfs (make stock)."""
    for tool in ("make", "qemu-system-x86_64", "dkms", "apt-get", "dpkg-deb", "modinfo"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: run 'make deps' (the stock kernel test needs it)")
    r = subprocess.run(["make", "-s", "stock"], cwd=ROOT, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.fail("'make stock' failed (fetch, DKMS build or initramfs):\n" + r.stdout[-4000:])
    out = os.path.join(ROOT, "build/stock")
    with open(os.path.join(out, "kver")) as f:
        kver = f.read().strip()
    return {"kernel": os.path.join(out, "vmlinuz"), "initramfs": os.path.join(out, "initramfs.cpio"),
            "ko": os.path.join(out, "dkms/pdma.ko"), "log": os.path.join(out, "dkms/dkms.log"),
            "kver": kver}


@pytest.fixture
def stock_guest(stock, tmp_path):
    count = 0

    def make(**kw):
        nonlocal count
        count += 1
        kw.setdefault("memmap", TOP)
        kw.setdefault("nvme", False)
        kw.setdefault("timeout", 300)
        return Guest(stock["kernel"], stock["initramfs"], str(tmp_path / f"vm{count}"), **kw)
    return make


def fill_buffers():
    """Shell: allocate and fill BUFFERS; the last takes all that is left."""
    lines = []
    for name, (size, seed) in BUFFERS.items():
        if size is None:
            lines.append(f"    pdmactl alloc {name} $(pdmactl info | awk '/^largest_free/ {{print $2}}') >/dev/null")
        else:
            lines.append(f"    pdmactl alloc {name} {size} >/dev/null")
        lines.append(f"    pdma_buf fill {name} {seed} >/dev/null")
    return "\n".join(lines)


def check_buffers():
    """Shell: compare every buffer with its pattern, byte for byte."""
    return "\n".join(f'    emit check.{n} "$(pdma_buf check {n} {seed} 2>&1)" || true'
                     for n, (_, seed) in BUFFERS.items())


REPORT = f"""
    emit uname "$(uname -r)"
    emit state "$(cat /sys/class/misc/pdma/state 2>/dev/null)"
    emit iomem "$(grep -i '^ *{TOP_RANGE_START:x}-' /proc/iomem || true)"
    emit kimg "$(grep -e 'Kernel ' /proc/iomem | tr -s ' ')"
    emit fwram "$(for d in /sys/firmware/memmap/*; do echo "$(cat $d/start) $(cat $d/end) $(cat $d/type)"; done | grep 'System RAM' || true)"
"""


def phys_of(phase):
    return {n: phase[f"check.{n}"].split()[0] for n in BUFFERS}


def assert_intact(phase, n):
    for name in BUFFERS:
        fields = phase[f"check.{name}"].split()
        assert len(fields) == 4 and fields[1:] == ["0", "-1", "-1"], \
            f"phase {n}: {name} differs from its pattern: {phase[f'check.{name}']}"


def test_dkms_conf_version_is_the_project_version():
    """Expect dkms.conf's PACKAGE_VERSION to be the Makefile's VERSION, so
    that make dkms registers the version make install ships."""
    with open(os.path.join(ROOT, "dkms.conf")) as f:
        conf = re.search(r'^PACKAGE_VERSION="([^"]+)"$', f.read(), re.M).group(1)
    with open(os.path.join(ROOT, "Makefile")) as f:
        make = re.search(r"^VERSION\s*:=\s*(\S+)$", f.read(), re.M).group(1)
    assert conf == make


def test_dkms_builds_pdma_for_the_stock_kernel(stock):
    """Expect DKMS to have built pdma.ko against the stock kernel's own
    headers: vermagic names that kernel, and the only module it needs is
    the kernel's libcrc32c (crc32c(), shipped in the guest's initramfs)."""
    def modinfo(field):
        return subprocess.check_output(["modinfo", "-F", field, stock["ko"]], text=True).strip()
    assert modinfo("vermagic").split()[0] == stock["kver"]
    assert modinfo("depends") == "libcrc32c"
    with open(stock["log"]) as f:
        log = f.read()
    assert f"linux-headers-{stock['kver']}" in log, log


def test_buffers_survive_three_kexec_s_cycles_on_the_stock_kernel(stock_guest, stock):
    """Expect buffers covering the whole range at the top of RAM to come back
    adopted, at the same addresses and byte for byte, after each of 3
    kexec -s cycles of the stock kernel, although /sys/firmware/memmap calls
    the range System RAM there."""
    run = ok(stock_guest().run(f"""
phase_1() {{
    pdma_load
{fill_buffers()}
{REPORT}
{check_buffers()}
    pdmavm_kexec
}}
phase_2() {{ pdma_load; {REPORT.strip()}
{check_buffers()}
    pdmavm_kexec; }}
phase_3() {{ phase_2; }}
phase_4() {{ pdma_load; {REPORT.strip()}
{check_buffers()}
}}
""", phases=4))
    first = run.phase(1)
    assert first["load.rc"] == "0", first["load.err"]
    assert first["uname"] == stock["kver"]
    fw = [tuple(int(x, 16) for x in line.split()[:2]) for line in first["fwram"].splitlines()]
    assert any(a <= TOP_RANGE_START and b >= TOP_LAST for a, b in fw), \
        f"expected the stock kernel's /sys/firmware/memmap to call the range RAM: {fw}"
    assert_intact(first, 1)
    for n in (2, 3, 4):
        p = run.phase(n)
        assert p["uname"] == stock["kver"]
        assert p["load.rc"] == "0", p["load.err"]
        assert p["state"] == "adopted", p["load.log"]
        assert p["iomem"] == IOMEM_OWNED
        assert phys_of(p) == phys_of(first)
        assert_intact(p, n)


def test_kexec_load_on_the_stock_kernel_is_refused_before_and_reported_after(stock_guest):
    """Expect pdmactl preflight, on a setup that is otherwise good, to fail
    with exactly one problem, the kexec one naming kexec -s, because the
    stock kernel's /sys/firmware/memmap calls the range RAM; and when 3
    kexec -l cycles are done anyway, expect each one that changed the range
    (the measurement of issue 12, section 4) to be reported in the next
    kernel: the module refuses or the buffers differ, and preflight there
    names the loader's write ("FAIL boot")."""
    pf = """
    out=$(pdmactl preflight --append "$(pdmavm_next_cmdline)" 2>&1) && rc=0 || rc=$?
    emit pf.rc "$rc"
    emit pf.out "$out"
"""
    body = f"""{REPORT}
{check_buffers()}
{pf}"""
    kexec_l = "    PDMAVM_KEXEC_SYSCALL=kexec_load pdmavm_kexec"
    run = ok(stock_guest().run(f"""
phase_1() {{
    pdma_load
{fill_buffers()}
{body}
{kexec_l}
}}
phase_2() {{
    pdma_load
{body}
{kexec_l}
}}
phase_3() {{ phase_2; }}
phase_4() {{
    pdma_load
{body}
}}
""", phases=4))
    first = run.phase(1)
    fails = [line for line in first["pf.out"].splitlines() if line.startswith("FAIL")]
    assert first["pf.rc"] == "1", first["pf.out"]
    assert len(fails) == 1 and fails[0].startswith("FAIL kexec:") and "kexec -s" in fails[0], \
        first["pf.out"]
    assert_intact(first, 1)
    changed = []
    for n in (2, 3, 4):
        p = run.phase(n)
        bad = {name: p[f"check.{name}"] for name in BUFFERS}
        print(f"after kexec -l {n - 1}: load {p['load.rc']} state {p['state']!r}, "
              f"iomem {p['iomem']!r}, kernel {p['kimg']!r}, {bad}, preflight {p['pf.out']!r}")
        if p["state"] != "adopted" or any(v.split()[1:2] != ["0"] for v in bad.values()):
            changed.append(n - 1)
            assert p["pf.rc"] == "1" and "FAIL boot:" in p["pf.out"], \
                f"kexec -l {n - 1} changed the range and preflight did not say so: {p['pf.out']}"
    print("ramdisks:", re.findall(r"RAMDISK: \[mem [^\]]*\]", run.console))
    assert changed, "3 kexec -l cycles left the range intact: the README's loader-safety " \
        "section (and preflight's refusal) must be revisited"


def test_preflight_load_kexecs_the_stock_kernel_safely(stock_guest):
    """Expect pdmactl preflight --load, on the stock kernel, to pass, load the
    next kernel with kexec_file_load, and the buffers to come back intact."""
    run = ok(stock_guest().run(f"""
phase_1() {{
    pdma_load
{fill_buffers()}
    out=$(pdmactl preflight --append "$(pdmavm_next_cmdline)" --load /boot/bzImage \\
        --initrd /sys/firmware/initrd 2>&1) && rc=0 || rc=$?
    emit pf.rc "$rc"
    emit pf.out "$out"
    emit loaded "$(cat /sys/kernel/kexec_loaded)"
    [ "$rc" = 0 ] && pdmavm_kexec_exec
}}
phase_2() {{
    pdma_load
{REPORT}
{check_buffers()}
}}
""", phases=2))
    first, second = run.phase(1), run.phase(2)
    assert first["pf.rc"] == "0", first["pf.out"]
    assert "loaded /boot/bzImage with kexec_file_load" in first["pf.out"]
    assert first["loaded"] == "1"
    assert second["state"] == "adopted", second["load.log"]
    assert_intact(second, 2)
