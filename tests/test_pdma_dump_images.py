# SPDX-License-Identifier: GPL-2.0
"""pdma-dump on images: golden images, robustness on arbitrary bytes,
command line and I/O errors. Host only, no guest.

Golden images are written by the core itself (tests/unit/gen_image.c, the
sources the module runs) and damaged or forged there, never hand-made.
The live dumps in a guest are in test_pdma_dump_guest.py.
"""

import json
import os
import random
import subprocess

import pytest

from conftest import RANGE_SIZE, RANGE_START, ROOT
from dump_helpers import CAPACITY, COPY_SIZE, DATA_OFFSET, REGION

DUMP = os.path.join(ROOT, "build", "bin", "pdma-dump")
DUMP_SAN = os.path.join(ROOT, "tests", "unit", "build", "pdma-dump-san")
GEN = os.path.join(ROOT, "tests", "unit", "build", "gen_image")

MAGIC = (0x31454C4241544450).to_bytes(8, "little")
# Sanitizer reports get their own exit codes, never 1 or 2.
SAN_ENV = dict(os.environ, ASAN_OPTIONS="exitcode=86:detect_leaks=1",
               UBSAN_OPTIONS="exitcode=87:halt_on_error=1:print_stacktrace=1")


@pytest.fixture(scope="module", autouse=True)
def binaries():
    """Build pdma-dump (static, as installed), its ASan build and gen_image."""
    for cmd in (["make", "-s", DUMP],
                ["make", "-s", "-C", "tests/unit", "build/gen_image", "build/pdma-dump-san"]):
        r = subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{r.stdout[-4000:]}")


