# SPDX-License-Identifier: GPL-2.0
"""vfio-pci keep-alive (kmod/patches): the NVMe controller behind a root
port keeps running across close/reopen and kexec when, and only when, it is
kept alive.

Three guests, each run once per module and shared by the tests:

* ``flagged``: tests/guest/vfio_nvme_probe initialises the controller with
  its admin queue in the pdma buffer ADMIN_BUF, sets the keep-alive feature,
  closes and reopens it, submits Identify until the completion queue wraps,
  and kexecs with ``vfio_pci.keep_alive=BDF``; the next kernel resumes the
  admin queue from the state saved in the buffer.
* ``stock``: the same scenario with the flag off (no --keep-alive, no
  parameter): the patched kernel then behaves as the unpatched one, so every
  keep-alive claim is checked against this twin.
* ``bad``: malformed sysfs writes and feature calls, a garbage
  ``vfio_pci.keep_alive=`` list on the boot command line and, after a
  kexec, an address with trailing junk.

QEMU's controller reset keeps AQA, ASQ and ACQ, so "the controller was
reset" is read from CC.EN and CSTS.RDY, never from the queue registers.

Every tool failure is reported by the guest (exit status and JSON), so a
test fails with the tool's own message rather than a missing key.
"""

import re

import pytest

from conftest import RANGE_SIZE, RANGE_START, Guest, ok

BDF = "0000:01:00.0"
ADMIN_BUF = f"nvme/{BDF}/admin"
# Queue entries the probe uses (min(CAP.MQES + 1, 32); QEMU's MQES is 2047).
QSIZE = 32
# Identify commands before the kexec: 1 (init) + 1 (resume) + WRAP_LOOPS,
# exactly one full turn of the admin queues, so the first command after
# kexec goes to slot 0 with the completion phase tag flipped to 0.
WRAP_LOOPS = QSIZE - 2
BOOT_CMDLINE = ["vfio_pci.ids=1b36:0010"]
# Boot list of the "bad" guest: not addresses (3 or 9 domain digits among
# them), or no such device (a 5-digit domain, as VMD's, is an address).
GARBAGE_KEEP_ALIVE = ["zz", "0000:05:00.0", "0000:01:00", "0000:01:00.0junk",
                      "000:01:00.0", "100000000:01:00.0", "10000:01:00.0"]
# Its kexec list: the NVMe's address with trailing junk the kernel's
# sscanf("%x") reads as a "0x" prefix.
SUFFIX_KEEP_ALIVE = ["0000:01:00.0x"]
# Kernel log lines that mean something went wrong, whatever the test.
CRASH = re.compile(r"BUG:|Oops|WARNING:|Call Trace|general protection|Kernel panic|cut here")

SCENARIO_LIB = """
BDF=%s
BUF=%s
KA=/sys/bus/pci/devices/$BDF/keep_alive

# probe KEY ARGS...: run vfio_nvme_probe, report its JSON line and status.
probe() { local key=$1; shift; emit_tool "$key" vfio_nvme_probe "$@"; }

# klog: move the kernel log to /tmp/klog (pdma_load clears the ring buffer).
klog() {
    dmesg -c >>/tmp/klog
}

# klog_report: the whole kernel log of this phase, for the host to grep.
klog_report() {
    klog
    emit klog "$(cat /tmp/klog)"
}
""" % (BDF, ADMIN_BUF)

