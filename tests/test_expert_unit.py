"""Unit tests of the expert's parts on synthetic observations (no lab)."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.actions import action_tools
from agent.brains.expert import ExpertBrain
from agent.expert.diagnose import rules_bgp
from agent.expert.intents import screen_intent
from agent.expert.model import build_model
from agent.expert.state import replay
from agent.expert.symptom import parse_symptom
from twin_lab.network import Network
from twin_lab.topology import load_preset


def test_symptom_phrasings() -> None:
    assert parse_symptom("h1 (10.0.1.10) cannot reach h2 (10.0.4.10)").flows[0].dst.ip == "10.0.4.10"
    assert parse_symptom("R4 has no route to 203.0.113.0/24").routes[0].prefix == "203.0.113.0/24"
    assert parse_symptom("BGP session between R2 and R5 is down").sessions[0].peer == "R5"
    assert parse_symptom("users behind R1 cannot reach the internet").internet[0].device == "R1"
    mixed = parse_symptom("OSPF adjacency not FULL: R1 Gi0/0 - R2 (absent); interface down: R1 Gi0/0, R2 Gi0/0")
    assert [a.peer for a in mixed.adjacencies] == ["R2"] and len(mixed.interfaces) == 2


def test_refusal_screen() -> None:
    assert screen_intent("reload all routers")
    assert screen_intent("please throttle customer ACME on R5")
    assert screen_intent("add a static route on R1 to 192.0.2.0/24 via 10.0.12.2") is None


def _observed(network: Network) -> list:
    """A conversation that already holds list_devices + running-configs of ``network``."""
    messages: list = [HumanMessage("DIAGNOSE: x")]
    calls = [{"name": "list_devices", "args": {}, "id": "a0", "type": "tool_call"}]
    calls += [{"name": "get_running_config", "args": {"device": d}, "id": f"c{i}", "type": "tool_call"}
              for i, d in enumerate(network.device_names())]
    messages.append(AIMessage("", tool_calls=calls))
    messages.append(ToolMessage(json.dumps({"devices": [{"name": d} for d in network.device_names()]}),
                                tool_call_id="a0"))
    for i, device in enumerate(network.device_names()):
        messages.append(ToolMessage(json.dumps({"device": device, "running": network.running_config(device)}),
                                    tool_call_id=f"c{i}"))
    return messages


def test_next_hop_self_rule_on_synthetic_configs() -> None:
    network = Network(load_preset("small"))
    network.apply("R2", ["router bgp 65001", " no neighbor 3.3.3.3 next-hop-self"])
    model = build_model(replay(_observed(network)))
    found = [f for f in rules_bgp(model) if "next-hop-self" in f.root_cause]
    assert found and found[0].device == "R2"
    assert found[0].remediation == {"R2": ["router bgp 65001", " neighbor 3.3.3.3 next-hop-self"]}


def test_brain_calls_only_bound_tools_and_is_stateless() -> None:
    brain = ExpertBrain().bind_tools(action_tools("change"))  # no read tools bound
    reply = brain.invoke([HumanMessage("CHANGE: reload all routers")])
    assert [c["name"] for c in reply.tool_calls] == ["refuse"]
    again = brain.invoke([HumanMessage("CHANGE: reload all routers")])
    assert again.tool_calls == reply.tool_calls


# --- intent phrasings (scenario families: acl_block, ospf_cost, description, renumber) -------------------

def test_parse_block_phrasings():
    from agent.expert.intents import parse_block
    cases = {
        "Security incident INC-4012: block ICMP traffic from 10.0.4.10 to 198.51.100.1; everything else must keep "
        "working.": ("icmp", "10.0.4.10", "198.51.100.1"),
        "Per INC-1, deny all IP from h1 to h3 and leave all other flows alone.": ("ip", "h1", "h3"),
        "Block ping from 10.0.1.10 to 10.0.4.10 (INC-2, compromised host); keep every other flow.":
            ("icmp", "10.0.1.10", "10.0.4.10"),
        "INC-3 (port scanning): stop all traffic from h1 reaching h2 — nothing else may be affected.": ("ip", "h1", "h2"),
    }
    for text, expected in cases.items():
        assert parse_block(text.lower()) == expected, text
    assert parse_block("stop 10.0.1.10 from reaching 10.0.4.10") == ("ip", "10.0.1.10", "10.0.4.10")
    assert parse_block("traffic from 10.0.1.10 to 10.0.4.10 should stop using r2 gi0/0: raise its ospf cost to 100.") \
        is None


def test_ospf_cost_value_phrasings():
    from agent.expert.intents import ospf_cost_value
    assert ospf_cost_value("change ip ospf cost on r2 gi0/0 to 100.") == "100"
    assert ospf_cost_value("set the ospf cost of r2 gigabitethernet0/1 to 50.") == "50"
    assert ospf_cost_value("traffic from 10.0.1.10 to 10.0.4.10 should stop using r2 gi0/0: raise its ospf cost "
                           "to 200.") == "200"
    assert ospf_cost_value("move traffic off r2 gi0/0 (planned work on that link); use the ospf cost.") is None


def test_description_value_phrasings():
    from agent.expert.intents import description_value
    assert description_value("Describe R2 Gi0/2 as 'to R5 (10G upgrade pending)'.") == "to R5 (10G upgrade pending)"
    assert description_value('Label R1 Gi0/1 with "core link R1-R15 circuit CID-1".') == "core link R1-R15 circuit CID-1"
    assert description_value("Set the description of R1 Gi0/3 to 'h1 users LAN'.") == "h1 users LAN"


def test_renumber_trigger_phrasings():
    from agent.expert.intents import _RENUMBER
    for text in ("Renumber R5 Lo1 to 10.254.0.16/32.", "Re-address R5 Loopback1 as 10.254.0.16/32.",
                 "Change the IP address of R8 Gi0/2 to 10.221.8.1 255.255.255.0.",
                 "Move R5 Lo1 to the new address 10.254.0.16/32 (the old one is being returned to the pool)."):
        assert _RENUMBER.search(text.lower()), text
    assert not _RENUMBER.search("add loopback4 on r5 with 10.253.0.5/32 and advertise it in ospf.")


# --- static routes, BGP announcements, MTU, denials ------------------------------------------------------

def test_static_route_phrasings():
    from agent.expert.intents import parse_static_route
    cases = {
        "Please configure ip route 10.200.0.192 255.255.255.240 10.0.0.34 on R9.": ("10.200.0.192/28", "10.0.0.34", None),
        "On R2 add ip route 10.1.0.0 255.255.0.0 GigabitEthernet0/1 250": ("10.1.0.0/16", "GigabitEthernet0/1", 250),
        "Add a static route on R3 to 10.9.0.0/24 via 10.0.0.5.": ("10.9.0.0/24", "10.0.0.5", None),
        "Add a static route on R3 towards 10.9.0.10/24 via 10.0.0.5.": ("10.9.0.0/24", "10.0.0.5", None),
        "On R2 add a static route 10.9.0.0/24 10.0.0.5.": ("10.9.0.0/24", "10.0.0.5", None),
        "R9 needs a static route for 10.200.0.192/28 pointing at 10.0.0.34.": ("10.200.0.192/28", "10.0.0.34", None),
        "Static route on R2 for 10.9.0.0 mask 255.255.255.0 next-hop 10.0.0.5, administrative distance 200.":
            ("10.9.0.0/24", "10.0.0.5", 200),
        "Configure a static route on R5: 10.50.0.0 255.255.255.0 10.0.0.9": ("10.50.0.0/24", "10.0.0.9", None),
        "Add a static route on R1 to 10.1.2.0/24 out GigabitEthernet0/2.": ("10.1.2.0/24", "GigabitEthernet0/2", None),
        "Add a floating static default route on R1 via 203.0.113.1 with distance 250.": ("0.0.0.0/0", "203.0.113.1", 250),
    }
    for text, (prefix, hop, distance) in cases.items():
        parsed = parse_static_route(text)
        assert parsed is not None, text
        assert (str(parsed[0]), parsed[1], parsed[2]) == (prefix, hop, distance), text
    assert parse_static_route("Add a static route on R1.") is None


def _model(network: Network):
    return build_model(replay(_observed(network)))


def test_static_route_intent_without_via_is_planned():
    from agent.expert.intents import plan_change
    network = Network(load_preset("small"))
    plan = plan_change("Please configure ip route 10.200.0.192 255.255.255.240 10.0.0.34 on R2.", _model(network))
    assert isinstance(plan, dict), plan
    assert plan["changes"] == [{"device": "R2", "lines": ["ip route 10.200.0.192 255.255.255.240 10.0.0.34"]}]


def test_announce_wins_over_peer_wording():
    from agent.expert.intents import plan_change
    network = Network(load_preset("small"))
    model = _model(network)
    bgp_device = next(d for d in network.device_names() if network.config(d).bgp is not None)
    asn = network.config(bgp_device).bgp.asn
    for text in (f"Announce the new customer block 10.210.7.0/24 from {bgp_device} to its eBGP peers.",
                 f"Advertise 10.210.7.0/24 to the BGP neighbours of {bgp_device}.",
                 f"Originate 10.210.7.0/24 towards {bgp_device}'s BGP peers."):
        plan = plan_change(text, model)
        assert isinstance(plan, dict), (text, plan)
        assert plan["changes"] == [{"device": bgp_device, "lines": [f"router bgp {asn}",
                                                                    " network 10.210.7.0 mask 255.255.255.0"]}], text
    plan = plan_change(f"Add a BGP neighbour 192.0.2.9 remote-as 65009 on {bgp_device}.", model)
    assert isinstance(plan, dict) and plan["changes"][0]["lines"][1] == " neighbor 192.0.2.9 remote-as 65009"


def test_interface_mtu_mismatch_rule():
    from agent.expert.diagnose import router_links, rules_ospf
    network = Network(load_preset("small"))
    model = _model(network)
    da, ia, _db, _ib = next(router_links(model))
    for command, fix in ((" mtu 9000", " no mtu"), (" ip mtu 1400", " no ip mtu")):
        broken = Network(load_preset("small"))
        assert not broken.apply(da, [f"interface {ia}", command])
        found = [f for f in rules_ospf(_model(broken)) if "MTU" in f.root_cause]
        assert found and found[0].device == da, command
        assert found[0].remediation == {da: [f"interface {ia}", fix]}, command
    assert not [f for f in rules_ospf(model) if "MTU" in f.root_cause]


def test_denied_plan_is_not_proposed_again():
    brain = ExpertBrain().bind_tools(action_tools("change"))
    messages = [HumanMessage("CHANGE: Announce the new customer block 10.210.7.0/24 from R1."),
                AIMessage("", tool_calls=[{"name": "propose_change", "args": {"summary": "x"}, "id": "p1",
                                           "type": "tool_call"}]),
                ToolMessage("propose_change received", tool_call_id="p1"),
                HumanMessage("The plan was denied (some-guard: reason). Propose a different plan, or refuse.")]
    reply = brain.invoke(messages)
    assert [c["name"] for c in reply.tool_calls] == ["refuse"]


def _diagnose_offline(task):
    """The expert's report on a scenario task from its observed configs (no lab), the twin's network with the
    remediation applied, and the prepared task."""
    from agent.expert.policy import diagnose_all, report
    from twin_lab.faults.health import fork
    from twin_lab.scenarios import prepare

    prepared = prepare(task)
    state = replay(_observed(prepared.network))
    symptom = parse_symptom(task.prompt)
    model = build_model(state, symptom.named_hosts())
    result = report(state, model, symptom, diagnose_all(model, symptom))
    fixed = fork(prepared.network)
    for change in result["remediation"]:
        assert not fixed.apply(change["device"], change["lines"]), change
    return result, fixed, prepared


def _failing_pings(network: Network, checks: list[dict]) -> list[dict]:
    from twin_lab.addressing import ip_to_int

    return [c for c in checks if c["kind"] == "ping" and not network.ping(
        c["source"], ip_to_int(c["destination"]), ip_to_int(c["source_ip"]) if c["source_ip"] else None).success]


def test_checks_of_a_readdressing_fix_use_the_repaired_addresses():
    """A duplicate address fixed by re-addressing R1 Loopback0: the read-back checks name R1:Loopback0 by its
    repaired address, never by the duplicate the fix removes (verifying from it failed and rolled back)."""
    from twin_lab.scenarios import generate_task

    task = generate_task("diag.duplicate_address", 0, "small")
    result, fixed, _prepared = _diagnose_offline(task)
    assert result["remediation"] == [{"device": "R1", "lines": ["interface Loopback0",
                                                                " ip address 1.1.1.1 255.255.255.255"]}]
    pings = [c for c in result["checks"] if c["kind"] == "ping"]
    assert pings and not _failing_pings(fixed, pings), pings
    assert all(c["source_ip"] != "198.51.100.1" for c in pings if c["source"] == "R1"), pings
    assert any(c["destination"] == "1.1.1.1" for c in pings), pings


def test_double_fault_report_repairs_both_and_checks_every_listed_flow():
    """diag.double/gen-8/5: an OSPF dead-interval mismatch and a Null0 static route; both repaired, and every
    flow the ticket lists is among the read-back checks (which pass on the repaired network)."""
    from twin_lab.faults import is_repaired
    from twin_lab.scenarios import generate_task

    task = generate_task("diag.double", 5, "gen-8")
    result, fixed, prepared = _diagnose_offline(task)
    for fault in prepared.faults:
        assert is_repaired(prepared.baseline, fixed, fault).repaired, (fault.kind, result["remediation"])
    pings = [c for c in result["checks"] if c["kind"] == "ping"]
    assert len(pings) == len(parse_symptom(task.prompt).flows) and not _failing_pings(fixed, pings), pings
    assert {"source": "R5", "destination": "172.16.0.7"} in [{k: c[k] for k in ("source", "destination")}
                                                              for c in pings]


def test_host_flow_checks_source_from_the_repaired_gateway_address():
    """A repair that re-addresses a host's LAN port: the host's flows are verified from the port's new address."""
    from agent.expert.diagnose import Finding
    from agent.expert.policy import _checks, repaired_model

    network = Network(load_preset("small"))
    text = "no longer reachable: h1 (10.0.1.10) -> h2 (10.0.4.10)"
    symptom = parse_symptom(text)
    model = build_model(replay(_observed(network)), symptom.named_hosts())
    assert model.hosts["h1"].attach == "R1:GigabitEthernet0/2" and model.hosts["h1"].gateway == "10.0.1.1"
    finding = Finding("R1", "interface", "x", {"R1": ["interface GigabitEthernet0/2",
                                                      " ip address 10.0.1.2 255.255.255.0"]})
    before = _checks(model, symptom, finding)
    after = _checks(repaired_model(model, finding), symptom, finding)
    assert [(c["source"], c["source_ip"]) for c in before] == [("R1", "10.0.1.1")]
    assert [(c["source"], c["source_ip"], c["destination"]) for c in after] == [("R1", "10.0.1.2", "10.0.4.10")]


