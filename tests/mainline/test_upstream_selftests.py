# SPDX-License-Identifier: GPL-2.0
"""The upstream selftests a reviewer of the series runs, on our 7.2 kernel
(issue 13): tools/testing/selftests/vfio in an IOMMU guest, and
tools/testing/selftests/liveupdate across a real kexec.

Run by `make check KVER=7.2` (tests/mainline is collected only there). The
selftests come from the 7.2 tree itself (tools/vm/selftests.sh), built
static for the busybox guest. A kselftest skip counts as a failure here:
every test must run.
"""

import os
import re
import subprocess

import pytest

from conftest import ROOT, GiB

BDF = "0000:01:00.0"
# The vfio selftests that need nothing but a PCI device bound to vfio-pci.
# vfio_pci_driver_test drives Intel DSA/IOAT engines and
# vfio_pci_sriov_uapi_test an SR-IOV PF: QEMU's NVMe is neither (see
# test_vfio_selftests_without_their_device below).
VFIO_TESTS = ("vfio_pci_device_test", "vfio_dma_mapping_test", "vfio_dma_mapping_mmio_test",
              "vfio_iommufd_setup_test")
TOTALS = re.compile(r"# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) "
                    r"error:(\d+)")


@pytest.fixture(scope="session")
def selftests():
    if os.environ.get("KVER", "6.12") == "6.12":
        pytest.fail("tests/mainline needs KVER=7.2: run 'make check KVER=7.2'")
    out = os.path.join(ROOT, "build", "selftests-" + os.environ["KVER"])
    r = subprocess.run([os.path.join(ROOT, "tools/vm/selftests.sh"), out], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        pytest.fail("tools/vm/selftests.sh failed:\n" + r.stdout[-3000:])
    return out


def files(selftests, names):
    return {os.path.basename(n): open(os.path.join(selftests, n), "rb").read() for n in names}


BIND = f"""
# out KEY CMD...: report CMD's output as KEY and its exit status as KEY.rc.
out() {{
    local key=$1 o rc=0
    shift
    o=$("$@" 2>&1) || rc=$?
    emit "$key" "$o"
    emit "$key.rc" "$rc"
}}
bind_vfio() {{
    echo vfio-pci >/sys/bus/pci/devices/{BDF}/driver_override
    [ -e /sys/bus/pci/devices/{BDF}/driver ] && echo {BDF} >/sys/bus/pci/devices/{BDF}/driver/unbind
    echo {BDF} >/sys/bus/pci/drivers_probe
}}
"""


def vfio_scenario(flagged):
    # Huge pages for the hugetlb variants of vfio_dma_mapping_test (the 1 GiB
    # one comes from hugepagesz=1G hugepages=1 on the command line).
    runs = "    echo 32 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages\n"
    runs += "\n".join(f"    out {t} /{t} {BDF}" for t in VFIO_TESTS)
    flag = f"    out flag sh -c 'echo 1 >/sys/bus/pci/devices/{BDF}/keep_alive'" if flagged else ""
    return BIND + f"""
phase_1() {{
    bind_vfio
{flag}
{runs}
}}
"""


def totals(out):
    m = TOTALS.findall(out)
    assert m, "no kselftest totals line:\n" + out[-2000:]
    return tuple(int(x) for x in m[-1])


# QEMU's intel-iommu under TCG offers no interrupt remapping here, and
# both type1 and iommufd refuse to attach without it unless told that
# MSI isolation does not matter (a test guest with one device).
UNSAFE_IRQS = ["vfio_iommu_type1.allow_unsafe_interrupts=1", "iommufd.allow_unsafe_interrupts=1"]


def run_vfio(guest, selftests, flagged=False, kernel=None):
    g = guest(iommu=True, memmap=None, memory=2 * GiB,
              cmdline=UNSAFE_IRQS + ["hugepagesz=1G", "hugepages=1"])
    if kernel:
        g.kernel = kernel
    run = g.run(vfio_scenario(flagged), phases=1,
                extra_files=files(selftests, [f"vfio/{t}" for t in VFIO_TESTS]))
    return run.phase(1)


@pytest.fixture(scope="session")
def stock_kernel():
    """7.2 without the series (`make kernel KVER=7.2` builds it)."""
    env = dict(os.environ, KSERIES="none")
    tree = subprocess.check_output([os.path.join(ROOT, "tools/vm/kernel.sh"), "tree"],
                                   text=True, env=env).strip()
    image = os.path.join(tree, "arch/x86/boot/bzImage")
    if not os.path.exists(image):
        pytest.fail(f"{image} missing: run 'make kernel KVER=7.2'")
    return image


def test_vfio_selftests_pass_in_an_iommu_guest(guest, selftests, stock_kernel):
    """Expect every vfio selftest to pass on the patched 7.2 kernel with a
    real IOMMU (intel-iommu, iommufd and type1), none failing, and the
    pass, fail and skip counts of each to equal those on the same kernel
    without the series: an unflagged device keeps its stock behaviour,
    reset included. (QEMU's NVMe has no MSI, so that variant skips on both.)"""
    ours, stock = run_vfio(guest, selftests), run_vfio(guest, selftests, kernel=stock_kernel)
    for t in VFIO_TESTS:
        passed, failed, _, _, skipped, errors = totals(ours[t])
        assert (failed, errors) == (0, 0), f"{t}:\n{ours[t][-3000:]}"
        assert passed > 0 and ours[f"{t}.rc"] == "0", f"{t}:\n{ours[t][-3000:]}"
        assert totals(ours[t]) == totals(stock[t]), f"{t}: ours {totals(ours[t])}, " \
            f"stock {totals(stock[t])}\n{stock[t][-3000:]}"


def test_keep_alive_is_refused_in_an_iommu_guest(guest, selftests):
    """Expect the keep-alive flag to be refused with EOPNOTSUPP on a device
    an IOMMU translates, so the vfio selftests still see a stock device
    (the write fails, the tests pass as without it)."""
    p = run_vfio(guest, selftests, flagged=True)
    assert p["flag.rc"] != "0" and "Operation not supported" in p["flag"], p["flag"]
    for t in VFIO_TESTS:
        passed, failed, _, _, _, errors = totals(p[t])
        assert passed > 0 and (failed, errors) == (0, 0), f"{t}:\n{p[t][-3000:]}"


LUO_TESTS = ("luo_kexec_simple", "luo_multi_session")


def luo_scenario():
    stage1 = "\n".join(f"    out {t}.1 /{t} --stage 1" for t in LUO_TESTS)
    stage2 = "\n".join(f"    out {t}.2 /{t} --stage 2" for t in LUO_TESTS)
    return BIND + f"""
phase_1() {{
    out liveupdate /liveupdate
{stage1}
    pdmavm_kexec
}}
phase_2() {{
{stage2}
}}
"""


def test_liveupdate_selftests_pass_across_a_real_kexec(guest, selftests):
    """Expect the LUO selftests to pass in our harness: liveupdate's own
    tests, and luo_kexec_simple and luo_multi_session with stage 1 before a
    real kexec -s and stage 2 after it (exit 0, nothing skipped)."""
    g = guest(nvme=False, cmdline=["liveupdate=on"])
    run = g.run(luo_scenario(), phases=2,
                extra_files=files(selftests, ["liveupdate/liveupdate"]
                                  + [f"liveupdate/{t}" for t in LUO_TESTS]))
    one, two = run.phase(1), run.phase(2)
    passed, failed, _, _, skipped, errors = totals(one["liveupdate"])
    assert (failed, skipped, errors) == (0, 0, 0) and passed > 0, one["liveupdate"][-3000:]
    for t in LUO_TESTS:
        assert one[f"{t}.1.rc"] == "0", one[f"{t}.1"]
        assert two[f"{t}.2.rc"] == "0", two[f"{t}.2"]
        assert "PASSED" in two[f"{t}.2"], two[f"{t}.2"]