# {init_opt}: "--keep-alive" or ""; {kexec_opt}: pdmavm_kexec arguments.
KEEPALIVE_SCENARIO = """
phase_1() {{
    klog
    pdma_load
    # 16K of admin queue, Identify and state, 8K for phase 2's I/O queues
    pdmactl alloc $BUF 24K --zero >/dev/null
    probe regs0 regs $BDF --no-open
    probe init init $BDF --pdma $BUF {init_opt}
    emit sysfs_keep_alive "$(cat $KA)"
    probe reopen close-reopen $BDF
    probe resume identify-resume $BDF --pdma $BUF
    fails=0
    i=0
    while [ $i -lt {wrap_loops} ]; do
        vfio_nvme_probe identify-resume $BDF --pdma $BUF >/tmp/wrap.json 2>>/tmp/vfio_nvme_probe.err ||
            fails=$((fails + 1))
        i=$((i + 1))
    done
    emit wrap.fails "$fails"
    wrap=$(cat /tmp/wrap.json)
    emit_json wrap "${{wrap:-null}}"
    probe get feature $BDF get
    # Give idle runtime PM up to 2 s to suspend the closed device.
    i=0
    while [ $i -lt 20 ] && [ "$(cat /sys/bus/pci/devices/$BDF/power_state)" != D3hot ]; do
        usleep 100000
        i=$((i + 1))
    done
    probe regs1 regs $BDF --no-open
    emit probe.err "$(cat /tmp/vfio_nvme_probe.err)"
    klog_report
    pdmavm_kexec {kexec_opt}
}}

phase_2() {{
    klog
    probe regs0 regs $BDF --no-open
    pdma_load
    probe resume identify-resume $BDF --pdma $BUF --irq
    probe off feature $BDF set 0
    probe after_off regs $BDF
    emit sysfs_keep_alive "$(cat $KA)"
    emit probe.err "$(cat /tmp/vfio_nvme_probe.err)"
    klog_report
}}
"""

BAD_SCENARIO = SCENARIO_LIB + """
phase_1() {
    klog
    emit klog.boot "$(cat /tmp/klog)"
    emit driver "$(basename "$(readlink /sys/bus/pci/devices/$BDF/driver)")"
    emit mode "$(stat -c %a $KA)"
    emit ka.boot "$(cat $KA)"
    command -v sysfs_write >/dev/null || { emit sysfs_write missing-tool; return 0; }
    emit_json w.user "$(sysfs_write --uid 1000 $KA 1)"
    # The control: the same user can write a file whose mode lets it
    emit_json w.user_devnull "$(sysfs_write --uid 1000 /dev/null 1)"
    emit_json w.nocap "$(sysfs_write --drop-cap-sys-admin $KA 1)"
    for v in 2 abc 256 -1 x1; do
        emit_json "w.bad.$v" "$(sysfs_write $KA "$v")"
    done
    emit ka.after_bad "$(cat $KA)"
    emit_json w.root1 "$(sysfs_write $KA 1)"
    emit ka.after_1 "$(cat $KA)"
    emit_json w.root0 "$(sysfs_write $KA 0)"
    emit ka.after_0 "$(cat $KA)"
    emit_json w.root_on "$(sysfs_write $KA on)"
    emit ka.after_on "$(cat $KA)"
    emit_json w.root_n "$(sysfs_write $KA n)"
    emit ka.after_n "$(cat $KA)"
    probe bad feature-bad $BDF
    probe set0 feature $BDF set 0
    probe set1 feature $BDF set 1
    probe set0.end feature $BDF set 0
    klog_report
    pdmavm_kexec -d vfio_pci.keep_alive -a vfio_pci.keep_alive=@SUFFIX@
}

phase_2() {
    klog
    emit klog.boot "$(cat /tmp/klog)"
    emit driver "$(basename "$(readlink /sys/bus/pci/devices/$BDF/driver)")"
    emit ka.boot "$(cat $KA)"
    klog_report
}
""".replace("@SUFFIX@", ",".join(SUFFIX_KEEP_ALIVE))


def _guest(artifacts, tmp_path_factory, name, cmdline):
    return Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp(name)),
                 cmdline=cmdline)


def _check_run(run):
    """Common sanity: every phase exited 0 and no guest tool was missing."""
    ok(run)
    for n, p in run.phases.items():
        for key, value in p.values.items():
            assert value != "missing-tool", \
                f"phase {n}: {key}: guest tool missing from the initramfs (make initramfs)"
    return run


