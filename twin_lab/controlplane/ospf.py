"""OSPFv2: interface enablement, adjacency conditions, per-area SPF, inter-area and external routes.

Costs are computed for every router and destination at once with numpy/scipy (all-pairs
Dijkstra per area, then min-plus products through the ABRs): a 1000-router recompute is a
handful of array operations instead of a million Python steps.  Next hops are derived on
demand from the distance matrices, since only the routes someone looks at need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin_lab.acl import Packet, evaluate
from twin_lab.addressing import network_of, wildcard_match
from twin_lab.controlplane.links import L3
from twin_lab.ios.model import DeviceConfig, OspfProcess

INTRA, INTER, EXT1, EXT2 = 1, 2, 3, 4
KIND_TEXT = {INTRA: "O", INTER: "O IA", EXT1: "O E1", EXT2: "O E2"}
INF = np.float32(np.inf)
ALL_SPF_ROUTERS = (224 << 24) | 5


@dataclass(slots=True)
class OspfInterface:
    device: str
    name: str
    area: int
    cost: int
    passive: bool
    address: tuple[int, int]
    process: OspfProcess


@dataclass(slots=True)
class OspfNeighbor:
    """One side's view of a neighbour, as ``show ip ospf neighbor`` lists it."""

    device: str
    interface: str
    neighbor: str
    neighbor_id: int
    neighbor_address: int
    neighbor_interface: str
    area: int
    state: str  # FULL | EXSTART | INIT ...
    cost: int

    @property
    def full(self) -> bool:
        return self.state == "FULL"


@dataclass
class _Area:
    area: int
    routers: list[str]
    index: dict[str, int]
    dist: np.ndarray  # routers x routers
    dests: np.ndarray  # global destination ids with an intra-area route, sorted
    intra: np.ndarray  # routers x len(dests)
    origins: dict[int, list[tuple[int, int]]]  # dest id -> [(router index, cost)]
    pair_dest: np.ndarray = None  # (destination, origin, cost) triples behind ``intra``
    pair_origin: np.ndarray = None
    pair_cost: np.ndarray = None
    abrs: list[int] = field(default_factory=list)  # router indexes
    summaries: dict[int, np.ndarray] = field(default_factory=dict)  # abr index -> cost per global dest


