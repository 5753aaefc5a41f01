"""Routes, administrative distance, and longest-prefix match on one device."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_lab.addressing import in_prefix, plen_to_mask
from twin_lab.controlplane.ospf import KIND_TEXT, OspfResult

DISTANCE = {"C": 0, "L": 0, "S": 1, "B-ebgp": 20, "O": 110, "B-ibgp": 200}


@dataclass(slots=True, frozen=True)
class NextHop:
    ip: int | None  # None for directly connected / exit-interface-only routes
    interface: str | None


@dataclass(slots=True)
class Route:
    net: int
    plen: int
    protocol: str  # C, L, S, O, O IA, O E1, O E2, B
    distance: int
    metric: int
    next_hops: list[NextHop] = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    def signature(self) -> tuple:
        return (self.protocol, self.distance, self.metric, tuple(self.next_hops))


class Rib:
    """One device's routing table: local routes in a dict, OSPF routes read from the area arrays."""

    def __init__(self, device: str, local: dict[tuple[int, int], Route], ospf: OspfResult | None,
                 lengths: list[int]):
        self.device = device
        self.local = local
        self.ospf = ospf
        self.lengths = lengths  # prefix lengths present anywhere, longest first
        self._cache: dict[int, Route | None] = {}

    def _ospf_route(self, net: int, plen: int) -> Route | None:
        if self.ospf is None:
            return None
        found = self.ospf.route(self.device, net, plen)
        if found is None:
            return None
        kind, metric = found
        dest = self.ospf.dest_ids[("p", net, plen)]
        hops = [NextHop(ip, itf) for itf, ip in self.ospf.next_hops(self.device, dest)]
        return Route(net, plen, KIND_TEXT[kind], 110, metric, hops)

    def get(self, net: int, plen: int) -> Route | None:
        local = self.local.get((net, plen))
        if local is not None and local.distance < 110:
            return local
        ospf = self._ospf_route(net, plen)
        if ospf is not None and (local is None or ospf.distance < local.distance):
            return ospf
        return local

    def lookup(self, ip: int) -> Route | None:
        """Longest-prefix match (cached per destination for this network state)."""
        if ip in self._cache:
            return self._cache[ip]
        found = None
        for plen in self.lengths:
            route = self.get(ip & plen_to_mask(plen), plen)
            if route is not None:
                found = route
                break
        self._cache[ip] = found
        return found

    def routes(self) -> list[Route]:
        """Every installed route (materialised; for ``show ip route`` and diffs)."""
        table = dict(self.local)
        if self.ospf is not None:
            for net, plen, _kind, _metric, _dest in self.ospf.prefixes(self.device):
                existing = table.get((net, plen))
                if existing is None or existing.distance > 110:
                    route = self._ospf_route(net, plen)
                    if route is not None:
                        table[(net, plen)] = route
        return sorted(table.values(), key=lambda r: (r.net, r.plen))

    def resolve(self, route: Route, depth: int = 0) -> list[NextHop]:
        """Turn a route's next hops into (address, interface) pairs, recursing as IOS does."""
        resolved: list[NextHop] = []
        for hop in route.next_hops:
            if hop.interface is not None:
                resolved.append(hop)
                continue
            if hop.ip is None or depth > 4:
                continue
            via = self.lookup(hop.ip)
            if via is None or via is route:
                continue
            if via.protocol == "C":
                resolved.append(NextHop(hop.ip, via.next_hops[0].interface))
            else:
                resolved.extend(self.resolve(via, depth + 1))
        return resolved


def best_local(routes: dict[tuple[int, int], Route], route: Route) -> None:
    """Install ``route`` unless a route with a lower distance holds the prefix."""
    key = (route.net, route.plen)
    existing = routes.get(key)
    if existing is None or route.distance < existing.distance:
        routes[key] = route
    elif existing.protocol == route.protocol == "S" and route.distance == existing.distance:
        existing.next_hops.extend(h for h in route.next_hops if h not in existing.next_hops)


def covers(route: Route, ip: int) -> bool:
    return in_prefix(ip, route.net, route.plen)