@pytest.fixture(scope="module")
def flagged(artifacts, tmp_path_factory):
    g = _guest(artifacts, tmp_path_factory, "flagged", BOOT_CMDLINE)
    run = _check_run(g.run(SCENARIO_LIB + KEEPALIVE_SCENARIO.format(
        init_opt="--keep-alive", wrap_loops=WRAP_LOOPS,
        kexec_opt=f"-a vfio_pci.keep_alive={BDF}"), phases=2))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


@pytest.fixture(scope="module")
def stock(artifacts, tmp_path_factory):
    g = _guest(artifacts, tmp_path_factory, "stock", BOOT_CMDLINE)
    run = _check_run(g.run(SCENARIO_LIB + KEEPALIVE_SCENARIO.format(
        init_opt="", wrap_loops=WRAP_LOOPS, kexec_opt=""), phases=2))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


@pytest.fixture(scope="module")
def bad(artifacts, tmp_path_factory):
    g = _guest(artifacts, tmp_path_factory, "bad", BOOT_CMDLINE + [
        "vfio_pci.keep_alive=" + ",".join(GARBAGE_KEEP_ALIVE)])
    return _check_run(g.run(BAD_SCENARIO, phases=2))


def probed(phase, key, want_ok=True):
    """The probe's JSON for KEY, checked to have exited as expected."""
    res, rc = phase[key], phase[f"{key}.rc"]
    assert isinstance(res, dict), f"{key}: probe printed no JSON (exit {rc}): " \
                                  f"{phase.get('probe.err')}"
    if want_ok:
        assert res["ok"] is True and rc == "0", f"{key}: exit {rc}: {res.get('error')}"
    return res


def queue_regs(nvme):
    return {k: nvme[k] for k in ("cc", "aqa", "asq", "acq")}


# --------------------------------------------------------------------------
# 1. Close and reopen


def test_flagged_reopen_finds_controller_running_with_same_registers(flagged):
    """Expect a kept-alive controller, closed after init, to be found by the
    next open with CSTS.RDY=1 and CC, AQA, ASQ, ACQ as init left them."""
    p = flagged.phase(1)
    init, first = probed(p, "init"), probed(p, "reopen")["first"]
    assert first["pci_bme"] == 1 and first["pci_mem"] == 1
    assert first["nvme"]["csts_rdy"] == 1 and first["nvme"]["cc_en"] == 1
    assert first["nvme"]["csts_cfs"] == 0
    assert queue_regs(first["nvme"]) == queue_regs(init["regs"]["nvme"])
    assert first["nvme"]["asq"] == f"{int(init['mem'], 16):#018x}"


def test_stock_reopen_finds_controller_reset(stock):
    """Expect the same close and reopen with the flag off to find the
    controller reset (CC.EN=0, CSTS.RDY=0, although init had it ready) and
    Bus Master cleared."""
    p = stock.phase(1)
    init, first = probed(p, "init"), probed(p, "reopen")["first"]
    assert init["regs"]["nvme"]["csts_rdy"] == 1
    assert first["nvme"]["cc_en"] == 0
    assert first["nvme"]["csts_rdy"] == 0
    assert first["pci_bme"] == 0


def test_flagged_identify_resumes_after_reopen(flagged):
    """Expect an Identify submitted after close/reopen on the admin queue
    init created to complete as command 1 at queue slot 1 with the
    controller's data."""
    res = probed(flagged.phase(1), "resume")
    assert res["before"]["identify_count"] == 1
    assert (res["before"]["sq_tail"], res["before"]["cq_head"], res["before"]["phase"],
            res["before"]["next_cid"]) == (1, 1, 1, 1)
    ident = res["identify"]
    assert (ident["cid"], ident["sqhd"], ident["phase"], ident["status"]) == (1, 2, 1, "0x0000")
    assert (ident["vid"], ident["sn"]) == ("0x1b36", "pdma0001")
    assert (res["after"]["sq_tail"], res["after"]["cq_head"], res["after"]["next_cid"]) == (2, 2, 2)


