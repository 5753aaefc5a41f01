"""BGP: session establishment, route propagation to a fixed point, and best-path selection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from twin_lab.controlplane.links import L3
from twin_lab.controlplane.rib import Rib, Route
from twin_lab.ios.model import BgpNeighbor, DeviceConfig

ORIGIN_RANK = {"i": 0, "e": 1, "?": 2}


@dataclass(slots=True)
class BgpSession:
    """One side of a BGP session, as ``show ip bgp summary`` reports it."""

    device: str
    peer_ip: int
    local_as: int
    remote_as: int | None
    state: str  # Established | Active | Idle | Idle (Admin)
    reason: str = ""
    local_ip: int | None = None
    peer_device: str | None = None
    peer_router_id: int | None = None
    description: str | None = None
    received: int = 0
    sent: int = 0

    @property
    def established(self) -> bool:
        return self.state == "Established"

    @property
    def ebgp(self) -> bool:
        return self.remote_as != self.local_as


@dataclass(slots=True, frozen=True)
class BgpPath:
    net: int
    plen: int
    next_hop: int  # 0 for locally originated
    as_path: tuple[int, ...]
    origin: str
    local_pref: int = 100
    med: int = 0
    weight: int = 0
    local: bool = False
    ebgp: bool = False
    from_device: str | None = None
    from_ip: int = 0
    peer_router_id: int = 0

    def rank(self) -> tuple:
        return (-self.weight, -self.local_pref, 0 if self.local else 1, len(self.as_path),
                ORIGIN_RANK[self.origin], self.med, 0 if self.ebgp else 1, self.peer_router_id, self.from_ip)


@dataclass
class BgpResult:
    router_id: dict[str, int]
    sessions: dict[str, list[BgpSession]]
    paths: dict[str, dict[tuple[int, int], list[BgpPath]]]  # best first
    field_notes: list[str] = field(default_factory=list)

    def best(self, device: str) -> dict[tuple[int, int], BgpPath]:
        return {k: v[0] for k, v in self.paths.get(device, {}).items() if v}


# (device, source ip, neighbour ip) -> a TCP connection to port 179 completes (SYN there, replies back)
Reachable = Callable[[str, int, int], bool]


def _router_id(config: DeviceConfig, l3: L3, device: str) -> int:
    if config.bgp and config.bgp.router_id is not None:
        return config.bgp.router_id
    up = l3.interfaces[device]
    loops = [i.address[0] for n, i in config.interfaces.items() if i.is_loopback and i.address and up[n].line_up]
    if loops:
        return max(loops)
    return max((i.address[0] for n, i in config.interfaces.items() if i.address and up[n].line_up), default=0)


def _source_ip(config: DeviceConfig, l3: L3, rib: Rib, device: str, neighbor: BgpNeighbor) -> int | None:
    if neighbor.update_source:
        itf = config.interfaces.get(neighbor.update_source)
        if itf is None or not itf.address or not l3.is_up(device, itf.name):
            return None
        return itf.address[0]
    route = rib.lookup(neighbor.ip)
    if route is None:
        return None
    hops = rib.resolve(route)
    if not hops or hops[0].interface is None:
        return None
    itf = config.interfaces.get(hops[0].interface)
    return itf.address[0] if itf and itf.address else None


def _directly_connected(l3: L3, device: str, ip: int) -> bool:
    return any((ip & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)) == net for net, plen, _i, _a in l3.connected[device])


def compute_bgp(configs: dict[str, DeviceConfig], l3: L3, ribs: dict[str, Rib], reachable: Reachable) -> BgpResult:
    speakers = {d: c.bgp for d, c in configs.items() if c.bgp is not None}
    router_id = {d: _router_id(configs[d], l3, d) for d in speakers}
    sessions: dict[str, list[BgpSession]] = {d: [] for d in speakers}
    links: list[tuple[str, str, BgpSession, BgpSession]] = []
    by_key: dict[tuple[str, int], BgpSession] = {}

    for device, process in speakers.items():
        for ip, neighbor in process.neighbors.items():
            session = BgpSession(device, ip, process.asn, neighbor.remote_as, "Active",
                                 description=neighbor.description)
            sessions[device].append(session)
            by_key[(device, ip)] = session
            if neighbor.shutdown:
                session.state, session.reason = "Idle (Admin)", "neighbor shutdown"
                continue
            if ip in l3.local.get(device, set()):
                session.reason = "neighbor address is this router's own"  # IOS never opens such a session
                continue
            session.local_ip = _source_ip(configs[device], l3, ribs[device], device, neighbor)
            owner = l3.owner.get(ip)
            if owner is None or session.local_ip is None:
                session.reason = "peer address unreachable" if owner is None else "no route to peer"
                continue
            session.peer_device = owner[0]

    def refused(device: str, process, neighbor: BgpNeighbor, session: BgpSession) -> str:
        """Why the TCP connection ``session`` opens toward its neighbour fails ('' when it is accepted)."""
        peer, ip, source = session.peer_device, session.peer_ip, session.local_ip
        peer_process = speakers.get(peer)
        if peer_process is None:
            return "peer has no BGP process"
        if neighbor.remote_as != peer_process.asn:
            return f"remote-as {neighbor.remote_as} but peer is AS {peer_process.asn}"
        back = peer_process.neighbors.get(source)
        if back is None or back.shutdown:
            return "peer has no neighbor statement for our address"
        if back.remote_as != process.asn:
            return f"peer expects AS {back.remote_as}"
        if by_key[(peer, source)].local_ip is None:
            return "peer has no source address for the session"
        if process.asn != peer_process.asn and (neighbor.ebgp_multihop is None or back.ebgp_multihop is None) and not (
                _directly_connected(l3, device, ip) and _directly_connected(l3, peer, source)):
            return "eBGP peer not directly connected (no ebgp-multihop)"
        if not reachable(device, source, ip):
            return "TCP/179 does not get through"
        return ""

    # Each side opens a TCP connection from its source address to the neighbour address; the peer
    # accepts it when it has a neighbour statement for that source.  One accepted connection is the
    # session (IOS keeps one on collision), so one side's update-source, or one direction through an
    # ACL, is enough.  Both sides then report the addresses of that connection.
    for device, process in speakers.items():
        for ip, neighbor in process.neighbors.items():
            session = by_key[(device, ip)]
            if session.state != "Active" or session.peer_device is None:
                continue
            reason = refused(device, process, neighbor, session)
            if reason:
                session.reason = reason
                continue
            peer = session.peer_device
            peer_session = by_key[(peer, session.local_ip)]
            if peer_session.state != "Active":
                continue
            for mine, theirs, other in ((session, peer_session, peer), (peer_session, session, device)):
                mine.state, mine.reason = "Established", ""
                mine.local_ip, mine.peer_device = theirs.peer_ip, other
                mine.peer_router_id = router_id[other]
            links.append((device, peer, session, peer_session))

    # Origination.
    adj_in: dict[str, dict[tuple[int, int], dict[int, BgpPath]]] = {d: {} for d in speakers}
    for device, process in speakers.items():
        rib = ribs[device]
        local = adj_in[device]
        for net in process.networks:
            if rib.get(net.network, net.plen) is not None:
                local.setdefault((net.network, net.plen), {})[0] = BgpPath(
                    net.network, net.plen, 0, (), "i", local_pref=process.default_local_pref, weight=32768, local=True)
        for spec in process.redistribute:
            if spec.protocol not in ("connected", "static"):
                continue
            wanted = "C" if spec.protocol == "connected" else "S"
            for (net, plen), route in rib.local.items():
                if route.protocol == wanted:
                    local.setdefault((net, plen), {}).setdefault(
                        0, BgpPath(net, plen, 0, (), "?", local_pref=process.default_local_pref, med=spec.metric or 0,
                                   weight=32768, local=True))

    def valid(device: str, path: BgpPath) -> bool:
        if path.local:
            return True
        route = ribs[device].lookup(path.next_hop)
        return route is not None and bool(ribs[device].resolve(route))

    def best_of(device: str) -> dict[tuple[int, int], list[BgpPath]]:
        table = {}
        for key, paths in adj_in[device].items():
            candidates = sorted((p for p in paths.values() if valid(device, p)), key=BgpPath.rank)
            if candidates:
                table[key] = candidates
        return table

    directed = [(a, b, sa) for a, b, sa, _ in links] + [(b, a, sb) for a, b, _, sb in links]
    best = {d: best_of(d) for d in speakers}
    for _round in range(4 * len(speakers) + 4):
        changed = False
        for sender, receiver, session in directed:
            receiver_asn = speakers[receiver].asn
            neighbor = speakers[sender].neighbors[session.peer_ip]
            ebgp = session.ebgp
            exported: dict[tuple[int, int], BgpPath] = {}
            for key, paths in best[sender].items():
                path = paths[0]
                if not ebgp and not path.local and not path.ebgp:
                    continue  # iBGP split horizon
                if path.from_device == receiver:
                    continue
                as_path = ((speakers[sender].asn, *path.as_path)) if ebgp else path.as_path
                if receiver_asn in as_path:
                    continue
                if ebgp:
                    next_hop = session.local_ip
                else:
                    next_hop = session.local_ip if (neighbor.next_hop_self or path.local) else path.next_hop
                # LOCAL_PREF is not carried over eBGP: the receiver applies its own default.
                local_pref = speakers[receiver].default_local_pref if ebgp else path.local_pref
                exported[key] = replace(
                    path, next_hop=next_hop, as_path=as_path, local_pref=local_pref,
                    med=path.med if (path.local or not ebgp) else 0, weight=0, local=False, ebgp=ebgp,
                    from_device=sender, from_ip=session.local_ip, peer_router_id=router_id[sender])
            table = adj_in[receiver]
            for key in list(table):
                paths = table[key]
                old = paths.get(session.local_ip)
                if old is not None and old.from_device == sender and key not in exported:
                    del paths[session.local_ip]
                    changed = True
            for key, path in exported.items():
                paths = table.setdefault(key, {})
                if paths.get(session.local_ip) != path:
                    paths[session.local_ip] = path
                    changed = True
        if not changed:
            break
        best = {d: best_of(d) for d in speakers}

    for _sender, receiver, session in directed:
        count = sum(1 for paths in adj_in[receiver].values() if session.local_ip in paths)
        by_key[(receiver, session.local_ip)].received = count
        session.sent = count
    return BgpResult(router_id, sessions, best)


def bgp_routes(result: BgpResult, device: str) -> list[Route]:
    from twin_lab.controlplane.rib import NextHop

    routes = []
    for (net, plen), paths in result.paths.get(device, {}).items():
        path = paths[0]
        if path.local:
            continue
        routes.append(Route(net, plen, "B", 20 if path.ebgp else 200, path.med, [NextHop(path.next_hop, None)],
                            {"as_path": list(path.as_path), "origin": path.origin, "local_pref": path.local_pref}))
    return routes
