"""The expert brain diagnoses and repairs every fault kind of the catalogue on the small preset.

One lab per module (the emulator over SSH, real NAPALM/Netmiko read tools); each test restores a fresh
network, injects one fault, runs the expert until ``report_diagnosis``, applies the remediation through
NAPALM merge/commit and checks the repair with the twin (``is_repaired``) and the ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_expert_helpers import Lab, run_brain, running_lab, symptom_prompt

from twin_lab.faults import inject_fault, is_repaired, list_kinds
from twin_lab.network import Network
from twin_lab.scenarios.families import _setup_next_hop_self
from twin_lab.topology import load_preset

# Two-ended faults: either end is a correct answer for the device.
SYMMETRIC = {"link_down"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab("small") as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("kind", list_kinds())
def test_expert_repairs_fault(lab: Lab, kind: str) -> None:
    baseline = Network(load_preset("small"))
    if kind == "bgp_missing_next_hop_self":
        # On stock small the iBGP peer R3 leaves by the OSPF default, so next-hop-self changes nothing
        # visible; the scenario family's set-up (no OSPF default, R1/R4 default to the core) makes it matter.
        for device, lines in _setup_next_hop_self(baseline, "small").items():
            assert not baseline.apply(device, lines)
    network = baseline.fork()
    fault = inject_fault(network, kind, None, seed=0)
    assert not fault.symptom.empty
    lab.reset(network)
    action, report, _messages = run_brain(lab, symptom_prompt(fault), "diagnose")
    assert action == "report_diagnosis", report
    assert report["component"] == fault.component, report
    allowed = {fault.device, fault.peer_device} if kind in SYMMETRIC else {fault.device}
    assert report["device"] in allowed, report
    assert report["evidence"] and report["checks"]
    if fault.component == "link":
        assert report["remediation"] == [] and "field" in report["root_cause"]
        # The diagnosis is right; a (simulated) field technician now re-plugs the cable.
        for change in fault.fix_links:
            lab.thread.call(lab.network.set_link, change.device, change.interface, change.up)
    else:
        assert report["remediation"], report
        for change in report["remediation"]:
            lab.apply(change["device"], change["lines"])
    check = is_repaired(baseline, lab.network, fault)
    assert check.repaired, (report, check)
