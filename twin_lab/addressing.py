"""IPv4 arithmetic on plain ints and IOS interface-name normalisation.

Plain ints (not ``ipaddress`` objects) keep the control plane fast: a 1000-router
recompute touches millions of addresses.
"""

from __future__ import annotations

import re

ALL_ONES = 0xFFFFFFFF


class AddressError(ValueError):
    """An address, mask or interface name that IOS would reject."""


def ip_to_int(text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4:
        raise AddressError(f"invalid IPv4 address {text!r}")
    value = 0
    for part in parts:
        if not part.isdigit() or int(part) > 255:
            raise AddressError(f"invalid IPv4 address {text!r}")
        value = (value << 8) | int(part)
    return value


def int_to_ip(value: int) -> str:
    return f"{(value >> 24) & 255}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def is_ip(text: str) -> bool:
    try:
        ip_to_int(text)
    except AddressError:
        return False
    return True


def plen_to_mask(plen: int) -> int:
    return (ALL_ONES << (32 - plen)) & ALL_ONES if plen else 0


def mask_to_plen(mask: int) -> int:
    plen = bin(mask).count("1")
    if plen_to_mask(plen) != mask:
        raise AddressError(f"non-contiguous mask {int_to_ip(mask)}")
    return plen


def mask_text_to_plen(text: str) -> int:
    return mask_to_plen(ip_to_int(text))


def network_of(ip: int, plen: int) -> int:
    return ip & plen_to_mask(plen)


def in_prefix(ip: int, net: int, plen: int) -> bool:
    return (ip & plen_to_mask(plen)) == net


def wildcard_match(ip: int, addr: int, wildcard: int) -> bool:
    """ACL / OSPF ``network`` semantics: bits set in the wildcard are 'don't care'."""
    care = ~wildcard & ALL_ONES
    return (ip & care) == (addr & care)


def prefix_text(net: int, plen: int) -> str:
    return f"{int_to_ip(net)}/{plen}"


def parse_prefix(text: str) -> tuple[int, int]:
    """Parse ``a.b.c.d/len`` (host bits are cleared)."""
    if "/" not in text:
        return ip_to_int(text), 32
    addr, _, plen_text = text.partition("/")
    if not plen_text.isdigit() or int(plen_text) > 32:
        raise AddressError(f"invalid prefix length in {text!r}")
    plen = int(plen_text)
    return network_of(ip_to_int(addr), plen), plen


def parse_interface_address(text: str) -> tuple[int, int]:
    """Parse ``a.b.c.d/len`` keeping the host bits (an interface or host address)."""
    addr, sep, plen_text = text.partition("/")
    if not sep or not plen_text.isdigit() or int(plen_text) > 32:
        raise AddressError(f"expected ADDRESS/LENGTH, got {text!r}")
    return ip_to_int(addr), int(plen_text)


# --- interface names --------------------------------------------------------------------------

# Order matters: the first type whose name starts with the typed prefix wins, as on IOS
# ("t" is ambiguous on a real router; we resolve it to Tunnel like most operators expect).
INTERFACE_TYPES = (
    "GigabitEthernet",
    "FastEthernet",
    "TenGigabitEthernet",
    "TwentyFiveGigE",
    "FortyGigabitEthernet",
    "HundredGigE",
    "Ethernet",
    "Loopback",
    "Tunnel",
    "Serial",
    "Vlan",
    "Port-channel",
    "Null",
    "Management",
)
_SHORT = {
    "GigabitEthernet": "Gi",
    "FastEthernet": "Fa",
    "TenGigabitEthernet": "Te",
    "TwentyFiveGigE": "Twe",
    "FortyGigabitEthernet": "Fo",
    "HundredGigE": "Hu",
    "Ethernet": "Et",
    "Loopback": "Lo",
    "Tunnel": "Tu",
    "Serial": "Se",
    "Vlan": "Vl",
    "Port-channel": "Po",
    "Null": "Nu",
    "Management": "Ma",
}
_EXPLICIT = {"te": "TenGigabitEthernet", "tu": "Tunnel", "t": "Tunnel", "e": "Ethernet", "et": "Ethernet",
             "eth": "Ethernet", "ethernet": "Ethernet", "po": "Port-channel", "mgmt": "Management"}
_NAME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z-]*?)\s*(\d+(?:/\d+)*(?:\.\d+)?)\s*$")
_CACHE: dict[str, str] = {}


def canonical_interface(name: str) -> str:
    """``gi0/0``, ``Gig 0/0`` and ``GigabitEthernet0/0`` all become ``GigabitEthernet0/0``."""
    cached = _CACHE.get(name)
    if cached is not None:
        return cached
    match = _NAME_RE.match(name)
    if not match:
        raise AddressError(f"invalid interface name {name!r}")
    typed, number = match.group(1).lower(), match.group(2)
    full = _EXPLICIT.get(typed)
    if full is None:
        for candidate in INTERFACE_TYPES:
            if candidate.lower().startswith(typed):
                full = candidate
                break
    if full is None:
        raise AddressError(f"invalid interface name {name!r}")
    result = f"{full}{number}"
    if len(_CACHE) < 100_000:
        _CACHE[name] = result
    return result


def short_interface(name: str) -> str:
    """``GigabitEthernet0/0`` -> ``Gi0/0`` (the form ``show ip ospf neighbor`` prints)."""
    for full, short in _SHORT.items():
        if name.startswith(full):
            return short + name[len(full):]
    return name


def interface_sort_key(name: str) -> tuple:
    """Sort interfaces the way IOS lists them: by type order, then numerically."""
    match = _NAME_RE.match(name)
    if not match:
        return (99, name)
    kind = match.group(1)
    order = INTERFACE_TYPES.index(kind) if kind in INTERFACE_TYPES else 98
    numbers = tuple(int(x) for x in re.split(r"[/.]", match.group(2)))
    return (order, numbers)


def is_loopback(name: str) -> bool:
    return name.startswith("Loopback")


def default_bandwidth_kbit(name: str) -> int:
    for prefix, bw in (
        ("HundredGigE", 100_000_000),
        ("FortyGigabitEthernet", 40_000_000),
        ("TwentyFiveGigE", 25_000_000),
        ("TenGigabitEthernet", 10_000_000),
        ("GigabitEthernet", 1_000_000),
        ("FastEthernet", 100_000),
        ("Ethernet", 10_000),
        ("Serial", 1_544),
        ("Loopback", 8_000_000),
        ("Tunnel", 100),
    ):
        if name.startswith(prefix):
            return bw
    return 1_000_000
