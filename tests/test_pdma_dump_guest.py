# SPDX-License-Identifier: GPL-2.0
"""pdma-dump and pdmactl on the live device in a guest, across a kexec.

The tests share one guest run: kernel 1 allocates with pdmactl and dumps,
kexecs, and kernel 2 adopts, dumps, claims and frees. The golden-image
tests of pdma-dump are in test_pdma_dump_images.py.
"""

import pytest

from conftest import RANGE_START, Guest, ok
from dump_helpers import DATA_OFFSET, REGION


# ---- live device in a guest, across a kexec --------------------------------------

SCENARIO = r"""
# run KEY CMD...: KEY.out (stdout and stderr) and KEY.rc
run() {
    local key=$1 rc=0 out
    shift
    out=$("$@" 2>&1) || rc=$?
    emit "$key.out" "$out"
    emit "$key.rc" "$rc"
}
# dump KEY [ARGS...]: pdma-dump --json as a JSON value, and KEY.rc
dump() { local key=$1; shift; emit_tool "$key" pdma-dump --json "$@"; }
phase_1() {
    pdma_load
    run alloc_asq pdmactl alloc nvme/asq 64K
    run alloc_big pdmactl alloc data/big 2M --align 2M --zero
    run alloc_scratch pdmactl alloc scratch 4K
    run alloc_dup pdmactl alloc scratch 4K
    run list1 pdmactl list
    dump dump1
    run text1 pdma-dump
    dd if=/dev/pdma of=/tmp/table.img bs=4096 count=66 2>/dev/null
    dump image1 --image /tmp/table.img
    pdmavm_kexec
}
phase_2() {
    pdma_load
    dump dump2
    run list2 pdmactl list
    run claim pdmactl claim nvme/asq
    dump dump3
    run claim_again pdmactl claim nvme/asq
    run free pdmactl free scratch
    run free_again pdmactl free scratch
    run list3 pdmactl list
    run usage pdmactl frobnicate
    dump dump4
}
"""


def line(name, state, slot, offset, size, align, flags, gen):
    """One pdmactl entry line, as print_entry() formats it."""
    return (f"{name:<32} {state:<20} id={slot} offset={offset:#x} phys={RANGE_START + offset:#x} "
            f"size={size} align={align} flags={hex(flags) if flags else 0} gen={gen} maps=0")


ASQ = dict(name="nvme/asq", slot=0, offset=DATA_OFFSET, size=0x10000, align=0x1000, flags=0,
           gen=2)
BIG = dict(name="data/big", slot=1, offset=0x200000, size=0x200000, align=0x200000, flags=1,
           gen=3)
SCRATCH = dict(name="scratch", slot=2, offset=DATA_OFFSET + 0x10000, size=0x1000, align=0x1000,
               flags=0, gen=4)


def entry(e, state):
    """The pdma-dump JSON entry for one of the buffers above."""
    return {"slot": e["slot"], "name": e["name"], "state": state,
            "state_code": {"allocated": 1, "preserved-unclaimed": 2, "claimed": 3}[state],
            "offset": e["offset"], "phys": RANGE_START + e["offset"], "size": e["size"],
            "align": e["align"], "flags": e["flags"],
            "flag_names": ["zero"] if e["flags"] else [], "create_gen": e["gen"]}


def pline(e, state):
    return line(e["name"], state, e["slot"], e["offset"], e["size"], e["align"], e["flags"],
                e["gen"])


@pytest.fixture(scope="module")
def live(artifacts, tmp_path_factory):
    """One guest: kernel 1 allocates and dumps, kexec, kernel 2 adopts."""
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("dump")))
    run = ok(g.run(SCENARIO, phases=2))
    p1, p2 = run.phase(1), run.phase(2)
    assert p1["load.rc"] == "0" and p2["load.rc"] == "0", (p1["load.err"], p2["load.err"])
    return p1, p2


def test_live_dumps_are_consistent(live):
    """Expect every live dump, before and after kexec, to exit 0 with no
    problems and to agree with the device's INFO."""
    p1, p2 = live
    for p, key in ((p1, "dump1"), (p2, "dump2"), (p2, "dump3"), (p2, "dump4")):
        assert p[f"{key}.rc"] == "0", p[key]["problems"]
        assert p[key]["consistent"] and p[key]["problems"] == []
        assert p[key]["source"] == {"kind": "device", "path": "/dev/pdma", "offset": 0}
        assert p[key]["region"] == dict(REGION, **{"from": "device"})
        assert p[key]["device"]["generation"] == p[key]["generation"]


def test_live_dump_lists_allocations_before_kexec(live):
    """Expect the dump in kernel 1 to list the three allocations as
    allocated at their exact offsets and physical addresses, at generation 4
    (format + 3 allocs; the refused duplicate commits nothing)."""
    d = live[0]["dump1"]
    assert d["device"]["state"] == "fresh"
    assert (d["generation"], d["adopt_count"], d["current_copy"]) == (4, 0, "B")
    assert d["entries"] == [entry(e, "allocated") for e in (ASQ, BIG, SCRATCH)]


