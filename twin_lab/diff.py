"""Differential analysis of two network states (Batfish-style): what a change does.

Fast path: devices whose config object is shared (forks copy on write) and whose forwarding
inputs hash the same are skipped; only the rest have their routing tables materialised.
"""

from __future__ import annotations

import difflib
import hashlib

import numpy as np
from pydantic import BaseModel, Field

from twin_lab.addressing import int_to_ip, short_interface
from twin_lab.controlplane.rib import Route
from twin_lab.network import Network

# Reachability is checked over hosts and loopbacks; past this many endpoints, hosts only.
MAX_FULL_ENDPOINTS = 64


class AdjacencyChange(BaseModel):
    protocol: str  # ospf | bgp
    a: str
    b: str
    detail: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.protocol, self.a, self.b)


class RouteChange(BaseModel):
    device: str
    prefix: str
    change: str  # lost | gained | changed
    before: str | None = None
    after: str | None = None


class NetworkDiff(BaseModel):
    devices_changed: list[str] = Field(default_factory=list)
    config_diffs: dict[str, str] = Field(default_factory=dict)
    adjacencies_lost: list[AdjacencyChange] = Field(default_factory=list)
    adjacencies_gained: list[AdjacencyChange] = Field(default_factory=list)
    routes: list[RouteChange] = Field(default_factory=list)
    reachability_lost: list[tuple[str, str]] = Field(default_factory=list)
    reachability_gained: list[tuple[str, str]] = Field(default_factory=list)
    reachability_scope: str = "hosts+loopbacks"

    @property
    def empty(self) -> bool:
        return not (self.devices_changed or self.adjacencies_lost or self.adjacencies_gained or self.routes
                    or self.reachability_lost or self.reachability_gained)


def route_text(route: Route) -> str:
    prefix = f"{int_to_ip(route.net)}/{route.plen}"
    hops = ", ".join(
        (f"via {int_to_ip(h.ip)}" if h.ip is not None else "directly connected")
        + (f" {short_interface(h.interface)}" if h.interface else "")
        for h in route.next_hops)
    return f"{route.protocol} {prefix} [{route.distance}/{route.metric}] {hops}".rstrip()


def adjacencies(network: Network) -> dict[tuple[str, str, str], AdjacencyChange]:
    found: dict[tuple[str, str, str], AdjacencyChange] = {}
    cp = network.control_plane
    for device, neighbors in cp.ospf.neighbors.items():
        for nbr in neighbors:
            if nbr.full:
                a, b = sorted([f"{device}:{nbr.interface}", f"{nbr.neighbor}:{nbr.neighbor_interface}"])
                change = AdjacencyChange(protocol="ospf", a=a, b=b, detail=f"area {nbr.area}")
                found[change.key()] = change
    for device, sessions in cp.bgp.sessions.items():
        for session in sessions:
            if session.established and session.peer_device:
                a, b = sorted([device, session.peer_device])
                detail = "eBGP" if session.ebgp else "iBGP"
                change = AdjacencyChange(protocol="bgp", a=a, b=b, detail=detail)
                found[change.key()] = change
    return found


def _comparable(before: Network, after: Network) -> bool:
    ob, oa = before.control_plane.ospf, after.control_plane.ospf
    return ob.dest_keys == oa.dest_keys and [a.routers for a in ob.areas] == [a.routers for a in oa.areas]


def _area_digest(area) -> bytes:
    """What every router of an area depends on besides distances: who originates what, at what cost."""
    cached = getattr(area, "_digest", None)
    if cached is None:
        digest = hashlib.blake2b(digest_size=16)
        for array in (area.pair_dest, area.pair_origin, area.pair_cost):
            digest.update(array.tobytes())
        for abr in sorted(area.summaries):
            digest.update(abr.to_bytes(4, "little"))
            digest.update(area.summaries[abr].tobytes())
        cached = area._digest = digest.digest()
    return cached


