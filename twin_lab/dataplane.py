"""Hop-by-hop forwarding over the FIBs, with ACLs: trace, ping, traceroute, reachability.

A packet is walked device by device: inbound ACL, local delivery, longest-prefix match,
recursive next-hop resolution, outbound ACL (not for router-originated traffic, as on IOS),
then across the link to whoever owns the next-hop address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_lab.acl import Packet, evaluate
from twin_lab.addressing import in_prefix, int_to_ip
from twin_lab.controlplane.links import L3
from twin_lab.controlplane.rib import Rib
from twin_lab.ios.model import DeviceConfig
from twin_lab.ios.render import ace_text
from twin_lab.topology import Host

MAX_TTL = 32


@dataclass(slots=True)
class Hop:
    node: str  # device or host name
    ingress: str | None = None
    egress: str | None = None
    address: int | None = None  # the address a traceroute shows for this hop

    def to_dict(self) -> dict:
        return {"node": self.node, "ingress": self.ingress, "egress": self.egress,
                "address": int_to_ip(self.address) if self.address is not None else None}


@dataclass(slots=True)
class Drop:
    node: str
    reason: str  # acl | no-route | unreachable | down | loop | ttl | null
    interface: str | None = None
    direction: str | None = None
    acl: str | None = None
    rule: str | None = None
    seq: int | None = None

    def describe(self) -> str:
        if self.reason == "acl":
            rule = f"rule {self.seq} '{self.rule}'" if self.rule else "implicit deny"
            return f"denied by ACL {self.acl} ({rule}) {self.direction} on {self.node} {self.interface}"
        return f"{self.reason} at {self.node}" + (f" {self.interface}" if self.interface else "")

    def to_dict(self) -> dict:
        return {"node": self.node, "reason": self.reason, "interface": self.interface, "direction": self.direction,
                "acl": self.acl, "rule": self.rule, "seq": self.seq, "text": self.describe()}


@dataclass(slots=True)
class Trace:
    packet: Packet
    hops: list[Hop] = field(default_factory=list)
    delivered: bool = False
    drop: Drop | None = None
    end: str | None = None  # the node that received the packet
    touched: set[str] = field(default_factory=set)  # devices whose state decided the outcome

    def to_dict(self) -> dict:
        return {"src": int_to_ip(self.packet.src), "dst": int_to_ip(self.packet.dst), "delivered": self.delivered,
                "hops": [h.to_dict() for h in self.hops], "drop": self.drop.to_dict() if self.drop else None}


class Forwarder:
    """Walks packets through one computed network state."""

    def __init__(self, configs: dict[str, DeviceConfig], l3: L3, ribs: dict[str, Rib], hosts: dict[str, Host]):
        self.configs, self.l3, self.ribs, self.hosts = configs, l3, ribs, hosts

    def owner_of(self, ip: int) -> str | None:
        found = self.l3.owner.get(ip)
        if found is not None:
            return found[0]
        host = self.l3.host_owner.get(ip)
        return host.name if host is not None else None

    def _acl_check(self, trace: Trace, device: str, interface: str, direction: str) -> bool:
        itf = self.configs[device].interfaces.get(interface)
        name = None if itf is None else (itf.acl_in if direction == "in" else itf.acl_out)
        if name is None:
            return True
        acl = self.configs[device].acls.get(name)
        permitted, entry = evaluate(acl, trace.packet)
        if not permitted:
            trace.drop = Drop(device, "acl", interface, direction, name,
                              ace_text(entry, acl.kind) if entry else None, entry.seq if entry else None)
        return permitted

    def trace(self, start: str, packet: Packet, source_interface: str | None = None) -> Trace:
        """Forward ``packet`` from node ``start`` (a device or a host name)."""
        trace = Trace(packet)
        host = self.hosts.get(start)
        if host is not None:
            return self._from_host(trace, host)
        return self._walk(trace, start, None)

    def _from_host(self, trace: Trace, host: Host) -> Trace:
        packet = trace.packet
        trace.hops.append(Hop(host.name, address=host.ip))
        if packet.dst == host.ip:
            trace.delivered, trace.end = True, host.name
            return trace
        attach = host.attach
        trace.touched.add(attach.device)
        if not self.l3.is_up(attach.device, attach.interface):
            trace.drop = Drop(host.name, "down", attach.interface)
            return trace
        target = packet.dst if in_prefix(packet.dst, host.ip & ~((1 << (32 - host.plen)) - 1), host.plen) else host.gateway
        itf = self.configs[attach.device].interfaces[attach.interface]
        if target is None or target not in [a for a, _ in itf.all_addresses()]:
            trace.drop = Drop(host.name, "unreachable", None)
            return trace
        return self._walk(trace, attach.device, attach.interface)

    def _walk(self, trace: Trace, device: str, ingress: str | None) -> Trace:
        packet = trace.packet
        seen: set[tuple[str, str | None]] = set()
        originated = ingress is None
        for _ttl in range(MAX_TTL):
            if (device, ingress) in seen:
                trace.drop = Drop(device, "loop", ingress)
                return trace
            seen.add((device, ingress))
            trace.touched.add(device)
            hop = Hop(device, ingress)
            if ingress is not None:
                itf = self.configs[device].interfaces.get(ingress)
                hop.address = itf.address[0] if itf is not None and itf.address else None
            trace.hops.append(hop)
            if ingress is not None and not self._acl_check(trace, device, ingress, "in"):
                return trace
            if packet.dst in self.l3.local.get(device, ()):
                trace.delivered, trace.end = True, device
                return trace
            rib = self.ribs[device]
            route = rib.lookup(packet.dst)
            if route is None:
                trace.drop = Drop(device, "no-route")
                return trace
            hops = rib.resolve(route)
            if not hops:
                trace.drop = Drop(device, "no-route")
                return trace
            nexthop = min(hops, key=lambda h: (h.ip or 0, h.interface or ""))
            egress = nexthop.interface
            hop.egress = egress
            if egress.startswith("Null"):
                trace.drop = Drop(device, "null", egress)
                return trace
            if not originated and not self._acl_check(trace, device, egress, "out"):
                return trace
            originated = False
            far = self.l3.peer.get((device, egress))
            target = packet.dst if route.protocol in ("C", "L") or nexthop.ip is None else nexthop.ip
            if far is None:
                trace.drop = Drop(device, "down", egress)
                return trace
            if far.host is not None:
                if far.host.ip == packet.dst == target:
                    trace.hops.append(Hop(far.host.name, address=far.host.ip))
                    trace.delivered, trace.end = True, far.host.name
                else:
                    trace.drop = Drop(device, "unreachable", egress)
                return trace
            trace.touched.add(far.device)
            far_itf = self.configs[far.device].interfaces.get(far.interface)
            if far_itf is None or target not in [a for a, _ in far_itf.all_addresses()]:
                # Nobody answers ARP for the target on that segment.
                trace.drop = Drop(device, "unreachable", egress)
                return trace
            device, ingress = far.device, far.interface
        trace.drop = Drop(device, "ttl")
        return trace

    def source_address(self, device: str, dst: int) -> int | None:
        """The address IOS would source a packet from: the egress interface's primary address."""
        if dst in self.l3.local.get(device, ()):
            return dst
        rib = self.ribs[device]
        route = rib.lookup(dst)
        if route is None:
            return None
        hops = rib.resolve(route)
        if not hops:
            return None
        hop = min(hops, key=lambda h: (h.ip or 0, h.interface or ""))
        itf = self.configs[device].interfaces.get(hop.interface)
        return itf.address[0] if itf is not None and itf.address else None


