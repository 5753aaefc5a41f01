"""Render a ``DeviceConfig`` back to canonical IOS running-config text.

Canonical means: stable order (interfaces in IOS order, sections in the order IOS prints
them), IOS spellings (``deny   tcp ... eq www``), so ``render(parse(render(c))) == render(c)``.
"""

from __future__ import annotations

from twin_lab.addressing import int_to_ip, interface_sort_key, plen_to_mask
from twin_lab.ios.model import (
    AccessList,
    AclEntry,
    BgpProcess,
    DeviceConfig,
    Interface,
    OspfProcess,
    PortMatch,
)

# Names IOS prints instead of numbers, per protocol.
_TCP_NAMES = {80: "www", 23: "telnet", 21: "ftp", 20: "ftp-data", 25: "smtp", 53: "domain", 179: "bgp",
              110: "pop3", 119: "nntp", 113: "ident", 79: "finger", 49: "tacacs", 7: "echo", 13: "daytime"}
_UDP_NAMES = {53: "domain", 69: "tftp", 123: "ntp", 161: "snmp", 162: "snmptrap", 514: "syslog", 67: "bootps",
              68: "bootpc", 520: "rip", 500: "isakmp", 137: "netbios-ns", 138: "netbios-dgm", 49: "tacacs"}
_LATE_BLOCKS = ("line", "banner", "control-plane", "ntp", "alias", "event", "scheduler", "end")


def mask_text(plen: int) -> str:
    return int_to_ip(plen_to_mask(plen))


def host_spec(address: int, wildcard: int, standard: bool = False) -> str:
    if wildcard == 0xFFFFFFFF:
        return "any"
    if wildcard == 0:
        return int_to_ip(address) if standard else f"host {int_to_ip(address)}"
    return f"{int_to_ip(address)} {int_to_ip(wildcard)}"


def port_spec(match: PortMatch | None, protocol: str) -> str:
    if match is None:
        return ""
    names = _TCP_NAMES if protocol == "tcp" else _UDP_NAMES
    ports = " ".join(names.get(p, str(p)) for p in match.ports)
    return f" {match.op} {ports}"


def ace_text(entry: AclEntry, kind: str, pad: bool = False) -> str:
    """One ACL entry as IOS prints it (``pad`` aligns actions as the running-config does)."""
    if entry.action == "remark":
        return f"remark {entry.remark or ''}".rstrip()
    action = f"{entry.action:<7}" if pad else f"{entry.action} "
    if kind == "standard":
        text = f"{action}{host_spec(entry.src, entry.src_wildcard, standard=True)}"
    else:
        text = (f"{action}{entry.protocol} {host_spec(entry.src, entry.src_wildcard)}"
                f"{port_spec(entry.src_port, entry.protocol)} {host_spec(entry.dst, entry.dst_wildcard)}"
                f"{port_spec(entry.dst_port, entry.protocol)}")
    if entry.options:
        text += " " + " ".join(entry.options)
    return text


def render_interface(itf: Interface) -> list[str]:
    lines = [f"interface {itf.name}"]
    if itf.description:
        lines.append(f" description {itf.description}")
    if itf.bandwidth:
        lines.append(f" bandwidth {itf.bandwidth}")
    if itf.mtu:
        lines.append(f" mtu {itf.mtu}")
    if itf.address:
        for ip, plen in itf.secondary:
            lines.append(f" ip address {int_to_ip(ip)} {mask_text(plen)} secondary")
        lines.append(f" ip address {int_to_ip(itf.address[0])} {mask_text(itf.address[1])}")
    elif not any(x.startswith("ip address ") for x in itf.extra):
        lines.append(" no ip address")
    if itf.acl_in:
        lines.append(f" ip access-group {itf.acl_in} in")
    if itf.acl_out:
        lines.append(f" ip access-group {itf.acl_out} out")
    if itf.ip_mtu:
        lines.append(f" ip mtu {itf.ip_mtu}")
    if itf.ospf_network:
        lines.append(f" ip ospf network {itf.ospf_network}")
    if itf.ospf_hello:
        lines.append(f" ip ospf hello-interval {itf.ospf_hello}")
    if itf.ospf_dead:
        lines.append(f" ip ospf dead-interval {itf.ospf_dead}")
    if itf.ospf_area:
        lines.append(f" ip ospf {itf.ospf_area[0]} area {itf.ospf_area[1]}")
    if itf.ospf_cost:
        lines.append(f" ip ospf cost {itf.ospf_cost}")
    lines.extend(f" {x}" for x in itf.extra)
    if itf.shutdown:
        lines.append(" shutdown")
    return lines


def _redistribution(spec) -> str:
    text = f"redistribute {spec.protocol}"
    if spec.process is not None:
        text += f" {spec.process}"
    if spec.metric is not None:
        text += f" metric {spec.metric}"
    if spec.metric_type is not None:
        text += f" metric-type {spec.metric_type}"
    if spec.subnets:
        text += " subnets"
    return text