def test_stock_identify_resume_after_reopen_fails(stock):
    """Expect the same resume with the flag off to refuse the queue because
    the controller was reset (CC.EN=0), with exit status 1."""
    p = stock.phase(1)
    res = probed(p, "resume", want_ok=False)
    assert p["resume.rc"] == "1" and res["ok"] is False
    assert "CC.EN=0, the controller was reset" in res["error"]
    assert res["nvme"]["csts_rdy"] == 0


# --------------------------------------------------------------------------
# 2. kexec


def test_flagged_queue_wraps_before_kexec(flagged):
    """Expect 30 more Identify commands before kexec to complete, leaving
    the saved state at one full queue turn: slot 0, phase 0, CID 32."""
    p = flagged.phase(1)
    assert p["wrap.fails"] == "0", p["probe.err"]
    after = p["wrap"]["after"]
    assert (after["sq_tail"], after["cq_head"], after["phase"], after["next_cid"],
            after["identify_count"]) == (0, 0, 0, QSIZE, QSIZE)


def test_flagged_kexec_keeps_bus_master_on_device_and_root_port(flagged):
    """Expect Bus Master Enable still set on the kept-alive NVMe and on its
    root port in the new kernel, read through sysfs before any open."""
    before, after = probed(flagged.phase(1), "regs1"), probed(flagged.phase(2), "regs0")
    assert after["opened"] is False
    assert after["bridge"] == before["bridge"] and after["bridge"] is not None
    assert (before["pci_bme"], before["bridge_bme"]) == (1, 1)
    assert (after["pci_bme"], after["bridge_bme"]) == (1, 1)
    assert (after["pci_mem"], after["bridge_mem"]) == (1, 1)
    assert after["driver"] == "vfio-pci" and after["power_state"] == "D0"
    assert f"{BDF}: kept alive, leaving Bus Master enabled" in flagged.console
    assert f"{after['bridge']}: leaving Bus Master enabled for kept-alive devices below" \
        in flagged.console


def test_stock_kexec_clears_bus_master_on_device_and_root_port(stock):
    """Expect the flag-off twin to find Bus Master cleared on the NVMe and
    on the root port in the new kernel, the root port's having been set
    before the kexec."""
    before, after = probed(stock.phase(1), "regs1"), probed(stock.phase(2), "regs0")
    assert after["opened"] is False
    assert after["bridge"] == before["bridge"] and after["bridge"] is not None
    assert before["bridge_bme"] == 1
    assert (after["pci_bme"], after["bridge_bme"]) == (0, 0)
    assert "leaving Bus Master enabled" not in stock.console


def test_flagged_closed_device_stays_in_d0(flagged):
    """Expect a kept-alive device, closed and unused for 2 s, to stay in D0
    (the flag holds a runtime PM reference)."""
    regs = probed(flagged.phase(1), "regs1")
    assert (regs["power_state"], regs["sysfs_keep_alive"]) == ("D0", 1)


def test_stock_closed_device_goes_to_d3hot(stock):
    """Expect the flag-off twin's closed, unused device to be runtime
    suspended to D3hot within 2 s."""
    regs = probed(stock.phase(1), "regs1")
    assert (regs["power_state"], regs["sysfs_keep_alive"]) == ("D3hot", 0)


def test_flagged_kexec_cmdline_sets_keep_alive_flag(flagged):
    """Expect vfio_pci.keep_alive=BDF on the new command line to show as
    keep_alive 1 in sysfs before the device is opened."""
    assert probed(flagged.phase(2), "regs0")["sysfs_keep_alive"] == 1
    assert "keep-alive enabled" in flagged.phase(2)["klog"]


def test_stock_kexec_keep_alive_flag_is_off(stock):
    """Expect keep_alive 0 in sysfs in the flag-off twin's new kernel."""
    assert probed(stock.phase(2), "regs0")["sysfs_keep_alive"] == 0
    assert "keep-alive enabled" not in stock.phase(2)["klog"]


