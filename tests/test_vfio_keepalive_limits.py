# SPDX-License-Identifier: GPL-2.0
"""vfio-pci keep-alive (kmod/patches), who may keep a device alive and what
happens to its interrupts: each refusal and each interrupt claim against a
twin that shows the other side, in real guests.

* ``iommu``: QEMU intel-iommu with intel_iommu=on, so the NVMe's VFIO group
  is a type1 group. SET, sysfs and the boot parameter are refused with
  EOPNOTSUPP; the close then resets the device as stock does.
* ``noiommu``: the same ``start --keep-alive`` sequence in no-IOMMU mode
  keeps the device alive (the twin of ``iommu``); a SET without
  CAP_SYS_RAWIO is refused with EPERM, root's is not; a keep-alive close
  after MSI-X was armed leaves INTx disabled and MSI-X off with memory
  decode and Bus Master on, and the stock close is the twin; then the
  device is held open with MSI-X armed across a kexec.
* ``sriov``: the NVMe has a VF (sriov_numvfs). The VF is refused by sysfs,
  the feature and, when it binds after kexec, the boot parameter; the PF
  is accepted by each.
* ``freeze``: a loop flips the sysfs flag while kexec shuts the system
  down; the device and its root port end up decided on one value.
"""

import re

import pytest

from conftest import Guest
from test_vfio_keepalive import _check_run

BDF = "0000:01:00.0"
VF = "0000:01:00.1"
IDS = ["vfio_pci.ids=1b36:0010"]
# %pe prints the errno's name, or its number without CONFIG_SYMBOLIC_ERRNAME.
NOT_KEPT = r"vfio-pci %s: keep_alive: not kept alive \((-EOPNOTSUPP|-95)\), binding as usual"
CRASH = re.compile(r"BUG:|Oops|WARNING:|Call Trace|general protection|Kernel panic|cut here")

LIB = """
BDF=%s
VF=%s
KA=/sys/bus/pci/devices/$BDF/keep_alive
probe() { local key=$1; shift; emit_tool "$key" vfio_nvme_probe "$@"; }
klog() { dmesg -c >>/tmp/klog; }
klog_report() { klog; emit klog "$(cat /tmp/klog)"; }
""" % (BDF, VF)

IOMMU_SCENARIO = LIB + """
phase_1() {
    klog
    emit ka.boot "$(cat $KA)"
    probe start start $BDF --keep-alive
    emit ka.after_set "$(cat $KA)"
    probe reopen regs $BDF
    emit_json w.sysfs "$(sysfs_write $KA 1)"
    emit ka.after_sysfs "$(cat $KA)"
    klog_report
}
"""

NOIOMMU_SCENARIO = LIB + """
phase_1() {
    klog
    probe nocap feature $BDF set 1 --drop-cap-sys-rawio
    probe nocap.get feature $BDF get
    probe root feature $BDF set 1
    probe root.off feature $BDF set 0
    probe ka start $BDF --keep-alive --msix
    probe ka.reopen regs $BDF
    probe off feature $BDF set 0
    probe stock start $BDF --msix
    probe stock.reopen regs $BDF
    probe on feature $BDF set 1
    vfio_nvme_probe hold $BDF 600 >/tmp/hold.json 2>/tmp/hold.err &
    i=0
    while [ $i -lt 100 ] && ! grep -q '"ok"' /tmp/hold.json; do usleep 100000; i=$((i + 1)); done
    held=$(cat /tmp/hold.json)
    emit_json hold "${held:-null}"
    emit hold.err "$(cat /tmp/hold.err)"
    klog_report
    pdmavm_kexec -a vfio_pci.keep_alive=$BDF
}

phase_2() {
    klog
    probe regs0 regs $BDF --no-open
    klog_report
}
"""

