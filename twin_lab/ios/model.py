"""Typed model of an IOS running configuration.

Plain dataclasses (not pydantic) because the simulator forks and recomputes thousands of
these per second; the pydantic contracts live at package boundaries (topology file, results).
Commands the simulator does not model are kept verbatim (``extra``) so that a real device's
running-config survives a parse/render round trip.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from twin_lab.addressing import default_bandwidth_kbit, is_loopback


@dataclass(slots=True)
class Interface:
    name: str
    description: str | None = None
    address: tuple[int, int] | None = None  # (ip, prefix length)
    secondary: list[tuple[int, int]] = field(default_factory=list)
    shutdown: bool = False
    mtu: int | None = None
    ip_mtu: int | None = None
    bandwidth: int | None = None  # kbit/s
    ospf_cost: int | None = None
    ospf_hello: int | None = None
    ospf_dead: int | None = None
    ospf_network: str | None = None  # "point-to-point" | "broadcast"
    ospf_area: tuple[int, int] | None = None  # (process id, area) from "ip ospf P area A"
    acl_in: str | None = None
    acl_out: str | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def effective_mtu(self) -> int:
        """The IP MTU OSPF compares in its DBD exchange."""
        return self.ip_mtu or self.mtu or 1500

    @property
    def hello(self) -> int:
        return self.ospf_hello or 10

    @property
    def dead(self) -> int:
        return self.ospf_dead or 4 * self.hello

    @property
    def effective_bandwidth(self) -> int:
        return self.bandwidth or default_bandwidth_kbit(self.name)

    def all_addresses(self) -> list[tuple[int, int]]:
        return ([self.address] if self.address else []) + list(self.secondary)

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.name)


@dataclass(slots=True)
class StaticRoute:
    network: int
    plen: int
    next_hop: int | None = None
    interface: str | None = None
    distance: int = 1
    name: str | None = None
    permanent: bool = False

    def key(self) -> tuple:
        return (self.network, self.plen, self.interface, self.next_hop)


@dataclass(slots=True)
class OspfNetwork:
    address: int
    wildcard: int
    area: int


@dataclass(slots=True)
class Redistribution:
    protocol: str  # connected | static | bgp
    process: int | None = None  # AS number for bgp
    metric: int | None = None
    metric_type: int | None = None
    subnets: bool = True


@dataclass(slots=True)
class OspfProcess:
    pid: int
    router_id: int | None = None
    networks: list[OspfNetwork] = field(default_factory=list)
    passive: set[str] = field(default_factory=set)
    passive_default: bool = False
    non_passive: set[str] = field(default_factory=set)  # "no passive-interface X" under default
    redistribute: list[Redistribution] = field(default_factory=list)
    default_originate: bool = False
    default_originate_always: bool = False
    reference_bandwidth: int = 100  # Mbit/s, "auto-cost reference-bandwidth"
    log_adjacency_changes: bool = False
    shutdown: bool = False
    extra: list[str] = field(default_factory=list)

    def is_passive(self, ifname: str) -> bool:
        if self.passive_default:
            return ifname not in self.non_passive
        return ifname in self.passive


@dataclass(slots=True)
class BgpNeighbor:
    ip: int
    remote_as: int | None = None
    description: str | None = None
    update_source: str | None = None
    next_hop_self: bool = False
    ebgp_multihop: int | None = None
    shutdown: bool = False
    password_set: str | None = None  # kept verbatim, never interpreted
    extra: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BgpNetwork:
    network: int
    plen: int


@dataclass(slots=True)
class BgpProcess:
    asn: int
    router_id: int | None = None
    log_neighbor_changes: bool = False
    default_local_pref: int = 100
    neighbors: dict[int, BgpNeighbor] = field(default_factory=dict)
    networks: list[BgpNetwork] = field(default_factory=list)
    redistribute: list[Redistribution] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PortMatch:
    op: str  # eq | neq | lt | gt | range
    ports: tuple[int, ...]

    def matches(self, port: int | None) -> bool:
        if port is None:
            return False
        if self.op == "eq":
            return port in self.ports
        if self.op == "neq":
            return port not in self.ports
        if self.op == "lt":
            return port < self.ports[0]
        if self.op == "gt":
            return port > self.ports[0]
        return self.ports[0] <= port <= self.ports[1]


@dataclass(slots=True)
class AclEntry:
    seq: int
    action: str  # permit | deny | remark
    protocol: str = "ip"  # ip | icmp | tcp | udp | ospf | gre | esp | <number>; "ip" for standard
    src: int = 0
    src_wildcard: int = 0xFFFFFFFF
    src_port: PortMatch | None = None
    dst: int = 0
    dst_wildcard: int = 0xFFFFFFFF
    dst_port: PortMatch | None = None
    options: tuple[str, ...] = ()  # icmp type, established, log, ...
    remark: str | None = None

    def same_rule(self, other: AclEntry) -> bool:
        return (self.action, self.protocol, self.src, self.src_wildcard, self.src_port, self.dst,
                self.dst_wildcard, self.dst_port, self.options, self.remark) == (
            other.action, other.protocol, other.src, other.src_wildcard, other.src_port, other.dst,
            other.dst_wildcard, other.dst_port, other.options, other.remark)


@dataclass(slots=True)
class AccessList:
    name: str
    kind: str  # standard | extended
    entries: list[AclEntry] = field(default_factory=list)
    numbered: bool = False

    def next_seq(self) -> int:
        return (max((e.seq for e in self.entries), default=0) // 10 + 1) * 10


@dataclass(slots=True)
class Block:
    """A command the simulator keeps but does not model, with its indented children."""

    header: str
    children: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DeviceConfig:
    hostname: str = "Router"
    interfaces: dict[str, Interface] = field(default_factory=dict)
    static_routes: list[StaticRoute] = field(default_factory=list)
    ospf: dict[int, OspfProcess] = field(default_factory=dict)
    bgp: BgpProcess | None = None
    acls: dict[str, AccessList] = field(default_factory=dict)
    extra: list[Block] = field(default_factory=list)

    def clone(self) -> DeviceConfig:
        return copy.deepcopy(self)

    def interface(self, name: str) -> Interface:
        """Get or create an interface (IOS creates logical ones on first reference)."""
        itf = self.interfaces.get(name)
        if itf is None:
            itf = Interface(name=name)
            self.interfaces[name] = itf
        return itf
