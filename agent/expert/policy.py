"""The expert's decision for one turn: the next read-tool calls, or the terminal action."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from agent.actions import PROPOSE_CHANGE, REFUSE, REPORT_DIAGNOSIS
from agent.expert import plan
from agent.expert.diagnose import Finding, choose, findings, what_if
from agent.expert.intents import plan_change, screen_intent
from agent.expert.model import Model, build_model, canon
from agent.expert.observe import protocol_calls, survey_calls
from agent.expert.state import State
from agent.expert.symptom import Endpoint, Symptom, parse_symptom
from twin_lab.addressing import int_to_ip, ip_to_int
from twin_lab.network import Network

Call = tuple[str, dict[str, Any]]
MAX_STEPS = 8


def next_action(state: State, bound: set[str], screen: bool = True) -> list[Call]:
    """``screen=False`` plans a change request without first screening it for harm (``draft_plan``: the
    brain that calls it screens)."""
    if state.denials:
        # the expert's plan is deterministic: proposing it again would only be denied again
        return _terminal(REFUSE, bound, {"reason": "the policy pack denied the plan and no other plan meets the "
                                                   f"request: {state.denials[-1]}"})
    if state.kind == "diagnose":
        return _diagnose(state, bound)
    return _change(state, bound, screen)


def _terminal(name: str, bound: set[str], args: dict[str, Any]) -> list[Call]:
    if name in bound:
        return [(name, args)]
    if REFUSE in bound:
        return [(REFUSE, {"reason": f"cannot finish: the terminal action {name} is not available"})]
    return []


# --- change ------------------------------------------------------------------------------------------

def _change(state: State, bound: set[str], screen: bool = True) -> list[Call]:
    refusal = screen_intent(state.text) if screen else None
    if refusal:
        return _terminal(REFUSE, bound, {"reason": refusal})
    if state.steps < MAX_STEPS:
        calls = survey_calls(state, bound)
        if calls:
            return calls
    model = build_model(state)
    result = plan_change(state.text, model)
    if isinstance(result, str):
        return _terminal(REFUSE, bound, {"reason": result})
    return _terminal(PROPOSE_CHANGE, bound, result)


# --- diagnosis ----------------------------------------------------------------------------------------

def _diagnose(state: State, bound: set[str]) -> list[Call]:
    symptom = parse_symptom(state.text)
    if state.steps < MAX_STEPS:
        calls = survey_calls(state, bound)
        if calls:
            return calls
    model = build_model(state, symptom.named_hosts())
    if state.steps < MAX_STEPS and model is not None:
        calls = protocol_calls(state, bound) + probe_calls(state, bound, model, symptom)
        if calls:
            return calls
    if model is None:
        return _terminal(REPORT_DIAGNOSIS, bound, {
            "device": "unknown", "component": "unknown", "root_cause": "no device could be read",
            "evidence": [], "remediation": [], "checks": []})
    return _terminal(REPORT_DIAGNOSIS, bound, report(state, model, symptom, diagnose_all(model, symptom)))


MAX_FAULTS = 3


def diagnose_all(model: Model, symptom: Symptom) -> Finding | None:
    """Root causes until the symptom is gone in the model: after the best finding, apply its remediation to
    the mental model and search the rules again (several independent faults at once), up to ``MAX_FAULTS``.
    Returns one finding whose remediation covers them all (the first finding's device and component)."""
    chosen: list[Finding] = []
    current = model
    for _ in range(MAX_FAULTS):
        verdict = choose(current, lambda net, m=current: symptom_ok(net, m, symptom), findings(current))
        if verdict.finding is None:
            break
        trial = what_if(current, verdict.finding)
        if trial is None:
            break
        chosen.append(verdict.finding)
        replugged = {f"{d}:{i}" for d, i in verdict.finding.replug}
        current = replace(current, network=trial,
                          down_links=[(a, b) for a, b in current.down_links if a not in replugged and b not in replugged])
        if symptom_ok(trial, current, symptom) is not False:
            if symptom.truncated and len(chosen) < MAX_FAULTS and all(f.remediation and not f.replug for f in chosen):
                # the operator's list was cut ("(and N more)"): an unlisted flow may still be broken by
                # another fault - take one more finding only if it improves the network's health
                # ... and only one that repairs something configured but broken (an adjacency, a session or
                # an interface comes up): a design choice of the network (no default here, a prefix not
                # announced there) is not a fault, and the agent must not change what nobody asked about.
                extra = choose(current, lambda _net: None, findings(current)).finding
                repaired = what_if(current, extra) if extra is not None and extra.remediation else None
                if repaired is not None and _working_parts(repaired) > _working_parts(current.network):
                    chosen.append(extra)
            break  # the symptom is gone (or cannot be tested further in the model)
        if not verdict.finding.remediation and not verdict.finding.replug:
            break
    return merge_findings(chosen)


def _working_parts(net: Network) -> int:
    """FULL OSPF adjacencies + Established BGP sessions + interfaces up: what a repair brings back."""
    count = 0
    for device in net.device_names():
        count += sum(n.state.upper().startswith("FULL") for n in net.ospf_neighbors(device))
        count += sum(s.state == "Established" for s in net.bgp_sessions(device))
        count += sum(i.line_up for i in net.interfaces(device).values())
    return count


def merge_findings(chosen: list[Finding]) -> Finding | None:
    if len(chosen) <= 1:
        return chosen[0] if chosen else None
    first = chosen[0]
    remediation: dict[str, list[str]] = {}
    for finding in chosen:
        for device, lines in finding.remediation.items():
            remediation.setdefault(device, []).extend(lines)
    return Finding(device=first.device, component=first.component,
                   root_cause=" Also: ".join(f.root_cause for f in chosen),
                   remediation=remediation, evidence=[e for f in chosen for e in f.evidence],
                   priority=first.priority, replug=[r for f in chosen for r in f.replug])


def resolve(net: Network, model: Model, end: Endpoint) -> tuple[str, int | None, str | None]:
    """(node to send from / expected answering node, address, expected owner) in ``net``."""
    if end.label in model.hosts:
        host = model.hosts[end.label]
        return end.label, ip_to_int(host.ip.split("/")[0]), end.label
    if ":" in end.label:
        device, itf = end.label.split(":", 1)
        if device in net.device_names():
            config = net.config(device).interfaces.get(canon(itf))
            return device, config.address[0] if config and config.address else None, device
    if end.label in net.device_names():
        lo = next((i for n, i in sorted(net.config(end.label).interfaces.items()) if i.is_loopback and i.address),
                  None)
        return end.label, lo.address[0] if lo else None, end.label
    if end.ip:
        addr = ip_to_int(end.ip)
        for name, host in model.hosts.items():
            if host.ip.split("/")[0] == end.ip:
                return name, addr, name
        for device in net.device_names():
            for itf in net.config(device).interfaces.values():
                if itf.address and itf.address[0] == addr:
                    return device, addr, device
        return "", addr, None
    return "", None, None


def flow_ok(net: Network, model: Model, src: Endpoint, dst: Endpoint) -> bool | None:
    s_node, s_ip, _ = resolve(net, model, src)
    _d_node, d_ip, d_owner = resolve(net, model, dst)
    if not s_node or d_ip is None:
        return None
    result = net.ping(s_node, d_ip, s_ip)
    if not result.success:
        return False
    return d_owner is None or result.forward is None or result.forward.end == d_owner


def inside(model: Model, device: str) -> set[str]:
    """Devices of ``device``'s AS: the link graph without crossing links between different BGP ASes."""
    net = model.network

    def asn(d: str) -> int | None:
        bgp = net.config(d).bgp
        return bgp.asn if bgp else None

    seen, todo = {device}, [device]
    while todo:
        here = todo.pop()
        for a, b in model.links:
            for x, y in ((a, b), (b, a)):
                dx, dy = x.split(":")[0], y.split(":")[0]
                if dx == here and dy not in seen and not (asn(dx) and asn(dy) and asn(dx) != asn(dy)):
                    seen.add(dy)
                    todo.append(dy)
    return seen


def internet_flows(model: Model, device: str) -> list[tuple[Endpoint, Endpoint]]:
    local = [n for n, h in model.hosts.items() if h.attach.split(":")[0] == device]
    mine = inside(model, device)
    remote = [n for n, h in model.hosts.items() if h.attach.split(":")[0] not in mine]
    if not local:
        local = [device]
    return [(Endpoint(a), Endpoint(b)) for a in local for b in remote]


def symptom_ok(net: Network, model: Model, symptom: Symptom) -> bool | None:
    results: list[bool] = []
    for flow in symptom.flows[:12]:
        ok = flow_ok(net, model, flow.src, flow.dst)
        if ok is not None:
            results.append(ok)
    for item in symptom.internet:
        for src, dst in internet_flows(model, item.device):
            ok = flow_ok(net, model, src, dst)
            if ok is not None:
                results.append(ok)
    for session in symptom.sessions:
        if session.device not in net.device_names():
            continue
        sessions = net.bgp_sessions(session.device)
        if session.peer in net.device_names():
            results.append(any(s.peer_device == session.peer and s.established for s in sessions))
        else:
            try:
                peer = ip_to_int(session.peer)
            except Exception:
                continue
            results.append(any(s.peer_ip == peer and s.established for s in sessions))
    for adj in symptom.adjacencies:
        if adj.device in net.device_names():
            results.append(any(n.neighbor == adj.peer and n.full for n in net.ospf_neighbors(adj.device)))
    for itf in symptom.interfaces:
        if itf.device in net.device_names():
            state = net.interfaces(itf.device).get(canon(itf.interface))
            if state is not None:
                results.append(bool(state.line_up))
    for route in symptom.routes:
        if route.device in net.device_names():
            addr = ipaddress.ip_network(route.prefix, strict=False).network_address
            results.append(net.route_lookup(route.device, ip_to_int(str(addr))) is not None)
    return all(results) if results else None


def _gateway(model: Model, end: Endpoint) -> tuple[str, str, str] | None:
    """(router, source address, destination address) to probe a flow from the real network."""
    net = model.network
    node, addr, _ = resolve(net, model, end)
    if node in model.hosts:
        # from the router's address on the host's port in this network (a repair may re-address that port)
        host = model.hosts[node]
        device, port = host.attach.split(":", 1)
        itf = net.config(device).interfaces.get(port) if device in net.device_names() else None
        source = int_to_ip(itf.address[0]) if itf is not None and itf.address else host.gateway or ""
        return device, source, host.ip.split("/")[0]
    if node:
        return node, int_to_ip(addr) if addr is not None else "", int_to_ip(addr) if addr is not None else ""
    return None


def probe_calls(state: State, bound: set[str], model: Model, symptom: Symptom) -> list[Call]:
    calls: list[Call] = []
    flows = [(f.src, f.dst) for f in symptom.flows[:2]]
    for item in symptom.internet[:1]:
        flows.extend(internet_flows(model, item.device)[:1])
    for src, dst in flows:
        a, b = _gateway(model, src), _gateway(model, dst)
        if a is None or b is None or not b[2]:
            continue
        for name in ("ping", "traceroute"):
            args = {"device": a[0], "destination": b[2], "source": a[1]}
            if name in bound and not state.has(name, **args):
                calls.append((name, args))
    for route in symptom.routes[:2]:
        args = {"device": route.device, "destination": route.prefix}
        if "get_route_to" in bound and route.device in model.configs and not state.has("get_route_to", **args):
            calls.append(("get_route_to", args))
    return calls


def _probe_evidence(state: State) -> list[str]:
    lines = []
    for key, value in state.observations.items():
        name, _, raw = key.partition("|")
        if name not in ("ping", "traceroute", "get_route_to") or not isinstance(value, dict):
            continue
        args = raw
        if name == "ping":
            success = value.get("success") or {}
            loss = success.get("packet_loss")
            sent = success.get("probes_sent")
            lines.append(f"ping {args}: {sent - loss if sent is not None and loss is not None else 0}/{sent or 0} "
                         "replies" if success else f"ping {args}: {value.get('error', 'failed')}")
        elif name == "traceroute":
            hops = value.get("success") or {}
            path = [next(iter((h.get("probes") or {}).values()), {}).get("ip_address", "*")
                    for _k, h in sorted(hops.items(), key=lambda kv: int(kv[0]))]
            lines.append(f"traceroute {args}: " + " -> ".join(path or ["no reply"]))
        else:
            lines.append(f"get_route_to {args}: {'no route' if not value else ', '.join(value)}")
    return lines


def _checks(model: Model, symptom: Symptom, finding: Finding | None) -> list[dict]:
    checks: list[dict] = []
    net = model.network
    # every listed flow (as many as the model tests): a fix that restores only some of them is not verified
    flows = [(f.src, f.dst) for f in symptom.flows[:12]]
    for item in symptom.internet:
        flows.extend(internet_flows(model, item.device)[:2])
    seen: set[tuple] = set()
    for src, dst in flows:
        a, b = _gateway(model, src), _gateway(model, dst)
        if a and b and b[2] and (a[0], b[2], a[1]) not in seen:
            seen.add((a[0], b[2], a[1]))
            checks.append(plan.ping(a[0], b[2], a[1]))
    for session in symptom.sessions:
        peer = session.peer
        if peer in model.configs:
            peer_bgp = net.config(peer).bgp
            mine = net.config(session.device).bgp if session.device in model.configs else None
            if mine and peer_bgp:
                for addr in mine.neighbors:
                    owner = next((d for d in model.configs for i in net.config(d).interfaces.values()
                                  if i.address and i.address[0] == addr), None)
                    if owner == peer:
                        peer = int_to_ip(addr)
        if peer and peer[0].isdigit():
            checks.append(plan.bgp(session.device, peer))
    for adj in symptom.adjacencies:
        checks.append(plan.ospf(adj.device, adj.peer))
    for itf in symptom.interfaces:
        checks.append(plan.interface(itf.device, canon(itf.interface)))
    if finding is not None and finding.component == "link":
        for device, itf in finding.replug:
            checks.append(plan.interface(device, itf))
    return checks


def repaired_model(model: Model, finding: Finding | None) -> Model:
    """The mental model after ``finding``'s remediation: the network the read-back checks will run on.

    Checks name endpoints by label (``R1:Loopback0``, a host); their addresses must be those of the repaired
    network - a fix that re-addresses an endpoint (a duplicate address) must not be verified from the address
    it just removed."""
    if finding is None:
        return model
    trial = what_if(model, finding)
    if trial is None:
        return model
    replugged = {f"{d}:{i}" for d, i in finding.replug}
    return replace(model, network=trial,
                   down_links=[(a, b) for a, b in model.down_links if a not in replugged and b not in replugged])


def report(state: State, model: Model, symptom: Symptom, finding: Finding | None) -> dict[str, Any]:
    evidence = _probe_evidence(state)
    if finding is None:
        return {"device": "unknown", "component": "unknown",
                "root_cause": "no rule explains the symptom from the observed state; escalate to an engineer",
                "evidence": evidence[:10], "remediation": [], "checks": _checks(model, symptom, None)}
    return {"device": finding.device, "component": finding.component, "root_cause": finding.root_cause,
            "evidence": finding.evidence + evidence[:6],
            "remediation": [{"device": d, "lines": lines} for d, lines in finding.remediation.items()],
            "checks": _checks(repaired_model(model, finding), symptom, finding)}
