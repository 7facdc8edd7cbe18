# SPDX-License-Identifier: GPL-2.0
"""pdma-nvme killed at any moment (tools/nvme/, issue 11 section 1): a
SIGKILL in the middle of a long write, read or verify, spread over 4 I/O
queues, never corrupts data, and the next command, whatever it is, recovers
by itself.

One guest. Phase 1: init with 4 queue pairs, a stable range written once,
then KILLS rounds: a victim (write, read or verify of the victim range) is
SIGKILLed after a delay drawn from a seeded generator across its run; in
every other round the first command after the kill is killed too, early,
in the middle of its own recovery. After each kill: the stable range and
every earlier small write verify, a new small write verifies. Then a save
and a keep-alive kexec; phase 2 restores and verifies it all again.

The seed is random per run and shown in every failure; set PDMA_KILL_SEED
to replay one.
"""

import os
import random

import pytest

from conftest import Guest, ok

BDF = "0000:01:00.0"
KA = f"-d vfio_pci.keep_alive -a vfio_pci.keep_alive={BDF}"
QUEUES = 4
NS_BYTES = 256 << 20
STABLE = (0, 16384, 1)           # first block, blocks, seed: 8 MiB written once
VICTIM = (65536, 262144)         # 128 MiB the victims write, read and verify
SMALL = 49152                    # small writes: SMALL + 64 * k, 64 blocks, seed 500 + k
KILLS = 12
OPS = ("write", "read", "verify")

LIB = f"""
BDF={BDF}
nv() {{ local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }}
# victim KEY FRACTION CMD...: run pdma-nvme CMD in the background, SIGKILL
# it after FRACTION of $RUN_NS (a whole victim run, measured), report its
# exit status (137: killed) as KEY.
victim() {{
    local key=$1 delay pid rc=0
    delay=$(awk -v f="$2" -v ns="$RUN_NS" 'BEGIN {{ printf "%.3f", f * ns / 1e9 }}')
    shift 2
    pdma-nvme "$@" >/tmp/victim.out 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null || true  # it may have finished
    wait $pid || rc=$?
    emit "$key" "$rc"
}}
"""


def seed():
    env = os.environ.get("PDMA_KILL_SEED")
    return int(env) if env else random.SystemRandom().randrange(1 << 32)


def plan(rng):
    """[(op, delay, kill_next_delay or None)] for KILLS rounds, delays as
    fractions of a whole victim run: spread over it, from the process start
    (before it owns the queues) to near its end."""
    rounds = []
    for k in range(KILLS):
        op = OPS[k % len(OPS)]
        delay = round(rng.uniform(0.02, 0.85), 3)
        nxt = round(rng.uniform(0.0, 0.2), 3) if k % 2 else None
        rounds.append((op, delay, nxt))
    return rounds


def victim_args(op, k):
    s, n = VICTIM
    if op == "write":
        return f"write {s} --pattern {100 + k} --count {n}"
    if op == "read":
        return f"read {s} {n}"
    return f"verify {s} --pattern 7 --count {n}"


def scenario(rounds):
    s0, n0, sd0 = STABLE
    p1 = ["pdma_load", f"nv init init --queues {QUEUES}",
          f"nv stable write {s0} --pattern {sd0} --count {n0}",
          # How long a victim runs (the shorter of a write and a verify), to
          # spread the kills over it
          f"out=$(pdma-nvme write {VICTIM[0]} --pattern 7 --count {VICTIM[1]})",
          'emit_json timed "$out"',
          """RUN_NS=$(echo "$out" | sed -n 's/.*"cmd_ns":\\([0-9]*\\).*/\\1/p')""",
          f"out=$(pdma-nvme verify {VICTIM[0]} --pattern 7 --count {VICTIM[1]})",
          'emit_json timed_verify "$out"',
          """V_NS=$(echo "$out" | sed -n 's/.*"cmd_ns":\\([0-9]*\\).*/\\1/p')""",
          'if [ "$V_NS" -lt "$RUN_NS" ]; then RUN_NS=$V_NS; fi']
    for k, (op, delay, nxt) in enumerate(rounds):
        p1.append(f"victim v{k} {delay} {victim_args(op, k)}")
        p1.append(f"nv st{k} status")
        if nxt is not None:
            p1.append(f"victim n{k} {nxt} verify {s0} --pattern {sd0} --count {n0}")
        p1.append(f"nv after{k} verify {s0} --pattern {sd0} --count {n0}")
        p1 += [f"nv small_v{k}_{j} verify {SMALL + 64 * j} --pattern {500 + j} --count 64"
               for j in range(k)]
        p1.append(f"nv small{k} write {SMALL + 64 * k} --pattern {500 + k} --count 64")
        p1.append(f"nv small_r{k} verify {SMALL + 64 * k} --pattern {500 + k} --count 64")
    p1 += ["nv log verify", "nv save save", f"pdmavm_kexec {KA}"]
    p2 = ["pdma_load", "nv restore restore",
          f"nv stable verify {s0} --pattern {sd0} --count {n0}"]
    p2 += [f"nv small{k} verify {SMALL + 64 * k} --pattern {500 + k} --count 64"
           for k in range(KILLS)]
    p2 += ["nv log verify", f"nv new write {SMALL + 64 * KILLS} --pattern 999 --count 64",
           f"nv new_r verify {SMALL + 64 * KILLS} --pattern 999 --count 64"]
    text = LIB
    for n, body in ((1, p1), (2, p2)):
        text += f"phase_{n}() {{\n" + "\n".join(f"    {b}" for b in body) + "\n}\n"
    return text