def test_flagged_kexec_open_finds_controller_ready_with_same_queues(flagged):
    """Expect the first open after kexec to find CSTS.RDY=1 and AQA, ASQ,
    ACQ as init programmed them, pointing into the pdma buffer."""
    init = probed(flagged.phase(1), "init")
    res = probed(flagged.phase(2), "resume")
    assert res["pci_bme"] == 1
    assert res["nvme"]["csts_rdy"] == 1 and res["nvme"]["cc_en"] == 1
    assert res["nvme"]["csts_cfs"] == 0
    assert queue_regs(res["nvme"]) == queue_regs(init["regs"]["nvme"])
    assert res["mem"] == init["mem"] and res["pdma"] == ADMIN_BUF
    assert RANGE_START <= int(res["mem"], 16) < RANGE_START + RANGE_SIZE


def test_flagged_kexec_identify_continues_on_old_admin_queue(flagged):
    """Expect an Identify after kexec, submitted at the saved SQ tail 0 and
    awaited at CQ head 0 with the flipped phase 0 (state kept in the pdma
    buffer), to complete as CID 32 with the controller's data."""
    wrap = flagged.phase(1)["wrap"]["after"]
    res = probed(flagged.phase(2), "resume")
    assert res["before"] == wrap
    ident = res["identify"]
    assert (ident["cid"], ident["sqhd"], ident["phase"], ident["status"]) == \
        (QSIZE, 1, 0, "0x0000")
    assert (ident["vid"], ident["ssvid"], ident["sn"], ident["mn"]) == \
        ("0x1b36", "0x1af4", "pdma0001", "QEMU NVMe Ctrl")
    after = res["after"]
    assert (after["sq_tail"], after["cq_head"], after["phase"], after["next_cid"],
            after["identify_count"]) == (1, 1, 0, QSIZE + 1, QSIZE + 1)


def test_flagged_kexec_msix_armed_after_restore_interrupts_on_completion(flagged):
    """Expect MSI-X, off after kexec, to work once the driver re-arms it
    through VFIO_DEVICE_SET_IRQS (eventfd) after the restored open: an I/O
    queue pair created on vector 0 through the old admin queue signals a
    Flush's completion by interrupt."""
    p = flagged.phase(2)
    assert probed(p, "regs0")["pci_msix_enable"] == 0
    res = probed(p, "resume")
    assert res["identify"]["status"] == "0x0000"
    assert res["irq"]["io"] >= 1


def test_flagged_close_quiesces_interrupts_keeps_mem_and_bme(flagged):
    """Expect the device after its keep-alive close to have Interrupt
    Disable set and MSI and MSI-X off, with memory decode and Bus Master
    still on."""
    regs = probed(flagged.phase(1), "regs1")
    assert regs["pci_msi_enable"] in (0, None)  # QEMU's NVMe has MSI-X only
    assert (regs["pci_intx_disable"], regs["pci_msix_enable"]) == (1, 0)
    assert (regs["pci_mem"], regs["pci_bme"]) == (1, 1)


def test_stock_kexec_identify_resume_finds_controller_reset(stock):
    """Expect the flag-off twin's resume after kexec to find its saved
    state intact in the pdma buffer but the controller reset (CC.EN=0,
    CSTS.RDY=0), and to refuse the queue with exit status 1."""
    p = stock.phase(2)
    res = probed(p, "resume", want_ok=False)
    assert p["resume.rc"] == "1"
    assert res["before"]["identify_count"] == 1 and res["before"]["next_cid"] == 1
    assert res["nvme"]["cc_en"] == 0 and res["nvme"]["csts_rdy"] == 0
    assert "CC.EN=0, the controller was reset" in res["error"]
    assert "identify" not in res


# --------------------------------------------------------------------------
# 3. GET reports RESTORED exactly when the open skipped the reset


def test_get_reports_restored_after_flagged_reopen(flagged):
    """Expect GET to report enable=1 and RESTORED on every open of a device
    that was already kept alive: reopen, plain GET, and after kexec."""
    p1, p2 = flagged.phase(1), flagged.phase(2)
    want = {"enable": 1, "flags": "0x1", "restored": 1}
    assert probed(p1, "reopen")["first"]["keep_alive"] == want
    assert probed(p1, "reopen")["second"]["keep_alive"] == want
    get = probed(p1, "get")
    assert (get["enable"], get["flags"], get["restored"]) == (1, "0x1", 1)
    assert probed(p2, "resume")["keep_alive"] == want