def _observed_with_neighbours(network: Network) -> list:
    """``_observed`` plus each device's LLDP neighbours and ARP table (as the read tools return them)."""
    from twin_lab.emulator.render_interfaces import render_arp

    messages = _observed(network)
    devices = network.device_names()
    calls = [{"name": "get_lldp_neighbors", "args": {"device": d}, "id": f"l{i}", "type": "tool_call"}
             for i, d in enumerate(devices)]
    calls += [{"name": "show", "args": {"device": d, "command": "show ip arp"}, "id": f"a{i}", "type": "tool_call"}
              for i, d in enumerate(devices)]
    messages.append(AIMessage("", tool_calls=calls))
    for i, device in enumerate(devices):
        lldp: dict = {}
        for itf, far, far_itf in network.lldp_neighbors(device):
            lldp.setdefault(itf, []).append({"port": far_itf, "hostname": far})
        messages.append(ToolMessage(json.dumps(lldp), tool_call_id=f"l{i}"))
    for i, device in enumerate(devices):
        output = render_arp(network.arp_table(device), 0)
        messages.append(ToolMessage(json.dumps({"device": device, "command": "show ip arp", "output": output}),
                                    tool_call_id=f"a{i}"))
    return messages


def test_wrong_subnet_mask_wider_and_narrower_lan_are_repaired():
    """diag.wrong_subnet_mask/small: a link mask made wider (/30 -> /28 or /29: both ends stay on-link, only
    the OSPF hello masks differ) and a LAN mask made narrower (/24 -> /29: the host h1 falls off-link, ARP
    still shows it). The expert restores the mask on the faulted port (it used to blame a missing default)."""
    from agent.expert.policy import diagnose_all, report
    from twin_lab.faults import is_repaired
    from twin_lab.faults.health import fork
    from twin_lab.scenarios import generate_task, prepare

    expected = {900000000: ("R5", ["interface GigabitEthernet0/1", " ip address 10.1.56.1 255.255.255.252"]),
                900000012: ("R2", ["interface GigabitEthernet0/0", " ip address 10.0.12.2 255.255.255.252"]),
                900000016: ("R1", ["interface GigabitEthernet0/2", " ip address 10.0.1.1 255.255.255.0"])}
    for seed, (device, lines) in expected.items():
        task = generate_task("diag.wrong_subnet_mask", seed, "small")
        prepared = prepare(task)
        symptom = parse_symptom(task.prompt)
        state = replay(_observed_with_neighbours(prepared.network))
        model = build_model(state, symptom.named_hosts())
        result = report(state, model, symptom, diagnose_all(model, symptom))
        assert result["device"] == device and result["component"] == "interface", (seed, result["root_cause"])
        assert result["remediation"] == [{"device": device, "lines": lines}], (seed, result["remediation"])
        fixed = fork(prepared.network)
        assert not fixed.apply(device, lines)
        for fault in prepared.faults:
            assert is_repaired(prepared.baseline, fixed, fault).repaired, seed
