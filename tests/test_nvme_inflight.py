# SPDX-License-Identifier: GPL-2.0
"""Writes in flight across kexec, no drain (tools/nvme/, issue 11 section 2).

One guest, three kernels. `pdma-nvme load` keeps every slot of 4 I/O queue
pairs busy (QD 64) with random 4 KiB unit writes, each recorded in a ledger
in pdma before its doorbell and marked acknowledged when its completion is
reaped. A signal makes it save with the writes still in flight and exit;
`kexec -e` follows at once (the next kernel is loaded beforehand).

* keep-alive kexec: the restore resumes on the queues, reaps and matches
  the completions the controller posted into the rings in pdma before any
  new command, and every unit then holds its newest write exactly;
* the stock twin (kexec without the keep-alive parameter: the new kernel's
  VFIO open resets the controller): the restore detects the reset and
  re-initialises; the writes that were in flight are in doubt and never
  reissued; every acknowledged write reads back exactly, and every block of
  a unit with a write in flight holds the old or the new write, whole.

The signal comes after a delay drawn per run (shown in failures; set
PDMA_LOAD_SEED to replay).
"""

import os
import random

import pytest

from conftest import Guest, ok

BDF = "0000:01:00.0"
KA = f"-d vfio_pci.keep_alive -a vfio_pci.keep_alive={BDF}"
STOCK = "-d vfio_pci.keep_alive"
BASE, UNITS, UNIT_BLOCKS = 32768, 4096, 8
LOAD = f"load {BASE} --units {UNITS} --unit-blocks {UNIT_BLOCKS}"

LIB = f"""
BDF={BDF}
nv() {{ local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }}
# writer KEY SEED DELAY: run the load writer, signal it after DELAY seconds
# (it saves with its writes in flight and exits), report its JSON as KEY.
writer() {{
    local pid rc=0
    pdma-nvme {LOAD} --seed $2 >/tmp/load.out 2>/tmp/load.err &
    pid=$!
    sleep $3
    kill -USR1 $pid
    wait $pid || rc=$?
    emit_json $1 "$(cat /tmp/load.out)"
    emit $1.rc $rc
    [ $rc = 0 ] || emit $1.err "$(cat /tmp/load.err)"
}}
"""


def scenario(d1, d2):
    return LIB + f"""
phase_1() {{
    pdma_load
    nv init init --queues 4
    pdmavm_kexec_load {KA}
    writer load1 11 {d1}
    pdmavm_kexec_exec
}}
phase_2() {{
    pdma_load
    nv restore restore
    nv check ledger-check
    pdmavm_kexec_load {STOCK}
    writer load2 12 {d2}
    pdmavm_kexec_exec
}}
phase_3() {{
    pdma_load
    nv restore restore
    nv check ledger-check
    nv after write 0 --pattern 5 --count 2048
    nv after_v verify 0 --pattern 5 --count 2048
}}
"""


@pytest.fixture(scope="module")
def inflight(artifacts, tmp_path_factory):
    env = os.environ.get("PDMA_LOAD_SEED")
    sd = int(env) if env else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(sd)
    d1, d2 = round(rng.uniform(3, 6), 2), round(rng.uniform(3, 6), 2)
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("inflight")),
              cmdline=["vfio_pci.ids=1b36:0010"], timeout=600)
    run = ok(g.run(scenario(d1, d2), phases=3))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return f"seed {sd} delays {d1} {d2}", run


def res(phase, key, why, rc="0"):
    got = phase.get(key)
    assert isinstance(got, dict), f"{why}: {key}: no JSON (exit {phase.get(key + '.rc')}): " \
                                  f"{phase.get(key + '.err')}"
    assert phase.get(f"{key}.rc") == rc, f"{why}: {key}: exit {phase.get(key + '.rc')}: " \
                                         f"{got.get('error')}"
    return got


def test_writer_saves_with_at_least_32_writes_in_flight(inflight):
    """Expect each writer to keep QD >= 32 (4 pairs x 16 slots refilled
    after every reap) and to save with at least 32 writes in flight,
    listed in the SAVED record."""
    why, run = inflight
    for n, key in ((1, "load1"), (2, "load2")):
        ld = res(run.phase(n), key, why)
        assert ld["writes"] > 0 and ld["min_qd"] >= 32, (why, key, ld)
        assert ld["inflight_at_save"] >= 32 and ld["inflight"] == ld["inflight_at_save"], \
            (why, key, ld)


def test_keep_alive_restore_reaps_the_writes_in_flight_first(inflight):
    """Expect the restore after the keep-alive kexec to resume (no admin
    command, no CC write) and reap exactly the writes in flight at the save,
    none in doubt; then every unit holds its newest write, none in flight."""
    why, run = inflight
    saved = res(run.phase(1), "load1", why)["inflight_at_save"]
    p = run.phase(2)
    r = res(p, "restore", why)
    assert (r["path"], r["checks_failed"], r["admin_cmds"], r["cc_writes"]) == \
        ("keep-alive", "", 0, 0), why
    assert (r["reaped"], r["in_doubt"]) == (saved, 0), why
    c = res(p, "check", why)
    assert (c["units"], c["units_in_flight"], c["bad"]) == (UNITS, 0, 0), (why, c)
    assert c["blocks_done"] == UNITS * UNIT_BLOCKS, (why, c)


def test_stock_twin_detects_the_reset_and_loses_no_acknowledged_write(inflight):
    """Expect the restore after the kexec without keep-alive to find the
    controller reset, re-initialise, reissue nothing and hold the writes in
    flight in doubt; every acknowledged write reads back exactly and every
    block of a unit in flight holds its old or new write, whole; new I/O
    works."""
    why, run = inflight
    saved = res(run.phase(2), "load2", why)["inflight_at_save"]
    p = run.phase(3)
    r = res(p, "restore", why)
    assert (r["path"], r["reaped"], r["in_doubt"]) == ("full-init", 0, saved), why
    assert "RESTORED not set" in r["checks_failed"], why
    c = res(p, "check", why)
    assert (c["units"], c["units_in_flight"], c["bad"]) == (UNITS, saved, 0), (why, c)
    assert c["blocks_old"] + c["blocks_new"] == saved * UNIT_BLOCKS, (why, c)
    assert res(p, "after_v", why)["match"] is True, why