def res(phase, key, why):
    got = phase.get(key)
    assert isinstance(got, dict), f"{why}: {key}: no JSON (exit {phase.get(key + '.rc')}): " \
                                  f"{phase.get(key + '.err')}"
    assert phase.get(f"{key}.rc") == "0", f"{why}: {key}: exit {phase.get(key + '.rc')}: " \
                                          f"{got.get('error')}"
    return got


@pytest.fixture(scope="module")
def killed(artifacts, tmp_path_factory):
    sd = seed()
    rounds = plan(random.Random(sd))
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("kill")),
              cmdline=["vfio_pci.ids=1b36:0010"], nvme_size=NS_BYTES, timeout=900)
    run = ok(g.run(scenario(rounds), phases=2))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return sd, rounds, run


def test_kills_hit_the_victims_in_the_middle(killed):
    """Expect most victims to be killed (exit 137) while owning the queues
    (the record dirty right after), so that the recovery is exercised: the
    delays are drawn over the shorter of a whole 128 MiB write and verify."""
    sd, rounds, run = killed
    p = run.phase(1)
    timed = p.get("timed")
    assert isinstance(timed, dict) and timed["ok"], f"seed {sd}: timed write: {timed}"
    hit = [k for k in range(KILLS) if p[f"v{k}"] == "137" and res(p, f"st{k}", sd)["dirty"]]
    assert len(hit) >= KILLS * 2 // 3, f"seed {sd}: only rounds {hit} killed a victim " \
                                       f"mid-run; a victim runs {timed['cmd_ns'] / 1e9:.2f} s"


def test_next_command_recovers_by_itself_and_names_the_lost_range(killed):
    """Expect the first command after each kill that left the record dirty
    to recover by itself (recovered, a reset: the dirty check named), and
    a killed write's range to be reported lost and dropped from the log,
    while a killed read or verify loses nothing."""
    sd, rounds, run = killed
    p = run.phase(1)
    for k, (op, delay, nxt) in enumerate(rounds):
        why = f"seed {sd} round {k} ({op} killed at {delay} s)"
        st = res(p, f"st{k}", why)
        after = res(p, f"after{k}", why)
        if nxt is not None:
            # The first command after the kill was itself killed in its
            # recovery (after{k} recovered from that), or ran to its end
            assert p[f"n{k}"] in ("137", "0"), (why, p[f"n{k}"])
            continue
        if not st["dirty"]:
            assert after["recovered"] is False, why
            continue
        assert after["recovered"] is True, why
        assert "the record is dirty" in after["checks_failed"], why
        if op == "write" and st.get("intent_blocks"):
            assert after["lost"] == {"lba": VICTIM[0], "blocks": VICTIM[1]}, why
        elif op != "write":
            assert after["lost"] is None, why


def test_every_range_not_being_written_reads_back_after_each_kill(killed):
    """Expect, after every kill, the stable range and every small write made
    before it to verify, and the new small write to verify right away."""
    sd, rounds, run = killed
    p = run.phase(1)
    for k in range(KILLS):
        why = f"seed {sd} round {k} {rounds[k]}"
        assert res(p, f"after{k}", why)["match"] is True, why
        for j in range(k):
            assert res(p, f"small_v{k}_{j}", why)["match"] is True, (why, j)
        assert res(p, f"small_r{k}", why)["match"] is True, why
    log = res(p, "log", f"seed {sd}")
    assert log["match"] is True and log["bytes_verified"] >= (STABLE[1] + 64 * KILLS) * 512


def test_after_keep_alive_kexec_everything_still_reads_back(killed):
    """Expect the save after the kills and a keep-alive kexec to restore on
    the queues (keep-alive path), and the stable range, every small write,
    the range log and a new write all to verify."""
    sd, rounds, run = killed
    p = run.phase(2)
    r = res(p, "restore", f"seed {sd}")
    assert (r["path"], r["checks_failed"]) == ("keep-alive", ""), sd
    for key in ["stable", "log", "new_r"] + [f"small{k}" for k in range(KILLS)]:
        assert res(p, key, f"seed {sd}")["match"] is True, (sd, key)
