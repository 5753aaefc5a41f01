"""ACL evaluation for simulated packets (first match wins, implicit deny, undefined ACL permits)."""

from __future__ import annotations

from dataclasses import dataclass

from twin_lab.addressing import wildcard_match
from twin_lab.ios.model import AccessList, AclEntry

PROTOCOL_NUMBERS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ahp": 51, "eigrp": 88,
                    "ospf": 89, "pim": 103}


@dataclass(slots=True, frozen=True)
class Packet:
    src: int
    dst: int
    protocol: str = "icmp"  # icmp | tcp | udp | ...
    sport: int | None = None
    dport: int | None = None
    icmp_type: str | None = "echo"
    reply: bool = False  # part of an established flow (matches "established")

    def reversed(self) -> Packet:
        icmp = {"echo": "echo-reply"}.get(self.icmp_type or "", self.icmp_type)
        return Packet(self.dst, self.src, self.protocol, self.dport, self.sport, icmp, True)


def entry_matches(entry: AclEntry, packet: Packet) -> bool:
    if entry.action == "remark":
        return False
    if entry.protocol != "ip":
        wanted = PROTOCOL_NUMBERS.get(entry.protocol, int(entry.protocol) if entry.protocol.isdigit() else -1)
        if wanted != PROTOCOL_NUMBERS.get(packet.protocol, -2):
            return False
    if not wildcard_match(packet.src, entry.src, entry.src_wildcard):
        return False
    if not wildcard_match(packet.dst, entry.dst, entry.dst_wildcard):
        return False
    if entry.src_port is not None and not entry.src_port.matches(packet.sport):
        return False
    if entry.dst_port is not None and not entry.dst_port.matches(packet.dport):
        return False
    for option in entry.options:
        if option == "established" and not packet.reply:
            return False
        if entry.protocol == "icmp" and option not in ("log", "log-input") and option != packet.icmp_type:
            return False
    return True


def evaluate(acl: AccessList | None, packet: Packet) -> tuple[bool, AclEntry | None]:
    """(permitted, the matching entry). ``None`` entry with a deny means the implicit deny."""
    if acl is None:
        return True, None  # IOS forwards when the referenced ACL does not exist
    for entry in acl.entries:
        if entry_matches(entry, packet):
            return entry.action == "permit", entry
    return False, None
