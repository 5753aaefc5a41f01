"""Routing and reachability views rendered from simulator state, in IOS 15 layouts:
``show ip route [prefix]``, ``show ip ospf neighbor``, ``show ip ospf interface brief``,
``show ip protocols``, ``ping``, ``traceroute`` (BGP views live in ``render_bgp``).

Everything is read from ``Network`` (routes, neighbours, sessions, ping/trace results); the
emulator adds only formatting and timers (ages count from lab start).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_lab.addressing import int_to_ip, plen_to_mask
from twin_lab.controlplane.ospf import OspfNeighbor
from twin_lab.controlplane.rib import Route
from twin_lab.dataplane import PingResult, Trace

ROUTE_CODES = """Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP
       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area
       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2
       E1 - OSPF external type 1, E2 - OSPF external type 2
       i - IS-IS, su - IS-IS summary, L1 - IS-IS level-1, L2 - IS-IS level-2
       ia - IS-IS inter area, * - candidate default, U - per-user static route
       o - ODR, P - periodic downloaded static route, H - NHRP, l - LISP
       a - application route
       + - replicated route, % - next hop override, p - overrides from PfR
"""


def age_text(seconds: float) -> str:
    """IOS route/neighbour age: ``00:10:12``, then ``1d02h``, then ``2w3d``."""
    seconds = int(seconds)
    if seconds < 86_400:
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    days, hours = seconds // 86_400, seconds // 3600 % 24
    if days < 7:
        return f"{days}d{hours:02d}h"
    return f"{days // 7}w{days % 7}d"


def _classful_plen(net: int) -> int:
    first = net >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


def _code(route: Route) -> str:
    code = route.protocol
    if route.plen == 0:
        head, _, tail = code.partition(" ")
        code = f"{head}*{tail}" if tail else f"{head}*"
    return code


def _route_lines(route: Route, prefix: str, width: int, age: str) -> list[str]:
    head = f"{_code(route):<{width}}{prefix}"
    if route.protocol in ("C", "L") or (route.protocol == "S" and all(h.ip is None for h in route.next_hops)):
        interface = route.next_hops[0].interface if route.next_hops else "Null0"
        return [f"{head} is directly connected, {interface}"]
    lines = []
    for index, hop in enumerate(route.next_hops or []):
        via = f"[{route.distance}/{route.metric}] via {int_to_ip(hop.ip) if hop.ip is not None else '0.0.0.0'}"
        if route.protocol != "S":
            via += f", {age}"
        if hop.interface and route.protocol not in ("S", "B"):
            via += f", {hop.interface}"
        lines.append(f"{head} {via}" if index == 0 else " " * (len(head) + 1) + via)
    return lines


def render_ip_route(routes: list[Route], age_seconds: float, all_routes: list[Route] | None = None) -> str:
    """``show ip route``; ``all_routes`` (the unfiltered table) decides the gateway of last resort."""
    age = age_text(age_seconds)
    out = [ROUTE_CODES]
    default = next((r for r in (routes if all_routes is None else all_routes) if r.plen == 0 and r.next_hops), None)
    if default is not None and default.next_hops[0].ip is not None:
        out.append(f"Gateway of last resort is {int_to_ip(default.next_hops[0].ip)} to network 0.0.0.0\n")
    else:
        out.append("Gateway of last resort is not set\n")
    groups: dict[int, list[Route]] = {}
    order: list[tuple[int, int, Route | None]] = []
    for route in sorted(routes, key=lambda r: (r.net, r.plen)):
        major_len = _classful_plen(route.net)
        if route.plen <= major_len:
            order.append((route.net, route.plen, route))
            continue
        major = route.net & plen_to_mask(major_len)
        if major not in groups:
            groups[major] = []
            order.append((major, major_len, None))
        groups[major].append(route)
    lines = []
    for net, plen, route in order:
        if route is not None:
            lines.extend(_route_lines(route, f"{int_to_ip(net)}/{plen}", 6, age))
            continue
        members = groups[net]
        masks = sorted({r.plen for r in members})
        count = len(members)
        if len(masks) == 1:
            lines.append(f"      {int_to_ip(net)}/{masks[0]} is subnetted, {count} subnets")
            for member in members:
                lines.extend(_route_lines(member, int_to_ip(member.net), 9, age))
        else:
            lines.append(f"      {int_to_ip(net)}/{plen} is variably subnetted, {count} subnets, {len(masks)} masks")
            for member in members:
                lines.extend(_route_lines(member, f"{int_to_ip(member.net)}/{member.plen}", 9, age))
    return "\n".join(out) + "\n" + "\n".join(lines) + ("\n" if lines else "")


def render_ospf_neighbors(neighbors: list[OspfNeighbor], my_router_id: int | None,
                          point_to_point: set[str]) -> str:
    lines = ["", "Neighbor ID     Pri   State           Dead Time   Address         Interface"]
    for nbr in neighbors:
        if nbr.interface in point_to_point:
            role = "  -"
        elif my_router_id is not None and nbr.neighbor_id > my_router_id:
            role = "DR"
        else:
            role = "BDR"
        state = f"{nbr.state}/{role}"
        lines.append(f"{int_to_ip(nbr.neighbor_id):<15}{1:>4}   {state:<15} {'00:00:35':<11} "
                     f"{int_to_ip(nbr.neighbor_address):<15} {nbr.interface}")
    return "\n".join(lines) + "\n"


def render_ping(destination: int, result: PingResult | None, repeat: int = 5, size: int = 100) -> str:
    lines = ["Type escape sequence to abort.",
             f"Sending {repeat}, {size}-byte ICMP Echos to {int_to_ip(destination)}, timeout is 2 seconds:"]
    if result is not None and result.success:
        lines += ["!" * repeat, f"Success rate is 100 percent ({repeat}/{repeat}), round-trip min/avg/max = 1/1/2 ms"]
    else:
        unreachable = (result is not None and result.forward is not None and result.forward.drop is not None
                       and result.forward.drop.reason in ("acl", "no-route")
                       and result.forward.drop.node != result.source)
        marks = "".join("U" if unreachable and i % 2 == 0 else "." for i in range(repeat))
        lines += [marks, f"Success rate is 0 percent (0/{repeat})"]
    return "\n".join(lines) + "\n"


def render_traceroute(destination: int, trace: Trace, max_ttl: int = 30) -> str:
    lines = ["Type escape sequence to abort.", f"Tracing the route to {int_to_ip(destination)}",
             "VRF info: (vrf in name/id, vrf out name/id)"]
    hops = [h for h in trace.hops[1:] if h.address is not None]
    for ttl, hop in enumerate(hops, start=1):
        ms = ttl
        marker = ""
        if not trace.delivered and trace.drop is not None and hop is hops[-1] and trace.drop.node == hop.node:
            marker = {"acl": " !A", "no-route": " !H"}.get(trace.drop.reason, "")
        if marker:
            lines.append(f"{ttl:>3} {int_to_ip(hop.address)}{marker}  *{marker}")
        else:
            lines.append(f"{ttl:>3} {int_to_ip(hop.address)} {ms} msec {ms} msec {ms + 1} msec")
    if not trace.delivered and (trace.drop is None or trace.drop.reason not in ("acl", "no-route")):
        for ttl in range(len(hops) + 1, max_ttl + 1):
            lines.append(f"{ttl:>3}  *  *  * ")
    return "\n".join(lines) + "\n"


# --- show ip route PREFIX --------------------------------------------------------------------------

@dataclass(slots=True)
class RouteContext:
    """Device facts the route detail view needs besides the route itself."""

    ospf_pid: int | None = None
    bgp_as: int | None = None
    neighbor_ids: dict[int, int] = field(default_factory=dict)  # OSPF neighbour address -> router id
    bgp_from: int | None = None  # BGP: the peer the best path came from
    bgp_as_path: tuple[int, ...] = ()
    bgp_external: bool = True
    static_via_interface: bool = False  # the static route names an exit interface


_OSPF_TYPE = {"O": "intra area", "O IA": "inter area", "O E1": "extern 1", "O E2": "extern 2",
              "O N1": "NSSA extern 1", "O N2": "NSSA extern 2"}


def render_route_detail(route: Route, ctx: RouteContext, age_seconds: float) -> str:
    """``show ip route A.B.C.D [MASK]``: the ``Routing entry for`` view NAPALM's get_route_to parses."""
    age = age_text(age_seconds)
    supernet = ", supernet" if route.plen < _classful_plen(route.net) else ""
    lines = [f"Routing entry for {int_to_ip(route.net)}/{route.plen}{supernet}"]
    default = ", candidate default path" if route.plen == 0 else ""
    protocol = route.protocol
    if protocol in ("C", "L"):
        detail = "connected, via interface" if protocol == "C" else "connected"
        lines.append(f'  Known via "connected", distance 0, metric 0 ({detail})')
        if protocol == "C" and ctx.ospf_pid is not None:
            lines.append(f"  Redistributing via ospf {ctx.ospf_pid}")
        lines.append("  Routing Descriptor Blocks:")
        interface = route.next_hops[0].interface if route.next_hops else "Null0"
        lines += [f"  * directly connected, via {interface}", "      Route metric is 0, traffic share count is 1"]
    elif protocol == "S":
        lines.append(f'  Known via "static", distance {route.distance}, metric {route.metric}{default}')
        lines.append("  Routing Descriptor Blocks:")
        for index, hop in enumerate(route.next_hops):
            star = "*" if index == 0 else " "
            if hop.ip is None:
                lines.append(f"  {star} directly connected, via {hop.interface}")
            elif ctx.static_via_interface and hop.interface:
                lines.append(f"  {star} {int_to_ip(hop.ip)}, via {hop.interface}")
            else:
                lines.append(f"  {star} {int_to_ip(hop.ip)}")
            lines.append(f"      Route metric is {route.metric}, traffic share count is 1")
    elif protocol.startswith("O"):
        kind = _OSPF_TYPE.get(protocol, "intra area")
        forward = f", forward metric {route.metric}" if "extern" in kind else ""
        lines.append(f'  Known via "ospf {ctx.ospf_pid or 1}", distance {route.distance}, metric {route.metric}'
                     f"{default}, type {kind}{forward}")
        first = route.next_hops[0] if route.next_hops else None
        if first is not None and first.ip is not None:
            lines.append(f"  Last update from {int_to_ip(first.ip)} on {first.interface}, {age} ago")
        lines.append("  Routing Descriptor Blocks:")
        for index, hop in enumerate(route.next_hops):
            star = "*" if index == 0 else " "
            origin = ctx.neighbor_ids.get(hop.ip or 0, hop.ip or 0)
            lines += [f"  {star} {int_to_ip(hop.ip or 0)}, from {int_to_ip(origin)}, {age} ago, via {hop.interface}",
                      f"      Route metric is {route.metric}, traffic share count is 1"]
    else:  # B
        external = ctx.bgp_external
        head = f'  Known via "bgp {ctx.bgp_as or 0}", distance {route.distance}, metric {route.metric}'
        lines.append(head + ("" if external else ", type internal") + default)
        if ctx.bgp_as_path:
            lines.append(f"  Tag {ctx.bgp_as_path[0]}, type {'external' if external else 'internal'}")
        hop = route.next_hops[0].ip if route.next_hops and route.next_hops[0].ip is not None else 0
        source = ctx.bgp_from if ctx.bgp_from is not None else hop
        lines += [f"  Last update from {int_to_ip(hop)} {age} ago",
                  "  Routing Descriptor Blocks:",
                  f"  * {int_to_ip(hop)}, from {int_to_ip(source)}, {age} ago",
                  f"      Route metric is {route.metric}, traffic share count is 1",
                  f"      AS Hops {len(ctx.bgp_as_path)}"]
        if ctx.bgp_as_path:
            lines.append(f"      Route tag {ctx.bgp_as_path[0]}")
        lines.append("      MPLS label: none")
    return "\n".join(lines) + "\n"


# --- show ip ospf interface brief / show ip protocols ----------------------------------------------

def render_ospf_interface_brief(rows: list[tuple[str, int, int, tuple[int, int], int, str, int, int]]) -> str:
    """Rows: (interface, pid, area, (ip, plen), cost, state, full, count)."""
    from twin_lab.addressing import short_interface

    lines = ["Interface    PID   Area            IP Address/Mask    Cost  State Nbrs F/C"]
    for name, pid, area, (ip, plen), cost, state, full, count in rows:
        address = f"{int_to_ip(ip)}/{plen}"
        lines.append(f"{short_interface(name):<12} {pid:<5} {area!s:<15} {address:<18} {cost:<5} {state:<5} {full}/{count}")
    return "\n".join(lines) + "\n"


def render_ip_protocols(blocks: list[list[str]]) -> str:
    """``show ip protocols``: one pre-rendered block per routing process."""
    out = ["*** IP Routing is NSF aware ***", ""]
    for block in blocks:
        out.extend(block)
        out.append("")
    return "\n".join(out)