def test_get_reports_not_restored_after_stock_open(stock):
    """Expect GET to report enable=0 and no RESTORED on the flag-off twin's
    opens, which reset the controller."""
    p1, p2 = stock.phase(1), stock.phase(2)
    want = {"enable": 0, "flags": "0x0", "restored": 0}
    assert probed(p1, "reopen")["first"]["keep_alive"] == want
    get = probed(p1, "get")
    assert (get["enable"], get["flags"], get["restored"]) == (0, "0x0", 0)
    assert probed(p2, "resume", want_ok=False)["keep_alive"] == want


def test_get_not_restored_when_flag_set_during_this_open(flagged):
    """Expect the open that set the flag (init, which found the controller
    reset: CC.EN=0 at open) to report enable=1 but no RESTORED."""
    init = probed(flagged.phase(1), "init")
    assert int(init["cc_at_open"], 16) & 1 == 0
    assert init["regs"]["keep_alive"] == {"enable": 1, "flags": "0x0", "restored": 0}


def test_set_0_brings_back_reset_on_next_open(flagged):
    """Expect SET enable=0 on a restored open to report enable=0 with
    RESTORED still set for that open, and the next open to reset the
    controller again (CC.EN=0, no RESTORED, sysfs keep_alive 0)."""
    p = flagged.phase(2)
    off = probed(p, "off")
    assert (off["enable"], off["restored"]) == (0, 1)
    nxt = probed(p, "after_off")
    assert nxt["keep_alive"] == {"enable": 0, "flags": "0x0", "restored": 0}
    assert nxt["nvme"]["cc_en"] == 0 and nxt["nvme"]["csts_rdy"] == 0
    assert p["sysfs_keep_alive"] == "0"


# --------------------------------------------------------------------------
# 4. Bad input


def test_sysfs_keep_alive_is_mode_0600(bad):
    """Expect the keep_alive attribute to be mode 0600."""
    assert bad.phase(1)["mode"] == "600"


def test_sysfs_keep_alive_non_root_write_eacces(bad):
    """Expect uid 1000 to be refused opening keep_alive for write (EACCES),
    by the attribute's mode: the same user writes /dev/null (0666)."""
    w = bad.phase(1)["w.user"]
    assert (w["uid"], w["open"], w["write"]) == (1000, "EACCES", None)
    ctl = bad.phase(1)["w.user_devnull"]
    assert (ctl["uid"], ctl["open"], ctl["write"]) == (1000, "OK", "OK")


def test_sysfs_keep_alive_write_without_cap_sys_admin_eperm(bad):
    """Expect root without CAP_SYS_ADMIN to open keep_alive but have the
    write refused with EPERM."""
    w = bad.phase(1)["w.nocap"]
    assert (w["uid"], w["cap_sys_admin"], w["open"], w["write"]) == (0, 0, "OK", "EPERM")


@pytest.mark.parametrize("value", ["2", "abc", "256", "-1", "x1"])
def test_sysfs_keep_alive_garbage_value_einval(bad, value):
    """Expect a keep_alive write that kstrtobool() does not take to fail
    with EINVAL."""
    w = bad.phase(1)[f"w.bad.{value}"]
    assert (w["uid"], w["cap_sys_admin"], w["open"], w["write"]) == (0, 1, "OK", "EINVAL")


def test_sysfs_keep_alive_takes_kstrtobool_words(bad):
    """Expect "on" and "n", as for any boolean attribute, to set and clear
    the flag."""
    p = bad.phase(1)
    assert p["w.root_on"]["write"] == "OK" and p["ka.after_on"] == "1"
    assert p["w.root_n"]["write"] == "OK" and p["ka.after_n"] == "0"


