"""Health of one network state and the two comparisons built on it: a fault's symptom, a repair's regressions.

Reachability here is stricter than ``Network.reachability``: a ping counts only when it is
answered by the node that owned the address in the reference state (a duplicate address can
make the wrong router answer), and it is always measured over the reference state's endpoints
(a re-addressed loopback must not silently change what is being measured).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from twin_lab.addressing import int_to_ip, ip_to_int, prefix_text, short_interface
from twin_lab.faults.model import AdjacencyRef, FlowRef, InterfaceRef, RouteRef, SessionRef, Symptom
from twin_lab.network import Network

# Past this many endpoints the matrix uses hosts only (plus loopbacks up to the limit).
MAX_ENDPOINTS = 64
Endpoint = tuple[str, str, int]  # (label, node, address)


def endpoints(network: Network) -> list[Endpoint]:
    points = network.endpoints()
    if len(points) <= MAX_ENDPOINTS:
        return points
    hosts = [p for p in points if p[0] in network.topology.hosts][:MAX_ENDPOINTS]
    others = [p for p in points if p[0] not in network.topology.hosts]
    return hosts + others[:max(0, MAX_ENDPOINTS - len(hosts))]


def flow_ok(network: Network, src_node: str, src_ip: int, dst_node: str, dst_ip: int) -> bool:
    """Round trip from ``src_node`` (sourced from ``src_ip``) answered by ``dst_node``."""
    if src_node not in network.topology.hosts and src_node not in network.device_names():
        return False
    result = network.ping(src_node, dst_ip, src_ip)
    return bool(result.success and result.forward is not None and result.forward.end == dst_node)


@dataclass
class Health:
    points: list[Endpoint]
    reach: dict[tuple[str, str], bool]
    ospf: dict[tuple[str, str, str], str]  # (device, interface, neighbour) -> state
    bgp: dict[tuple[str, int], tuple[str, str, str | None]]  # (device, peer ip) -> (state, reason, peer device)
    routes: dict[str, set[tuple[int, int]]]
    interfaces: dict[tuple[str, str], str]  # (device, interface) -> up | down | administratively down


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def health(network: Network, points: list[Endpoint] | None = None) -> Health:
    """Snapshot (cached per network state) of everything a fault can break."""
    points = endpoints(network) if points is None else points
    key = (network.version, tuple(points))
    cached = _CACHE.get(network)
    if cached is not None and cached[0] == key:
        return cached[1]
    reach = {}
    for label_a, node_a, ip_a in points:
        for label_b, node_b, ip_b in points:
            if label_a != label_b:
                reach[(label_a, label_b)] = flow_ok(network, node_a, ip_a, node_b, ip_b)
    ospf, bgp, routes, interfaces = {}, {}, {}, {}
    for device in network.device_names():
        for nbr in network.ospf_neighbors(device):
            ospf[(device, nbr.interface, nbr.neighbor)] = nbr.state
        for session in network.bgp_sessions(device):
            bgp[(device, session.peer_ip)] = (session.state, session.reason, session.peer_device)
        routes[device] = {(r.net, r.plen) for r in network.routes(device)}
        for name, state in network.interfaces(device).items():
            if network.config(device).interfaces[name].address is not None or state.line_up:
                interfaces[(device, name)] = state.status_text
    snapshot = Health(list(points), reach, ospf, bgp, routes, interfaces)
    _CACHE[network] = (key, snapshot)
    return snapshot


def fork(network: Network) -> Network:
    """``network.fork()`` that also inherits the parent's cached health snapshot."""
    child = network.fork()
    cached = _CACHE.get(network)
    if cached is not None and cached[0][0] == network.version:
        _CACHE[child] = ((child.version, cached[0][1]), cached[1])
    return child


def _labels(points: list[Endpoint]) -> dict[str, Endpoint]:
    return {p[0]: p for p in points}


def symptom_between(before: Health, after: Health) -> Symptom:
    """What broke going from ``before`` to ``after`` (both measured over ``before``'s endpoints)."""
    by_label = _labels(before.points)
    unreachable = []
    for (a, b), ok in before.reach.items():
        if ok and not after.reach.get((a, b), False):
            pa, pb = by_label[a], by_label[b]
            unreachable.append(FlowRef(src=a, dst=b, src_node=pa[1], dst_node=pb[1], src_ip=int_to_ip(pa[2]),
                                       dst_ip=int_to_ip(pb[2])))
    ospf_down = [AdjacencyRef(device=d, interface=i, neighbor=n, state_after=after.ospf.get((d, i, n), "absent"))
                 for (d, i, n), state in before.ospf.items()
                 if state == "FULL" and after.ospf.get((d, i, n)) != "FULL"]
    bgp_down = []
    for (device, peer), (state, _reason, peer_device) in before.bgp.items():
        now = after.bgp.get((device, peer))
        if state == "Established" and (now is None or now[0] != "Established"):
            bgp_down.append(SessionRef(device=device, peer_ip=int_to_ip(peer), peer_device=peer_device,
                                       state_after=now[0] if now else "absent", detail=now[1] if now else ""))
    routes_missing = [RouteRef(device=device, prefix=prefix_text(net, plen))
                      for device, prefixes in before.routes.items()
                      for net, plen in sorted(prefixes - after.routes.get(device, set()))]
    interfaces_down = [InterfaceRef(device=d, interface=i, status_after=after.interfaces.get((d, i), "down"))
                       for (d, i), status in before.interfaces.items()
                       if status == "up" and after.interfaces.get((d, i)) != "up"]
    symptom = Symptom(unreachable=unreachable, ospf_down=ospf_down, bgp_down=bgp_down,
                      routes_missing=routes_missing, interfaces_down=interfaces_down)
    symptom.summary = summarize(symptom)
    return symptom


