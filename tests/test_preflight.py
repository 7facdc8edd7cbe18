# SPDX-License-Identifier: GPL-2.0
"""pdmactl preflight on good and broken setups, in one guest (issue 12, 5).

The guest runs every case in turn and reports each preflight's exit status
and output; each test below asserts one case. The last case of phase 1 is
a good setup, followed by a real kexec that adopts the table. The stock
kernel's loader check (/sys/firmware/memmap) and --load are tested in
test_stock_kernel.py, since the test kernel has no FIRMWARE_MEMMAP.
"""

import pytest

from conftest import RANGE_START, Guest, ok

BDF = "0000:01:00.0"
ABSENT = "0000:09:00.0"
COPY_B = RANGE_START + 0x21000  # copy A is at the base; capacity 1024
MP = "-d memmap"  # pdmavm_next_cmdline arguments that drop our memmap=

# case: (shell run before, pdmavm_next_cmdline arguments, shell run after)
CASES = {
    "good": ("", "", ""),
    "no_memmap": ("", MP, ""),
    "smaller_memmap": ("", MP + " -a memmap=32M\\$0x30000000", ""),
    "other_first_memmap": ("", MP + " -a memmap=16M\\$0x20000000 -a memmap=64M\\$0x30000000", ""),
    "params_match": ("", "-a pdma.base=0x30000000 -a pdma.size=0x4000000", ""),
    "params_wrong": ("", "-a pdma.base=0x31000000 -a pdma.size=0x4000000", ""),
    "params_half": ("", "-a pdma.base=0x30000000", ""),
    "modprobe_wrong": ("mkdir -p /etc/modprobe.d; "
                       "echo 'options pdma base=0x20000000 size=0x4000000' >/etc/modprobe.d/pdma.conf",
                       "", ""),
    "modprobe_overridden": ("", "-a pdma.base=0x30000000 -a pdma.size=0x4000000",
                            "rm /etc/modprobe.d/pdma.conf"),
    "nvme_nothing": (f"pdmactl alloc nvme/{BDF}/state 4K >/dev/null", "", ""),
    "nvme_cmdline_only": ("", f"-a vfio_pci.keep_alive={BDF}", ""),
    "nvme_both": (f"echo 1 >/sys/bus/pci/devices/{BDF}/keep_alive", f"-a vfio_pci.keep_alive={BDF}",
                  ""),
    "nvme_absent": (f"pdmactl alloc nvme/{ABSENT}/state 4K >/dev/null",
                    f"-a vfio_pci.keep_alive={BDF},{ABSENT}",
                    f"pdmactl free nvme/{ABSENT}/state; pdmactl free nvme/{BDF}/state; "
                    f"echo 0 >/sys/bus/pci/devices/{BDF}/keep_alive"),
    "not_loaded": ("pdma_unload", "", ""),
    "table_corrupt": (f"physmem xor {RANGE_START + 0x1000:#x} 0x5a; "
                      f"physmem xor {COPY_B + 0x1000:#x} 0x5a; PDMA_LOAD_KEY=corrupt pdma_load",
                      "", "pdma_unload; PDMA_LOAD_KEY=fixed pdma_load format=1"),
    "good_again": ("pdmactl alloc keep 64K >/dev/null; pdma_buf fill keep 5 >/dev/null", "", ""),
}


def scenario():
    lines = ["phase_1() {", "    pdma_load"]
    for case, (before, args, after) in CASES.items():
        if before:
            lines.append(f"    {before}")
        lines.append(f'    out=$(pdmactl preflight --append "$(pdmavm_next_cmdline {args})" 2>&1)'
                     " && rc=0 || rc=$?")
        lines.append(f'    emit {case}.rc "$rc"')
        lines.append(f'    emit {case}.out "$out"')
        if after:
            lines.append(f"    {after}")
    lines += ["    out=$(pdmactl preflight 2>&1) && rc=0 || rc=$?",
              '    emit current.rc "$rc"', '    emit current.out "$out"',
              "    pdmavm_kexec", "}",
              "phase_2() {", "    pdma_load",
              '    emit state "$(cat /sys/class/misc/pdma/state)"',
              '    emit check "$(pdma_buf check keep 5)"',
              '    out=$(pdmactl preflight 2>&1) && rc=0 || rc=$?',
              '    emit current.rc "$rc"', '    emit current.out "$out"', "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def run(artifacts, tmp_path_factory):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("preflight")),
              timeout=240)
    return ok(g.run(scenario(), phases=2))


def result(run, case, phase=1):
    p = run.phase(phase)
    out = p[f"{case}.out"]
    return p[f"{case}.rc"], [line for line in out.splitlines() if line.startswith("FAIL")], out


def assert_ok(run, case, phase=1):
    rc, fails, out = result(run, case, phase)
    assert rc == "0" and not fails, out
    assert "preflight: ok" in out