def _fingerprint(network: Network, device: str) -> bytes:
    cp = network.control_plane
    digest = hashlib.blake2b(digest_size=16)
    local = cp.ribs[device].local
    digest.update(repr(sorted((k, r.signature()) for k, r in local.items())).encode())
    ospf = cp.ospf
    row = ospf.row.get(device)
    if row is not None:
        digest.update(ospf.cost[row].tobytes())
        digest.update(ospf.kind[row].tobytes())
        neighbors = ospf.neighbors.get(device, [])
        digest.update(repr([(n.interface, n.neighbor, n.cost, n.state, n.neighbor_address) for n in neighbors]).encode())
        for area in ospf.areas:
            me = area.index.get(device)
            if me is None:
                continue
            digest.update(_area_digest(area))
            digest.update(area.dist[me].tobytes())
            for nbr in neighbors:
                other = area.index.get(nbr.neighbor)
                if other is not None:
                    digest.update(area.dist[other].tobytes())
    return digest.digest()


class _DestMap:
    """Aligns the destination ids of two OSPF results (a change can add or remove prefixes)."""

    def __init__(self, old, new):
        if old.dest_keys == new.dest_keys:
            self.old_idx = self.new_idx = np.arange(len(new.dest_keys))
            self.only_old = self.only_new = np.zeros(0, dtype=np.int64)
            return
        common = [(i, new.dest_ids[k]) for i, k in enumerate(old.dest_keys) if k in new.dest_ids]
        self.old_idx = np.asarray([a for a, _ in common], dtype=np.int64)
        self.new_idx = np.asarray([b for _, b in common], dtype=np.int64)
        self.only_old = np.asarray([i for i, k in enumerate(old.dest_keys) if k not in new.dest_ids], dtype=np.int64)
        self.only_new = np.asarray([i for i, k in enumerate(new.dest_keys) if k not in old.dest_ids], dtype=np.int64)


def _candidate_prefixes(before: Network, after: Network, device: str, mapping: _DestMap) -> list[tuple[int, int]] | None:
    """Prefixes whose route may differ, found with array comparisons; None = compare everything."""
    old_cp, new_cp = before.control_plane, after.control_plane
    old_local, new_local = old_cp.ribs[device].local, new_cp.ribs[device].local
    keys = {k for k in set(old_local) | set(new_local)
            if k not in old_local or k not in new_local or old_local[k].signature() != new_local[k].signature()}
    old_ospf, new_ospf = old_cp.ospf, new_cp.ospf
    old_row, new_row = old_ospf.row.get(device), new_ospf.row.get(device)
    if old_row is None and new_row is None:
        return sorted(keys)
    if old_row is None or new_row is None:
        return None
    old_bits, new_bits = old_ospf.next_hop_bits(device), new_ospf.next_hop_bits(device)
    if old_bits is None or new_bits is None:
        return None
    same_neighbors = [(n.interface, n.neighbor_address) for n in old_ospf.neighbors.get(device, [])] == [
        (n.interface, n.neighbor_address) for n in new_ospf.neighbors.get(device, [])]
    oi, ni = mapping.old_idx, mapping.new_idx
    old_kind, new_kind = old_ospf.kind[old_row], new_ospf.kind[new_row]
    changed = (old_ospf.cost[old_row][oi] != new_ospf.cost[new_row][ni]) | (old_kind[oi] != new_kind[ni])
    changed |= old_ospf.ext_metric[old_row][oi] != new_ospf.ext_metric[new_row][ni]
    if same_neighbors:
        changed |= old_bits[oi] != new_bits[ni]
    else:
        changed |= (old_kind[oi] > 0) | (new_kind[ni] > 0)
    dests = [old_ospf.dest_keys[d] for d in oi[changed].tolist()]
    dests += [old_ospf.dest_keys[d] for d in mapping.only_old.tolist() if old_kind[d]]
    dests += [new_ospf.dest_keys[d] for d in mapping.only_new.tolist() if new_kind[d]]
    keys.update((k[1], k[2]) for k in dests if k[0] == "p")
    return sorted(keys)


