# SPDX-License-Identifier: GPL-2.0
"""NVMe servicing with pdma-nvme (tools/nvme/): an NVMe controller keeps its
queues across kexec, and the driver falls back to a full re-init, without
losing data, whenever it cannot prove the queues intact.

Two guests, each run once per module and shared by the tests:

* ``cycles``: init, then five kexec cycles with keep-alive, each one
  restoring, verifying everything written so far (the record's range log,
  a file, and the host's own map of the namespace) and writing more,
  partly over older data.
* ``faults``: a corrupted state record, the keep-alive flag cleared behind
  the driver's back, the controller disabled behind its back, a save and a
  kexec with commands in flight, and a missing allocation.

Every pdma-nvme run reports its JSON line and exit status, so a failing
test shows the tool's own message.
"""

import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, Guest, ok

BDF = "0000:01:00.0"
BOOT_CMDLINE = ["vfio_pci.ids=1b36:0010"]
KA = f"-d vfio_pci.keep_alive -a vfio_pci.keep_alive={BDF}"
DEPTH = 64
BLOCK = 512
# The file written in phase 1: `seq 1 200000`, 1288895 bytes, 2518 blocks.
FILE_LBA, FILE_BYTES = 20000, 1288895
FILE_BLOCKS = -(-FILE_BYTES // BLOCK)
# (phase, first block, blocks, seed): pattern writes of the cycles guest.
WRITES = [(1, 0, 8192, 11), (2, 4096, 4096, 12), (3, 30000, 6144, 13), (4, 100, 300, 14),
          (5, 8000, 2048, 15)]
CYCLES = 5

LIB = f"""
BDF={BDF}
# nv KEY ARGS...: run pdma-nvme, report its JSON line and exit status.
nv() {{ local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }}
"""


def result(phase, key, rc=0):
    """pdma-nvme's JSON for KEY, checked to have exited with RC."""
    got = phase.get(f"{key}.rc")
    assert got != "missing-tool", "pdma-nvme missing from the initramfs (make initramfs)"
    res = phase.get(key)
    assert isinstance(res, dict), f"phase {phase.number} {key}: no JSON (exit {got}): " \
                                  f"{phase.get(f'{key}.err')}"
    assert got == str(rc), f"phase {phase.number} {key}: exit {got}, want {rc}: " \
                           f"{res.get('error')}"
    return res


def live_segments(writes):
    """[(start, end, seed)] the namespace holds after WRITES, newest wins."""
    segs = []
    for _, lba, n, seed in writes:
        end, out = lba + n, []
        for s, e, sd in segs:
            if e <= lba or s >= end:
                out.append((s, e, sd))
                continue
            if s < lba:
                out.append((s, lba, sd))
            if e > end:
                out.append((end, e, sd))
        segs = sorted(out + [(lba, end, seed)])
    return segs


def _guest(artifacts, tmp_path_factory, name):
    return Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp(name)),
                 cmdline=BOOT_CMDLINE, timeout=240)


def cycles_scenario():
    text = LIB
    for n in range(1, CYCLES + 2):
        body = ["pdma_load", "seq 1 200000 >/tmp/f"]
        if n == 1:
            body += ["nv init init", f"nv wf write {FILE_LBA} /tmp/f"]
        else:
            body += ["nv restore restore", "nv status_after status", "nv verify verify",
                     f"nv vfile verify {FILE_LBA} --file /tmp/f"]
        body += [f"nv w write {lba} --pattern {seed} --count {cnt}"
                 for p, lba, cnt, seed in WRITES if p == n]
        if n <= CYCLES:
            body += ["nv verify2 verify", "nv save save", "nv status status",
                     f"pdmavm_kexec {KA}"]
        else:
            body += [f"nv seg{i} verify {s} --pattern {sd} --count {e - s}"
                     for i, (s, e, sd) in enumerate(live_segments(WRITES))]
            body += [f"nv read read {FILE_LBA} {FILE_BLOCKS} --out /tmp/r",
                     'emit cmp "$(cmp -n $(stat -c %s /tmp/f) /tmp/f /tmp/r && echo same)"',
                     "nv restore_again restore"]
        text += f"phase_{n}() {{\n" + "\n".join(f"    {b}" for b in body) + "\n}\n"
    return text


@pytest.fixture(scope="module")
def cycles(artifacts, tmp_path_factory):
    run = ok(_guest(artifacts, tmp_path_factory, "cycles").run(cycles_scenario(),
                                                                phases=CYCLES + 1))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


