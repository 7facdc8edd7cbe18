# SPDX-License-Identifier: GPL-2.0
"""/dev/pdma node and its read-only sysfs view."""

import re

import pytest

from conftest import RANGE_SIZE, RANGE_START, Guest, ok

ATTRS = ("base", "size", "free", "generation", "entries", "state")


@pytest.fixture(scope="module")
def sysfs_run(artifacts, tmp_path_factory):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("sysfs")))
    attrs = "\n".join(f'    emit attr.{a} "$(cat /sys/class/misc/pdma/{a})"' for a in ATTRS)
    modes = "\n".join(f'    emit mode.{a} "$(stat -c %a /sys/class/misc/pdma/{a})"' for a in ATTRS)
    run = ok(g.run(f"""
phase_1() {{
    pdma_load
    pdmactl alloc one 12K >/dev/null
    pdmactl alloc two 1M --align 1M >/dev/null
{attrs}
{modes}
    emit info "$(pdmactl info)"
    emit dev "$(stat -c '%a %u' /dev/pdma)"
    emit_rc write.rc sh -c 'echo 1 > /sys/class/misc/pdma/free'
}}
""", phases=1))
    return run.phase(1)


def info_field(p, name):
    return re.search(rf"^{name} (\S+)$", p["info"], re.M).group(1)


def test_dev_node_is_root_only(sysfs_run):
    """Expect /dev/pdma to be mode 0600, owned by uid 0."""
    assert sysfs_run["dev"] == "600 0"


def test_sysfs_attributes_are_read_only(sysfs_run):
    """Expect every sysfs attribute but base to be mode 0444 and a write to
    fail."""
    assert all(sysfs_run[f"mode.{a}"] == "444" for a in ATTRS if a != "base")
    assert sysfs_run["write.rc"] != "0"


def test_sysfs_base_is_root_only(sysfs_run):
    """Expect the physical base in sysfs to be mode 0400: only root may
    learn physical addresses."""
    assert sysfs_run["mode.base"] == "400"


def test_sysfs_attributes_match_info(sysfs_run):
    """Expect base, size, free, generation, entries and state in sysfs to
    equal what the INFO ioctl reports."""
    p = sysfs_run
    assert int(p["attr.base"], 16) == RANGE_START == int(info_field(p, "base"), 16)
    assert int(p["attr.size"]) == RANGE_SIZE == int(info_field(p, "size"))
    assert p["attr.free"] == info_field(p, "free")
    assert p["attr.generation"] == info_field(p, "generation")
    assert p["attr.entries"] == info_field(p, "entries") == "2"
    assert p["attr.state"] == info_field(p, "state") == "fresh"
