# SPDX-License-Identifier: GPL-2.0
"""A pdma init that fails late leaves the table exactly as it was.

The adoption commit is the module's first store into the range, so it must
come after the last step of init that can fail (module v2 review finding
11). tests/guest/kmod/pdma_squat.ko takes the misc device name "pdma", so
pdma's misc_register() fails; the range is then compared byte for byte
(FNV-1a through /dev/mem, with pdma unloaded) before and after.

With the adoption moved back before misc_register(), as in commit
3b74db6, this test fails: "the failed init wrote into the table".
"""

from conftest import RANGE_START, ok

# The A/B table copies and the start of the data area.
TABLE_SPAN = 1 << 20

SCENARIO = f"""
table_sum() {{ physmem sum {RANGE_START:#x} {TABLE_SPAN:#x}; }}
phase_1() {{
    pdma_load
    pdmactl alloc keep 64K >/dev/null
    pdma_buf fill keep 5 >/dev/null
    emit keep "$(pdma_buf sum keep)"
    rmmod pdma
    emit before "$(table_sum)"
    insmod /lib/modules/pdma_squat.ko
    emit squat.rc "$?"
    PDMA_LOAD_KEY=squatted pdma_load
    emit squatted.loaded "$(grep -c '^pdma ' /proc/modules)"
    emit after "$(table_sum)"
    rmmod pdma_squat
    pdma_load
    emit state "$(cat /sys/class/misc/pdma/state)"
    emit list "$(pdmactl list | awk '{{print $1}}')"
    emit keep.after "$(pdma_buf sum keep)"
}}
"""


def test_failed_misc_register_leaves_table_untouched(guest):
    """Expect insmod pdma to fail with EBUSY, never EEXIST (which modprobe
    takes for "already loaded" and exits 0), and an actionable log line
    naming misc_register()'s EEXIST while another module holds the name
    "pdma", the table's bytes to be unchanged by that attempt, and the next
    load to adopt the table with the buffer intact."""
    g = guest(allow_splat=r"sysfs: cannot create duplicate filename|Call Trace:")
    p = ok(g.run(SCENARIO, phases=1)).phase(1)
    assert p["load.rc"] == "0", p["load.err"]
    assert p["squat.rc"] == "0"
    assert p["squatted.rc"] != "0", "pdma loaded although its name was taken"
    assert "Device or resource busy" in p["squatted.err"], p["squatted.err"]
    assert "cannot register /dev/pdma (-17)" in p["squatted.log"], p["squatted.log"]
    assert p["squatted.loaded"] == "0"
    assert p["after"] == p["before"], "the failed init wrote into the table"
    assert p["state"] == "adopted", p["load.log"]
    assert p["list"] == "keep"
    assert p["keep.after"] == p["keep"]