def assert_fails(run, case, *needles, check="range", count=None):
    """Expect exit 1, only CHECK problems, and each needle in some line."""
    rc, fails, out = result(run, case)
    assert rc == "1", out
    assert fails and all(f.startswith(f"FAIL {check}:") for f in fails), out
    if count is not None:
        assert len(fails) == count, out
    for n in needles:
        assert any(n in f for f in fails), f"{n!r} not in {fails}"
    assert out.splitlines()[-1].startswith(f"preflight: {len(fails)} problem"), out


def test_good_setup_passes(run):
    """Expect preflight to pass when the next command line is the current one."""
    assert_ok(run, "good")


def test_current_command_line_is_the_default(run):
    """Expect preflight without --append to check /proc/cmdline and pass."""
    assert_ok(run, "current")


def test_good_setup_is_right_the_next_kernel_adopts(run):
    """Expect the kexec after a passing preflight to adopt the table with
    the buffer intact, and preflight to pass again there."""
    p = run.phase(2)
    assert p["load.rc"] == "0" and p["state"] == "adopted", p["load.log"]
    assert p["check"].split()[1:] == ["0", "-1", "-1"], p["check"]
    assert_ok(run, "current", phase=2)


def test_missing_memmap_is_one_line_per_problem(run):
    """Expect no memmap= on the next line to fail twice: not reserved, and no range."""
    assert_fails(run, "no_memmap", "does not reserve 0x30000000-0x33ffffff",
                 "no memmap=SIZE$START and no pdma.base", count=2)


def test_smaller_memmap_is_refused(run):
    """Expect a memmap= that covers only half the range to fail."""
    assert_fails(run, "smaller_memmap", "does not reserve", "takes the first memmap=, 0x30000000+0x2000000")


def test_other_first_memmap_is_refused(run):
    """Expect a reserved range that is not the first memmap= to fail: the
    module's default range would be the other one."""
    assert_fails(run, "other_first_memmap", "takes the first memmap=, 0x20000000+0x1000000", count=1)


def test_matching_module_parameters_pass(run):
    """Expect pdma.base= and pdma.size= equal to the range to pass."""
    assert_ok(run, "params_match")


def test_wrong_module_parameters_are_refused(run):
    """Expect pdma.base= naming another range to fail, with both ranges."""
    assert_fails(run, "params_wrong", "pdma.base=/pdma.size= give 0x31000000+0x4000000",
                 "not the current range 0x30000000+0x4000000", count=1)


def test_half_module_parameters_are_refused(run):
    """Expect pdma.base= without pdma.size= to fail."""
    assert_fails(run, "params_half", "needs both", count=1)


def test_wrong_modprobe_options_are_refused(run):
    """Expect "options pdma base= size=" in /etc/modprobe.d naming another
    range to fail."""
    assert_fails(run, "modprobe_wrong", "modprobe.d options give 0x20000000+0x4000000", count=1)


def test_command_line_parameters_override_modprobe_options(run):
    """Expect pdma.base=/pdma.size= on the command line, which modprobe
    applies after modprobe.d, to win over wrong modprobe.d options."""
    assert_ok(run, "modprobe_overridden")


def test_nvme_record_without_keep_alive_is_refused_twice(run):
    """Expect a pdma-nvme record whose device has neither the keep-alive
    flag nor vfio_pci.keep_alive= on the next line to fail once for each."""
    assert_fails(run, "nvme_nothing", f"lacks vfio_pci.keep_alive={BDF}", "keep-alive flag is off",
                 check="nvme", count=2)


def test_nvme_record_with_the_parameter_only_is_refused(run):
    """Expect the next line's vfio_pci.keep_alive= alone to fail: kexec
    would still clear the device's Bus Master."""
    assert_fails(run, "nvme_cmdline_only", "keep-alive flag is off", check="nvme", count=1)


def test_nvme_record_with_flag_and_parameter_passes(run):
    """Expect the flag set and vfio_pci.keep_alive=BDF on the next line to pass."""
    assert_ok(run, "nvme_both")


def test_nvme_record_of_an_absent_device_is_refused(run):
    """Expect a record naming a device that does not exist to fail."""
    assert_fails(run, "nvme_absent", f"{ABSENT} has a pdma-nvme record but", check="nvme", count=1)


def test_module_not_loaded_is_refused(run):
    """Expect preflight without /dev/pdma to fail with one line saying so."""
    assert_fails(run, "not_loaded", "pdma is not loaded", check="module", count=1)


def test_corrupt_table_is_refused(run):
    """Expect a read-only module (both copies damaged) to fail the table
    check: the state and pdma-dump's verdict."""
    assert_fails(run, "table_corrupt", "read-only-corrupt", "pdma-dump finds the table corrupt",
                 check="table", count=2)


def test_good_again_after_format(run):
    """Expect preflight to pass again once format=1 gave a fresh table."""
    assert_ok(run, "good_again")