def render_ospf(process: OspfProcess) -> list[str]:
    lines = [f"router ospf {process.pid}"]
    if process.router_id is not None:
        lines.append(f" router-id {int_to_ip(process.router_id)}")
    if process.shutdown:
        lines.append(" shutdown")
    if process.log_adjacency_changes:
        lines.append(" log-adjacency-changes")
    if process.reference_bandwidth != 100:
        lines.append(f" auto-cost reference-bandwidth {process.reference_bandwidth}")
    lines.extend(f" {x}" for x in process.extra)
    lines.extend(f" {_redistribution(r)}" for r in process.redistribute)
    if process.passive_default:
        lines.append(" passive-interface default")
        lines.extend(f" no passive-interface {n}" for n in sorted(process.non_passive, key=interface_sort_key))
    else:
        lines.extend(f" passive-interface {n}" for n in sorted(process.passive, key=interface_sort_key))
    for net in process.networks:
        lines.append(f" network {int_to_ip(net.address)} {int_to_ip(net.wildcard)} area {net.area}")
    if process.default_originate:
        lines.append(" default-information originate" + (" always" if process.default_originate_always else ""))
    return lines


def render_bgp(process: BgpProcess) -> list[str]:
    lines = [f"router bgp {process.asn}"]
    if process.router_id is not None:
        lines.append(f" bgp router-id {int_to_ip(process.router_id)}")
    if process.log_neighbor_changes:
        lines.append(" bgp log-neighbor-changes")
    if process.default_local_pref != 100:
        lines.append(f" bgp default local-preference {process.default_local_pref}")
    lines.extend(f" {x}" for x in process.extra)
    for net in process.networks:
        lines.append(f" network {int_to_ip(net.network)} mask {mask_text(net.plen)}")
    lines.extend(f" {_redistribution(r)}".replace(" subnets", "") for r in process.redistribute)
    for ip, nbr in process.neighbors.items():
        peer = f" neighbor {int_to_ip(ip)}"
        lines.append(f"{peer} remote-as {nbr.remote_as}")
        if nbr.description:
            lines.append(f"{peer} description {nbr.description}")
        if nbr.password_set:
            lines.append(f"{peer} password {nbr.password_set}")
        if nbr.shutdown:
            lines.append(f"{peer} shutdown")
        if nbr.ebgp_multihop is not None:
            lines.append(f"{peer} ebgp-multihop {nbr.ebgp_multihop}")
        if nbr.update_source:
            lines.append(f"{peer} update-source {nbr.update_source}")
        if nbr.next_hop_self:
            lines.append(f"{peer} next-hop-self")
        lines.extend(f"{peer} {x}" for x in nbr.extra)
    return lines


def render_acl(acl: AccessList) -> list[str]:
    if acl.numbered:
        return [f"access-list {acl.name} {ace_text(e, acl.kind)}" for e in acl.entries]
    lines = [f"ip access-list {acl.kind} {acl.name}"]
    lines.extend(f" {ace_text(e, acl.kind, pad=True)}" for e in acl.entries)
    return lines


def render_config(config: DeviceConfig) -> str:
    """The canonical running-config body, ending in ``end``."""
    out: list[str] = [f"hostname {config.hostname}", "!"]
    early = [b for b in config.extra if b.header.split()[0] not in _LATE_BLOCKS]
    late = [b for b in config.extra if b.header.split()[0] in _LATE_BLOCKS]
    for block in early:
        out.append(block.header)
        out.extend(f" {c}" for c in block.children)
    if early:
        out.append("!")
    for name in sorted(config.interfaces, key=interface_sort_key):
        out.extend(render_interface(config.interfaces[name]))
        out.append("!")
    for pid in sorted(config.ospf):
        out.extend(render_ospf(config.ospf[pid]))
        out.append("!")
    if config.bgp is not None:
        out.extend(render_bgp(config.bgp))
        out.append("!")
    for route in sorted(config.static_routes, key=lambda r: (r.network, r.plen, r.distance)):
        text = f"ip route {int_to_ip(route.network)} {mask_text(route.plen)}"
        if route.interface:
            text += f" {route.interface}"
        if route.next_hop is not None:
            text += f" {int_to_ip(route.next_hop)}"
        if route.distance != 1:
            text += f" {route.distance}"
        if route.name:
            text += f" name {route.name}"
        if route.permanent:
            text += " permanent"
        out.append(text)
    if config.static_routes:
        out.append("!")
    named = [a for a in config.acls.values() if not a.numbered]
    for acl in sorted(named, key=lambda a: a.name):
        out.extend(render_acl(acl))
    numbered = sorted((a for a in config.acls.values() if a.numbered), key=lambda a: int(a.name))
    for acl in numbered:
        out.extend(render_acl(acl))
    if config.acls:
        out.append("!")
    for block in late:
        out.append(block.header)
        banner = block.header.startswith("banner ")
        out.extend(c if banner else f" {c}" for c in block.children)
    if late:
        out.append("!")
    out.append("end")
    return "\n".join(out) + "\n"
