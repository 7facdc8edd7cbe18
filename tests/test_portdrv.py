# SPDX-License-Identifier: GPL-2.0
"""Keep-alive servicing with PCIe port services on, as real hosts run them.

Every other guest boots with pcie_ports=compat, because portdrv sets a
bridge's Bus Master bit again at probe and would hide what the kexec
shutdown did to it. Hosts run portdrv (AER, DPC, PCIe hotplug on the root
port), so the keep-alive claims must also hold with it bound: the NVMe
behind the root port resumes on the same queues over two kexec cycles, and
no AER, DPC or hotplug event disturbs the link.
"""

import re

import pytest

from conftest import Guest, ok

BDF = "0000:01:00.0"
KA = f"-d vfio_pci.keep_alive -a vfio_pci.keep_alive={BDF}"
# Event lines, not the services' probe messages ("AER: enabled with IRQ").
LINK_EVENT = re.compile(r"AER: (Corrected|Uncorrected|Multiple)|DPC: containment event|"
                        r"Link Down|Card not present|pcieport .* error", re.I)

SCENARIO = f"""
BDF={BDF}
nv() {{ local key=$1; shift; emit_tool "$key" pdma-nvme "$@"; }}
port_report() {{
    rp=$(basename "$(dirname "$(readlink -f /sys/bus/pci/devices/$BDF)")")
    emit rp "$rp"
    emit rp.driver "$(basename "$(readlink /sys/bus/pci/devices/$rp/driver)")"
    services=""
    for s in /sys/bus/pci_express/devices/$rp:*; do
        services="$services $(basename "$(readlink "$s/driver")")"
    done
    emit services "$services"
    emit klog "$(dmesg)"
}}
phase_1() {{
    port_report
    pdma_load
    nv init init
    nv w1 write 0 --pattern 31 --count 2048
    nv save save
    pdmavm_kexec {KA}
}}
phase_2() {{
    port_report
    pdma_load
    nv restore restore
    nv v1 verify 0 --pattern 31 --count 2048
    nv w2 write 4096 --pattern 32 --count 1024
    nv save save
    pdmavm_kexec {KA}
}}
phase_3() {{
    port_report
    pdma_load
    nv restore restore
    nv v1 verify 0 --pattern 31 --count 2048
    nv v2 verify 4096 --pattern 32 --count 1024
}}
"""


@pytest.fixture(scope="module")
def portdrv_run(artifacts, tmp_path_factory):
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("portdrv")),
              cmdline=["vfio_pci.ids=1b36:0010"], portdrv=True, timeout=240)
    run = ok(g.run(SCENARIO, phases=3))
    for p in run.phases.values():
        assert p["load.rc"] == "0", p["load.err"]
    return run


def nv(phase, key):
    assert phase.get(f"{key}.rc") == "0", f"phase {phase.number} {key}: {phase.get(f'{key}.err')}"
    return phase[key]


def test_root_port_is_bound_to_portdrv_with_services(portdrv_run):
    """Expect the NVMe's root port to be driven by pcieport, with the AER
    and PME services bound, in every kernel of the chain. (QEMU's
    pcie-root-port has no DPC capability, so DPC never binds there.)"""
    for p in portdrv_run.phases.values():
        assert p["rp.driver"] == "pcieport", f"phase {p.number}: {p['rp.driver']}"
        assert {"aer", "pcie_pme"} <= set(p["services"].split()), p["services"]


def test_keep_alive_restore_with_portdrv_resumes_queues(portdrv_run):
    """Expect both restores to take the keep-alive path with 0 admin
    commands and 0 CC writes, and every block written before each kexec to
    read back."""
    for n in (2, 3):
        p = portdrv_run.phase(n)
        r = nv(p, "restore")
        assert (r["path"], r["admin_cmds"], r["cc_writes"]) == ("keep-alive", 0, 0), f"phase {n}"
        nv(p, "v1")
    nv(portdrv_run.phase(3), "v2")


def test_no_aer_dpc_or_hotplug_event_across_kexec(portdrv_run):
    """Expect no AER, DPC or link event in any kernel's boot log, nor on the
    console, which also holds each kexec shutdown."""
    logs = [p["klog"] for p in portdrv_run.phases.values()] + [portdrv_run.console]
    events = [line for log in logs for line in log.splitlines() if LINK_EVENT.search(line)]
    assert not events, "\n".join(events)