FAULTS = LIB + f"""
phase_1() {{
    pdma_load
    nv init init
    nv w write 0 --pattern 21 --count 4096
    nv save save
    nv status status
    base=$(pdma-nvme status | sed -n 's/.*"state_phys":"\\([^"]*\\)".*/\\1/p')
    # Flip one bit of the serial number (offset 112) in both copies (A, B).
    physmem xor $((base + 112)) 0x20
    physmem xor $((base + 8192 + 112)) 0x20
    nv status_bad status
    pdmavm_kexec {KA}
}}
phase_2() {{
    pdma_load
    nv restore restore
    nv verify_empty verify
    nv verify0 verify 0 --pattern 21 --count 4096
    nv w write 4096 --pattern 22 --count 2048
    nv save save
    echo 0 >/sys/bus/pci/devices/$BDF/keep_alive
    emit ka "$(cat /sys/bus/pci/devices/$BDF/keep_alive)"
    pdmavm_kexec -d vfio_pci.keep_alive
}}
phase_3() {{
    pdma_load
    nv restore restore
    nv verify verify
    nv verify0 verify 0 --pattern 21 --count 4096
    nv save2 save
    emit_tool disable nvme_test_aid cc-disable $BDF
    nv restore2 restore
    nv verify2 verify
    nv nowait write 6144 --pattern 23 --count 2048 --no-wait
    nv save_inflight save
    nv status status
    pdmavm_kexec {KA}
}}
phase_4() {{
    pdma_load
    # Lesser callers first: refused before any claim, the queues untouched
    emit_tool nocap run_as --drop-cap-sys-rawio pdma-nvme restore
    emit_tool user run_as --uid 1000 pdma-nvme restore
    chmod 0666 /dev/pdma
    emit_tool user_rw run_as --uid 1000 pdma-nvme restore
    chmod 0600 /dev/pdma
    emit list_lesser "$(pdmactl list)"
    nv restore restore
    nv verify verify
    nv verify_inflight verify 6144 --pattern 23 --count 2048
    nv verify0 verify 0 --pattern 21 --count 4096
    nv save save
    pdmavm_kexec {KA}
}}
phase_5() {{
    pdma_load
    pdmactl free nvme/$BDF/io
    nv restore restore
    emit list "$(pdmactl list)"
    nv init init
    nv verify verify
    nv verify0 verify 0 --pattern 21 --count 4096
    # A record for another disk at this BDF, and a reset that needs a re-init
    emit_tool other_rec nvme_test_aid record-serial $BDF other-disk
    emit_tool disable2 nvme_test_aid cc-disable $BDF
    nv other verify 0 --pattern 21 --count 4096
    nv other2 write 8192 --pattern 24 --count 64
    nv forget init --forget
    nv after_forget verify 0 --pattern 21 --count 4096
}}
"""


@pytest.fixture(scope="module")
def faults(artifacts, tmp_path_factory):
    run = ok(_guest(artifacts, tmp_path_factory, "faults").run(FAULTS, phases=5))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


# --------------------------------------------------------------------------
# Data integrity over five keep-alive kexec cycles


def test_five_kexec_cycles_every_byte_written_reads_back(cycles):
    """Expect every block written before each of 5 kexec cycles to read back
    with its newest content after every restore: the record's range log
    covers exactly the host's map of the namespace, the file verifies, and
    in the end each live segment verifies against the host's own seed."""
    done = []
    for n in range(2, CYCLES + 2):
        p = cycles.phase(n)
        done += [w for w in WRITES if w[0] < n]
        segs = live_segments(done)
        want = (sum(e - s for s, e, _ in segs) + FILE_BLOCKS) * BLOCK
        ver = result(p, "verify")
        assert (ver["match"], ver["bytes_verified"]) == (True, want), f"phase {n}"
        assert result(p, "vfile")["match"] is True, f"phase {n}"
    last = cycles.phase(CYCLES + 1)
    for i, (s, e, seed) in enumerate(live_segments(WRITES)):
        seg = result(last, f"seg{i}")
        assert (seg["match"], seg["bytes_verified"]) == (True, (e - s) * BLOCK), (s, e, seed)
    assert result(last, "read")["bytes"] == FILE_BLOCKS * BLOCK
    assert last["cmp"] == "same"


