# SPDX-License-Identifier: GPL-2.0
"""Foundation: the memmap= range is reserved and survives real kexec cycles,
and the result channel (ttyS1) delivers every line whole.

These tests use only /dev/mem (tools/vm/guest/physmem.c), not the pdma
module, so they validate the platform that the module relies on.
"""

import re

from conftest import MiB, RANGE_SIZE, RANGE_START, TOP_RANGE_START, ok

SEED = 0x5EED
HEAD = 256 * 1024  # small enough to recompute on the host


def iomem_line(start):
    return f"grep -i '^ *{start:x}-' /proc/iomem || true"


def expected_head_sum():
    """FNV-1a 64 of the first HEAD bytes of physmem's xorshift pattern."""
    mask = (1 << 64) - 1
    x, h = SEED | 1, 0xCBF29CE484222325
    for _ in range(0, HEAD, 8):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        for b in x.to_bytes(8, "little"):
            h = ((h ^ b) * 0x100000001B3) & mask
    return f"{h:016x}"


def pattern_scenario(start, size, cycles):
    """Phase 1 writes the pattern, every phase reports it, then kexecs."""
    report = f"""
    emit head "$(physmem sum {start:#x} {HEAD:#x})"
    emit sum "$(physmem sum {start:#x} {size:#x})"
    emit iomem "$({iomem_line(start)})"
"""
    text = f"""
phase_1() {{
    physmem fill {start:#x} {size:#x} {SEED:#x}
{report}
    pdmavm_kexec
}}
"""
    for n in range(2, cycles + 2):
        text += f"phase_{n}() {{\n{report}\n    {'pdmavm_kexec' if n <= cycles else 'true'}\n}}\n"
    return text


def assert_pattern_survived(run, start, size, phases):
    reserved = f"{start:x}-{start + size - 1:x} : Reserved"
    first = run.phase(1)
    assert first["head"] == expected_head_sum(), "phase 1 did not write the pattern"
    for n in range(1, phases + 1):
        p = run.phase(n)
        assert p["iomem"] == reserved, f"phase {n}: range not reserved"
        assert p["head"] == first["head"], f"pattern head changed by kexec {n - 1}"
        assert p["sum"] == first["sum"], f"pattern changed by kexec {n - 1}"


def test_memmap_range_is_reserved(guest):
    """Expect /proc/iomem to list the memmap= range as Reserved, not System RAM."""
    run = ok(guest().run(f"phase_1() {{\n emit iomem \"$({iomem_line(RANGE_START)})\"\n}}\n",
                         phases=1))
    assert run.phase(1)["iomem"] == f"{RANGE_START:x}-{RANGE_START + RANGE_SIZE - 1:x} : Reserved"


def test_without_memmap_range_is_system_ram(guest):
    """Expect the same range to be plain System RAM when memmap= is absent
    (the negative control: nothing reserves it, so nothing may claim it)."""
    run = ok(guest(memmap=None).run(
        "phase_1() {\n emit iomem \"$(grep -i 'System RAM' /proc/iomem)\"\n}\n", phases=1))
    ram = re.findall(r"([0-9a-f]+)-([0-9a-f]+) : System RAM", run.phase(1)["iomem"])
    assert any(int(a, 16) <= RANGE_START and int(b, 16) >= RANGE_START + RANGE_SIZE - 1
               for a, b in ram), run.phase(1)["iomem"]


def test_pattern_survives_three_kexec_cycles(guest):
    """Expect a pattern written into the whole reserved range to read back
    identical after each of 3 consecutive kexec cycles."""
    run = ok(guest().run(pattern_scenario(RANGE_START, RANGE_SIZE, 3), phases=4))
    assert_pattern_survived(run, RANGE_START, RANGE_SIZE, 4)


def test_kexec_file_load_never_writes_top_of_ram_range(guest):
    """Expect kexec -s (kexec_file_load) to leave a range at the top of guest
    RAM, where kexec-tools places its segments, untouched over 3 cycles."""
    g = guest(memmap=(RANGE_SIZE, TOP_RANGE_START))
    run = ok(g.run(pattern_scenario(TOP_RANGE_START, RANGE_SIZE, 3), phases=4))
    assert_pattern_survived(run, TOP_RANGE_START, RANGE_SIZE, 4)


def test_result_lines_arrive_whole_while_children_exit(guest):
    """Expect 100 long result lines, each written while background children
    of the scenario shell exit at varied moments (SIGCHLD during the write
    to ttyS1), to reach the host whole and in order."""
    body = "x" * 1500
    run = ok(guest().run(f"""
phase_1() {{
    for i in $(seq 100); do
        sleep 0.00$((i % 7)) & sleep 0.00$((i % 5)) & true &
        emit_json line.$i "{{\\"i\\":$i,\\"body\\":\\"{body}\\"}}"
    done
    wait
}}
""", phases=1))
    p = run.phase(1)
    for i in range(1, 101):
        assert p[f"line.{i}"] == {"i": i, "body": body}, f"line {i} arrived cut"
