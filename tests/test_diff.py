"""diff(before, after): the Batfish-style differential analysis a dry-run reports."""

from __future__ import annotations

import random

import pytest

from twin_lab import diff as diffmod
from twin_lab.addressing import int_to_ip
from twin_lab.diff import diff, reachability_endpoints, route_text
from twin_lab.generator import generate_topology
from twin_lab.network import Network
from twin_lab.topology import load_preset


@pytest.fixture(scope="module")
def small() -> Network:
    network = Network(load_preset("small"))
    _ = network.control_plane
    return network


def test_no_change_is_an_empty_diff(small):
    assert diff(small, small.fork()).empty


def test_mtu_mismatch_reports_adjacency_routes_and_reachability(small):
    candidate = small.fork()
    candidate.apply("R3", ["interface GigabitEthernet0/2", " ip mtu 1400"])
    change = diff(small, candidate)
    assert change.devices_changed == ["R3"]
    assert "+ ip mtu 1400" in change.config_diffs["R3"]
    assert [(a.protocol, a.a, a.b) for a in change.adjacencies_lost] == [
        ("ospf", "R3:GigabitEthernet0/2", "R4:GigabitEthernet0/0")]
    lost = {(r.device, r.prefix) for r in change.routes if r.change == "lost"}
    assert ("R1", "10.0.4.0/24") in lost and ("R4", "0.0.0.0/0") in lost
    assert ("h1", "h2") in change.reachability_lost and ("h3", "h2") in change.reachability_lost
    assert ("R1:Loopback0", "h2") in change.reachability_lost


def test_host_pairs_are_in_scope(small):
    candidate = small.fork()
    candidate.apply("R1", ["interface GigabitEthernet0/2", " shutdown"])
    change = diff(small, candidate)
    assert ("h1", "h3") in change.reachability_lost and ("h3", "h1") in change.reachability_lost
    assert not change.adjacencies_lost


def test_gains_are_reported(small):
    broken = small.fork()
    broken.apply("R2", ["router bgp 65001", " no neighbor 10.0.25.2"])
    change = diff(broken, small)
    assert any(a.protocol == "bgp" for a in change.adjacencies_gained)
    assert ("h1", "h3") in change.reachability_gained


def test_physical_link_down_is_a_state_change(small):
    candidate = small.fork()
    candidate.set_link("R1", "Gi0/0", up=False)
    change = diff(small, candidate)
    assert not change.devices_changed  # no config changed
    assert {(a.a, a.b) for a in change.adjacencies_lost} == {("R1:GigabitEthernet0/0", "R2:GigabitEthernet0/0")}
    changed = {(r.device, r.prefix) for r in change.routes if r.change == "changed"}
    assert ("R1", "2.2.2.2/32") in changed  # now via R3


def _reference_routes(before: Network, after: Network) -> list[tuple[str, str]]:
    found = []
    for device in after.device_names():
        old = {(r.net, r.plen): route_text(r) for r in before.routes(device)}
        new = {(r.net, r.plen): route_text(r) for r in after.routes(device)}
        found += [(device, f"{int_to_ip(k[0])}/{k[1]}") for k in set(old) | set(new) if old.get(k) != new.get(k)]
    return sorted(found)


@pytest.mark.parametrize("preset", ["small", "gen-60"])
def test_fast_route_diff_equals_full_comparison(preset):
    """The array fast path must find exactly the routes a full table comparison finds."""
    topology = load_preset(preset)
    base = Network(topology)
    rng = random.Random(7)
    for _trial in range(12):
        device = rng.choice(base.device_names())
        interfaces = [i for i in base.config(device).interfaces if not i.startswith("Loopback")]
        itf = rng.choice(interfaces)
        lines = rng.choice([[f"interface {itf}", " shutdown"], [f"interface {itf}", f" ip ospf cost {rng.randint(2, 90)}"],
                            ["no router ospf 1"], [f"interface {itf}", " ip mtu 1400"],
                            ["ip route 0.0.0.0 0.0.0.0 Null0"], [f"interface {itf}", " no ip address"]])
        candidate = base.fork()
        candidate.apply(device, lines)
        got = sorted((r.device, r.prefix) for r in diff(base, candidate, reachability=False).routes)
        assert got == _reference_routes(base, candidate), (device, lines)


def test_incremental_reachability_equals_fresh_computation():
    base = Network(generate_topology(80))
    points, _scope = reachability_endpoints(base)
    before = base.reachability(points)
    for device, lines in [("R21", ["interface GigabitEthernet0/0", " shutdown"]),
                          ("R1", ["no router ospf 1"]),
                          ("R41", ["interface GigabitEthernet0/2", " ip address 10.9.9.1 255.255.255.0"])]:
        candidate = base.fork()
        candidate.apply(device, lines)
        change = diff(base, candidate)
        fresh = Network(base.topology, {d: candidate.config(d) for d in candidate.device_names()})
        after = fresh.reachability(points)
        assert change.reachability_lost == sorted(k for k, ok in before.items() if ok and not after[k])
        assert change.reachability_gained == sorted(k for k, ok in after.items() if ok and not before[k])


def test_large_networks_limit_reachability_to_hosts():
    network = Network(generate_topology(100))
    points, scope = reachability_endpoints(network)
    assert scope == "hosts" and len(points) == len(network.topology.hosts)
    assert len(network.endpoints()) > diffmod.MAX_FULL_ENDPOINTS