def test_each_keep_alive_restore_sends_no_admin_command_and_no_cc_write(cycles):
    """Expect all 5 restores to take the keep-alive path with no failed
    check, 0 admin commands and 0 CC writes, where init needed 7 admin
    commands (2 Identify, Set Features, 2 x 2 queue creations)."""
    assert result(cycles.phase(1), "init")["admin_cmds"] == 7
    for n in range(2, CYCLES + 2):
        r = result(cycles.phase(n), "restore")
        assert (r["path"], r["checks_failed"], r["admin_cmds"], r["cc_writes"]) == \
            ("keep-alive", "", 0, 0), f"phase {n}"
        assert r["from_save"] is True and r["blackout_ns"] > r["kexec_ns"] > 0, f"phase {n}"


def test_second_restore_in_the_same_kernel_resumes_without_reinit(cycles):
    """Expect a restore run again in the same kernel, from the checkpoint
    the first one left, to resume on the queues (keep-alive path, no admin
    command, no CC write) and to report no blackout, there being no save."""
    r = result(cycles.phase(CYCLES + 1), "restore_again")
    assert (r["path"], r["from_save"], r["admin_cmds"], r["cc_writes"], r["blackout_ns"]) == \
        ("keep-alive", False, 0, 0, None)


def test_queue_positions_and_command_ids_continue_across_kexec(cycles):
    """Expect each restore to continue every queue where the save left it:
    the admin queue unchanged, each I/O queue one command (the restore's
    probe read) further, SQ tail, CQ head, phase tag and CID never rewound."""
    wrapped = False
    for n in range(2, CYCLES + 2):
        before = result(cycles.phase(n - 1), "status")
        after = result(cycles.phase(n), "status_after")
        assert before["saved"] is True and after["saved"] is False
        assert after["q0"] == before["q0"], f"phase {n}: admin queue moved"
        for q in ("q1", "q2"):
            b, a = before[q], after[q]
            head = (b["cq_head"] + 1) % DEPTH
            wrapped |= head == 0
            assert a == dict(b, sq_tail=(b["sq_tail"] + 1) % DEPTH, cq_head=head,
                             phase=b["phase"] ^ (head == 0),
                             next_cid=b["next_cid"] + 1), f"phase {n} {q}"
    last = result(cycles.phase(CYCLES + 1), "status_after")
    assert last["q1"]["next_cid"] > DEPTH or wrapped, "the I/O queues never wrapped"


def test_state_record_holds_controller_identity_and_geometry(cycles):
    """Expect the saved record to name the controller (serial pdma0001,
    QEMU NVMe Ctrl), its namespace (64 MiB of 512-byte blocks) and 2 I/O
    queue pairs of 64 entries, with a CRC-valid save from this run."""
    st = result(cycles.phase(CYCLES), "status")
    assert (st["serial"], st["model"], st["nsze"], st["lba_size"]) == \
        ("pdma0001", "QEMU NVMe Ctrl", 64 * 2048, BLOCK)
    assert (st["queues"], st["depth"], st["record_problem"], st["saved"]) == (2, DEPTH, "", True)
    assert (st["saves"], st["restores"]) == (CYCLES, CYCLES - 1)


# --------------------------------------------------------------------------
# Fallbacks


def test_corrupted_record_falls_back_to_full_init_with_correct_data(faults):
    """Expect a record with one flipped bit to be refused for its CRC, the
    controller fully re-initialised (7 admin commands), and the data written
    before verified; with the log gone, verify without arguments refuses."""
    p1, p2 = faults.phase(1), faults.phase(2)
    assert result(p1, "status")["record_problem"] == ""
    bad = result(p1, "status_bad")["record_problem"]
    assert bad.startswith("copy A: CRC mismatch") and "copy B: CRC mismatch" in bad
    r = result(p2, "restore")
    assert (r["path"], r["record_ok"], r["admin_cmds"]) == ("full-init", False, 7)
    assert "state record nvme/0000:01:00.0/state: copy A: CRC mismatch" in r["checks_failed"]
    assert r["blackout_ns"] is None
    assert "nothing to verify" in result(p2, "verify_empty", rc=1)["error"]
    assert result(p2, "verify0")["match"] is True


def test_keep_alive_cleared_behind_the_driver_is_detected_and_reinitialised(faults):
    """Expect a controller whose keep-alive flag was cleared through sysfs
    after the save (and kexec without the parameter) to be found reset:
    RESTORED not set, CC.EN=0; a full re-init, and both ranges verify."""
    assert faults.phase(2)["ka"] == "0"
    p3 = faults.phase(3)
    r = result(p3, "restore")
    assert (r["path"], r["record_ok"], r["admin_cmds"], r["cc_writes"]) == \
        ("full-init", True, 7, 1)
    assert "RESTORED not set" in r["checks_failed"]
    assert "CC.EN=0, the controller was reset" in r["checks_failed"]
    ver = result(p3, "verify")
    assert (ver["match"], ver["bytes_verified"]) == (True, 2048 * BLOCK)
    assert result(p3, "verify0")["match"] is True


