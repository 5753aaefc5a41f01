"""Operational ``show`` commands read from simulator state: interfaces, ARP, LLDP, ACLs, routes,
OSPF, BGP, protocols.  Each handler gathers what it needs through ``Network``'s API and hands
it to a ``render_*`` module; nothing here keeps state of its own.

``register(commands)`` adds them to the exec command tree (``exec_commands.build_commands``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin_lab.addressing import (
    AddressError,
    canonical_interface,
    int_to_ip,
    interface_sort_key,
    ip_to_int,
    mask_to_plen,
)
from twin_lab.emulator.commands import CommandSet, Invocation, Output
from twin_lab.emulator.render_bgp import (
    BgpView,
    render_bgp_neighbors,
    render_bgp_prefix,
    render_bgp_summary,
    render_bgp_table,
)
from twin_lab.emulator.render_interfaces import (
    render_arp,
    render_interface,
    render_interfaces_description,
    render_interfaces_summary,
    render_ip_interface,
)
from twin_lab.emulator.render_neighbors import (
    LldpNeighbor,
    acl_order,
    render_access_lists,
    render_lldp_brief,
    render_lldp_detail,
)
from twin_lab.emulator.render_routing import (
    RouteContext,
    render_ip_protocols,
    render_ip_route,
    render_ospf_interface_brief,
    render_route_detail,
)
from twin_lab.emulator.render_system import render_version
from twin_lab.ios.grammar import INCOMPLETE, CommandError
from twin_lab.network import mac_address

if TYPE_CHECKING:
    from twin_lab.controlplane.rib import Route
    from twin_lab.emulator.shell import Shell


# --- argument helpers ------------------------------------------------------------------------------

def interface_arg(shell: Shell, inv: Invocation, index: int) -> tuple[str, int]:
    """An interface typed as one token (``Gi0/0``) or two (``Gi 0/0``); returns (name, next index)."""
    known = shell.network.interfaces(shell.device)
    if index >= len(inv.args):
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    candidates = [(inv.args[index].text, index + 1)]
    if index + 1 < len(inv.args):
        candidates.append((inv.args[index].text + inv.args[index + 1].text, index + 2))
    for text, after in candidates:
        try:
            name = canonical_interface(text)
        except AddressError:
            continue
        if name in known:
            return name, after
    raise inv.invalid(index)


def _ip(inv: Invocation, index: int) -> int:
    try:
        return ip_to_int(inv.args[index].text)
    except (AddressError, ValueError):
        raise inv.invalid(index) from None


def _mac(shell: Shell, interface: str) -> str | None:
    if interface.startswith(("Loopback", "Tunnel", "Null")):
        return None
    return mac_address(shell.device, interface)


# --- interfaces ------------------------------------------------------------------------------------

def _interface_names(shell: Shell, inv: Invocation, states: dict[str, Any]) -> list[str]:
    """The interface named in the command, else every interface in IOS order."""
    if not inv.args:
        return sorted(states, key=interface_sort_key)
    name, after = interface_arg(shell, inv, 0)
    inv.expect_none(after)
    return [name]


def show_interfaces(shell: Shell, inv: Invocation) -> Output:
    network, device = shell.network, shell.device
    states = network.interfaces(device)
    names = _interface_names(shell, inv, states)
    config = network.config(device).interfaces
    peers = {local for local, _d, _i in network.lldp_neighbors(device)}
    attached = {h.attach.interface for h in network.topology.hosts.values() if h.attach.device == device}
    uptime = shell.state.uptime()
    lines: list[str] = []
    for name in names:
        lines.extend(render_interface(states[name], config.get(name), _mac(shell, name),
                                      name in peers or name in attached, uptime))
    return "\n".join(lines) + "\n"


def show_interfaces_summary(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    states = shell.network.interfaces(shell.device)
    return render_interfaces_summary([states[n] for n in sorted(states, key=interface_sort_key)])


def show_interfaces_description(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    states = shell.network.interfaces(shell.device)
    ordered = [states[n] for n in sorted(states, key=interface_sort_key)]
    return render_interfaces_description(ordered, shell.network.config(shell.device).interfaces)


def show_ip_interface(shell: Shell, inv: Invocation) -> Output:
    network, device = shell.network, shell.device
    states = network.interfaces(device)
    names = _interface_names(shell, inv, states)
    config = network.config(device).interfaces
    ospf = network.control_plane.ospf.interfaces.get(device, {})
    lines: list[str] = []
    for name in names:
        lines.extend(render_ip_interface(states[name], config.get(name), name in ospf))
    return "\n".join(lines) + "\n"


def show_ipv6_interface(shell: Shell, inv: Invocation) -> Output:
    """The lab is IPv4 only: IOS prints nothing when no interface has IPv6 enabled."""
    if inv.args and not "brief".startswith(inv.args[0].text.lower()):
        _name, after = interface_arg(shell, inv, 0)
        inv.expect_none(after)
    return None


def show_arp(shell: Shell, inv: Invocation) -> Output:
    entries = shell.network.arp_table(shell.device)
    if inv.args:
        word = inv.args[0].text
        try:
            wanted = ip_to_int(word)
            entries = [e for e in entries if e[0] == wanted]
        except (AddressError, ValueError):
            name, after = interface_arg(shell, inv, 0)
            inv.expect_none(after)
            entries = [e for e in entries if e[2] == name]
    return render_arp(entries, int(shell.state.uptime() // 60) % 240)


# --- LLDP and ACLs ----------------------------------------------------------------------------------

def lldp_enabled(shell: Shell) -> bool:
    return not any(b.header.strip() == "no lldp run" for b in shell.network.config(shell.device).extra)


def lldp_neighbors(shell: Shell) -> list[LldpNeighbor]:
    network = shell.network
    description = render_version("x", 0, "", []).splitlines()[:4]
    found = []
    for local, far_device, far_interface in network.lldp_neighbors(shell.device):
        far_config = network.config(far_device)
        far_itf = far_config.interfaces.get(far_interface)
        management = far_itf.address[0] if far_itf is not None and far_itf.address else None
        if management is None:
            management = next((i.address[0] for i in far_config.interfaces.values() if i.address), None)
        found.append(LldpNeighbor(
            local_interface=local,
            system_name=far_config.hostname,
            port=far_interface,
            port_description=(far_itf.description if far_itf is not None and far_itf.description else far_interface),
            chassis_id=mac_address(far_device, "chassis"),
            management_ip=management,
            system_description=description,
        ))
    return found


def show_lldp_neighbors(shell: Shell, inv: Invocation) -> Output:
    if not lldp_enabled(shell):
        return "% LLDP is not enabled\n"
    words = [w.lower() for w in inv.words()]
    detail = bool(words) and "detail".startswith(words[-1]) and len(words[-1]) >= 1
    interface_words = inv.args[: len(inv.args) - (1 if detail else 0)]
    neighbors = lldp_neighbors(shell)
    if interface_words:
        name, after = interface_arg(shell, inv, 0)
        if after != len(interface_words):
            raise inv.invalid(after)
        neighbors = [n for n in neighbors if n.local_interface == name]
    return render_lldp_detail(neighbors) if detail else render_lldp_brief(neighbors)


def show_access_lists(shell: Shell, inv: Invocation) -> Output:
    acls = acl_order(list(shell.network.config(shell.device).acls.values()))
    if inv.args:
        inv.expect_none(1)
        acls = [a for a in acls if a.name == inv.args[0].text]
    return render_access_lists(acls) or None


# --- routes ----------------------------------------------------------------------------------------

_ROUTE_FILTERS = {"connected": ("C", "L"), "static": ("S",), "ospf": ("O",), "bgp": ("B",)}


def show_ip_route(shell: Shell, inv: Invocation) -> Output:
    network, device = shell.network, shell.device
    if not inv.args:
        return render_ip_route(network.routes(device), shell.state.uptime())
    address = _ip(inv, 0)
    route: Route | None
    if len(inv.args) >= 2 and not inv.args[1].text.lower().startswith("l"):
        try:
            plen = mask_to_plen(ip_to_int(inv.args[1].text))
        except (AddressError, ValueError):
            raise inv.invalid(1) from None
        inv.expect_none(2)
        net = address & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        route = next((r for r in network.routes(device) if r.net == net and r.plen == plen), None)
        if route is None:
            return "% Subnet not in table\n"
    else:
        inv.expect_none(1)
        route = network.route_lookup(device, address)
        if route is None:
            return "% Network not in table\n"
    return render_route_detail(route, route_context(shell, route), shell.state.uptime())


def route_context(shell: Shell, route: Route) -> RouteContext:
    network, device = shell.network, shell.device
    config = network.config(device)
    ctx = RouteContext(ospf_pid=min(config.ospf) if config.ospf else None,
                       bgp_as=config.bgp.asn if config.bgp else None)
    if route.protocol.startswith("O"):
        ctx.neighbor_ids = {n.neighbor_address: n.neighbor_id for n in network.ospf_neighbors(device)}
    elif route.protocol == "B":
        best = network.control_plane.bgp.best(device).get((route.net, route.plen))
        if best is not None:
            ctx.bgp_from, ctx.bgp_as_path, ctx.bgp_external = best.from_ip, best.as_path, best.ebgp
    elif route.protocol == "S":
        ctx.static_via_interface = any(s.network == route.net and s.plen == route.plen and s.interface
                                       for s in config.static_routes)
    return ctx


def _filtered_route(codes: tuple[str, ...]):
    def handler(shell: Shell, inv: Invocation) -> Output:
        inv.expect_none()
        table = shell.network.routes(shell.device)
        routes = [r for r in table if r.protocol.split()[0] in codes]
        return render_ip_route(routes, shell.state.uptime(), table)
    return handler


# --- OSPF -------------------------------------------------------------------------------------------

def show_ospf_interface_brief(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    network, device = shell.network, shell.device
    ospf = network.control_plane.ospf
    enabled = ospf.interfaces.get(device, {})
    if not enabled:
        return None
    router_id = ospf.router_id.get(device, 0)
    config = network.config(device).interfaces
    neighbors = network.ospf_neighbors(device)
    rows = []
    for name in sorted(enabled, key=interface_sort_key):
        itf = enabled[name]
        mine = [n for n in neighbors if n.interface == name]
        full = sum(1 for n in mine if n.state == "FULL")
        if name.startswith("Loopback"):
            state = "LOOP"
        elif config.get(name) is not None and config[name].ospf_network == "point-to-point":
            state = "P2P"
        elif not mine or all(n.neighbor_id < router_id for n in mine):
            state = "DR"
        else:
            state = "BDR"
        rows.append((name, itf.process.pid, itf.area, itf.address, itf.cost, state, full, len(mine)))
    return render_ospf_interface_brief(rows)


# --- BGP --------------------------------------------------------------------------------------------

def bgp_view(shell: Shell) -> BgpView | None:
    network, device = shell.network, shell.device
    config = network.config(device)
    if config.bgp is None:
        return None
    bgp = network.control_plane.bgp
    paths = bgp.paths.get(device, {})
    return BgpView(config.bgp.asn, bgp.router_id.get(device, 0), list(network.bgp_sessions(device)),
                   paths, shell.state.uptime(), len(paths) + 1)


BGP_NOT_ACTIVE = "% BGP not active\n"


def show_bgp_summary(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    view = bgp_view(shell)
    return render_bgp_summary(view) if view is not None else BGP_NOT_ACTIVE


def show_bgp_all_summary(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    view = bgp_view(shell)
    return render_bgp_summary(view, address_family=True) if view is not None else BGP_NOT_ACTIVE


def show_bgp_neighbors(shell: Shell, inv: Invocation) -> Output:
    view = bgp_view(shell)
    if view is None:
        return BGP_NOT_ACTIVE
    sessions = view.sessions
    if inv.args:
        wanted = _ip(inv, 0)
        sessions = [s for s in sessions if s.peer_ip == wanted]
        if not sessions:
            return "% No such neighbor or address family\n"
        if len(inv.args) > 1:
            return _neighbor_routes(shell, inv, view, sessions[0])
    network, device = shell.network, shell.device
    configs = dict(network.config(device).bgp.neighbors)
    reachable = {s.peer_ip: network.route_lookup(device, s.peer_ip) is not None for s in sessions}
    return render_bgp_neighbors(view, sessions, configs, reachable)


def _neighbor_routes(shell: Shell, inv: Invocation, view: BgpView, session) -> Output:
    """``show ip bgp neighbors X routes|received-routes|advertised-routes``: the table, filtered."""
    word = inv.args[1].text.lower()
    kinds = [k for k in ("routes", "received-routes", "advertised-routes") if k.startswith(word)]
    if len(kinds) != 1:
        raise inv.invalid(1)
    inv.expect_none(2)
    if kinds[0] == "advertised-routes":
        peer_paths = shell.network.control_plane.bgp.paths.get(session.peer_device or "", {})
        sent = {key for key, paths in peer_paths.items() if any(p.from_device == shell.device for p in paths)}
        paths = {key: view.paths[key][:1] for key in sent if key in view.paths}
    else:
        paths = {key: [p for p in ps if p.from_ip == session.peer_ip] for key, ps in view.paths.items()}
        paths = {key: ps for key, ps in paths.items() if ps}
    filtered = BgpView(view.local_as, view.router_id, view.sessions, paths, view.uptime, view.table_version)
    table = render_bgp_table(filtered, _local_next_hops(shell, view))
    return table + f"\nTotal number of prefixes {len(paths)} \n"


def _local_next_hops(shell: Shell, view: BgpView) -> dict[tuple[int, int], tuple[int, int]]:
    found = {}
    for (net, plen), paths in view.paths.items():
        if not any(p.local for p in paths):
            continue
        route = shell.network.route_lookup(shell.device, net)
        if route is None or route.net != net or route.plen != plen or route.protocol in ("C", "L"):
            found[(net, plen)] = (0, 0)
        else:
            hop = next((h.ip for h in route.next_hops if h.ip is not None), 0)
            found[(net, plen)] = (hop, route.metric)
    return found


def show_ip_bgp(shell: Shell, inv: Invocation) -> Output:
    view = bgp_view(shell)
    if view is None:
        return BGP_NOT_ACTIVE
    if not inv.args:
        return render_bgp_table(view, _local_next_hops(shell, view))
    text = inv.args[0].text
    exact = None
    if "/" in text:
        address_text, _, plen_text = text.partition("/")
        if not plen_text.isdigit() or int(plen_text) > 32:
            raise inv.invalid(0)
        address = ip_to_int(address_text) if _valid_ip(address_text) else None
        if address is None:
            raise inv.invalid(0)
        exact = int(plen_text)
        inv.expect_none(1)
    else:
        address = _ip(inv, 0)
        if len(inv.args) > 1:
            try:
                exact = mask_to_plen(ip_to_int(inv.args[1].text))
            except (AddressError, ValueError):
                raise inv.invalid(1) from None
            inv.expect_none(2)
    key = None
    if exact is not None:
        net = address & ((0xFFFFFFFF << (32 - exact)) & 0xFFFFFFFF)
        key = (net, exact) if (net, exact) in view.paths else None
    else:
        matches = [(n, p) for (n, p) in view.paths
                   if (address & ((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF)) == n]
        key = max(matches, key=lambda k: k[1]) if matches else None
    if key is None:
        return "% Network not in table\n"
    paths = view.paths[key]
    igp = {}
    for path in paths:
        if not path.local and not path.ebgp and path.next_hop:
            route = shell.network.route_lookup(shell.device, path.next_hop)
            if route is not None:
                igp[path.next_hop] = route.metric
    return render_bgp_prefix(view, key[0], key[1], paths, _local_next_hops(shell, view), igp)


def _valid_ip(text: str) -> bool:
    try:
        ip_to_int(text)
    except (AddressError, ValueError):
        return False
    return True


def show_bgp_other_afi(shell: Shell, inv: Invocation) -> Output:
    """Address families the lab does not run (IPv6, multicast, VPN): IOS prints nothing."""
    return None


# --- protocols, VRFs --------------------------------------------------------------------------------

def show_ip_protocols(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    if words and not "summary".startswith(words[0].lower()):
        raise inv.invalid(0)
    network, device = shell.network, shell.device
    config = network.config(device)
    if words:
        lines = ["Index Process Name", "*** IP Routing is NSF aware ***", "0     connected", "1     static"]
        index = 2
        for pid in sorted(config.ospf):
            lines.append(f"{index:<5} ospf {pid}")
            index += 1
        if config.bgp is not None:
            lines.append(f"{index:<5} bgp {config.bgp.asn}")
        return "\n".join(lines) + "\n"
    age = _age(shell)
    blocks = []
    ospf = network.control_plane.ospf
    for pid, process in sorted(config.ospf.items()):
        block = [f'Routing Protocol is "ospf {pid}"',
                 "  Outgoing update filter list for all interfaces is not set",
                 "  Incoming update filter list for all interfaces is not set",
                 f"  Router ID {int_to_ip(ospf.router_id.get(device, 0))}"]
        if process.redistribute or process.default_originate:
            block.append("  It is an autonomous system boundary router")
            block.append("  Redistributing External Routes from,")
            block.extend(f"    {r.protocol}" + (" with metric mapped to 20" if r.protocol != "bgp" else "")
                         for r in process.redistribute)
        areas = sorted({n.area for n in process.networks})
        block += [f"  Number of areas in this router is {len(areas)}. {len(areas)} normal 0 stub 0 nssa",
                  "  Maximum path: 4",
                  "  Routing for Networks:"]
        block.extend(f"    {int_to_ip(n.address)} {int_to_ip(n.wildcard)} area {n.area}" for n in process.networks)
        passive = sorted(process.passive, key=interface_sort_key)
        if process.passive_default:
            passive = [n for n in sorted(config.interfaces, key=interface_sort_key) if n not in process.non_passive]
        if passive:
            block.append("  Passive Interface(s):")
            block.extend(f"    {name}" for name in passive)
        block += ["  Routing Information Sources:", "    Gateway         Distance      Last Update"]
        sources = sorted({n.neighbor_id for n in network.ospf_neighbors(device) if n.state == "FULL"})
        block.extend(f"    {int_to_ip(rid):<15}{110:>9}      {age}" for rid in sources)
        block.append("  Distance: (default is 110)")
        blocks.append(block)
    if config.bgp is not None:
        bgp = config.bgp
        block = [f'Routing Protocol is "bgp {bgp.asn}"',
                 "  Outgoing update filter list for all interfaces is not set",
                 "  Incoming update filter list for all interfaces is not set",
                 "  IGP synchronization is disabled",
                 "  Automatic route summarization is disabled"]
        if bgp.networks:
            block.append("  Routing for Networks:")
            block.extend(f"    {int_to_ip(n.network)}/{n.plen}" for n in bgp.networks)
        block += ["  Neighbor(s):", "    Address          FiltIn FiltOut DistIn DistOut Weight RouteMap"]
        block.extend(f"    {int_to_ip(ip)}" for ip in sorted(bgp.neighbors))
        block += ["  Maximum path: 1", "  Routing Information Sources:", "    Gateway         Distance      Last Update"]
        for session in sorted(network.bgp_sessions(device), key=lambda s: s.peer_ip):
            if session.established and session.received:
                distance = 20 if session.ebgp else 200
                block.append(f"    {int_to_ip(session.peer_ip):<15}{distance:>9}      {age}")
        block.append("  Distance: external 20 internal 200 local 200")
        blocks.append(block)
    return render_ip_protocols(blocks)


def _age(shell: Shell) -> str:
    from twin_lab.emulator.render_routing import age_text

    return age_text(shell.state.uptime())


def show_nothing(shell: Shell, inv: Invocation) -> Output:
    """Tables the lab has no rows for (``show vrf``, ``show ip vrf``): IOS prints nothing."""
    return None


# --- registration ----------------------------------------------------------------------------------

def register(commands: CommandSet) -> None:
    add = commands.add
    add("show interfaces", show_interfaces, level=1, pipe=True)
    add("show interfaces summary", show_interfaces_summary, level=1, pipe=True)
    add("show interfaces description", show_interfaces_description, level=1, pipe=True)
    add("show ip interface", show_ip_interface, level=1, pipe=True)
    add("show ipv6 interface", show_ipv6_interface, level=1, pipe=True)
    add("show arp", show_arp, level=1, pipe=True)
    add("show ip arp", show_arp, level=1, pipe=True)
    add("show lldp neighbors", show_lldp_neighbors, level=1, pipe=True)
    add("show access-lists", show_access_lists, level=1, pipe=True)
    add("show ip access-lists", show_access_lists, level=1, pipe=True)
    add("show ip route", show_ip_route, level=1, pipe=True)
    for word, codes in _ROUTE_FILTERS.items():
        add(f"show ip route {word}", _filtered_route(codes), level=1, pipe=True)
    add("show ip ospf interface brief", show_ospf_interface_brief, level=1, pipe=True)
    add("show ip bgp", show_ip_bgp, level=1, pipe=True)
    add("show ip bgp summary", show_bgp_summary, level=1, pipe=True)
    add("show ip bgp all summary", show_bgp_all_summary, level=1, pipe=True)
    add("show ip bgp neighbors", show_bgp_neighbors, level=1, pipe=True)
    add("show ip bgp ipv4 unicast", show_ip_bgp, level=1, pipe=True)
    add("show ip bgp ipv4 unicast summary", show_bgp_summary, level=1, pipe=True)
    add("show ip bgp ipv4 unicast neighbors", show_bgp_neighbors, level=1, pipe=True)
    add("show bgp all summary", show_bgp_all_summary, level=1, pipe=True)
    add("show bgp all neighbors", show_bgp_neighbors, level=1, pipe=True)
    add("show bgp ipv4 unicast", show_ip_bgp, level=1, pipe=True)
    add("show bgp ipv4 unicast summary", show_bgp_summary, level=1, pipe=True)
    add("show bgp ipv4 unicast neighbors", show_bgp_neighbors, level=1, pipe=True)
    add("show bgp summary", show_bgp_summary, level=1, pipe=True)
    add("show bgp neighbors", show_bgp_neighbors, level=1, pipe=True)
    for afi in ("ipv4 multicast", "ipv6 unicast", "ipv6 multicast", "vpnv4 unicast", "vpnv6 unicast", "ipv4 mdt"):
        add(f"show bgp {afi}", show_bgp_other_afi, level=1, pipe=True)
        add(f"show ip bgp {afi}", show_bgp_other_afi, level=1, pipe=True)
    add("show ip protocols", show_ip_protocols, level=1, pipe=True)
    add("show vrf", show_nothing, level=1, pipe=True)
    add("show ip vrf", show_nothing, level=1, pipe=True)