def _route_changes(before: Network, after: Network, device: str, mapping: _DestMap) -> list[RouteChange]:
    prefixes = _candidate_prefixes(before, after, device, mapping)
    if prefixes is None:
        old = {(r.net, r.plen): r for r in before.routes(device)}
        new = {(r.net, r.plen): r for r in after.routes(device)}
        prefixes = sorted(set(old) | set(new))
    else:
        old_rib, new_rib = before.control_plane.ribs[device], after.control_plane.ribs[device]
        old = {k: r for k in prefixes if (r := old_rib.get(*k)) is not None}
        new = {k: r for k in prefixes if (r := new_rib.get(*k)) is not None}
    changes = []
    for key in prefixes:
        a, b = old.get(key), new.get(key)
        if a is None and b is None:
            continue
        prefix = f"{int_to_ip(key[0])}/{key[1]}"
        if a is None:
            changes.append(RouteChange(device=device, prefix=prefix, change="gained", after=route_text(b)))
        elif b is None:
            changes.append(RouteChange(device=device, prefix=prefix, change="lost", before=route_text(a)))
        elif a.signature() != b.signature():
            changes.append(RouteChange(device=device, prefix=prefix, change="changed", before=route_text(a),
                                       after=route_text(b)))
    return changes


def reachability_endpoints(network: Network) -> tuple[list[tuple[str, str, int]], str]:
    points = network.endpoints()
    if len(points) <= MAX_FULL_ENDPOINTS:
        return points, "hosts+loopbacks"
    hosts = [p for p in points if p[0] in network.topology.hosts]
    return hosts, "hosts"


def diff(before: Network, after: Network, *, reachability: bool = True) -> NetworkDiff:
    """What changed from ``before`` to ``after``: configs, adjacencies, routes, reachability."""
    result = NetworkDiff()
    for device in after.device_names():
        old_cfg, new_cfg = before.config(device), after.config(device)
        if old_cfg is new_cfg:
            continue
        old_text, new_text = before.running_config(device), after.running_config(device)
        if old_text != new_text:
            result.devices_changed.append(device)
            result.config_diffs[device] = "".join(difflib.unified_diff(
                old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                f"{device} (before)", f"{device} (after)", n=1))
    old_adj, new_adj = adjacencies(before), adjacencies(after)
    result.adjacencies_lost = [old_adj[k] for k in sorted(set(old_adj) - set(new_adj))]
    result.adjacencies_gained = [new_adj[k] for k in sorted(set(new_adj) - set(old_adj))]
    comparable = _comparable(before, after)
    mapping = _DestMap(before.control_plane.ospf, after.control_plane.ospf)
    changed = set(result.devices_changed)
    old_l3, new_l3 = before.control_plane.l3, after.control_plane.l3
    for device in after.device_names():
        if before.config(device) is not after.config(device):
            changed.add(device)
        if [(s.name, s.line_up) for s in old_l3.interfaces[device].values()] != [
                (s.name, s.line_up) for s in new_l3.interfaces[device].values()]:
            changed.add(device)
        if comparable and _fingerprint(before, device) == _fingerprint(after, device):
            continue
        changed.add(device)
        result.routes.extend(_route_changes(before, after, device, mapping))
    if reachability:
        points, scope = reachability_endpoints(before)
        result.reachability_scope = scope
        old_reach = before.reachability(points)
        new_reach = after.reachability(points, reuse=before, changed=changed)
        result.reachability_lost = sorted(k for k, ok in old_reach.items() if ok and not new_reach.get(k, False))
        result.reachability_gained = sorted(k for k, ok in new_reach.items() if ok and not old_reach.get(k, False))
    return result
