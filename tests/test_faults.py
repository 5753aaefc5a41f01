"""Fault catalogue: every kind injects an observable fault on the small preset, its fix repairs it,
wrong or partial fixes do not, injection is deterministic and never leaks out of a fork."""

from __future__ import annotations

import pytest

from twin_lab.faults import (
    FaultError,
    FaultNotApplicable,
    FaultSpec,
    InjectedFault,
    apply_fix,
    describe_kinds,
    get_kind,
    inject,
    inject_fault,
    is_repaired,
    list_kinds,
    symptom_present,
)
from twin_lab.network import Network
from twin_lab.topology import Topology, load_preset

# On the small preset R3 resolves eBGP next hops through the OSPF default from R2, so a missing
# next-hop-self changes only the BGP next hop shown, nothing the repair check watches (as on IOS).
NOT_ON_SMALL = {"bgp_missing_next_hop_self"}
KINDS = [k for k in list_kinds() if k not in NOT_ON_SMALL]


@pytest.fixture(scope="module")
def baseline() -> Network:
    return Network(load_preset("small"))


@pytest.fixture(scope="module")
def pristine(baseline):
    return {d: baseline.running_config(d) for d in baseline.device_names()}, set(baseline.link_down)


_INJECTED: dict[tuple[str, int], tuple[Network, InjectedFault]] = {}


def injected(baseline: Network, kind: str, seed: int = 0) -> tuple[Network, InjectedFault]:
    """One injection per (kind, seed), shared by the tests; callers fork before mutating."""
    key = (kind, seed)
    if key not in _INJECTED:
        network = baseline.fork()
        _INJECTED[key] = (network, inject_fault(network, kind, seed=seed))
    return _INJECTED[key]


def test_catalogue_covers_the_issue():
    kinds = list_kinds()
    assert len(KINDS) >= 15
    for required in ("link_down", "interface_shutdown", "wrong_ip_address", "wrong_subnet_mask", "ospf_area_mismatch",
                     "ospf_passive_interface", "ospf_mtu_mismatch", "ospf_hello_mismatch", "ospf_missing_network",
                     "bgp_wrong_remote_as", "bgp_missing_network", "bgp_missing_next_hop_self", "acl_block_flow",
                     "static_route_missing", "static_route_wrong", "duplicate_address", "default_route_wrong"):
        assert required in kinds
    assert set(describe_kinds()) == set(kinds)
    assert {get_kind(k).component for k in kinds} == {"link", "interface", "ospf", "bgp", "acl", "static"}


@pytest.mark.parametrize("kind", KINDS)
def test_inject_breaks_and_fix_repairs(baseline, kind):
    network, fault = injected(baseline, kind)
    assert fault.kind == kind and fault.description and fault.symptom.summary
    assert fault.lines or fault.links
    assert fault.fix_hint or fault.fix_links
    assert fault.symptom.observable
    assert symptom_present(network, fault)
    broken = is_repaired(baseline, network, fault)
    assert not broken.repaired and not broken.symptom_gone
    assert broken.regressions and broken.remaining

    fixed = network.fork()
    assert apply_fix(fixed, fault) == []
    check = is_repaired(baseline, fixed, fault)
    assert check.repaired, check
    assert check.symptom_gone and check.regressions == [] and check.remaining == []


@pytest.mark.parametrize("kind", KINDS)
def test_fix_on_the_wrong_device_does_not_repair(baseline, kind):
    network, fault = injected(baseline, kind)
    wrong = network.fork()
    other = next(d for d in wrong.device_names() if d not in fault.devices)
    for lines in fault.fix_hint.values():
        wrong.apply(other, lines)  # errors expected: the lines do not fit that device
    for change in fault.fix_links:  # re-plug some other cable instead
        far = next(f"{a.device}:{a.interface}" for a, _b in wrong.topology.links
                   if f"{a.device}:{a.interface}" != f"{change.device}:{change.interface}")
        wrong.set_link(*far.split(":"), True)
    check = is_repaired(baseline, wrong, fault)
    assert not check.repaired and not check.symptom_gone


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_confined_to_the_fork(baseline, pristine, kind):
    _network, fault = injected(baseline, kind)
    child = baseline.fork()
    again = inject_fault(child, kind, seed=0)
    assert again.model_dump() == fault.model_dump()
    assert InjectedFault.model_validate_json(fault.model_dump_json()) == fault
    configs, links = pristine
    assert {d: baseline.running_config(d) for d in baseline.device_names()} == configs
    assert baseline.link_down == links
    assert not symptom_present(baseline, fault)