@dataclass(slots=True)
class PingResult:
    source: str
    destination: int
    src_ip: int | None
    success: bool
    forward: Trace | None
    reverse: Trace | None

    @property
    def touched(self) -> set[str]:
        return (self.forward.touched if self.forward else set()) | (self.reverse.touched if self.reverse else set())

    @property
    def failure(self) -> str | None:
        if self.success:
            return None
        if self.forward is None:
            return "no source address (no route)"
        if not self.forward.delivered:
            return self.forward.drop.describe() if self.forward.drop else "not delivered"
        if self.reverse is not None and self.reverse.drop:
            return "reply " + self.reverse.drop.describe()
        return "reply not delivered"

    def to_dict(self) -> dict:
        return {"source": self.source, "destination": int_to_ip(self.destination),
                "src_ip": int_to_ip(self.src_ip) if self.src_ip is not None else None, "success": self.success,
                "failure": self.failure, "forward": self.forward.to_dict() if self.forward else None,
                "reverse": self.reverse.to_dict() if self.reverse else None}


def ping(forwarder: Forwarder, source: str, dst: int, src_ip: int | None = None, protocol: str = "icmp",
         dport: int | None = None) -> PingResult:
    """Round trip: the request must arrive and the reply must come back."""
    host = forwarder.hosts.get(source)
    if src_ip is None:
        src_ip = host.ip if host is not None else forwarder.source_address(source, dst)
    if src_ip is None:
        return PingResult(source, dst, None, False, None, None)
    packet = Packet(src_ip, dst, protocol, 40000 if protocol != "icmp" else None, dport,
                    "echo" if protocol == "icmp" else None)
    forward = forwarder.trace(source, packet)
    if not forward.delivered:
        return PingResult(source, dst, src_ip, False, forward, None)
    reverse = forwarder.trace(forward.end, packet.reversed())
    return PingResult(source, dst, src_ip, reverse.delivered and reverse.end == source, forward, reverse)