SRIOV_SCENARIO = LIB + """
VKA=/sys/bus/pci/devices/$VF/keep_alive
phase_1() {
    klog
    emit_rc numvfs.rc sh -c "echo 1 >/sys/bus/pci/devices/$BDF/sriov_numvfs"
    emit vf "$(basename "$(readlink /sys/bus/pci/devices/$BDF/virtfn0)")"
    emit vf.driver "$(basename "$(readlink /sys/bus/pci/devices/$VF/driver)")"
    emit_json w.vf "$(sysfs_write $VKA 1)"
    emit vka.after "$(cat $VKA)"
    emit_json w.pf "$(sysfs_write $KA 1)"
    emit ka.after "$(cat $KA)"
    emit_json w.pf0 "$(sysfs_write $KA 0)"
    probe vf.set feature $VF set 1 --pf $BDF
    probe pf.set feature $BDF set 1
    probe pf.off feature $BDF set 0
    klog_report
    pdmavm_kexec -a vfio_pci.keep_alive=$BDF,$VF
}

phase_2() {
    klog
    emit klog.boot "$(cat /tmp/klog)"
    emit ka.boot "$(cat $KA)"
    emit_rc numvfs.rc sh -c "echo 1 >/sys/bus/pci/devices/$BDF/sriov_numvfs"
    emit vf.driver "$(basename "$(readlink /sys/bus/pci/devices/$VF/driver)")"
    emit vka.bound "$(cat $VKA)"
    klog_report
}
"""

# {pace}: the sleep between two flips of the flag, in microseconds.
FREEZE_SCENARIO = """
phase_1() {{
    klog
    probe start start $BDF --keep-alive
    # Flip the flag until the kernel is gone; errors go to the console.
    (while :; do
        echo 0 >$KA || echo "flip: refused 0"
        [ {pace} = 0 ] || usleep {pace}
        echo 1 >$KA || echo "flip: refused 1"
        [ {pace} = 0 ] || usleep {pace}
    done) >/dev/ttyS0 2>&1 &
    usleep 200000
    klog_report
    pdmavm_kexec -a vfio_pci.keep_alive=$BDF
}}

phase_2() {{
    probe regs0 regs $BDF --no-open
    klog_report
}}
"""


def _run(artifacts, tmp_path_factory, name, scenario, phases, cmdline, **kw):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp(name)),
              cmdline=cmdline, **kw)
    return _check_run(g.run(scenario, phases=phases))


@pytest.fixture(scope="module")
def iommu(artifacts, tmp_path_factory):
    # The test kernel has no interrupt remapping, which type1 otherwise
    # requires before it attaches a group.
    return _run(artifacts, tmp_path_factory, "iommu", IOMMU_SCENARIO, 1,
                IDS + [f"vfio_pci.keep_alive={BDF}",
                       "vfio_iommu_type1.allow_unsafe_interrupts=1"], iommu=True)


@pytest.fixture(scope="module")
def noiommu(artifacts, tmp_path_factory):
    return _run(artifacts, tmp_path_factory, "noiommu", NOIOMMU_SCENARIO, 2, IDS)


@pytest.fixture(scope="module")
def sriov(artifacts, tmp_path_factory):
    return _run(artifacts, tmp_path_factory, "sriov", SRIOV_SCENARIO, 2,
                IDS + ["vfio_pci.enable_sriov=1"], nvme_sriov_vfs=1)


def probed(phase, key, want_ok=True):
    res, rc = phase[key], phase[f"{key}.rc"]
    assert isinstance(res, dict), f"{key}: probe printed no JSON (exit {rc}): " \
                                  f"{phase.get(f'{key}.err')}"
    if want_ok:
        assert res["ok"] is True and rc == "0", f"{key}: exit {rc}: {res.get('error')}"
    return res


# --------------------------------------------------------------------------
# 1. Only devices without an IOMMU


IOMMU_REFUSED = "keep-alive refused: its DMA goes through an IOMMU"


def test_iommu_feature_set_eopnotsupp_and_close_resets(iommu):
    """Expect SET on a device opened through a type1 group to fail with
    EOPNOTSUPP and a log line, the flag to stay 0, and the close to clear
    Bus Master and the next open to find the controller reset, as stock
    does."""
    p = iommu.phase(1)
    start = probed(p, "start")
    assert start["iommu"] == "type1"
    assert start["set_errno"] == "EOPNOTSUPP"
    assert start["keep_alive"]["enable"] == 0 and p["ka.after_set"] == "0"
    assert start["before_close"]["pci_bme"] == 1
    assert start["after_close"]["pci_bme"] == 0
    assert probed(p, "reopen")["nvme"]["cc_en"] == 0
    assert f"{BDF}: {IOMMU_REFUSED}" in p["klog"]


