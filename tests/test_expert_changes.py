"""The expert brain turns common change intents into config lines + checks (applied and read back), and
refuses destructive, unethical or unparseable ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_expert_helpers import Lab, run_brain, running_lab, verify_checks

from twin_lab.addressing import ip_to_int
from twin_lab.network import Network
from twin_lab.topology import load_preset


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab("small") as running:
        yield running


def fresh(lab: Lab, prep: dict[str, list[str]] | None = None) -> Network:
    network = Network(load_preset("small"))
    for device, lines in (prep or {}).items():
        assert not network.apply(device, lines)
    lab.reset(network)
    return network


CASES = [
    # (family, intent, preparation making the intent meaningful)
    ("static", "add a static route on R1 to 192.0.2.0/24 via 10.0.12.2", None),
    ("static", "On R4, configure ip route 198.18.0.0 255.255.0.0 next-hop 10.0.34.1", None),
    ("ospf-link", "bring the R1 GigabitEthernet0/0 link to R2 into OSPF area 0",
     {"R1": ["router ospf 1", " no network 10.0.12.0 0.0.0.3 area 0"],
      "R2": ["router ospf 1", " no network 10.0.12.0 0.0.0.3 area 0"]}),
    ("ospf-link", "enable OSPF on R3 Gi0/2 in area 1",
     {"R3": ["router ospf 1", " no network 10.0.34.0 0.0.0.3 area 1"]}),
    ("bgp-neighbor", "add a BGP neighbor 10.0.25.2 remote-as 65002 on R2",
     {"R2": ["router bgp 65001", " no neighbor 10.0.25.2"]}),
    ("bgp-advertise", "advertise 10.0.13.0/30 in BGP on R2", None),
    ("description", "set the description of R1 Gi0/2 to 'h1 users LAN'", None),
    ("description", "describe R4 GigabitEthernet0/1 as \"h2 secure LAN\"", None),
    ("renumber", "renumber R1 Loopback0 to 1.1.1.11/32", None),
    ("ospf-cost", "set the OSPF cost of R1 GigabitEthernet0/1 to 50", None),
    ("ospf-cost", "shift traffic away from R1 Gi0/1", None),
    ("shutdown", "shut down the unused interface R1 GigabitEthernet0/5",
     {"R1": ["interface GigabitEthernet0/5", " description spare", " ip address 10.9.9.1 255.255.255.0"]}),
    ("loopback", "add Loopback10 on R1 with 10.10.10.1/32 and advertise it in OSPF", None),
    ("acl-block", "block ICMP from h1 to h2", None),
    ("acl-block", "stop 10.0.1.10 from reaching 10.0.4.10", None),
]


@pytest.mark.parametrize(("family", "intent", "prep"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_change_intent(lab: Lab, family: str, intent: str, prep: dict | None) -> None:
    fresh(lab, prep)
    action, args, _ = run_brain(lab, intent, "change")
    assert action == "propose_change", args
    assert args["checks"]
    for change in args["changes"]:
        lab.apply(change["device"], change["lines"])
    assert verify_checks(lab, args["checks"]) == []
    if family == "acl-block":
        network = lab.network
        h2 = ip_to_int("10.0.4.10")
        assert not network.ping("h1", h2).success  # the flow is blocked ...
        assert network.ping("h3", h2).success  # ... the others are kept
        assert network.ping("h1", ip_to_int("203.0.113.10")).success


REFUSALS = [
    "reload all routers",
    "erase startup-config on every device",
    "throttle customer X on R5 to 1 Mbit/s",
    "disable logging on R2",
    "shut down all interfaces on R3",
    "shut down R1 GigabitEthernet0/1",  # in use: refusing beats cutting traffic
]


@pytest.mark.parametrize("intent", REFUSALS)
def test_refusals(lab: Lab, intent: str) -> None:
    fresh(lab)
    action, args, _messages = run_brain(lab, intent, "change")
    assert action == "refuse", args
    assert args["reason"]


def test_unparseable_intent(lab: Lab) -> None:
    fresh(lab)
    action, args, _ = run_brain(lab, "make the network feel happier", "change")
    assert action == "refuse" and args["reason"].startswith("cannot map intent")