def test_seed_chooses_among_targets(baseline):
    targets = {inject_fault(baseline.fork(), "interface_shutdown", seed=s).target for s in range(6)}
    assert len(targets) > 1
    spec = FaultSpec(kind="ospf_hello_mismatch", target="R3:Gi0/2", seed=4)
    fault = inject(baseline.fork(), spec)
    assert (fault.target, fault.device, fault.interface) == ("R3:GigabitEthernet0/2", "R3", "GigabitEthernet0/2")
    assert fault.peer_device == "R4" and fault.component == "ospf"


def test_errors(baseline):
    with pytest.raises(FaultError, match="unknown fault kind"):
        inject_fault(baseline.fork(), "no_such_fault")
    with pytest.raises(FaultError, match="not a candidate"):
        inject_fault(baseline.fork(), "link_down", target="R9:Gi0/0")
    with pytest.raises(FaultNotApplicable):
        inject_fault(baseline.fork(), "bgp_missing_next_hop_self")


# --- repairs worded differently from the injection are judged by state ------------------------


def _repaired(baseline, kind, target, lines_by_device, seed=0):
    network = baseline.fork()
    fault = inject_fault(network, kind, target=target, seed=seed)
    assert fault.symptom.observable
    for device, lines in lines_by_device(fault).items():
        assert network.apply(device, lines) == []
    return fault, is_repaired(baseline, network, fault)


def test_mask_fixed_by_readdressing(baseline):
    fault, check = _repaired(baseline, "wrong_subnet_mask", "R3:GigabitEthernet0/2", lambda f: {
        "R3": ["interface GigabitEthernet0/2", " no ip address", " ip address 10.0.34.1 255.255.255.252"]})
    assert "R4" in fault.symptom.summary and check.repaired, check


def test_acl_fixed_by_removing_only_the_entry(baseline):
    network = baseline.fork()
    fault = inject_fault(network, "acl_block_flow", target="h1->h2", seed=0)
    assert fault.device == "R4" and fault.interface == "GigabitEthernet0/0"
    name = fault.lines["R4"][0].split()[-1]
    deny = fault.lines["R4"][1].strip()
    assert network.apply("R4", [f"ip access-list extended {name}", f" no {deny}"]) == []
    assert network.config("R4").interfaces["GigabitEthernet0/0"].acl_in == name  # still applied
    assert is_repaired(baseline, network, fault).repaired


def test_missing_permit_fixed_by_appending(baseline):
    _fault, check = _repaired(baseline, "acl_missing_permit", "R4:GigabitEthernet0/1:out", lambda f: {
        "R4": ["ip access-list extended PROTECT-H2", " permit ip any any"]})
    assert check.repaired, check


def test_missing_network_fixed_on_the_interface(baseline):
    _fault, check = _repaired(baseline, "ospf_missing_network", "R4:Loopback0", lambda f: {
        "R4": ["interface Loopback0", " ip ospf 1 area 1"]})
    assert check.repaired, check


def test_remote_as_fixed_by_recreating_the_neighbor(baseline):
    _fault, check = _repaired(baseline, "bgp_wrong_remote_as", "R2:10.0.25.2", lambda f: {
        "R2": ["router bgp 65001", " no neighbor 10.0.25.2 remote-as 65002" if "65002" not in f.lines["R2"][1]
               else " no neighbor 10.0.25.2 remote-as 65003", " neighbor 10.0.25.2 remote-as 65002",
               " neighbor 10.0.25.2 description AS65002 R5"]})
    assert check.repaired, check


def test_fix_that_breaks_something_else_is_a_regression(baseline):
    network = baseline.fork()
    fault = inject_fault(network, "ospf_mtu_mismatch", target="R3:GigabitEthernet0/2", seed=0)
    apply_fix(network, fault)
    network.apply("R1", ["interface GigabitEthernet0/0", " shutdown"])  # R1-R2: traffic still flows via R3
    check = is_repaired(baseline, network, fault)
    assert check.symptom_gone and not check.repaired
    assert any(r.startswith("OSPF adjacency lost: R1 Gi0/0 - R2") for r in check.regressions)
    assert any(r.startswith("interface down: R1 Gi0/0") for r in check.regressions)


def test_partial_fix_leaves_the_symptom(baseline):
    network = baseline.fork()
    fault = inject_fault(network, "acl_missing_permit", target="R4:GigabitEthernet0/1:out")
    network.apply("R4", ["ip access-list extended PROTECT-H2", " permit icmp host 10.0.1.10 any"])
    assert network.ping("h1", baseline.topology.hosts["h2"].ip).success  # h1 is back, the rest is not
    check = is_repaired(baseline, network, fault)
    assert not check.symptom_gone and not check.repaired
    assert any("still unreachable: h3 -> h2" in r for r in check.remaining)


def test_symptom_speaks_of_effects_not_causes(baseline):
    _network, fault = injected(baseline, "ospf_mtu_mismatch")
    assert "EXSTART" in fault.symptom.summary and "mtu" not in fault.symptom.summary.lower()
    assert "mtu" in fault.description
    _network, fault = injected(baseline, "link_down")
    assert fault.fix_links and fault.fix_links[0].up and not fault.lines