def test_controller_disabled_behind_the_driver_is_detected(faults):
    """Expect a controller disabled (CC.EN=0) by someone else while kept
    alive to be refused even though the open reports RESTORED: the restore
    logs the CC check only, re-initialises with 1 CC write, data verifies."""
    p3 = faults.phase(3)
    assert int(result(p3, "disable")["cc_after"], 16) & 1 == 0
    r = result(p3, "restore2")
    assert (r["path"], r["record_ok"], r["cc_writes"]) == ("full-init", True, 1)
    assert r["checks_failed"].startswith("CC 0x")
    assert "RESTORED" not in r["checks_failed"]
    assert result(p3, "verify2")["match"] is True


def test_save_keeps_commands_in_flight_in_the_record(faults):
    """Expect save, with the 8 commands of a 1 MiB write --no-wait in
    flight, to store a SAVED record listing the 8 of them, not draining."""
    p3 = faults.phase(3)
    assert result(p3, "nowait")["inflight"] == 8
    sv = result(p3, "save_inflight")
    assert (sv["inflight_at_save"], sv["drained"], sv["inflight"]) == (8, 0, 8)
    st = result(p3, "status")
    assert (st["saved"], st["dirty"], st["inflight"]) == (True, False, 8)


def test_kexec_with_commands_in_flight_reaps_them_and_reissues_nothing(faults):
    """Expect the restore after a keep-alive kexec with 8 writes in flight
    to resume on the queues and reap their 8 completions (posted by the
    controller into the rings in pdma) before anything new, with nothing in
    doubt, and all their blocks to verify."""
    p4 = faults.phase(4)
    r = result(p4, "restore")
    assert (r["path"], r["checks_failed"], r["reaped"], r["in_doubt"]) == \
        ("keep-alive", "", 8, 0)
    assert (r["admin_cmds"], r["cc_writes"]) == (0, 0)
    assert result(p4, "verify_inflight")["match"] is True
    ver = result(p4, "verify")
    assert (ver["match"], ver["bytes_verified"]) == (True, 2 * 2048 * BLOCK)
    assert result(p4, "verify0")["match"] is True


def test_caller_without_cap_sys_rawio_is_refused_before_any_claim(faults):
    """Expect restore from root without CAP_SYS_RAWIO, and from an ordinary
    user given read-write /dev/pdma, to exit 2 naming CAP_SYS_RAWIO; from an
    ordinary user without access, to exit 2 naming the permission; none of
    them to claim an allocation, and root's restore after them to find the 8
    writes in flight still to reap, resuming by keep-alive."""
    p4 = faults.phase(4)
    for key in ("nocap", "user_rw"):
        err = result(p4, key, rc=2)["error"]
        assert err.startswith("/dev/pdma: opened without CAP_SYS_RAWIO"), (key, err)
        assert "run it as root" in err and err in p4[f"{key}.err"], key
    err = result(p4, "user", rc=2)["error"]
    assert err == "/dev/pdma: Permission denied: pdma-nvme needs read-write access to " \
                  "it and CAP_SYS_RAWIO (run it as root)"
    ours = [ln.split() for ln in p4["list_lesser"].splitlines()
            if ln.startswith(f"nvme/{BDF}/")]
    assert sorted(e[0].rsplit("/", 1)[1] for e in ours) == ["admin", "data", "io", "state"]
    assert {e[1] for e in ours} == {"preserved-unclaimed"}
    r = result(p4, "restore")
    assert (r["path"], r["reaped"], r["admin_cmds"]) == ("keep-alive", 8, 0)


def test_missing_allocation_is_a_clear_error_and_init_recovers(faults):
    """Expect restore to fail with exit 1 naming the missing allocation and
    leave the device alone, and init to rebuild it with the data intact."""
    p5 = faults.phase(5)
    err = result(p5, "restore", rc=1)["error"]
    assert err.startswith("pdma allocation nvme/0000:01:00.0/io is missing")
    assert "pdma-nvme init 0000:01:00.0" in err
    assert "nvme/0000:01:00.0/io " not in p5["list"]
    assert result(p5, "init")["ranges_kept"] is True
    ver = result(p5, "verify")
    assert (ver["match"], ver["bytes_verified"]) == (True, 2 * 2048 * BLOCK)
    assert result(p5, "verify0")["match"] is True


