"""BGP views rendered from simulator state, in IOS 15 layouts.

``show ip bgp summary`` / ``show bgp all summary`` (ntc-templates' ``cisco_ios_show_ip_bgp_summary``
and NAPALM's ``get_bgp_neighbors`` summary regexes), ``show bgp ipv4 unicast neighbors`` /
``show ip bgp neighbors`` (NAPALM's neighbour regexes: ``BGP neighbor is``, ``remote router ID``,
``BGP state =``, `` For address family:``, ``Prefixes Current:``, ``Local Policy Denied Prefixes:``),
``show ip bgp`` (the table, ``cisco_ios_show_ip_bgp``) and ``show ip bgp PREFIX`` (the path
detail NAPALM's ``get_route_to`` reads: ``Refresh Epoch``, AS path, ``from``, ``localpref``).

Message counters and timers are synthetic (derived from the lab's age); states, prefixes,
AS paths, next hops and router ids come from the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_lab.addressing import int_to_ip
from twin_lab.controlplane.bgp import BgpPath, BgpSession
from twin_lab.emulator.render_routing import age_text
from twin_lab.ios.model import BgpNeighbor

ORIGIN_TEXT = {"i": "IGP", "e": "EGP", "?": "incomplete"}

STATUS_CODES = "\n".join([
    "Status codes: s suppressed, d damped, h history, * valid, > best, i - internal, ",
    "              r RIB-failure, S Stale, m multipath, b backup-path, f RT-Filter, ",
    "              x best-external, a additional-path, c RIB-compressed, ",
    "              t secondary path, ",
    "Origin codes: i - IGP, e - EGP, ? - incomplete",
    "RPKI validation codes: V valid, I invalid, N Not found",
    "",
])


@dataclass(frozen=True, slots=True)
class BgpView:
    """What the BGP views of one device need (gathered once per command)."""

    local_as: int
    router_id: int
    sessions: list[BgpSession]
    paths: dict[tuple[int, int], list[BgpPath]]  # best first
    uptime: float
    table_version: int = 1

    @property
    def path_count(self) -> int:
        return sum(len(p) for p in self.paths.values())


def _messages(view: BgpView, session: BgpSession) -> tuple[int, int, int, int]:
    """(opens, updates sent, updates received, keepalives) for an established session."""
    if not session.established:
        return 0, 0, 0, 0
    keepalives = int(view.uptime // 60) + 1
    return 1, session.sent + 1, session.received + 1, keepalives


def _summary_header(view: BgpView) -> list[str]:
    prefixes, paths = len(view.paths), view.path_count
    attrs = len({(p.as_path, p.next_hop, p.origin) for ps in view.paths.values() for p in ps})
    as_paths = len({p.as_path for ps in view.paths.values() for p in ps if p.as_path})
    total = prefixes * 144 + paths * 84 + attrs * 152 + as_paths * 24
    lines = [
        f"BGP router identifier {int_to_ip(view.router_id)}, local AS number {view.local_as}",
        f"BGP table version is {view.table_version}, main routing table version {view.table_version}",
    ]
    if prefixes:
        lines += [
            f"{prefixes} network entries using {prefixes * 144} bytes of memory",
            f"{paths} path entries using {paths * 84} bytes of memory",
            f"{attrs}/{prefixes} BGP path/bestpath attribute entries using {attrs * 152} bytes of memory",
            f"{as_paths} BGP AS-PATH entries using {as_paths * 24} bytes of memory",
            "0 BGP route-map cache entries using 0 bytes of memory",
            "0 BGP filter-list cache entries using 0 bytes of memory",
            f"BGP using {total} total bytes of memory",
            f"BGP activity {prefixes}/0 prefixes, {paths}/0 paths, scan interval 60 secs",
        ]
    return lines


def render_bgp_summary(view: BgpView, address_family: bool = False) -> str:
    """``show ip bgp summary``; with ``address_family`` the ``show bgp all summary`` form."""
    lines = ["For address family: IPv4 Unicast"] if address_family else []
    lines += _summary_header(view)
    lines += ["", "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd"]
    for session in sorted(view.sessions, key=lambda s: s.peer_ip):
        opens, sent, received, keepalives = _messages(view, session)
        remote_as = session.remote_as if session.remote_as is not None else 0
        version = view.table_version if session.established else 1
        head = (f"{int_to_ip(session.peer_ip):<15} 4 {remote_as:>12} {opens + received + keepalives:>7} "
                f"{opens + sent + keepalives:>7} {version:>8} {0:>4} {0:>4} ")
        if session.established:
            lines.append(f"{head}{age_text(view.uptime):<8} {session.received:>8}")
        else:
            lines.append(f"{head}{'never':<8} {session.state}")
    return "\n".join(lines) + "\n"


def render_bgp_neighbors(view: BgpView, sessions: list[BgpSession], configs: dict[int, BgpNeighbor],
                         reachable: dict[int, bool]) -> str:
    """``show bgp ipv4 unicast neighbors`` / ``show ip bgp neighbors`` for ``sessions``."""
    out: list[str] = []
    for session in sorted(sessions, key=lambda s: s.peer_ip):
        out.extend(_neighbor_block(view, session, configs.get(session.peer_ip), reachable.get(session.peer_ip, False)))
    return "\n".join(out) + ("\n" if out else "")


def _neighbor_block(view: BgpView, session: BgpSession, config: BgpNeighbor | None, has_route: bool) -> list[str]:
    peer = int_to_ip(session.peer_ip)
    link = "external" if session.ebgp else "internal"
    remote_as = session.remote_as if session.remote_as is not None else 0
    established = session.established
    opens, sent, received, keepalives = _messages(view, session)
    up = age_text(view.uptime)
    lines = [f"BGP neighbor is {peer},  remote AS {remote_as}, {link} link"]
    if session.description:
        lines.append(f" Description: {session.description}")
    remote_id = session.peer_router_id if established and session.peer_router_id is not None else 0
    lines += [f"  BGP version 4, remote router ID {int_to_ip(remote_id)}"]
    if established:
        lines += [f"  BGP state = Established, up for {up}",
                  "  Last read 00:00:12, last write 00:00:41, hold time is 180, keepalive interval is 60 seconds",
                  "  Neighbor sessions:",
                  "    1 active, is not multisession capable (disabled)",
                  "  Neighbor capabilities:",
                  "    Route refresh: advertised and received(new)",
                  "    Four-octets ASN Capability: advertised and received",
                  "    Address family IPv4 Unicast: advertised and received",
                  "    Enhanced Refresh Capability: advertised and received",
                  "    Multisession Capability: ",
                  "    Stateful switchover support enabled: NO for session 1",
                  "  Message statistics:",
                  "    InQ depth is 0",
                  "    OutQ depth is 0",
                  "    ",
                  "                         Sent       Rcvd",
                  f"    Opens:          {opens:>10} {opens:>10}",
                  f"    Notifications:  {0:>10} {0:>10}",
                  f"    Updates:        {sent:>10} {received:>10}",
                  f"    Keepalives:     {keepalives:>10} {keepalives:>10}",
                  f"    Route Refresh:  {0:>10} {0:>10}",
                  f"    Total:          {opens + sent + keepalives:>10} {opens + received + keepalives:>10}"]
    else:
        state = session.state.split()[0]
        lines += [f"  BGP state = {state}" + (", down for never" if state == "Idle" else ""),
                  "  Neighbor sessions:",
                  "    0 active, is not multisession capable (disabled)",
                  "    Stateful switchover support enabled: NO"]
        if session.state == "Idle (Admin)":
            lines.append("  Administratively shut down")
    if config is not None and config.update_source:
        lines.append(f"  Update source is {config.update_source}")
    lines += ["  Do log neighbor state changes (via global configuration)",
              f"  Default minimum time between advertisement runs is {30 if session.ebgp else 0} seconds",
              "",
              " For address family: IPv4 Unicast"]
    if established:
        lines.append(f"  Session: {peer}")
    version = view.table_version if established else 0
    lines += [f"  BGP table version {view.table_version}, neighbor version {version}/0",
              "  Output queue size : 0",
              f"  Index {1 if established else 0}, Advertise bit 0"]
    if established:
        lines += ["  1 update-group member"]
    if config is not None and config.next_hop_self:
        lines.append("  NEXT_HOP is always this router for eBGP paths")
    lines += ["  Slow-peer detection is disabled",
              "  Slow-peer split-update-group dynamic is disabled",
              "                                 Sent       Rcvd",
              "  Prefix activity:               ----       ----"]
    s_count, r_count = (session.sent, session.received) if established else (0, 0)
    consumes = f" (Consumes {r_count * 80} bytes)" if r_count else ""
    lines += [f"    Prefixes Current:     {s_count:>10} {r_count:>10}{consumes}",
              f"    Prefixes Total:       {s_count:>10} {r_count:>10}",
              f"    Implicit Withdraw:    {0:>10} {0:>10}",
              f"    Explicit Withdraw:    {0:>10} {0:>10}",
              f"    Used as bestpath:     {'n/a':>10} {r_count:>10}",
              f"    Used as multipath:    {'n/a':>10} {0:>10}",
              "",
              "                                   Outbound    Inbound",
              "  Local Policy Denied Prefixes:    --------    -------",
              f"    Total:                       {0:>10} {0:>10}",
              "",
              f"  Number of NLRIs in the update sent: max {s_count}, min 0",
              "  Last detected as dynamic slow peer: never",
              "  Dynamic slow peer recovered: never",
              "  Refresh Epoch: 1",
              "  Last Sent Refresh Start-of-rib: never",
              "  Last Sent Refresh End-of-rib: never",
              "  Last Received Refresh Start-of-rib: never",
              "  Last Received Refresh End-of-rib: never",
              "",
              f"  Address tracking is enabled, the RIB does {'' if has_route else 'not '}have a route to {peer}",
              f"  Connections established {1 if established else 0}; dropped 0",
              "  Last reset never"]
    if session.ebgp:
        hops = config.ebgp_multihop if config is not None and config.ebgp_multihop else 1
        lines.append(f"  External BGP neighbor may be up to {hops} hop{'s' if hops != 1 else ''} away.")
    lines += ["  Transport(tcp) path-mtu-discovery is enabled",
              "  Graceful-Restart is disabled",
              "  SSO is disabled"]
    if established and session.local_ip is not None:
        local_port, remote_port = (179, 35042) if session.peer_ip > session.local_ip else (35042, 179)
        lines += ["Connection state is ESTAB, I/O status: 1, unread input bytes: 0            ",
                  f"Connection is ECN Disabled, Mininum incoming TTL 0, Outgoing TTL {1 if session.ebgp else 255}",
                  f"Local host: {int_to_ip(session.local_ip)}, Local port: {local_port}",
                  f"Foreign host: {peer}, Foreign port: {remote_port}",
                  "Connection tableid (VRF): 0",
                  "Maximum output segment queue size: 50",
                  ""]
    else:
        lines += ["  No active TCP connection", ""]
    return lines


def _network_text(net: int, plen: int) -> str:
    first = net >> 24
    classful = 8 if first < 128 else 16 if first < 192 else 24
    if plen == classful and net & ((1 << (32 - plen)) - 1) == 0:
        return int_to_ip(net)
    return f"{int_to_ip(net)}/{plen}"


def render_bgp_table(view: BgpView, local_next_hops: dict[tuple[int, int], tuple[int, int]]) -> str:
    """``show ip bgp``; ``local_next_hops`` maps a locally originated prefix to (IGP next hop, metric)."""
    lines = [f"BGP table version is {view.table_version}, local router ID is {int_to_ip(view.router_id)}",
             STATUS_CODES,
             "     Network          Next Hop            Metric LocPrf Weight Path"]
    for (net, plen), paths in sorted(view.paths.items()):
        network = _network_text(net, plen)
        for index, path in enumerate(paths):
            source = " " if path.local or path.ebgp else "i"
            status = f" *{'>' if index == 0 else ' '}{source} "
            next_hop, metric = _path_next_hop(path, local_next_hops)
            locprf = "" if path.local or path.ebgp else str(path.local_pref)
            as_path = " ".join(str(a) for a in path.as_path)
            tail = f"{as_path} {path.origin}" if as_path else path.origin
            rest = f"{int_to_ip(next_hop):<15} {metric:>10} {locprf:>6} {path.weight:>6} {tail}"
            shown = network if index == 0 else ""
            if len(shown) > 16:
                lines += [f"{status}{shown}", " " * 22 + rest]
            else:
                lines.append(f"{status}{shown:<16} {rest}")
    return "\n".join(lines) + "\n"


def _path_next_hop(path: BgpPath, local_next_hops: dict[tuple[int, int], tuple[int, int]]) -> tuple[int, int]:
    if path.local:
        return local_next_hops.get((path.net, path.plen), (0, 0))
    return path.next_hop, path.med


def render_bgp_prefix(view: BgpView, net: int, plen: int, paths: list[BgpPath],
                      local_next_hops: dict[tuple[int, int], tuple[int, int]],
                      igp_metric: dict[int, int]) -> str:
    """``show ip bgp PREFIX``: every path, best first, in the IOS 15 detail layout."""
    lines = [f"BGP routing table entry for {int_to_ip(net)}/{plen}, version {view.table_version}",
             f"Paths: ({len(paths)} available, best #1, table default)"]
    best = paths[0]
    targets = [s for s in view.sessions if s.established and (best.local or best.ebgp or s.ebgp)]
    if targets:
        lines += ["  Advertised to update-groups:", "     1"]
    else:
        lines.append("  Not advertised to any peer")
    for index, path in enumerate(paths):
        lines.append("  Refresh Epoch 1")
        lines.append("  " + (" ".join(str(a) for a in path.as_path) if path.as_path else "Local"))
        next_hop, metric = _path_next_hop(path, local_next_hops)
        if path.local:
            lines.append(f"    {int_to_ip(next_hop)} from 0.0.0.0 ({int_to_ip(view.router_id)})")
            flags = "weight 32768, valid, sourced, local"
        else:
            via = f" (metric {igp_metric[path.next_hop]})" if not path.ebgp and path.next_hop in igp_metric else ""
            lines.append(f"    {int_to_ip(path.next_hop)}{via} from {int_to_ip(path.from_ip)} "
                         f"({int_to_ip(path.peer_router_id)})")
            flags = "valid, external" if path.ebgp else "valid, internal"
        if index == 0:
            flags += ", best"
        lines.append(f"      Origin {ORIGIN_TEXT.get(path.origin, 'IGP')}, metric {metric if path.local else path.med}, "
                     f"localpref {path.local_pref}, {flags}")
        lines.append("      rx pathid: 0, tx pathid: 0x0" if index == 0 else "      rx pathid: 0, tx pathid: 0")
    return "\n".join(lines) + "\n"
