# SPDX-License-Identifier: GPL-2.0
"""pdma buffers survive real kexec cycles under the same names and pages."""

import random
import re

from conftest import MiB, RANGE_SIZE, RANGE_START, TOP_RANGE_START, ok

BUFFERS = {"nvme/asq": 64 * 1024, "nvme/acq": 16 * 1024, "data/big": 4 * MiB}


def sums(phase, names):
    """{name: (phys, hash)} from pdma_buf lines emitted as sum.NAME."""
    return {n: tuple(phase[f"sum.{n}"].split()) for n in names}


def test_three_buffers_come_back_after_kexec(guest):
    """Expect 3 named buffers, filled before kexec, to be found by LOOKUP in
    the next kernel at the same physical addresses with the same content."""
    allocs = "\n".join(f"    pdmactl alloc {n} {s}\n    pdma_buf fill {n} {i + 7} >/dev/null"
                       for i, (n, s) in enumerate(BUFFERS.items()))
    report = "\n".join(f'    emit sum.{n} "$(pdma_buf sum {n})"' for n in BUFFERS)
    run = ok(guest().run(f"""
phase_1() {{
    pdma_load
{allocs}
{report}
    pdmavm_kexec
}}
phase_2() {{
    pdma_load
    emit list_before "$(pdmactl list)"
{report}
    emit list_after "$(pdmactl list)"
}}
""", phases=2))
    before, after = run.phase(1), run.phase(2)
    assert before["load.rc"] == "0" and after["load.rc"] == "0", after["load.err"]
    assert "adopted" in after["load.log"]
    assert sums(after, BUFFERS) == sums(before, BUFFERS)
    for n, (phys, _) in sums(before, BUFFERS).items():
        assert RANGE_START <= int(phys, 16) < RANGE_START + RANGE_SIZE, n
    assert after["list_before"].count("preserved-unclaimed") == len(BUFFERS)
    assert after["list_after"].count("claimed") == len(BUFFERS)
    assert "preserved-unclaimed" not in after["list_after"]


def workload(rng, phases):
    """A random alloc/free/fill plan per phase and the buffers live after it."""
    live, plan, serial = {}, [], 0
    for _ in range(phases):
        ops = []
        for _ in range(rng.randint(2, 5)):
            if live and rng.random() < 0.35:
                name = rng.choice(sorted(live))
                ops.append(f"pdmactl free {name} >/dev/null")
                del live[name]
            else:
                serial += 1
                name = f"buf{serial}"
                size = rng.choice([4096, 8192, 65536, 2 * MiB, 3 * 4096])
                align = rng.choice([0, 0, 65536, 2 * MiB])
                seed = rng.randrange(1, 1 << 32)
                ops.append(f"pdmactl alloc {name} {size} --align {align} >/dev/null")
                ops.append(f"pdma_buf fill {name} {seed} >/dev/null")
                live[name] = seed
        plan.append((ops, dict(live)))
    return plan


def test_ten_kexec_cycles_random_workload_loses_nothing(guest):
    """Expect a random alloc/free/write workload over 10 kexec cycles to
    keep every live buffer at its physical address with its content."""
    seed = 20261125
    plan = workload(random.Random(seed), 11)
    text = ""
    for n, (ops, live) in enumerate(plan, start=1):
        prev = plan[n - 2][1] if n > 1 else {}
        check = "\n".join(f'    emit sum.{b} "$(pdma_buf sum {b})"' for b in sorted(prev))
        body = "\n".join(f"    {op}" for op in ops)
        after = "\n".join(f'    emit new.{b} "$(pdma_buf sum {b})"' for b in sorted(live))
        text += (f"phase_{n}() {{\n    pdma_load\n{check}\n{body}\n{after}\n"
                 f"    {'pdmavm_kexec' if n < len(plan) else 'true'}\n}}\n")
    run = ok(guest(timeout=300).run(text, phases=len(plan)))
    for n in range(2, len(plan) + 1):
        p, prev = run.phase(n), run.phase(n - 1)
        assert p["load.rc"] == "0", f"seed {seed} phase {n}: {p['load.err']}"
        for b in sorted(plan[n - 2][1]):
            assert p[f"sum.{b}"] == prev[f"new.{b}"], f"seed {seed}: {b} changed by kexec {n - 1}"


def test_kexec_loader_never_writes_allocations_at_top_of_ram(guest):
    """Expect allocations covering a range at the top of guest RAM, where
    kexec-tools places its segments, to keep their content over 3 kexec
    cycles on the harness's kexec_file_load path."""
    names = [f"top{i}" for i in range(7)]
    allocs = "\n".join(f"    pdmactl alloc {n} 8M >/dev/null\n    pdma_buf fill {n} {i + 1} >/dev/null"
                       for i, n in enumerate(names))
    report = "\n".join(f'    emit sum.{n} "$(pdma_buf sum {n})"' for n in names)
    text = f"phase_1() {{\n    pdma_load\n{allocs}\n{report}\n    emit info \"$(pdmactl info)\"\n    pdmavm_kexec\n}}\n"
    for n in (2, 3, 4):
        text += f"phase_{n}() {{\n    pdma_load\n{report}\n    {'pdmavm_kexec' if n < 4 else 'true'}\n}}\n"
    run = ok(guest(memmap=(RANGE_SIZE, TOP_RANGE_START)).run(text, phases=4))
    first = sums(run.phase(1), names)
    free = int(re.search(r"\bfree (\d+)", run.phase(1)["info"]).group(1))
    assert free < 8 * MiB, "the allocations must cover most of the range"
    for n in (2, 3, 4):
        assert sums(run.phase(n), names) == first, f"kexec {n - 1} changed an allocation"


def test_next_kernel_without_memmap_refuses_to_load(guest):
    """Expect the module, told to use a range that the next kernel (booted
    without memmap=) treats as System RAM, to refuse to load with EBUSY and
    say that the range overlaps System RAM."""
    params = f"base={RANGE_START:#x} size={RANGE_SIZE:#x}"
    run = ok(guest().run(f"""
phase_1() {{
    pdma_load {params}
    pdmactl alloc keep 1M >/dev/null
    pdmavm_kexec -d memmap=
}}
phase_2() {{
    emit iomem "$(grep -i '{RANGE_START:x}' /proc/iomem || true)"
    pdma_load {params}
    emit dev "$(ls /dev/pdma 2>&1)"
}}
""", phases=2))
    p1, p2 = run.phase(1), run.phase(2)
    assert p1["load.rc"] == "0", p1["load.err"]
    assert "Reserved" not in p2["iomem"]
    assert p2["load.rc"] != "0"
    assert "Device or resource busy" in p2["load.err"]
    assert "overlaps System RAM" in p2["load.log"]
    assert "No such file" in p2["dev"]
