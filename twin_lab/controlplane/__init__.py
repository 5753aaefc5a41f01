"""Control plane of one network state: connected → static → OSPF → static (recursive) → BGP → RIB."""

from __future__ import annotations

from dataclasses import dataclass

from twin_lab.controlplane.bgp import BgpResult, bgp_routes, compute_bgp
from twin_lab.controlplane.links import L3, compute_l3
from twin_lab.controlplane.ospf import OspfResult, compute_ospf
from twin_lab.controlplane.rib import NextHop, Rib, Route, best_local
from twin_lab.ios.model import DeviceConfig
from twin_lab.topology import Topology


@dataclass
class ControlPlane:
    l3: L3
    ospf: OspfResult
    bgp: BgpResult
    ribs: dict[str, Rib]
    static_status: dict[str, list[tuple[object, bool]]]


def _connected_routes(l3: L3, device: str) -> dict[tuple[int, int], Route]:
    routes: dict[tuple[int, int], Route] = {}
    for net, plen, interface, address in l3.connected[device]:
        best_local(routes, Route(net, plen, "C", 0, 0, [NextHop(None, interface)]))
        if plen < 32:
            best_local(routes, Route(address, 32, "L", 0, 0, [NextHop(None, interface)]))
    return routes


def _install_statics(config: DeviceConfig, l3: L3, device: str, routes: dict, rib: Rib | None,
                     done: set[int]) -> None:
    """Install every static route whose next hop resolves (via connected, or via ``rib`` when given)."""
    for index, static in enumerate(config.static_routes):
        if index in done:
            continue
        hop = None
        if static.interface is not None:
            if static.interface.startswith("Null") or l3.is_up(device, static.interface):
                hop = NextHop(static.next_hop, static.interface)
        elif static.next_hop is not None:
            for net, plen, interface, _addr in l3.connected[device]:
                if (static.next_hop & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)) == net:
                    hop = NextHop(static.next_hop, interface)
                    break
            if hop is None and rib is not None:
                via = rib.lookup(static.next_hop)
                if via is not None and via.protocol != "S" and rib.resolve(via):
                    hop = NextHop(static.next_hop, None)
        if hop is None:
            continue
        done.add(index)
        best_local(routes, Route(static.network, static.plen, "S", static.distance, 0, [hop]))


def _redistributed(config: DeviceConfig, routes: dict[tuple[int, int], Route]) -> list[tuple[int, int, int, int]]:
    result: list[tuple[int, int, int, int]] = []
    for process in config.ospf.values():
        if process.shutdown:
            continue
        for spec in process.redistribute:
            wanted = {"connected": "C", "static": "S"}.get(spec.protocol)
            if wanted is None:
                continue
            for (net, plen), route in routes.items():
                if route.protocol == wanted and (spec.subnets or plen <= 24):
                    result.append((net, plen, spec.metric or 20, spec.metric_type or 2))
        if process.default_originate and (process.default_originate_always or (0, 0) in routes):
            result.append((0, 0, 1, 2))
    return result


def compute_control_plane(topology: Topology, configs: dict[str, DeviceConfig], link_down: set[int],
                          reachable_factory) -> ControlPlane:
    l3 = compute_l3(topology, configs, link_down)
    local: dict[str, dict[tuple[int, int], Route]] = {}
    installed: dict[str, set[int]] = {}
    externals = {}
    for device, config in configs.items():
        routes = local[device] = _connected_routes(l3, device)
        installed[device] = set()
        _install_statics(config, l3, device, routes, None, installed[device])
        if config.ospf:
            externals[device] = _redistributed(config, routes)
    ospf = compute_ospf(configs, l3, externals)
    lengths: list[int] = []
    ribs = {d: Rib(d, local[d], ospf, lengths) for d in configs}

    def refresh_lengths() -> None:
        present = {plen for routes in local.values() for (_n, plen) in routes}
        present.update(key[2] for key in ospf.dest_keys if key[0] == "p")
        lengths[:] = sorted(present, reverse=True)
        for rib in ribs.values():
            rib._cache.clear()

    refresh_lengths()
    for device, config in configs.items():
        if len(installed[device]) < len(config.static_routes):
            _install_statics(config, l3, device, local[device], ribs[device], installed[device])
    refresh_lengths()
    bgp = compute_bgp(configs, l3, ribs, reachable_factory(l3, ribs))
    for device in bgp.paths:
        for route in bgp_routes(bgp, device):
            best_local(local[device], route)
    refresh_lengths()
    status = {d: [(s, i in installed[d]) for i, s in enumerate(c.static_routes)] for d, c in configs.items()}
    return ControlPlane(l3, ospf, bgp, ribs, status)
