"""LLDP views (``show lldp neighbors [detail]``) and ``show access-lists``, IOS 15 layouts.

The detail layout is what both ntc-templates' ``cisco_ios_show_lldp_neighbors_detail`` and
NAPALM's own ``show_lldp_neighbors_detail`` template (``get_lldp_neighbors[_detail]``) read:
a dashed separator before each entry, ``Local Intf:``, ``Chassis id:``, ``Port id:``,
``Port Description:``, ``System Name:``, a ``System Description:`` block that ends at
``Time remaining``, the capabilities, the management address, ``Total entries displayed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_lab.addressing import int_to_ip, short_interface
from twin_lab.ios.model import AccessList, AclEntry
from twin_lab.ios.render import host_spec, port_spec

CAPABILITY_CODES = """Capability codes:
    (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device
    (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other
"""


@dataclass(frozen=True, slots=True)
class LldpNeighbor:
    local_interface: str
    system_name: str  # the neighbour's hostname
    port: str  # its interface (full name)
    port_description: str
    chassis_id: str
    management_ip: int | None
    system_description: list[str]


def render_lldp_brief(neighbors: list[LldpNeighbor]) -> str:
    lines = [CAPABILITY_CODES, f"{'Device ID':<20}{'Local Intf':<15}{'Hold-time':<11}{'Capability':<16}Port ID"]
    for nbr in neighbors:
        lines.append(f"{nbr.system_name[:20]:<20}{short_interface(nbr.local_interface):<15}{120:<11}"
                     f"{'R':<16}{short_interface(nbr.port)}")
    lines += ["", f"Total entries displayed: {len(neighbors)}"]
    return "\n".join(lines) + "\n"


def render_lldp_detail(neighbors: list[LldpNeighbor], hold: int = 112) -> str:
    lines: list[str] = []
    for nbr in neighbors:
        lines += ["------------------------------------------------",
                  f"Local Intf: {short_interface(nbr.local_interface)}",
                  f"Chassis id: {nbr.chassis_id}",
                  f"Port id: {short_interface(nbr.port)}",
                  f"Port Description: {nbr.port_description}",
                  f"System Name: {nbr.system_name}",
                  "",
                  "System Description: ",
                  *nbr.system_description,
                  "",
                  f"Time remaining: {hold} seconds",
                  "System Capabilities: B,R",
                  "Enabled Capabilities: R",
                  "Management Addresses:"]
        if nbr.management_ip is not None:
            lines.append(f"    IP: {int_to_ip(nbr.management_ip)}")
        lines += ["Auto Negotiation - not supported",
                  "Physical media capabilities - not advertised",
                  "Media Attachment Unit type - not advertised",
                  "Vlan ID: - not advertised",
                  ""]
    lines += ["", f"Total entries displayed: {len(neighbors)}"]
    return "\n".join(lines) + "\n"


# --- access lists ---------------------------------------------------------------------------------

def _standard_source(entry: AclEntry) -> str:
    if entry.src_wildcard == 0xFFFFFFFF:
        return "any"
    if entry.src_wildcard == 0:
        return int_to_ip(entry.src)
    return f"{int_to_ip(entry.src)}, wildcard bits {int_to_ip(entry.src_wildcard)}"


def ace_line(entry: AclEntry, kind: str) -> str:
    """One entry as ``show access-lists`` prints it (sequence number first, no padding)."""
    if kind == "standard":
        text = f"{entry.action} {_standard_source(entry)}"
    else:
        text = (f"{entry.action} {entry.protocol} {host_spec(entry.src, entry.src_wildcard)}"
                f"{port_spec(entry.src_port, entry.protocol)} {host_spec(entry.dst, entry.dst_wildcard)}"
                f"{port_spec(entry.dst_port, entry.protocol)}")
    if entry.options:
        text += " " + " ".join(entry.options)
    return f"    {entry.seq} {text}"


def render_access_lists(acls: list[AccessList]) -> str:
    lines: list[str] = []
    for acl in acls:
        lines.append(f"{acl.kind.capitalize()} IP access list {acl.name}")
        lines.extend(ace_line(e, acl.kind) for e in acl.entries if e.action != "remark")
    return "\n".join(lines) + ("\n" if lines else "")


def acl_order(acls: list[AccessList]) -> list[AccessList]:
    """IOS lists numbered lists by number, then named lists by name."""
    numbered = sorted((a for a in acls if a.name.isdigit()), key=lambda a: int(a.name))
    named = sorted((a for a in acls if not a.name.isdigit()), key=lambda a: a.name)
    return numbered + named
