# SPDX-License-Identifier: GPL-2.0
"""pdma load policy on damaged or mismatched tables.

The module is unloaded, the table is damaged through /dev/mem, and the
module is loaded again: adoption runs the same code as after a kexec.
"""

from conftest import RANGE_SIZE, RANGE_START, ok

# Default capacity 1024: one copy is 128 + 1024 * 128 bytes, page rounded.
COPY_SIZE = 0x21000
COPY_A = RANGE_START
COPY_B = RANGE_START + COPY_SIZE
WHOLE = f"{RANGE_START:#x} {RANGE_SIZE:#x}"

SETUP = """
    pdma_load
    pdmactl alloc keep1 64K >/dev/null
    pdmactl alloc keep2 2M --align 2M >/dev/null
    pdma_buf fill keep1 11 >/dev/null
    pdma_buf fill keep2 22 >/dev/null
    emit sum.keep1 "$(pdma_buf sum keep1)"
    emit sum.keep2 "$(pdma_buf sum keep2)"
    pdma_unload
    # Adoption rewrites the other copy, so both copies now hold both entries.
    PDMA_LOAD_KEY=reload pdma_load
    pdma_unload
"""


def damage(copy):
    """Flip one byte inside the entry slots of a copy (covered by its CRC)."""
    return f"    physmem xor {copy + 0x1000:#x} 0x5a\n"


def test_one_copy_corrupt_adopts_the_other(guest):
    """Expect a load whose newest copy is damaged to adopt the other copy
    and find both buffers with their content, for copy B and for copy A.

    Every commit goes to the copy that is not current, so after SETUP copy B
    is the newest; one more adoption makes copy A the newest.
    """
    run = ok(guest().run(f"""
phase_1() {{
{SETUP}
{damage(COPY_B)}
    PDMA_LOAD_KEY=b_bad pdma_load
    emit b_bad.sums "$(pdma_buf sum keep1) $(pdma_buf sum keep2)"
    pdma_unload
    PDMA_LOAD_KEY=again pdma_load
    pdma_unload
{damage(COPY_A)}
    PDMA_LOAD_KEY=a_bad pdma_load
    emit a_bad.sums "$(pdma_buf sum keep1) $(pdma_buf sum keep2)"
}}
""", phases=1))
    p = run.phase(1)
    want = f"{p['sum.keep1']} {p['sum.keep2']}"
    for key, survivor in (("b_bad", "A"), ("a_bad", "B")):
        assert p[f"{key}.rc"] == "0", p[f"{key}.err"]
        assert f"adopted table at 0x0000000030000000 from copy {survivor}" in p[f"{key}.log"]
        assert p[f"{key}.sums"] == want


def test_both_copies_corrupt_refuses_allocations_and_keeps_bytes(guest):
    """Expect a load with both copies damaged to stay read-only: ALLOC fails
    with EROFS, the log says why and how to recover, and not one byte of the
    region changes."""
    run = ok(guest().run(f"""
phase_1() {{
{SETUP}
{damage(COPY_A)}
{damage(COPY_B)}
    emit before "$(physmem sum {WHOLE})"
    PDMA_LOAD_KEY=bad pdma_load
    emit state "$(cat /sys/class/misc/pdma/state)"
    emit_rc alloc.rc pdmactl alloc new 4K
    emit alloc.err "$(pdmactl alloc new 4K 2>&1)"
    emit_rc free.rc pdmactl free keep1
    emit after "$(physmem sum {WHOLE})"
}}
""", phases=1))
    p = run.phase(1)
    assert p["bad.rc"] == "0", "the device must stay available for inspection"
    assert p["state"] == "read-only-corrupt"
    assert "format=1" in p["bad.log"] and "read-only" in p["bad.log"]
    assert p["alloc.rc"] == "1" and "Read-only file system" in p["alloc.err"]
    assert p["free.rc"] == "1"
    assert p["after"] == p["before"], "a read-only load changed the region"


def test_format_switch_recovers_corrupt_table(guest):
    """Expect format=1 to discard a table with both copies damaged, with a
    warning, and leave a fresh table that accepts allocations."""
    run = ok(guest().run(f"""
phase_1() {{
{SETUP}
{damage(COPY_A)}
{damage(COPY_B)}
    PDMA_LOAD_KEY=fmt pdma_load format=1
    emit state "$(cat /sys/class/misc/pdma/state)"
    emit_rc alloc.rc pdmactl alloc new 4K
    emit entries "$(cat /sys/class/misc/pdma/entries)"
}}
""", phases=1))
    p = run.phase(1)
    assert p["fmt.rc"] == "0", p["fmt.err"]
    assert "discarding" in p["fmt.log"]
    assert p["state"] == "fresh"
    assert p["alloc.rc"] == "0" and p["entries"] == "1"


def test_region_overlapping_system_ram_fails_to_load(guest):
    """Expect a range inside System RAM to be refused with EBUSY and a log
    line naming the problem and the memmap= fix."""
    run = ok(guest().run("""
phase_1() {
    pdma_load base=0x20000000 size=0x1000000
}
""", phases=1))
    p = run.phase(1)
    assert p["load.rc"] != "0"
    assert "Device or resource busy" in p["load.err"]
    assert "overlaps System RAM" in p["load.log"] and "memmap=" in p["load.log"]