@dataclass
class OspfResult:
    router_id: dict[str, int]
    interfaces: dict[str, dict[str, OspfInterface]]
    neighbors: dict[str, list[OspfNeighbor]]
    dest_ids: dict[tuple, int]  # ("p", net, plen) or ("r", device) -> global id
    dest_keys: list[tuple]
    row: dict[str, int]  # device -> row in cost/kind/area arrays
    cost: np.ndarray  # devices x dests, float32 (inf = no route)
    kind: np.ndarray  # devices x dests, int8 (0 = no route)
    area_of: np.ndarray  # devices x dests, int16 area slot used by the best route
    areas: list[_Area]
    externals: dict[int, list[tuple[str, int, int]]]  # dest id -> [(asbr, metric, type)]
    ext_metric: np.ndarray  # devices x dests: reported metric for external routes

    def route(self, device: str, net: int, plen: int) -> tuple[int, int] | None:
        """(kind, metric) of the OSPF route to a prefix on a device, or None."""
        row = self.row.get(device)
        dest = self.dest_ids.get(("p", net, plen))
        if row is None or dest is None:
            return None
        kind = int(self.kind[row, dest])
        if not kind:
            return None
        metric = self.ext_metric[row, dest] if kind >= EXT1 else self.cost[row, dest]
        return kind, int(metric)

    def prefixes(self, device: str) -> list[tuple[int, int, int, int, int]]:
        """All OSPF routes of a device: (net, plen, kind, metric, dest id)."""
        row = self.row.get(device)
        if row is None:
            return []
        result = []
        kinds = self.kind[row]
        for dest in np.nonzero(kinds)[0].tolist():
            key = self.dest_keys[dest]
            if key[0] != "p":
                continue
            kind = int(kinds[dest])
            metric = self.ext_metric[row, dest] if kind >= EXT1 else self.cost[row, dest]
            result.append((key[1], key[2], kind, int(metric), dest))
        return result

    def next_hops(self, device: str, dest: int) -> list[tuple[str, int]]:
        """ECMP next hops (interface, neighbour address) toward a destination id."""
        row = self.row[device]
        kind = int(self.kind[row, dest])
        if not kind:
            return []
        area = self.areas[int(self.area_of[row, dest])]
        me = area.index[device]
        cost = float(self.cost[row, dest])
        targets: list[int] = []
        if kind == INTRA:
            targets = [o for o, c in area.origins[dest] if area.dist[me, o] + c == cost]
        elif kind == INTER:
            targets = [b for b, summary in area.summaries.items() if area.dist[me, b] + summary[dest] == cost]
        else:
            best = self._best_asbrs(row, dest)
            hops: list[tuple[str, int]] = []
            for asbr in best:
                hops.extend(h for h in self.next_hops(device, self.dest_ids[("r", asbr)]) if h not in hops)
            return hops
        hops = []
        for target in targets:
            for hop in self._first_hops(area, device, me, target):
                if hop not in hops:
                    hops.append(hop)
        return sorted(hops, key=lambda h: h[1])

    def next_hop_bits(self, device: str) -> np.ndarray | None:
        """Next hops toward every destination as bitmasks over the device's neighbour list.

        Lets a diff compare whole routing tables with array operations; None when the
        device has more than 64 neighbours (callers then compare route by route).
        """
        neighbors = self.neighbors.get(device, [])
        row = self.row.get(device)
        if row is None or len(neighbors) > 64:
            return None
        cost, kind, area_of = self.cost[row], self.kind[row], self.area_of[row]
        bits = np.zeros(len(self.dest_keys), dtype=np.uint64)
        for slot, area in enumerate(self.areas):
            me = area.index.get(device)
            if me is None:
                continue
            toward = np.zeros(len(area.routers), dtype=np.uint64)
            for k, nbr in enumerate(neighbors):
                other = area.index.get(nbr.neighbor)
                if nbr.full and nbr.area == area.area and other is not None:
                    mask = nbr.cost + area.dist[other] == area.dist[me]
                    toward[mask] |= np.uint64(1 << k)
            toward[me] = 0
            here = area_of == slot
            if area.pair_dest is not None and len(area.pair_dest):
                best = (area.dist[me, area.pair_origin] + area.pair_cost == cost[area.pair_dest])
                best &= (kind[area.pair_dest] == INTRA) & here[area.pair_dest]
                np.bitwise_or.at(bits, area.pair_dest[best], toward[area.pair_origin[best]])
            for abr, summary in area.summaries.items():
                mask = (kind == INTER) & here & (area.dist[me, abr] + summary == cost)
                bits[mask] |= toward[abr]
        for dest in self.externals:
            if kind[dest] >= EXT1:
                value = np.uint64(0)
                for asbr in self._best_asbrs(row, dest):
                    value |= bits[self.dest_ids[("r", asbr)]]
                bits[dest] = value
        return bits

    def _best_asbrs(self, row: int, dest: int) -> list[str]:
        candidates = []
        for asbr, metric, _type in self.externals.get(dest, []):
            router_dest = self.dest_ids[("r", asbr)]
            forward = float(self.cost[row, router_dest]) if self.kind[row, router_dest] else np.inf
            candidates.append((metric, forward, asbr))
        if not candidates:
            return []
        best = min((m, f) for m, f, _ in candidates)
        return [a for m, f, a in candidates if (m, f) == best and f != np.inf]

    def _first_hops(self, area: _Area, device: str, me: int, target: int) -> list[tuple[str, int]]:
        if me == target:
            return []
        want = area.dist[me, target]
        hops = []
        for nbr in self.neighbors.get(device, []):
            if not nbr.full or nbr.area != area.area:
                continue
            other = area.index.get(nbr.neighbor)
            if other is not None and nbr.cost + area.dist[other, target] == want:
                hops.append((nbr.interface, nbr.neighbor_address))
        return hops


def _router_id(config: DeviceConfig, l3: L3, device: str) -> int:
    for process in config.ospf.values():
        if process.router_id is not None:
            return process.router_id
    up = l3.interfaces[device]
    loopbacks = [i.address[0] for n, i in config.interfaces.items() if i.is_loopback and i.address and up[n].line_up]
    if loopbacks:
        return max(loopbacks)
    addresses = [i.address[0] for n, i in config.interfaces.items() if i.address and up[n].line_up]
    return max(addresses, default=0)