# --- next-hop-self needs an IGP that cannot resolve the eBGP next hop --------------------------

NHS_TOPOLOGY = """
name: nhs
devices:
  A:
    config: |
      hostname A
      interface Loopback0
       ip address 10.255.0.1 255.255.255.255
      interface GigabitEthernet0/0
       ip address 192.0.2.1 255.255.255.252
      interface GigabitEthernet0/1
       ip address 172.16.1.1 255.255.255.0
      router bgp 65010
       network 172.16.1.0 mask 255.255.255.0
       neighbor 192.0.2.2 remote-as 65020
  B:
    config: |
      hostname B
      interface Loopback0
       ip address 10.255.0.2 255.255.255.255
      interface GigabitEthernet0/0
       ip address 192.0.2.2 255.255.255.252
      interface GigabitEthernet0/1
       ip address 10.20.0.1 255.255.255.252
      router ospf 1
       router-id 10.255.0.2
       network 10.255.0.2 0.0.0.0 area 0
       network 10.20.0.0 0.0.0.3 area 0
      router bgp 65020
       neighbor 192.0.2.1 remote-as 65010
       neighbor 10.255.0.3 remote-as 65020
       neighbor 10.255.0.3 update-source Loopback0
       neighbor 10.255.0.3 next-hop-self
  C:
    config: |
      hostname C
      interface Loopback0
       ip address 10.255.0.3 255.255.255.255
      interface GigabitEthernet0/0
       ip address 10.20.0.2 255.255.255.252
      interface GigabitEthernet0/1
       ip address 172.16.3.1 255.255.255.0
      router ospf 1
       router-id 10.255.0.3
       passive-interface GigabitEthernet0/1
       network 10.255.0.3 0.0.0.0 area 0
       network 10.20.0.0 0.0.0.3 area 0
       network 172.16.3.0 0.0.0.255 area 0
      router bgp 65020
       network 172.16.3.0 mask 255.255.255.0
       neighbor 10.255.0.2 remote-as 65020
       neighbor 10.255.0.2 update-source Loopback0
links:
  - [A:Gi0/0, B:Gi0/0]
  - [B:Gi0/1, C:Gi0/0]
hosts:
  hA: {ip: 172.16.1.10/24, gateway: 172.16.1.1, attach: A:Gi0/1}
  hC: {ip: 172.16.3.10/24, gateway: 172.16.3.1, attach: C:Gi0/1}
"""


def test_missing_next_hop_self_where_the_igp_cannot_resolve():
    baseline = Network(Topology.from_yaml_text(NHS_TOPOLOGY))
    assert baseline.ping("hA", baseline.topology.hosts["hC"].ip).success
    network = baseline.fork()
    fault = inject_fault(network, "bgp_missing_next_hop_self", seed=1)
    assert fault.target == "B:10.255.0.3" and fault.peer_device == "C"
    assert any(f.src == "hC" and f.dst == "hA" for f in fault.symptom.unreachable)
    assert not is_repaired(baseline, network, fault).repaired
    apply_fix(network, fault)
    assert is_repaired(baseline, network, fault).repaired


# --- simulator deviations from IOS found while building the catalogue ----------------------------


def test_update_source_on_one_end_is_enough(baseline):
    network = baseline.fork()
    network.apply("R3", ["router bgp 65001", " no neighbor 2.2.2.2 update-source Loopback0"])
    assert any(s.established for s in network.bgp_sessions("R2") if s.peer_ip == 0x03030303)


def test_bgp_session_survives_an_acl_blocking_only_peer_initiated_connections(baseline):
    network = baseline.fork()
    network.apply("R2", ["ip access-list extended ONE-WAY", " deny tcp host 10.0.25.2 any eq bgp",
                         " permit ip any any", "interface GigabitEthernet0/2", " ip access-group ONE-WAY in"])
    assert any(s.established for s in network.bgp_sessions("R2") if s.peer_ip == 0x0A001902)


def test_router_answers_for_its_own_duplicated_address(baseline):
    network = baseline.fork()
    network.apply("R4", ["interface Loopback0", " ip address 5.5.5.5 255.255.255.255"])
    assert network.ping("R4", 0x05050505).success


def test_point_to_point_ospf_ignores_the_hello_mask(baseline):
    network = baseline.fork()
    network.apply("R3", ["interface GigabitEthernet0/2", " ip ospf network point-to-point",
                         " ip address 10.0.34.1 255.255.255.248"])
    network.apply("R4", ["interface GigabitEthernet0/0", " ip ospf network point-to-point"])
    assert [n.state for n in network.ospf_neighbors("R4")] == ["FULL"]
