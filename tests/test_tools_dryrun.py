"""Dry-run predicts what really happens: for each change, the twin's predicted adjacency, route and
reachability diff equals the diff observed on the lab after the change is really applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.changeset import ChangeSet
from tools.dryrun import DryRunResult, compare_snapshots, dry_run, pull_snapshot
from tools.session import ToolSession
from tools.testing import lab_inventory
from tools.transaction import run_transaction
from twin_lab.diff import NetworkDiff, diff
from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import Topology, load_preset

USER, PASSWORD = "netops", "dry-pw"

CHANGES = {
    "shutdown core link R1-R2": {"R1": ["interface GigabitEthernet0/0", " shutdown"]},
    "ACL blocks h3 from the h1 LAN": {"R1": ["ip access-list extended BLOCK-H3", " deny ip any host 203.0.113.10",
                                             " permit ip any any", "interface GigabitEthernet0/2",
                                             " ip access-group BLOCK-H3 in"]},
    "OSPF cost on R1-R2": {"R1": ["interface GigabitEthernet0/0", " ip ospf cost 500"]},
    "static route blackholes h1 at R3": {"R3": ["ip route 10.0.1.0 255.255.255.0 Null0"]},
    "passive OSPF on both ends of R2-R3": {"R2": ["router ospf 1", " passive-interface GigabitEthernet0/1"],
                                           "R3": ["router ospf 1", " passive-interface GigabitEthernet0/1"]},
    "eBGP session removed": {"R5": ["router bgp 65002", " no neighbor 10.0.25.1"]},
}
EXPECT = {  # sanity: the cases really exercise adjacency and reachability changes
    "shutdown core link R1-R2": {"adjacencies_lost": [["R1", "R2"]], "reachability_lost": 0},
    "ACL blocks h3 from the h1 LAN": {"adjacencies_lost": [], "reachability_lost": 2},
    "OSPF cost on R1-R2": {"adjacencies_lost": [], "reachability_lost": 0},
    "static route blackholes h1 at R3": {"adjacencies_lost": [], "reachability_lost": 6},
    "passive OSPF on both ends of R2-R3": {"adjacencies_lost": [["R2", "R3"]], "reachability_lost": 0},
    "eBGP session removed": {"adjacencies_lost": [["R2", "R5"]], "reachability_lost": 16},
}


@pytest.fixture
def lab() -> Iterator[tuple[LabThread, Topology, ToolSession]]:
    topology = load_preset("small")
    server = LabServer(Network(topology), credentials=Credentials(USER, PASSWORD))
    with LabThread(server) as running, \
            ToolSession(lab_inventory(server.ports, username=USER, password=PASSWORD)) as session:
        yield running, topology, session


def summary(result: DryRunResult | NetworkDiff, routes: bool = True) -> dict:
    out = {
        "reachability_lost": sorted(map(tuple, result.reachability_lost)),
        "reachability_gained": sorted(map(tuple, result.reachability_gained)),
        "adjacencies_lost": sorted(a.key() for a in result.adjacencies_lost),
        "adjacencies_gained": sorted(a.key() for a in result.adjacencies_gained),
    }
    if routes:
        out["routes"] = sorted((r.device, r.prefix, r.change) for r in result.routes)
    return out


@pytest.mark.parametrize("name", list(CHANGES))
def test_dry_run_predicts_the_lab(lab, name: str) -> None:
    running, topology, session = lab
    change = ChangeSet(intent=name, changes=CHANGES[name])
    predicted = dry_run(session, change, topology=topology)
    assert predicted.ok and predicted.link_source == "topology" and not predicted.unmodelled
    assert predicted.devices_changed == list(CHANGES[name])
    for device in CHANGES[name]:
        assert predicted.config_diffs[device].startswith(f"--- {device} (before)")
    policy = predicted.to_policy_dry_run()
    assert policy.adjacencies_lost == EXPECT[name]["adjacencies_lost"]
    assert len(policy.reachability_lost) == EXPECT[name]["reachability_lost"]

    before = running.call(running.server.network.fork)
    result = run_transaction(session, change)
    assert result.status == "committed", result.error
    after = running.call(running.server.network.fork)
    observed = diff(before, after)
    assert observed.devices_changed == predicted.devices_changed  # nothing but the change (no NAPALM residue)
    assert summary(predicted) == summary(observed)


def test_dry_run_without_topology_uses_lldp_and_matches_observed(lab) -> None:
    """Against devices alone (no topology): links from LLDP, end hosts from ARP on LAN ports; the observed
    diff is computed by pulling the network again through the same builder."""
    _running, _topology, session = lab
    change = ChangeSet(changes={"R3": ["interface GigabitEthernet0/2", " shutdown"]})
    snapshot = pull_snapshot(session)
    assert snapshot.link_source == "lldp" and len(snapshot.links) == 6
    assert {n: (h.ip, h.attach) for n, h in snapshot.hosts.items()} == {
        "host-10.0.1.10": ("10.0.1.10/24", "R1:GigabitEthernet0/2"),
        "host-10.0.4.10": ("10.0.4.10/24", "R4:GigabitEthernet0/1"),
        "host-203.0.113.10": ("203.0.113.10/24", "R6:GigabitEthernet0/1")}
    predicted = dry_run(session, change, snapshot=snapshot)
    assert predicted.adjacency_pairs() == [["R3", "R4"]] and predicted.reachability_lost
    assert all(("R4:Loopback0" in pair or "host-10.0.4.10" in pair) for pair in predicted.reachability_lost)
    assert any("host-10.0.4.10" in pair for pair in predicted.reachability_lost)
    assert run_transaction(session, change).status == "committed"
    observed = compare_snapshots(snapshot, pull_snapshot(session))
    assert summary(predicted) == summary(observed)


def test_dry_run_reports_config_errors_and_unknown_devices(lab) -> None:
    _running, topology, session = lab
    change = ChangeSet(changes={"R1": ["interface GigabitEthernet0/0", " ip address 10.0.12.1", " shutdown"],
                                "R9": ["hostname R9"]})
    predicted = dry_run(session, change, topology=topology)
    assert not predicted.ok
    errors = {(e.device, e.lineno) for e in predicted.config_errors}
    assert ("R1", 2) in errors and ("R9", None) in errors
    assert predicted.adjacency_pairs() == [["R1", "R2"]]  # the valid lines still apply


def test_subnet_inference_without_lldp(lab) -> None:
    from tools.dryrun import subnet_links

    _running, topology, session = lab
    snapshot = pull_snapshot(session, lldp=False)
    assert snapshot.link_source == "subnets"
    expected = {frozenset(map(str, link)) for link in topology.links}
    assert {frozenset(link) for link in subnet_links(snapshot.configs)} == expected