def summarize(symptom: Symptom, limit: int = 4) -> str:
    """Effects in operator words (what a ticket would say), never the cause."""
    parts = []
    if symptom.unreachable:
        flows = [f.text() for f in symptom.unreachable]
        more = f" (and {len(flows) - limit} more)" if len(flows) > limit else ""
        parts.append("no longer reachable: " + ", ".join(flows[:limit]) + more)
    seen = set()
    adjacencies = []
    for adj in symptom.ospf_down:
        pair = tuple(sorted((adj.device, adj.neighbor)))
        if pair not in seen:
            seen.add(pair)
            adjacencies.append(f"{adj.device} {short_interface(adj.interface)} - {adj.neighbor} ({adj.state_after})")
    if adjacencies:
        parts.append("OSPF adjacency not FULL: " + ", ".join(adjacencies))
    if symptom.bgp_down:
        parts.append("BGP session not Established: " + ", ".join(
            f"{s.device} -> {s.peer_ip} ({s.state_after})" for s in symptom.bgp_down))
    if symptom.interfaces_down:
        parts.append("interface down: " + ", ".join(
            f"{i.device} {short_interface(i.interface)}" for i in symptom.interfaces_down))
    if symptom.routes_missing and not parts:
        routes = [f"{r.device} {r.prefix}" for r in symptom.routes_missing]
        parts.append("routes missing: " + ", ".join(routes[:limit]))
    return "; ".join(parts)


def remaining(network: Network, symptom: Symptom) -> list[str]:
    """The symptom items still present on ``network`` (checked one by one, without a full matrix).

    Lost flows, adjacencies, sessions and interfaces are the symptom; lost routes count only
    when there is nothing else.
    """
    left = []
    for flow in symptom.unreachable:
        if not flow_ok(network, flow.src_node, ip_to_int(flow.src_ip), flow.dst_node, ip_to_int(flow.dst_ip)):
            left.append(f"still unreachable: {flow.text()}")
    for adj in symptom.ospf_down:
        states = {n.state for n in network.ospf_neighbors(adj.device)
                  if (n.interface, n.neighbor) == (adj.interface, adj.neighbor)}
        if "FULL" not in states:
            left.append(f"OSPF {adj.device} {short_interface(adj.interface)} - {adj.neighbor} still not FULL")
    for ref in symptom.bgp_down:
        peer = ip_to_int(ref.peer_ip)
        if not any(s.peer_ip == peer and s.established for s in network.bgp_sessions(ref.device)):
            left.append(f"BGP {ref.device} -> {ref.peer_ip} still not Established")
    for ref in symptom.interfaces_down:
        state = network.interfaces(ref.device).get(ref.interface)
        if state is None or not state.line_up:
            left.append(f"{ref.device} {short_interface(ref.interface)} still down")
    # Lost routes are context (they also vanish when something unrelated breaks); they decide only
    # for a symptom that has nothing else.
    for ref in symptom.routes_missing if not symptom.observable else []:
        net, _, plen = ref.prefix.partition("/")
        if not any(r.net == ip_to_int(net) and r.plen == int(plen) for r in network.routes(ref.device)):
            left.append(f"{ref.device} still has no route to {ref.prefix}")
    return left


def regressions(baseline: Health, current: Health) -> list[str]:
    """Everything the baseline had that the current state lost (reachability, adjacencies, sessions, ports)."""
    symptom = symptom_between(baseline, current)
    found = [f"reachability lost: {f.text()}" for f in symptom.unreachable]
    found += [f"OSPF adjacency lost: {a.device} {short_interface(a.interface)} - {a.neighbor} ({a.state_after})"
              for a in symptom.ospf_down]
    found += [f"BGP session lost: {s.device} -> {s.peer_ip} ({s.state_after})" for s in symptom.bgp_down]
    found += [f"interface down: {i.device} {short_interface(i.interface)} ({i.status_after})"
              for i in symptom.interfaces_down]
    return found