def test_misaligned_range_fails_to_load(guest):
    """Expect a range that is not page aligned to be refused with EINVAL."""
    run = ok(guest().run(f"""
phase_1() {{
    pdma_load base={RANGE_START + 0x800:#x} size=0x100000
}}
""", phases=1))
    p = run.phase(1)
    assert p["load.rc"] != "0"
    assert "Invalid argument" in p["load.err"]
    assert "not page aligned" in p["load.log"]


def test_adoption_keeps_the_tables_own_capacity(guest):
    """Expect a table formatted with capacity=64 to be adopted with 64 slots
    by a load that passes no capacity (default 1024), buffers intact."""
    run = ok(guest().run("""
phase_1() {
    pdma_load capacity=64
    pdmactl alloc small 8K >/dev/null
    pdma_buf fill small 5 >/dev/null
    emit before "$(pdma_buf sum small)"
    pdma_unload
    PDMA_LOAD_KEY=again pdma_load
    emit info "$(pdmactl info)"
    emit after "$(pdma_buf sum small)"
}
""", phases=1))
    p = run.phase(1)
    assert p["again.rc"] == "0", p["again.err"]
    assert "capacity 64" in p["again.log"] and "adopted" in p["again.log"]
    assert "capacity 64" in p["info"]
    assert p["after"] == p["before"]


def test_table_made_for_another_size_stays_read_only(guest):
    """Expect a table recorded for a 64 MiB range, loaded as a 32 MiB range,
    to be left untouched and read-only (ALLOC fails with EROFS)."""
    half = RANGE_SIZE // 2
    run = ok(guest().run(f"""
phase_1() {{
    pdma_load
    pdmactl alloc keep 4K >/dev/null
    pdma_unload
    emit before "$(physmem sum {WHOLE})"
    PDMA_LOAD_KEY=small pdma_load base={RANGE_START:#x} size={half:#x}
    emit state "$(cat /sys/class/misc/pdma/state)"
    emit alloc.err "$(pdmactl alloc new 4K 2>&1)"
    pdma_unload
    emit after "$(physmem sum {WHOLE})"
}}
""", phases=1))
    p = run.phase(1)
    assert p["small.rc"] == "0", p["small.err"]
    assert p["state"] == "read-only-corrupt"
    assert "copy B: region base or size differs from configured" in p["small.log"]
    assert "Read-only file system" in p["alloc.err"]
    assert p["after"] == p["before"]


def test_range_that_is_not_reserved_fails_to_load(guest):
    """Expect a range in the address hole above RAM (not System RAM, but not
    reserved memory either) to be refused with EINVAL, naming the range and
    memmap=, and no table to be written there."""
    run = ok(guest().run("""
phase_1() {
    emit iomem "$(grep -i '^ *8000' /proc/iomem || true)"
    pdma_load base=0x80000000 size=0x1000000
    emit dev "$(ls /dev/pdma 2>&1)"
}
""", phases=1))
    p = run.phase(1)
    assert p["iomem"] == "", "0x80000000 must be unclaimed for this test"
    assert p["load.rc"] != "0"
    assert "Invalid argument" in p["load.err"]
    assert "is not reserved memory" in p["load.log"] and "memmap=" in p["load.log"]
    assert "No such file" in p["dev"]


def test_range_reaching_past_reserved_memory_fails_to_load(guest):
    """Expect a range that starts in reserved memory (the firmware's, at the
    top of a 1 GiB q35 guest's RAM) but runs on into the unclaimed hole
    above it to be refused with EINVAL, naming where reservation ends."""
    run = ok(guest().run("""
phase_1() {
    emit iomem "$(grep -i '3ffd7000' /proc/iomem || true)"
    pdma_load base=0x3ffd7000 size=0x1029000
}
""", phases=1))
    p = run.phase(1)
    assert "Reserved" in p["iomem"], "the firmware must reserve 0x3ffd7000- for this test"
    assert p["load.rc"] != "0"
    assert "Invalid argument" in p["load.err"]
    assert "not reserved memory from 0x40000000" in p["load.log"]


def test_load_without_range_parameters_fails(guest):
    """Expect insmod without base= and size= to fail with EINVAL and say
    how to get them (pdmactl range); the module reads no command line."""
    run = ok(guest().run("""
phase_1() {
    dmesg -c >/dev/null
    emit_rc rc insmod /lib/modules/pdma.ko
    emit log "$(dmesg | grep pdma || true)"
    emit range "$(pdmactl range)"
    emit modprobe "$(pdmactl range --modprobe)"
}
""", phases=1))
    p = run.phase(1)
    assert p["rc"] != "0"
    assert "no range" in p["log"] and "pdmactl range" in p["log"]
    assert p["range"] == f"base={RANGE_START:#x} size={RANGE_SIZE:#x}"
    assert p["modprobe"] == f"options pdma base={RANGE_START:#x} size={RANGE_SIZE:#x}"
