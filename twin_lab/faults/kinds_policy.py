"""Filtering and static-routing faults: ACLs that block traffic or BGP, missing or wrong static routes."""

from __future__ import annotations

import random

from twin_lab.addressing import in_prefix, int_to_ip, ip_to_int, parse_prefix, prefix_text
from twin_lab.faults.base import (
    Change,
    FaultError,
    FaultKind,
    apply_checked,
    cidr,
    interface_target,
    register,
    split_target,
    where,
)
from twin_lab.faults.health import endpoints, health
from twin_lab.ios.model import StaticRoute
from twin_lab.ios.render import ace_text, mask_text
from twin_lab.network import Network

ACL_NAMES = ("FILTER-IN", "EDGE-IN", "SECURITY-IN", "BLOCK-IN", "INFRA-ACL")


def _insert_plan(network: Network, device: str, interface: str, entries: list[str],
                 rng: random.Random) -> tuple[list[str], list[str], str, bool] | None:
    """Lines putting ``entries`` (extended ACEs) first in ``interface``'s inbound ACL, creating one if none.

    Returns (lines, fix lines, ACL name, created) or None when the existing ACL has no room
    for them before its first entry.
    """
    config = network.config(device)
    name = config.interfaces[interface].acl_in
    acl = config.acls.get(name) if name else None
    if acl is not None:
        first = min((e.seq for e in acl.entries), default=10 * (len(entries) + 1))
        if first <= len(entries):
            return None
        if acl.kind == "standard":
            entries = list(dict.fromkeys(_standard(e) for e in entries))
        seqs = range(first - len(entries), first)
        header = f"ip access-list {acl.kind} {acl.name}"
        lines = [header, *(f" {s} {e}" for s, e in zip(seqs, entries, strict=True))]
        return lines, [header, *(f" no {s}" for s in seqs)], acl.name, False
    if name is None:
        name = rng.choice([n for n in ACL_NAMES if n not in config.acls])
    lines = [f"ip access-list extended {name}", *(f" {e}" for e in entries), " permit ip any any",
             f"interface {interface}", f" ip access-group {name} in"]
    fix = [f"interface {interface}", f" no ip access-group {name} in", f"no ip access-list extended {name}"]
    return lines, fix, name, True


def _has_room(network: Network, device: str, interface: str, count: int) -> bool:
    config = network.config(device)
    name = config.interfaces[interface].acl_in
    acl = config.acls.get(name) if name else None
    return acl is None or min((e.seq for e in acl.entries), default=count + 1) > count


def _standard(entry: str) -> str:
    """The standard-ACL form of ``deny PROTO host S ...`` (source only)."""
    words = entry.split()
    return f"{words[0]} host {words[3]}" if words[2] == "host" else f"{words[0]} any"


def _flow_path(network: Network, label: str) -> tuple[tuple, tuple, str, str] | None:
    """For ``SRC->DST``: (src point, dst point, device, ingress interface of the last router)."""
    src, sep, dst = label.partition("->")
    points = {p[0]: p for p in endpoints(network)}
    if not sep or src not in points or dst not in points:
        return None
    a, b = points[src], points[dst]
    trace = network.ping(a[1], b[2], a[2]).forward
    if trace is None:
        return None
    devices = set(network.device_names())
    for hop in reversed(trace.hops):
        if hop.node in devices and hop.ingress is not None:
            return a, b, hop.node, hop.ingress
    return None