def test_a_different_disk_is_a_clear_error_until_init_forget(faults):
    """Expect a record naming another disk (serial other-disk) at this BDF,
    once a reset forces a re-init, to stop every command with exit 1 naming
    both disks and `init --forget`, rewriting nothing; init --forget then
    starts over with the log dropped, and the data on the disk verifies."""
    p5 = faults.phase(5)
    for key in ("other", "other2"):
        err = result(p5, key, rc=1)["error"]
        assert "a different disk: the record is for serial 'other-disk" in err, key
        assert "the controller has serial 'pdma0001" in err and "init --forget" in err, key
    f = result(p5, "forget")
    assert (f["forgot"], f["ranges_kept"]) == (True, False)
    assert result(p5, "after_forget")["match"] is True


def test_namespace_with_metadata_is_refused(artifacts, tmp_path_factory):
    """Expect init on a namespace with 8 bytes of metadata per block to
    exit 1 naming the metadata and what to do, before any I/O queue exists
    (no DMA to a missing metadata pointer)."""
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("meta")),
              cmdline=BOOT_CMDLINE, nvme_ms=8, timeout=240)
    run = ok(g.run(LIB + "phase_1() {\n    pdma_load\n    nv init init\n}\n", phases=1))
    err = result(run.phase(1), "init", rc=1)["error"]
    assert "namespace 1 uses LBA format" in err and "with 8 bytes of metadata per block" in err
    assert "reformat the namespace" in err


# --------------------------------------------------------------------------
# CLI, no guest


def test_cli_usage_and_environment_errors_exit_2_with_json(artifacts):
    """Expect a bad BDF, an unknown command (debug-disable is no longer
    one), each malformed or out-of-range number, and a missing /dev/pdma
    (the host) each to exit 2 with one JSON line naming the problem."""
    tool = os.path.join(ROOT, "build", "bin", "pdma-nvme")
    cases = [(["-d", "01:00", "status"], "BDF must look like 0000:01:00.0"),
             (["frobnicate"], "unknown command"),
             (["debug-disable"], "unknown command"),
             (["--timeout-ms", "0", "status"], "--timeout-ms takes 1..3600000"),
             (["--timeout-ms", "12x", "status"], "--timeout-ms takes 1..3600000"),
             (["init", "--queues", "9"], "--queues takes 1..8"),
             (["init", "--queues", "-1"], "--queues takes 1..8"),
             (["init", "--depth", "16"], "--depth takes 17..4096"),
             (["init", "--forget", "x"], "usage: init [--queues N] [--depth D] [--forget]"),
             (["write", "0", "--pattern", "1x", "--count", "8"], "usage: write LBA"),
             (["write", " 1", "--pattern", "1", "--count", "8"], "usage: write LBA"),
             (["read", "0", "99999999999G"], "usage: read LBA COUNT"),
             (["verify", "0", "--pattern", "-2", "--count", "8"], "usage: verify"),
             (["load", "0", "--units", "0", "--unit-blocks", "8"], "usage: load BASE")]
    if not os.path.exists("/dev/pdma"):
        cases.append((["status"], "/dev/pdma: No such file or directory (is the pdma module "
                                  "loaded?)"))
    for args, want in cases:
        r = subprocess.run([tool] + args, text=True, capture_output=True)
        out = json.loads(r.stdout)
        assert (r.returncode, out["ok"], out["exit"]) == (2, False, 2), args
        assert want in out["error"] and want in r.stderr, args


def test_driver_core_knows_nothing_of_the_cli():
    """Expect the driver core (nvme_hw, nvme_io, nvme_state, nvme_restore,
    nvme_ledger) to include only driver headers, never nvme_cli.h, and to
    use none of the CLI's globals or JSON helpers: the layers point one way
    (the test aid nvme_test_aid links the core without the CLI)."""
    core = ["nvme_hw.c", "nvme_io.c", "nvme_state.c", "nvme_restore.c", "nvme_ledger.c",
            "nvme_drv.h", "nvme_state.h", "nvme_ledger.h", "nvme_regs.h"]
    allowed = {"nvme_drv.h", "nvme_regs.h", "nvme_state.h", "nvme_ledger.h",
               "vfio_keep_alive.h", "libpdma/libpdma.h"}
    for name in core:
        with open(os.path.join(ROOT, "tools", "nvme", name)) as f:
            text = f.read()
        local = set(re.findall(r'#include "([^"]+)"', text))
        assert local <= allowed, (name, local - allowed)
        for word in (r"\bdrv\.", r"\bcli_opened\b", r"\bj(int|str|bool|raw)\(",
                     r"\bfinish\(", r"\busage\("):
            assert not re.search(word, text), (name, word)