def _interface_cost(itf, process: OspfProcess) -> int:
    if itf.ospf_cost:
        return itf.ospf_cost
    if itf.is_loopback:
        return 1
    return max(1, process.reference_bandwidth * 1000 // itf.effective_bandwidth)


def _advertised_plen(itf, plen: int) -> int:
    """IOS advertises a loopback as a /32 host route unless it is 'ip ospf network point-to-point'."""
    if itf.is_loopback and itf.ospf_network != "point-to-point":
        return 32
    return plen


def _enabled(config: DeviceConfig, l3: L3, device: str) -> dict[str, OspfInterface]:
    enabled: dict[str, OspfInterface] = {}
    processes = [p for p in config.ospf.values() if not p.shutdown]
    if not processes:
        return enabled
    for name, itf in config.interfaces.items():
        if not itf.address or not l3.interfaces[device][name].line_up:
            continue
        process, area = None, None
        if itf.ospf_area is not None and itf.ospf_area[0] in config.ospf:
            process, area = config.ospf[itf.ospf_area[0]], itf.ospf_area[1]
        else:
            best = -1
            for candidate in processes:
                for net in candidate.networks:
                    if wildcard_match(itf.address[0], net.address, net.wildcard):
                        specificity = 32 - bin(net.wildcard).count("1")
                        if specificity > best:
                            best, process, area = specificity, candidate, net.area
        if process is None or process.shutdown:
            continue
        enabled[name] = OspfInterface(device, name, area, _interface_cost(itf, process), process.is_passive(name),
                                      itf.address, process)
    return enabled


def _hellos_pass(config: DeviceConfig, acl_name: str | None, source: int) -> bool:
    if acl_name is None:
        return True
    permitted, _entry = evaluate(config.acls.get(acl_name), Packet(source, ALL_SPF_ROUTERS, "ospf", icmp_type=None))
    return permitted


def _adjacency_state(config_a: DeviceConfig, a: OspfInterface, config_b: DeviceConfig, b: OspfInterface,
                     rid_a: int, rid_b: int) -> str | None:
    """The state ``a`` sees toward ``b``; None when they never discover each other."""
    if a.passive or b.passive:
        return None
    ia, ib = config_a.interfaces[a.name], config_b.interfaces[b.name]
    # Each side checks the hello's source subnet and network mask, except on a point-to-point
    # network (RFC 2328 8.2 and 10.5; IOS too): both sides must accept the other's hellos.
    point_to_point = ia.ospf_network == ib.ospf_network == "point-to-point"
    if not point_to_point and (network_of(a.address[0], a.address[1]) != network_of(b.address[0], b.address[1])
                               or a.address[1] != b.address[1]):
        return None
    if not (_hellos_pass(config_a, ia.acl_in, b.address[0]) and _hellos_pass(config_b, ib.acl_in, a.address[0])):
        return None  # an inbound ACL drops the neighbour's hellos (224.0.0.5, protocol 89)
    if a.area != b.area or ia.hello != ib.hello or ia.dead != ib.dead or rid_a == rid_b:
        return None
    mtu_ignore = "ip ospf mtu-ignore" in ia.extra and "ip ospf mtu-ignore" in ib.extra
    if not mtu_ignore and ia.effective_mtu != ib.effective_mtu:
        # The side with the smaller MTU rejects the larger DBD packets: both stall before FULL.
        return "EXSTART"
    return "FULL"


def compute_ospf(configs: dict[str, DeviceConfig], l3: L3, redistributed: dict[str, list[tuple[int, int, int, int]]]) -> OspfResult:
    """``redistributed``: device -> [(net, plen, metric, type)] external prefixes it originates."""
    interfaces = {d: _enabled(c, l3, d) for d, c in configs.items()}
    speakers = [d for d, e in interfaces.items() if e or redistributed.get(d)]
    router_id = {d: _router_id(configs[d], l3, d) for d in speakers}
    neighbors: dict[str, list[OspfNeighbor]] = {d: [] for d in speakers}
    for device in speakers:
        for name, mine in interfaces[device].items():
            far = l3.peer.get((device, name))
            if far is None or far.device is None:
                continue
            theirs = interfaces.get(far.device, {}).get(far.interface)
            if theirs is None:
                continue
            state = _adjacency_state(configs[device], mine, configs[far.device], theirs,
                                     router_id[device], router_id[far.device])
            if state is None:
                continue
            neighbors[device].append(OspfNeighbor(device, name, far.device, router_id[far.device], theirs.address[0],
                                                  far.interface, mine.area, state, mine.cost))

    # Destinations: every OSPF-enabled subnet (intra-area), plus each router itself (for ASBR
    # forwarding), plus external prefixes.
    dest_ids: dict[tuple, int] = {}
    dest_keys: list[tuple] = []

    def dest(key: tuple) -> int:
        found = dest_ids.get(key)
        if found is None:
            found = dest_ids[key] = len(dest_keys)
            dest_keys.append(key)
        return found

    area_members: dict[int, list[str]] = {}
    area_pairs: dict[int, list[tuple[int, str, int]]] = {}
    for device in speakers:
        for itf in interfaces[device].values():
            members = area_members.setdefault(itf.area, [])
            if (not members or members[-1] != device) and device not in members:
                members.append(device)
            itf_obj = configs[device].interfaces[itf.name]
            for ip, plen in itf_obj.all_addresses():
                plen = _advertised_plen(itf_obj, plen)
                area_pairs.setdefault(itf.area, []).append((dest(("p", network_of(ip, plen), plen)), device, itf.cost))
    for device in speakers:
        for area in {i.area for i in interfaces[device].values()}:
            area_pairs[area].append((dest(("r", device)), device, 0))
    externals: dict[int, list[tuple[str, int, int]]] = {}
    for device, prefixes in redistributed.items():
        if device not in router_id:
            continue
        for net, plen, metric, ext_type in prefixes:
            externals.setdefault(dest(("p", net, plen)), []).append((device, metric, ext_type))
        dest(("r", device))

    n_dest = len(dest_keys)
    rows = {d: i for i, d in enumerate(speakers)}
    cost = np.full((len(speakers), n_dest), INF, dtype=np.float32)
    kind = np.zeros((len(speakers), n_dest), dtype=np.int8)
    area_of = np.zeros((len(speakers), n_dest), dtype=np.int16)
    areas: list[_Area] = []

    for area_id in sorted(area_members):
        routers = area_members[area_id]
        index = {d: i for i, d in enumerate(routers)}
        edges: dict[tuple[int, int], int] = {}
        for device in routers:
            for nbr in neighbors[device]:
                if nbr.full and nbr.area == area_id:
                    key = (index[device], index[nbr.neighbor])
                    edges[key] = min(edges.get(key, 1 << 30), nbr.cost)
        n = len(routers)
        if edges:
            (src, dst), weights = zip(*edges.keys(), strict=True), list(edges.values())
            graph = csr_matrix((np.asarray(weights, dtype=np.float64), (np.asarray(src), np.asarray(dst))), shape=(n, n))
            dist = dijkstra(graph, directed=True).astype(np.float32)
        else:
            dist = np.full((n, n), INF, dtype=np.float32)
            np.fill_diagonal(dist, 0)
        pairs = sorted((d, index[o], c) for d, o, c in area_pairs.get(area_id, []))
        dest_arr = np.asarray([p[0] for p in pairs], dtype=np.int64)
        origin_arr = np.asarray([p[1] for p in pairs], dtype=np.int64)
        pcost = np.asarray([p[2] for p in pairs], dtype=np.float32)
        starts = np.flatnonzero(np.r_[True, dest_arr[1:] != dest_arr[:-1]]) if len(pairs) else np.zeros(0, int)
        unique_dests = dest_arr[starts] if len(pairs) else dest_arr
        intra = (np.minimum.reduceat(dist[:, origin_arr] + pcost[None, :], starts, axis=1)
                 if len(pairs) else np.zeros((n, 0), dtype=np.float32))
        origins: dict[int, list[tuple[int, int]]] = {}
        for d, o, c in pairs:
            origins.setdefault(d, []).append((o, c))
        areas.append(_Area(area_id, routers, index, dist, unique_dests, intra, origins, dest_arr, origin_arr, pcost))

    slot = {a.area: i for i, a in enumerate(areas)}
    # Pass 1: intra-area routes win over everything else.
    for i, area in enumerate(areas):
        if not len(area.dests):
            continue
        rows_a = np.asarray([rows[d] for d in area.routers])
        block = cost[np.ix_(rows_a, area.dests)]
        better = (area.intra < block) | (kind[np.ix_(rows_a, area.dests)] != INTRA)
        better &= np.isfinite(area.intra)
        cost[np.ix_(rows_a, area.dests)] = np.where(better, area.intra, block)
        kind[np.ix_(rows_a, area.dests)] = np.where(better, INTRA, kind[np.ix_(rows_a, area.dests)])
        area_of[np.ix_(rows_a, area.dests)] = np.where(better, i, area_of[np.ix_(rows_a, area.dests)])

    def intra_row(area: _Area, router: int) -> np.ndarray:
        vector = np.full(n_dest, INF, dtype=np.float32)
        if len(area.dests):
            vector[area.dests] = area.intra[router]
        return vector

    membership: dict[str, list[int]] = {}
    for i, area in enumerate(areas):
        for device in area.routers:
            membership.setdefault(device, []).append(i)

    def inter_pass(area_slot: int, summaries: dict[int, np.ndarray]) -> None:
        area = areas[area_slot]
        area.summaries = summaries
        if not summaries:
            return
        best = np.full((len(area.routers), n_dest), INF, dtype=np.float32)
        for b, summary in summaries.items():
            np.minimum(best, area.dist[:, b:b + 1] + summary[None, :], out=best)
        rows_a = np.asarray([rows[d] for d in area.routers])
        current_kind = kind[rows_a]
        current_cost = cost[rows_a]
        take = (current_kind == 0) | ((current_kind == INTER) & (best < current_cost))
        take &= np.isfinite(best)
        cost[rows_a] = np.where(take, best, current_cost)
        kind[rows_a] = np.where(take, INTER, current_kind)
        area_of[rows_a] = np.where(take, area_slot, area_of[rows_a])

    backbone = slot.get(0)
    if backbone is not None:
        bb = areas[backbone]
        summaries = {}
        for device in bb.routers:
            others = [s for s in membership[device] if s != backbone]
            if not others:
                continue
            vector = np.full(n_dest, INF, dtype=np.float32)
            for s in others:
                np.minimum(vector, intra_row(areas[s], areas[s].index[device]), out=vector)
            summaries[bb.index[device]] = vector
            bb.abrs.append(bb.index[device])
        inter_pass(backbone, summaries)
        for s, area in enumerate(areas):
            if s == backbone:
                continue
            summaries = {}
            for device in area.routers:
                if backbone not in membership[device]:
                    continue
                vector = cost[rows[device]].copy()  # what the ABR knows (intra + backbone inter)
                if len(area.dests):
                    vector[area.dests] = INF  # never summarise an area back into itself
                summaries[area.index[device]] = vector
                area.abrs.append(area.index[device])
            inter_pass(s, summaries)

    # Externals: reported metric is the redistribution metric (E2); forwarding via the best ASBR.
    ext_metric = np.zeros((len(speakers), n_dest), dtype=np.float32)
    for dest_id, origins_list in externals.items():
        best_key = np.full(len(speakers), np.inf)
        best_metric = np.zeros(len(speakers), dtype=np.float32)
        best_type = np.zeros(len(speakers), dtype=np.int8)
        best_area = np.zeros(len(speakers), dtype=np.int16)
        for asbr, metric, ext_type in origins_list:
            router_dest = dest_ids[("r", asbr)]
            forward = np.where(kind[:, router_dest] > 0, cost[:, router_dest], np.inf).astype(np.float64)
            if ext_type == 1:
                key = (forward + metric) * 1e6 + forward
            else:
                key = metric * 1e9 + forward
            key[rows[asbr]] = np.inf  # an ASBR does not route to its own external
            better = key < best_key
            best_key = np.where(better, key, best_key)
            best_metric = np.where(better, metric if ext_type == 2 else forward + metric, best_metric)
            best_type = np.where(better, EXT2 if ext_type == 2 else EXT1, best_type)
            best_area = np.where(better, area_of[:, router_dest], best_area)
        take = (kind[:, dest_id] == 0) & np.isfinite(best_key)
        kind[:, dest_id] = np.where(take, best_type, kind[:, dest_id])
        ext_metric[:, dest_id] = np.where(take, best_metric, 0)
        cost[:, dest_id] = np.where(take, best_metric, cost[:, dest_id])
        area_of[:, dest_id] = np.where(take, best_area, area_of[:, dest_id])

    return OspfResult(router_id, interfaces, neighbors, dest_ids, dest_keys, rows, cost, kind, area_of, areas,
                      externals, ext_metric)