def test_noiommu_same_sequence_keeps_device_alive(noiommu):
    """Expect the same start --keep-alive in no-IOMMU mode to be accepted,
    the close to leave memory decode and Bus Master on, and the next open
    to find the controller running (CC.EN=1)."""
    p = noiommu.phase(1)
    start = probed(p, "ka")
    assert start["iommu"] == "noiommu" and start["set_errno"] == "OK"
    assert (start["after_close"]["pci_mem"], start["after_close"]["pci_bme"]) == (1, 1)
    assert probed(p, "ka.reopen")["nvme"]["cc_en"] == 1


def test_iommu_sysfs_write_eopnotsupp(iommu):
    """Expect root's sysfs write of 1 on the IOMMU-backed device to fail
    with EOPNOTSUPP and change nothing."""
    p = iommu.phase(1)
    assert p["w.sysfs"]["write"] == "EOPNOTSUPP"
    assert p["ka.after_sysfs"] == "0"


def test_iommu_boot_parameter_refused_at_bind(iommu):
    """Expect vfio_pci.keep_alive= naming the IOMMU-backed device to be
    refused when it binds, with the reason logged, and the device to bind
    to vfio-pci as usual with the flag 0."""
    p = iommu.phase(1)
    assert p["ka.boot"] == "0"
    assert re.search(NOT_KEPT % re.escape(BDF), iommu.console)
    assert f"{BDF}: {IOMMU_REFUSED}" in iommu.console


# --------------------------------------------------------------------------
# 2. CAP_SYS_RAWIO


def test_set_without_cap_sys_rawio_eperm(noiommu):
    """Expect SET from root without CAP_SYS_RAWIO (dropped after the open)
    to fail with EPERM, logged, and leave the flag 0."""
    p = noiommu.phase(1)
    res = probed(p, "nocap", want_ok=False)
    assert (res["cap_sys_rawio"], res["set_errno"], p["nocap.rc"]) == (0, "EPERM", "1")
    assert probed(p, "nocap.get")["enable"] == 0
    assert "keep-alive: changing it needs CAP_SYS_RAWIO" in p["klog"]


def test_set_with_cap_sys_rawio_succeeds(noiommu):
    """Expect the same SET from root with CAP_SYS_RAWIO to succeed."""
    p = noiommu.phase(1)
    assert probed(p, "root")["set_errno"] == "OK" and probed(p, "root")["enable"] == 1


# --------------------------------------------------------------------------
# 3. Interrupts


def test_keep_alive_close_disables_intx_and_msix_keeps_mem_and_bme(noiommu):
    """Expect MSI-X armed through VFIO_DEVICE_SET_IRQS to be on before the
    keep-alive close, and the close to leave Interrupt Disable set and
    MSI-X off with memory decode and Bus Master still on."""
    start = probed(noiommu.phase(1), "ka")
    assert start["before_close"]["pci_msix_enable"] == 1
    after = start["after_close"]
    assert (after["pci_intx_disable"], after["pci_msix_enable"]) == (1, 0)
    assert (after["pci_mem"], after["pci_bme"]) == (1, 1)


def test_stock_close_disables_msix_and_bme(noiommu):
    """Expect the flag-off twin's close, after the same MSI-X arming, to
    leave MSI-X off and Bus Master off (it resets the function and
    restores the state saved at open, which has no Bus Master), and the
    next open to find the controller reset."""
    p = noiommu.phase(1)
    start = probed(p, "stock")
    assert start["before_close"]["pci_msix_enable"] == 1
    after = start["after_close"]
    assert (after["pci_msix_enable"], after["pci_bme"]) == (0, 0)
    assert probed(p, "stock.reopen")["nvme"]["cc_en"] == 0


def test_kexec_with_device_open_disables_msix_keeps_bme(noiommu):
    """Expect a kept-alive device held open with MSI-X armed at kexec to
    be shut down with interrupts disabled, and to come up in the new
    kernel with Bus Master on (device and root port) and MSI-X off."""
    held = noiommu.phase(1)["hold"]
    assert held["ok"] is True and held["keep_alive"]["enable"] == 1
    assert (held["held"]["pci_msix_enable"], held["held"]["pci_bme"]) == (1, 1)
    assert f"{BDF}: kept alive, leaving Bus Master enabled, interrupts disabled" \
        in noiommu.console
    regs = probed(noiommu.phase(2), "regs0")
    assert (regs["pci_bme"], regs["bridge_bme"], regs["pci_msix_enable"]) == (1, 1, 0)
    assert regs["pci_intx_disable"] == 1


# --------------------------------------------------------------------------
# 4. VFs