def test_sysfs_keep_alive_refused_writes_change_nothing_and_root_can_set(bad):
    """Expect keep_alive to stay 0 after the refused writes, and root's "1"
    then "0" to be accepted and read back."""
    p = bad.phase(1)
    assert (p["ka.boot"], p["ka.after_bad"]) == ("0", "0")
    assert p["w.root1"]["write"] == "OK" and p["ka.after_1"] == "1"
    assert p["w.root0"]["write"] == "OK" and p["ka.after_0"] == "0"


def test_cmdline_garbage_keep_alive_list_warns_and_boot_continues(bad):
    """Expect each bad vfio_pci.keep_alive= entry (not an address, no such
    device, trailing junk) to be warned about in the kernel log, the boot to
    go on with vfio-pci bound, and no device kept alive.  A 5-digit domain
    is an address: reported as absent, not as malformed."""
    p = bad.phase(1)
    log = p["klog.boot"]
    for entry in ("zz", "0000:01:00", "0000:01:00.0junk", "000:01:00.0", "100000000:01:00.0"):
        assert f'vfio_pci: keep_alive: invalid PCI address "{entry}", ignored' in log, entry
    for entry in ("0000:05:00.0", "10000:01:00.0"):
        assert f"vfio_pci: keep_alive: no PCI device {entry} yet, kept alive if it binds later" \
            in log, entry
    assert "keep-alive enabled" not in log
    assert p["driver"] == "vfio-pci" and p["ka.boot"] == "0"


def test_cmdline_keep_alive_address_with_x_suffix_is_rejected(bad):
    """Expect vfio_pci.keep_alive=0000:01:00.0x (after kexec) to be warned
    about as not a PCI address and not to keep 0000:01:00.0 alive."""
    p = bad.phase(2)
    log = p["klog.boot"]
    assert p["driver"] == "vfio-pci"
    for entry in SUFFIX_KEEP_ALIVE:
        assert f'vfio_pci: keep_alive: invalid PCI address "{entry}", ignored' in log, \
            "\n".join(line for line in log.splitlines() if "keep" in line)
    assert p["ka.boot"] == "0"


BAD_FEATURE = ["no_op", "get_and_set", "get_short_argsz", "set_short_argsz", "set_no_payload",
               "set_enable_2", "set_enable_max", "set_flags_restored", "set_flags_unknown"]


@pytest.mark.parametrize("case", BAD_FEATURE)
def test_feature_bad_call_einval(bad, case):
    """Expect a keep-alive feature call with no op, GET and SET together,
    a short argsz, enable > 1 or non-zero flags to fail with EINVAL."""
    res = probed(bad.phase(1), "bad")
    assert res["errno"][case] == "EINVAL"


def test_feature_bad_calls_change_nothing_and_good_set_works(bad):
    """Expect the well-formed SET 1 before the bad calls to succeed, GET to
    still report enable=1 after them, and then SET 0 and SET 1 to work."""
    p = bad.phase(1)
    res = probed(p, "bad")
    assert res["errno"]["set_1"] == "OK"
    assert res["after"] == {"enable": 1, "flags": "0x0"}
    assert (probed(p, "set0")["enable"], probed(p, "set0")["restored"]) == (0, 1)
    assert (probed(p, "set1")["enable"], probed(p, "set1")["restored"]) == (1, 0)
    assert probed(p, "set0.end")["enable"] == 0


@pytest.mark.parametrize("which", ["flagged", "stock", "bad"])
def test_no_kernel_bug_oops_or_warning(request, which):
    """Expect no BUG, Oops, WARNING or call trace in any kernel log of the
    three guests (console, which includes the kexec shutdown, and dmesg)."""
    run = request.getfixturevalue(which)
    bad_lines = [line for line in run.console.splitlines() if CRASH.search(line)]
    for n, p in run.phases.items():
        bad_lines += [f"phase {n}: {line}" for line in p["klog"].splitlines()
                      if CRASH.search(line)]
    assert not bad_lines, "\n".join(bad_lines)