def test_same_entries_and_phys_after_kexec(live):
    """Expect the dump after kexec and adoption to hold the same entries at
    the same physical addresses, sizes, alignments, flags and creation
    generations, now preserved-unclaimed, and the same free extents."""
    before, after = live[0]["dump1"], live[1]["dump2"]
    strip = [dict(e, state=None, state_code=None) for e in before["entries"]]
    assert [dict(e, state=None, state_code=None) for e in after["entries"]] == strip
    assert {e["state"] for e in after["entries"]} == {"preserved-unclaimed"}
    assert after["free"] == before["free"]
    assert after["device"]["state"] == "adopted"


def test_adoption_is_exactly_one_commit(live):
    """Expect adoption to raise the generation by exactly 1 (4 -> 5) and
    adopt_count from 0 to 1, written to the other copy (A)."""
    before, after = live[0]["dump1"], live[1]["dump2"]
    assert (after["generation"], after["adopt_count"], after["current_copy"]) == (5, 1, "A")
    assert [c["generation"] for c in after["copies"]] == [5, 4]


def test_entries_stay_preserved_until_claimed(live):
    """Expect a claim to turn only that entry claimed with one commit (5 ->
    6), a second claim to commit nothing and a free to commit once (-> 7)."""
    p2 = live[1]
    assert p2["dump3"]["generation"] == 6
    assert p2["dump3"]["entries"] == [entry(ASQ, "claimed"), entry(BIG, "preserved-unclaimed"),
                                      entry(SCRATCH, "preserved-unclaimed")]
    assert p2["dump4"]["generation"] == 7
    assert p2["dump4"]["entries"] == [entry(ASQ, "claimed"), entry(BIG, "preserved-unclaimed")]


def test_image_of_the_device_dumps_like_the_device(live):
    """Expect pdma-dump --image on the table area read from /dev/pdma with dd
    to report the same region, copies, entries and free extents as the live
    dump."""
    p1 = live[0]
    img, dev = p1["image1"], p1["dump1"]
    assert p1["image1.rc"] == "0"
    assert img["region"] == REGION
    for key in ("copies", "entries", "free", "totals", "generation", "current_copy"):
        assert img[key] == dev[key], key


def test_live_text_report(live):
    """Expect the default text dump in the guest to name the device, the
    module state and every entry, and to end with a consistent verdict."""
    p1 = live[0]
    assert p1["text1.rc"] == "0"
    out = p1["text1.out"].splitlines()
    assert out[0] == "source    device /dev/pdma (module state fresh, generation 4)"
    assert out[-1] == "verdict   consistent"
    assert [ln.split()[-1] for ln in out if " allocated " in ln] == \
        ["nvme/asq", "data/big", "scratch"]


def test_pdmactl_alloc_and_list_before_kexec(live):
    """Expect pdmactl alloc to print the new entry and exit 0, a duplicate
    alloc to exit 1 with EEXIST, and list to print all three entries."""
    p1 = live[0]
    for key, e in (("alloc_asq", ASQ), ("alloc_big", BIG), ("alloc_scratch", SCRATCH)):
        assert (p1[f"{key}.rc"], p1[f"{key}.out"]) == ("0", pline(e, "allocated"))
    assert p1["alloc_dup.rc"] == "1"
    assert p1["alloc_dup.out"] == "pdmactl: alloc scratch: File exists"
    assert p1["list1.rc"] == "0"
    assert p1["list1.out"] == "\n".join(pline(e, "allocated") for e in (ASQ, BIG, SCRATCH))


def test_pdmactl_claim_free_list_after_kexec(live):
    """Expect list after kexec to show preserved-unclaimed entries, claim to
    print the claimed entry (twice, exit 0), free to exit 0 silently, a
    second free to exit 1 with ENOENT, the final list to show two entries,
    and a bad command to exit 2."""
    p2 = live[1]
    assert (p2["list2.rc"], p2["list2.out"]) == (
        "0", "\n".join(pline(e, "preserved-unclaimed") for e in (ASQ, BIG, SCRATCH)))
    assert (p2["claim.rc"], p2["claim.out"]) == ("0", pline(ASQ, "claimed"))
    assert (p2["claim_again.rc"], p2["claim_again.out"]) == ("0", pline(ASQ, "claimed"))
    assert (p2["free.rc"], p2["free.out"]) == ("0", "")
    assert (p2["free_again.rc"], p2["free_again.out"]) == (
        "1", "pdmactl: free scratch: No such file or directory")
    assert (p2["list3.rc"], p2["list3.out"]) == (
        "0", pline(ASQ, "claimed") + "\n" + pline(BIG, "preserved-unclaimed"))
    assert p2["usage.rc"] == "2" and p2["usage.out"].startswith("usage: pdmactl")