@register
class AclBlockFlow(FaultKind):
    name = "acl_block_flow"
    component = "acl"
    title = "an inbound ACL entry on the path denies one flow (ip or icmp)"
    target_format = "SRC->DST (endpoint labels)"

    def candidates(self, network: Network) -> list[str]:
        points = endpoints(network)
        hosts = network.topology.hosts
        reach = health(network).reach
        result = []
        for a in points:
            for b in points:
                if a[1] == b[1] or not reach.get((a[0], b[0])):
                    continue
                if hosts and a[0] not in hosts and b[0] not in hosts:
                    continue
                path = _flow_path(network, f"{a[0]}->{b[0]}")
                if path is not None and _has_room(network, path[2], path[3], 1):
                    result.append(f"{a[0]}->{b[0]}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        path = _flow_path(network, target)
        if path is None:
            raise FaultError(f"{self.name}: no router on the path of {target}")
        a, b, device, interface = path
        protocol = rng.choice(["ip", "icmp"])
        entry = f"deny {protocol} host {int_to_ip(a[2])} host {int_to_ip(b[2])}"
        plan = _insert_plan(network, device, interface, [entry], rng)
        if plan is None:
            raise FaultError(f"{self.name}: no room in the ACL on {device} {interface}")
        lines, fix, name, created = plan
        change = Change(
            device=device, interface=interface,
            description=(f"Inbound ACL {name} on {where(network, device, interface)} "
                         f"{'was added and ' if created else ''}denies {protocol} from {int_to_ip(a[2])} "
                         f"({a[0]}) to {int_to_ip(b[2])} ({b[0]})."),
            fix_hint={device: fix},
            evidence=[f"{device}: show ip interface {interface}", f"{device}: show access-lists {name}",
                      f"{a[1]}: traceroute {int_to_ip(b[2])}"])
        apply_checked(network, change, device, lines)
        return change


@register
class AclMissingPermit(FaultKind):
    name = "acl_missing_permit"
    component = "acl"
    title = "an applied ACL lost its (last) permit entry: the implicit deny drops the traffic"
    target_format = "DEVICE:INTERFACE:in|out"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device in network.device_names():
            config = network.config(device)
            states = network.interfaces(device)
            for name, itf in config.interfaces.items():
                if not states[name].line_up:
                    continue
                for direction, acl_name in (("in", itf.acl_in), ("out", itf.acl_out)):
                    acl = config.acls.get(acl_name) if acl_name else None
                    if acl is not None and any(e.action == "permit" for e in acl.entries):
                        result.append(f"{device}:{name}:{direction}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, direction = split_target(target, 3)
        interface = interface_target(f"{device}:{interface}")[1]
        config = network.config(device)
        itf = config.interfaces[interface]
        acl = config.acls[itf.acl_in if direction == "in" else itf.acl_out]
        entry = [e for e in acl.entries if e.action == "permit"][-1]
        text = ace_text(entry, acl.kind)
        header = f"ip access-list {acl.kind} {acl.name}"
        change = Change(
            device=device, interface=interface,
            description=(f"ACL {acl.name} ({direction} on {where(network, device, interface)}) lost entry "
                         f"{entry.seq} '{text}': the implicit deny at the end now drops that traffic."),
            fix_hint={device: [header, f" {entry.seq} {text}"]},
            evidence=[f"{device}: show access-lists {acl.name}", f"{device}: show ip interface {interface}"])
        apply_checked(network, change, device, [header, f" no {entry.seq}"])
        return change


@register
class AclBlockBgp(FaultKind):
    name = "acl_block_bgp"
    component = "acl"
    title = "an inbound ACL denies TCP/179 from a BGP peer: the session cannot establish"
    target_format = "DEVICE:PEER_IP"

    def _ingress(self, network: Network, device: str, peer_ip: int) -> str | None:
        trace = network.traceroute(device, peer_ip)
        return trace.hops[0].egress if trace.hops else None

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device in network.device_names():
            for session in network.bgp_sessions(device):
                if not session.established:
                    continue
                interface = self._ingress(network, device, session.peer_ip)
                if interface and _has_room(network, device, interface, 2):
                    result.append(f"{device}:{int_to_ip(session.peer_ip)}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, peer = split_target(target)
        interface = self._ingress(network, device, ip_to_int(peer))
        owner = network.control_plane.l3.owner.get(ip_to_int(peer))
        entries = [f"deny tcp host {peer} any eq bgp", f"deny tcp host {peer} eq bgp any"]
        plan = _insert_plan(network, device, interface, entries, rng)
        if plan is None:
            raise FaultError(f"{self.name}: no room in the ACL on {device} {interface}")
        lines, fix, name, created = plan
        change = Change(
            device=device, interface=interface, peer_device=owner[0] if owner else None,
            description=(f"Inbound ACL {name} on {where(network, device, interface)} "
                         f"{'was added and ' if created else ''}denies TCP/179 from BGP peer {peer}: "
                         f"the session cannot establish."),
            fix_hint={device: fix},
            evidence=[f"{device}: show ip bgp summary", f"{device}: show ip interface {interface}",
                      f"{device}: show access-lists {name}"])
        apply_checked(network, change, device, lines)
        return change


# --- static routes ------------------------------------------------------------------------------


def _route_key(route: StaticRoute) -> str:
    """Prefix, interface and next hop: what names the route (``no ip route`` needs no more)."""
    text = f"ip route {int_to_ip(route.network)} {mask_text(route.plen)}"
    if route.interface:
        text += f" {route.interface}"
    if route.next_hop is not None:
        text += f" {int_to_ip(route.next_hop)}"
    return text


def _static_line(route: StaticRoute) -> str:
    text = _route_key(route)
    if route.distance != 1:
        text += f" {route.distance}"
    if route.name:
        text += f" name {route.name}"
    if route.permanent:
        text += " permanent"
    return text


def _removal(route: StaticRoute) -> str:
    return f"no {_route_key(route)}"


def _installed_statics(network: Network, device: str) -> list[StaticRoute]:
    return [r for r, ok in network.control_plane.static_status.get(device, []) if ok]


@register
class StaticRouteMissing(FaultKind):
    name = "static_route_missing"
    component = "static"
    title = "a static route that traffic depends on has been removed"
    target_format = "DEVICE:PREFIX"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device in network.device_names():
            prefixes = [prefix_text(r.network, r.plen) for r in _installed_statics(network, device)]
            result.extend(f"{device}:{p}" for p in dict.fromkeys(prefixes))
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, prefix = split_target(target)
        net, plen = parse_prefix(prefix)
        routes = [r for r in network.config(device).static_routes if (r.network, r.plen) == (net, plen)]
        change = Change(
            device=device,
            description=(f"{device} lacks the static route '{_static_line(routes[0])}'"
                         + (" (its default route)" if plen == 0 else "") + "."),
            fix_hint={device: [_static_line(r) for r in routes]},
            evidence=[f"{device}: show ip route static", f"{device}: show running-config | include ip route"])
        apply_checked(network, change, device, [_removal(r) for r in routes])
        return change


def _typo_next_hops(network: Network, device: str, hop: int) -> list[int]:
    octets = [int(x) for x in int_to_ip(hop).split(".")]
    options = []
    third = str(octets[2])
    if len(third) == 2 and third[0] != third[1]:
        options.append(ip_to_int(f"{octets[0]}.{octets[1]}.{third[::-1]}.{octets[3]}"))
    options.append(ip_to_int(f"{octets[0]}.{(octets[1] + 1) % 256}.{octets[2]}.{octets[3]}"))
    options.append(ip_to_int(f"{octets[0]}.{octets[1]}.{(octets[2] + 100) % 256}.{octets[3]}"))
    connected = network.control_plane.l3.connected[device]
    return [o for o in dict.fromkeys(options)
            if o != hop and not any(in_prefix(o, net, plen) for net, plen, _i, _a in connected)]


@register
class DefaultRouteWrong(FaultKind):
    name = "default_route_wrong"
    component = "static"
    title = "the static default route points at a mistyped, unresolvable next hop"
    target_format = "DEVICE"

    def _route(self, network: Network, device: str) -> StaticRoute | None:
        for route in _installed_statics(network, device):
            if route.plen == 0 and route.next_hop is not None and route.interface is None:
                return route
        return None

    def candidates(self, network: Network) -> list[str]:
        return [d for d in network.device_names() if (r := self._route(network, d)) is not None
                and _typo_next_hops(network, d, r.next_hop)]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device = split_target(target, 1)[0]
        route = self._route(network, device)
        wrong = rng.choice(_typo_next_hops(network, device, route.next_hop))
        bad = StaticRoute(route.network, route.plen, wrong, None, route.distance, route.name, route.permanent)
        owner = network.control_plane.l3.owner.get(route.next_hop)
        change = Change(
            device=device, peer_device=owner[0] if owner else None,
            description=(f"{device}'s default route points at {int_to_ip(wrong)} instead of "
                         f"{int_to_ip(route.next_hop)}: the next hop is on no connected subnet, so the route "
                         f"is not installed (no gateway of last resort)."),
            fix_hint={device: [_removal(bad), _static_line(route)]},
            evidence=[f"{device}: show ip route", f"{device}: show running-config | include ip route"])
        apply_checked(network, change, device, [_removal(route), _static_line(bad)])
        return change


@register
class StaticRouteWrong(FaultKind):
    name = "static_route_wrong"
    component = "static"
    title = "a static route overrides the IGP and sends a prefix the wrong way (loop or Null0)"
    target_format = "DEVICE:PREFIX"

    def _wrong_hops(self, network: Network, device: str, prefix: tuple[int, int]) -> list[str]:
        route = next((r for r in network.routes(device) if (r.net, r.plen) == prefix), None)
        if route is None:
            return []
        current = {h.ip for h in route.next_hops}
        hops = [int_to_ip(n.neighbor_address) for n in network.ospf_neighbors(device)
                if n.full and n.neighbor_address not in current]
        return [*dict.fromkeys(hops), "Null0"]

    def candidates(self, network: Network) -> list[str]:
        addresses = [p[2] for p in endpoints(network)]
        result = []
        for device in network.device_names():
            for route in network.routes(device):
                if route.protocol in ("C", "L", "S") or route.plen == 0:
                    continue
                if any(in_prefix(a, route.net, route.plen) for a in addresses):
                    result.append(f"{device}:{cidr(route.net, route.plen)}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, prefix = split_target(target)
        net, plen = parse_prefix(prefix)
        hop = rng.choice(self._wrong_hops(network, device, (net, plen)))
        owner = network.control_plane.l3.owner.get(ip_to_int(hop)) if hop != "Null0" else None
        line = f"ip route {int_to_ip(net)} {mask_text(plen)} {hop}"
        learned = next(r for r in network.routes(device) if (r.net, r.plen) == (net, plen)).protocol
        effect = ("blackholes it" if hop == "Null0"
                  else f"sends it to {owner[0] if owner else hop} instead of along the {learned}-learned path")
        change = Change(
            device=device, peer_device=owner[0] if owner else None,
            description=(f"{device} has a static route '{line}' that overrides the {learned} route to {prefix} "
                         f"and {effect}."),
            fix_hint={device: [f"no {line}"]},
            evidence=[f"{device}: show ip route {int_to_ip(net)}", f"{device}: show running-config | include ip route",
                      f"{device}: traceroute {int_to_ip(net + 1 if plen < 32 else net)}"])
        apply_checked(network, change, device, [line])
        return change