def gen(tmp_path, kind, *args):
    """Write a golden image; return (path, manifest of the writing core)."""
    out = tmp_path / f"{kind}.img"
    r = subprocess.run([GEN, kind, str(out), *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def dump(*args, binary=DUMP, env=None):
    r = subprocess.run([binary, *[str(a) for a in args]], capture_output=True, env=env)
    assert r.returncode >= 0, f"pdma-dump killed by signal {-r.returncode}: {r.stderr!r}"
    return r


def dump_json(path, *extra):
    """(exit code, parsed JSON, stderr) of pdma-dump --json --image PATH."""
    r = dump("--json", "--image", path, *extra)
    return r.returncode, json.loads(r.stdout), r.stderr.decode()


def copy(status, generation, crc, reason, current=False, offset=0, slot=None, other=None):
    """Expected copy report, without the CRC values (see copies_of())."""
    return {"status": status, "generation": generation, "crc": crc, "reason": reason,
            "current": current, "offset": offset, "slot": slot, "other_slot": other}


def copies_of(d):
    keys = ("status", "generation", "crc", "reason", "current", "offset", "slot", "other_slot")
    return [{k: c[k] for k in keys} for c in d["copies"]]


def expected_entries(manifest):
    """pdma-dump's entry objects for the entries the writing core recorded."""
    return [dict(e, phys=manifest["base"] + e["offset"], state_code={
        "allocated": 1, "preserved-unclaimed": 2, "claimed": 3}[e["state"]],
        flag_names=["zero"] if e["flags"] & 1 else []) for e in manifest["entries"]]


# ---- golden images ----------------------------------------------------------


def test_fresh_table_is_consistent(tmp_path):
    """Expect a freshly formatted table to exit 0 with copy A valid at
    generation 1 and current, copy B without magic, no entries and one free
    extent covering the whole data area."""
    img, _ = gen(tmp_path, "fresh")
    rc, d, err = dump_json(img)
    assert rc == 0 and err == ""
    assert d["schema"] == 1
    assert d["source"] == {"kind": "image", "path": str(img), "offset": 0}
    assert d["region"] == REGION
    assert d["device"] is None
    assert (d["result"], d["consistent"], d["problems"]) == ("ok", True, [])
    assert (d["current_copy"], d["generation"], d["adopt_count"]) == ("A", 1, 0)
    assert copies_of(d) == [
        copy("ok", 1, "good", "valid", current=True),
        copy("no_magic", 0, "unchecked", "no table (bad magic)", offset=COPY_SIZE)]
    assert d["copies"][0]["crc_stored"] == d["copies"][0]["crc_computed"]
    assert d["copies"][1]["crc_computed"] is None
    assert d["entries"] == []
    free = RANGE_SIZE - DATA_OFFSET
    assert d["free"] == [{"offset": DATA_OFFSET, "phys": RANGE_START + DATA_OFFSET, "size": free}]
    assert d["totals"] == {"entries": 0, "capacity": CAPACITY, "used_bytes": 0,
                           "free_bytes": free, "free_extents": 1, "largest_free": free,
                           "fragmentation": 1.0}


def test_hundred_entries_listed_exactly(tmp_path):
    """Expect all 100 entries of a table written by the core (allocs, frees,
    an adoption, claims, new allocs) with the exact fields the core recorded,
    in slot order, and 10 allocated, 30 claimed, 60 preserved-unclaimed."""
    img, m = gen(tmp_path, "many")
    rc, d, _ = dump_json(img)
    assert rc == 0
    assert len(d["entries"]) == 100
    assert d["entries"] == expected_entries(m)
    states = [e["state"] for e in d["entries"]]
    assert (states.count("allocated"), states.count("claimed"),
            states.count("preserved-unclaimed")) == (10, 30, 60)
    assert sum(e["flag_names"] == ["zero"] for e in d["entries"]) == 10


def test_hundred_entries_generation_counts_every_commit(tmp_path):
    """Expect generation 152 (format 1 + 100 allocs + 10 frees + 1 adoption
    + 30 claims + 10 allocs) in copy B, and the older copy A valid at 151."""
    img, m = gen(tmp_path, "many")
    rc, d, _ = dump_json(img)
    assert rc == 0
    assert (d["current_copy"], d["generation"], d["adopt_count"]) == ("B", 152, 1)
    assert m["generation"] == 152
    assert copies_of(d) == [copy("ok", 151, "good", "valid"),
                            copy("ok", 152, "good", "valid", current=True, offset=COPY_SIZE)]


def test_free_extents_and_entries_tile_the_data_area(tmp_path):
    """Expect entries and free extents to cover the data area exactly once,
    and totals (used, free, extents, largest, fragmentation = largest free /
    free bytes) to match them."""
    img, _ = gen(tmp_path, "many")
    _, d, _ = dump_json(img)
    spans = sorted([(e["offset"], e["size"]) for e in d["entries"]] +
                   [(f["offset"], f["size"]) for f in d["free"]])
    pos = DATA_OFFSET
    for off, size in spans:
        assert off == pos, f"gap or overlap at {pos:#x}"
        pos += size
    assert pos == RANGE_SIZE
    for f in d["free"]:
        assert f["phys"] == RANGE_START + f["offset"]
    free = sum(f["size"] for f in d["free"])
    largest = max(f["size"] for f in d["free"])
    assert d["totals"] == {
        "entries": 100, "capacity": CAPACITY,
        "used_bytes": sum(e["size"] for e in d["entries"]), "free_bytes": free,
        "free_extents": len(d["free"]), "largest_free": largest,
        "fragmentation": round(largest / free, 6)}
    assert len(d["free"]) > 1


def test_copy_a_corrupt_falls_back_to_copy_b(tmp_path):
    """Expect a flipped byte in the current copy A to be reported as bad CRC
    with both CRC values, copy B (generation 2, one entry) to be current,
    and exit 1."""
    img, m = gen(tmp_path, "copy-a-corrupt")
    rc, d, err = dump_json(img)
    assert rc == 1
    assert m["current_copy"] == "A" and m["generation"] == 3
    assert (d["result"], d["consistent"]) == ("ok", False)
    assert (d["current_copy"], d["generation"]) == ("B", 2)
    assert copies_of(d) == [copy("bad_crc", 3, "bad", "bad crc32c"),
                            copy("ok", 2, "good", "valid", current=True, offset=COPY_SIZE)]
    a = d["copies"][0]
    assert a["crc_stored"] != a["crc_computed"]
    why = f"copy A: bad crc32c (stored {a['crc_stored']:#010x}, computed {a['crc_computed']:#010x})"
    assert d["problems"] == [why]
    assert err == f"pdma-dump: {img}: {why}\n"
    assert [e["name"] for e in d["entries"]] == ["a"]


def test_both_copies_corrupt_lists_nothing(tmp_path):
    """Expect both copies damaged to give result corrupt, bad CRC on both,
    no current copy, no entries and exit 1."""
    img, _ = gen(tmp_path, "both-corrupt")
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert (d["result"], d["consistent"], d["current_copy"], d["generation"]) == \
        ("corrupt", False, None, None)
    assert copies_of(d) == [copy("bad_crc", 3, "bad", "bad crc32c"),
                            copy("bad_crc", 2, "bad", "bad crc32c", offset=COPY_SIZE)]
    assert (d["entries"], d["free"], d["totals"]) == ([], [], None)
    assert d["problems"][0] == "no valid copy: the table is corrupt"
    assert [p[:20] for p in d["problems"][1:]] == ["copy A: bad crc32c (", "copy B: bad crc32c ("]


def test_overlapping_entry_names_both_slots(tmp_path):
    """Expect an entry moved onto another and resealed to fail only the
    overlap check, in both copies, naming slots 0 and 1, CRC good, exit 1."""
    img, _ = gen(tmp_path, "overlap")
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert d["result"] == "corrupt"
    assert copies_of(d) == [
        copy("overlap", 3, "good", "overlapping entries", slot=0, other=1),
        copy("overlap", 4, "good", "overlapping entries", offset=COPY_SIZE, slot=0, other=1)]
    assert d["problems"] == ["no valid copy: the table is corrupt",
                             "copy A: overlapping entries (slots 0 and 1)",
                             "copy B: overlapping entries (slots 0 and 1)"]


def test_entry_past_region_end_names_its_slot(tmp_path):
    """Expect an entry resealed to straddle the region end to be rejected as
    out of range at slot 1 in both copies, CRC good, exit 1."""
    img, _ = gen(tmp_path, "past-end")
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert copies_of(d) == [
        copy("bad_entry", 3, "good", "entry field out of range", slot=1),
        copy("bad_entry", 4, "good", "entry field out of range", offset=COPY_SIZE, slot=1)]
    assert d["problems"][1:] == ["copy A: entry field out of range (slot 1)",
                                 "copy B: entry field out of range (slot 1)"]


def test_copy_a_wiped_is_found_through_copy_b(tmp_path):
    """Expect an image whose copy A is zeroed to be read with the region
    recorded in copy B, found by its position, all 100 entries listed, and
    exit 1 for the missing copy A."""
    img, m = gen(tmp_path, "many")
    with open(img, "r+b") as f:
        f.write(bytes(COPY_SIZE))
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert d["region"] == dict(REGION, **{"from": "copy B header"})
    assert d["current_copy"] == "B"
    assert d["copies"][0]["status"] == "no_magic"
    assert d["entries"] == expected_entries(m)
    assert d["problems"] == ["copy A: no table (bad magic)"]


def test_impossible_region_in_copy_a_header_uses_copy_b(tmp_path):
    """Expect a copy A header recording an unaligned base to be judged bad
    CRC, and the region of copy B to be used, with exit 1."""
    img, _ = gen(tmp_path, "many")
    with open(img, "r+b") as f:
        f.seek(24)  # region_base
        f.write((0x123).to_bytes(8, "little"))
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert d["region"]["from"] == "copy B header"
    assert d["region"]["base"] == RANGE_START
    assert (d["current_copy"], d["copies"][0]["status"]) == ("B", "bad_crc")
    assert len(d["entries"]) == 100


def test_names_are_escaped_in_json_and_text(tmp_path):
    """Expect names with a quote, a backslash, a space and braces to come
    out of --json as valid JSON and in the text table with the backslash
    as \\x5c."""
    img, _ = gen(tmp_path, "names")
    rc, d, _ = dump_json(img)
    assert rc == 0
    assert [e["name"] for e in d["entries"]] == ['q"uote', "back\\slash", "sp ace", "~{}"]
    text = dump("--image", img).stdout.decode()
    assert [ln.split("allocated")[1].split()[-1] for ln in text.splitlines()
            if " allocated " in ln][:2] == ['q"uote', "back\\x5cslash"]


def test_name_with_escape_byte_is_corrupt(tmp_path):
    """Expect a CRC-valid table whose entry name holds an ESC byte to be
    reported corrupt (bad_name in slot 1 of both copies), exit 1."""
    img, _ = gen(tmp_path, "escape-name")
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert d["result"] == "corrupt"
    assert [(c["status"], c["slot"]) for c in d["copies"]] == [("bad_name", 1), ("bad_name", 1)]


def test_generation_of_2_63_or_more_is_corrupt(tmp_path):
    """Expect CRC-valid copies with generations U64_MAX - 1 and 2^63 to be
    reported corrupt (bad_header), never adopted, exit 1."""
    img, _ = gen(tmp_path, "huge-gen")
    rc, d, _ = dump_json(img)
    assert rc == 1
    assert d["result"] == "corrupt"
    assert [(c["status"], c["crc"]) for c in d["copies"]] == \
        [("bad_header", "good"), ("bad_header", "good")]


def test_table_only_image_is_enough(tmp_path):
    """Expect an image holding only the table area (no data pages) to dump
    exactly like the whole region."""
    whole, _ = gen(tmp_path, "many")
    part = tmp_path / "part.img"
    subprocess.run([GEN, "many", str(part), "--table-only"], check=True, capture_output=True)
    assert os.path.getsize(part) == DATA_OFFSET
    rc, d, _ = dump_json(part)
    assert rc == 0
    _, w, _ = dump_json(whole)
    assert dict(d, source=None) == dict(w, source=None)


def test_offset_skips_leading_bytes(tmp_path):
    """Expect --offset N to read the region N bytes into the file, as in a
    dump of physical memory, with the same result as the bare image."""
    img, _ = gen(tmp_path, "many")
    lead = 0x5000
    padded = tmp_path / "padded.img"
    padded.write_bytes(random.Random(5).randbytes(lead) + img.read_bytes())
    rc, d, _ = dump_json(padded, "--offset", hex(lead))
    assert rc == 0
    assert d["source"] == {"kind": "image", "path": str(padded), "offset": lead}
    _, w, _ = dump_json(img)
    assert dict(d, source=None) == dict(w, source=None)


def test_base_override_reports_region_mismatch(tmp_path):
    """Expect --base other than the recorded base to make copy A (CRC good)
    a region mismatch, the result mismatch, and exit 1."""
    img, _ = gen(tmp_path, "fresh")
    rc, d, _ = dump_json(img, "--base", "0x40000000")
    assert rc == 1
    assert d["region"] == dict(REGION, base=0x40000000, **{"from": "options"})
    assert d["result"] == "mismatch"
    assert copies_of(d)[0] == copy("region_mismatch", 1, "good",
                                   "region base or size differs from configured")


def test_capacity_override_reports_capacity_mismatch(tmp_path):
    """Expect --capacity 512 on a 1024-slot table to stop copy A before its
    CRC (capacity mismatch, CRC unchecked) and exit 1."""
    img, _ = gen(tmp_path, "fresh")
    rc, d, _ = dump_json(img, "--capacity", "512")
    assert rc == 1
    assert d["region"]["capacity"] == 512
    assert d["result"] == "mismatch"
    assert copies_of(d)[0] == copy("capacity_mismatch", 1, "unchecked",
                                   "capacity differs from configured")


def test_text_report_by_default(tmp_path):
    """Expect the default output to be a readable table: region line, one
    line per copy, entries with name, state, offset, phys, size, align,
    flags and generation, free extents, totals and the verdict."""
    img, _ = gen(tmp_path, "copy-a-corrupt")
    r = dump("--image", img)
    assert r.returncode == 1
    lines = r.stdout.decode().splitlines()
    assert lines[0] == f"source    image {img}"
    assert lines[1] == ("region    base 0x30000000  size 0x4000000 (64 MiB)  capacity 1024  "
                        "copy size 0x21000  data offset 0x42000  (from copy A header)")
    assert lines[2].startswith("copy A    at 0         generation 3      crc bad       bad crc32c (stored 0x")
    assert lines[3] == "copy B    at 0x21000   generation 2      crc good      valid, current"
    assert lines[4] == "table     ok: copy B current, generation 2, adopted 0 time(s)"
    assert lines[6] == "1 entries (1024 slots)"
    assert lines[7].split() == ["slot", "state", "offset", "phys", "size", "align", "flags",
                                "gen", "name"]
    assert lines[8].split() == ["0", "allocated", "0x42000", "0x30042000", "4096", "0x1000",
                                "-", "2", "a"]
    assert lines[10] == "1 free extents"
    assert lines[12].split() == ["0x43000", "0x30043000", str(RANGE_SIZE - DATA_OFFSET - 4096)]
    assert lines[14].startswith("totals    1 entries, 4096 bytes used; ")
    assert lines[15] == "verdict   CORRUPT OR INCONSISTENT"
    assert lines[16].startswith("  - copy A: bad crc32c (stored 0x")


@pytest.mark.parametrize("kind,want", [("fresh", 0), ("both-corrupt", 1)])
def test_quiet_prints_nothing(tmp_path, kind, want):
    """Expect --quiet to print nothing on stdout or stderr, only the exit
    code (0 consistent, 1 corrupt)."""
    img, _ = gen(tmp_path, kind)
    r = dump("--quiet", "--image", img)
    assert (r.returncode, r.stdout, r.stderr) == (want, b"", b"")


def test_quiet_io_error_prints_nothing(tmp_path):
    """Expect --quiet with a missing file to exit 2 silently."""
    r = dump("--quiet", "--image", tmp_path / "missing.img")
    assert (r.returncode, r.stdout, r.stderr) == (2, b"", b"")


def test_missing_image_exit_2_names_file_and_reason(tmp_path):
    """Expect a missing image to exit 2 with the path and the errno text."""
    path = tmp_path / "missing.img"
    r = dump("--json", "--image", path)
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode() == f"pdma-dump: {path}: No such file or directory\n"


def test_device_that_is_not_pdma_exit_2():
    """Expect a device that does not answer PDMA_IOC_INFO (/dev/null) to
    exit 2 naming the device and the ioctl's error."""
    r = dump("/dev/null")
    assert r.returncode == 2
    assert r.stderr.decode() == \
        "pdma-dump: /dev/null: PDMA_IOC_INFO: Inappropriate ioctl for device\n"


@pytest.mark.parametrize("args", [
    ["--bogus"], ["--offset", "4096"], ["--image", "x", "/dev/pdma"], ["--image"],
    ["--image", "x", "--offset", "12Q"], ["--image", "x", "--capacity", "0"],
    ["--image", "x", "--base", "0x1001"], ["/dev/pdma", "/dev/pdma"]],
    ids=["unknown-option", "offset-without-image", "image-and-device", "image-without-file",
         "bad-number", "capacity-zero", "unaligned-base", "two-devices"])
def test_usage_errors_exit_2(args):
    """Expect every malformed command line to exit 2 with a usage message."""
    r = dump(*args)
    assert r.returncode == 2 and r.stdout == b""
    assert b"usage: pdma-dump" in r.stderr


# ---- robustness on arbitrary bytes ---------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 127, 128, 4095, 4096, COPY_SIZE, DATA_OFFSET - 1])
def test_truncated_image_exit_2(tmp_path, length):
    """Expect an image cut short of the table area it describes (or of one
    page) to exit 2 with "truncated" and the path, under ASan too."""
    img, _ = gen(tmp_path, "many")
    cut = tmp_path / "cut.img"
    cut.write_bytes(img.read_bytes()[:length])
    for binary, env in ((DUMP, None), (DUMP_SAN, SAN_ENV)):
        r = dump("--image", cut, binary=binary, env=env)
        assert r.returncode == 2, r.stderr
        assert r.stderr.decode().startswith(f"pdma-dump: {cut}: truncated: ")


def random_inputs():
    """Seeded inputs: pure noise, noise behind a plausible header, and golden
    images with random byte ranges overwritten."""
    out = []
    for seed in range(12):
        rng = random.Random(seed)
        out.append(("noise", seed, rng.randbytes(rng.choice([5, 4096, 9000, 300000]))))
    for seed in range(12):
        rng = random.Random(100 + seed)
        cap = rng.choice([1, 2, 31, 1024, 0x100000, 0x100001, rng.getrandbits(32)])
        hdr = (MAGIC + (1).to_bytes(4, "little") + (128).to_bytes(4, "little") * 2 +
               cap.to_bytes(4, "little") + rng.randbytes(96))
        body = rng.randbytes(rng.choice([4096 - 128, 2 * COPY_SIZE, 600000]))
        out.append(("header", seed, hdr + body))
    return out


@pytest.mark.parametrize("kind,seed,data", random_inputs(),
                         ids=[f"{k}-{s}" for k, s, _ in random_inputs()])
def test_random_bytes_never_crash(tmp_path, kind, seed, data):
    """Expect arbitrary bytes to exit 1 (no or bad table) or 2 (truncated),
    never with a signal, and no sanitizer report under ASan + UBSan."""
    img = tmp_path / "random.img"
    img.write_bytes(data)
    for binary, env in ((DUMP, None), (DUMP_SAN, SAN_ENV)):
        r = dump("--json", "--image", img, binary=binary, env=env)
        assert r.returncode in (1, 2), (kind, seed, r.returncode, r.stderr[-2000:])
        if r.returncode == 1:
            json.loads(r.stdout)


def test_mutated_golden_images_never_crash(tmp_path):
    """Expect 40 golden images with random byte ranges overwritten (seeded)
    to exit 0, 1 or 2 with valid JSON for 0 and 1, under ASan + UBSan."""
    base, _ = gen(tmp_path, "many", "--table-only")
    golden = base.read_bytes()
    img = tmp_path / "mutated.img"
    for seed in range(40):
        rng = random.Random(1000 + seed)
        data = bytearray(golden)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            n = rng.choice([1, 8, 128, 4096])
            data[at:at + n] = rng.randbytes(min(n, len(data) - at))
        img.write_bytes(data)
        r = dump("--json", "--image", img, binary=DUMP_SAN, env=SAN_ENV)
        assert r.returncode in (0, 1, 2), (seed, r.returncode, r.stderr[-2000:])
        if r.returncode != 2:
            json.loads(r.stdout)


def test_any_flip_in_crc_covered_bytes_exits_1(tmp_path):
    """Expect one flipped bit anywhere in either copy's header or slots (100
    seeded positions) to exit 1 with the other copy current: B with 100
    entries, or A, one commit older, with 99."""
    img, _ = gen(tmp_path, "many", "--table-only")
    golden = img.read_bytes()
    covered = 128 + CAPACITY * 128
    rng = random.Random(77)
    for _ in range(100):
        c = rng.randrange(2)
        at = c * COPY_SIZE + rng.randrange(covered)
        data = bytearray(golden)
        data[at] ^= 1 << rng.randrange(8)
        img.write_bytes(data)
        rc, d, _ = dump_json(img)
        assert rc == 1, f"flip at {at:#x}"
        assert d["current_copy"] == "AB"[1 - c], f"flip at {at:#x}"
        assert len(d["entries"]) == (99 if c else 100), f"flip at {at:#x}"