VF_REFUSED = "keep-alive refused: a VF does not survive kexec"


def test_vf_exists_and_binds_to_vfio_pci(sriov):
    """Expect sriov_numvfs=1 on the PF to create VF 0000:01:00.1, bound to
    vfio-pci, in both kernels."""
    p1, p2 = sriov.phase(1), sriov.phase(2)
    assert p1["numvfs.rc"] == "0" and p1["vf"] == VF and p1["vf.driver"] == "vfio-pci"
    assert p2["numvfs.rc"] == "0" and p2["vf.driver"] == "vfio-pci"


def test_vf_sysfs_write_eopnotsupp_pf_accepted(sriov):
    """Expect root's sysfs write of 1 to fail with EOPNOTSUPP on the VF,
    logged, and to succeed on the PF."""
    p = sriov.phase(1)
    assert p["w.vf"]["write"] == "EOPNOTSUPP" and p["vka.after"] == "0"
    assert p["w.pf"]["write"] == "OK" and p["ka.after"] == "1"
    assert f"{VF}: {VF_REFUSED}" in p["klog"]


def test_vf_feature_set_eopnotsupp_pf_accepted(sriov):
    """Expect SET on the VF (opened with its PF's VF token) to fail with
    EOPNOTSUPP, and SET on the PF to succeed."""
    p = sriov.phase(1)
    vf = probed(p, "vf.set", want_ok=False)
    assert (vf["set_errno"], p["vf.set.rc"]) == ("EOPNOTSUPP", "1")
    assert probed(p, "pf.set")["set_errno"] == "OK"


def test_vf_boot_parameter_refused_when_vf_binds_pf_accepted(sriov):
    """Expect vfio_pci.keep_alive=PF,VF after kexec to keep the PF alive
    at boot, to note that the VF does not exist yet, and to refuse the VF,
    logged, when sriov_numvfs creates it and it binds."""
    p = sriov.phase(2)
    assert p["ka.boot"] == "1"
    assert f"keep_alive: no PCI device {VF} yet" in p["klog.boot"]
    assert p["vka.bound"] == "0"
    assert re.search(NOT_KEPT % re.escape(VF), p["klog"])
    assert f"{VF}: {VF_REFUSED}" in p["klog"]


# --------------------------------------------------------------------------
# 5. Freeze at shutdown


@pytest.mark.parametrize("pace", [0, 300])
def test_flag_flipped_during_kexec_decides_device_and_root_port_alike(
        artifacts, tmp_path_factory, pace):
    """Expect a loop flipping the sysfs flag during the kexec shutdown
    (tight, or 300 us between writes) to end in one decision: the device
    and its root port both keep Bus Master with the kept-alive log lines,
    or both lose it without them.  Expect also that once a write has been
    refused for the shutdown, no later write takes effect.  (Whether a
    write lands after the freeze at all depends on timing: the tight loop
    usually gets one in, the paced one usually not.)"""
    run = _run(artifacts, tmp_path_factory, f"freeze{pace}",
               LIB + FREEZE_SCENARIO.format(pace=pace), 2,
               IDS + ["vfio_pci.disable_idle_d3=1"])
    assert probed(run.phase(1), "start")["set_errno"] == "OK"
    regs = probed(run.phase(2), "regs0")
    old_kernel = run.console.split("Linux version")[1]  # phase 1's kernel
    kept = f"{BDF}: kept alive, leaving Bus Master enabled" in old_kernel
    below = "leaving Bus Master enabled for kept-alive devices below" in old_kernel
    assert kept == below, old_kernel[-3000:]
    assert (regs["pci_bme"], regs["bridge_bme"]) == ((1, 1) if kept else (0, 0))
    refused = old_kernel.find("keep-alive not changed: the system is shutting down")
    if refused >= 0:
        after = old_kernel[refused:]
        assert "keep-alive enabled" not in after and "keep-alive disabled" not in after, after
    print(f"pace {pace}: kept={kept}, writes refused: "
          f"{old_kernel.count('keep-alive not changed')}")


@pytest.mark.parametrize("which", ["iommu", "noiommu", "sriov"])
def test_no_kernel_bug_oops_or_warning(request, which):
    """Expect no BUG, Oops, WARNING or call trace in the guests' logs."""
    run = request.getfixturevalue(which)
    bad = [line for line in run.console.splitlines() if CRASH.search(line)]
    assert not bad, "\n".join(bad)
