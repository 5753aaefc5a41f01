"""Interface views rendered from simulator state, in IOSv 15.9 layouts:
``show ip interface brief``, ``show interfaces [X]``, ``show interfaces summary``,
``show interfaces description``, ``show ip interface [X]``, ``show arp``.

NAPALM's ``get_facts`` takes its interface list from the first column of the brief table,
``get_interfaces``/``get_interfaces_counters`` read ``show interfaces`` line by line (status
line, ``Hardware ... address is``, ``Description:``, ``MTU ... BW``, the counter lines) and
``get_interfaces_ip`` reads ``Internet address is`` / ``Secondary address``; ntc-templates'
``cisco_ios_show_interfaces`` / ``..._ip_interface`` / ``..._arp`` parse the same text.

Counters are synthetic but monotonic: an interface with a live link exchanges a hello-sized
packet every few seconds since the lab started; a down interface counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_lab.addressing import int_to_ip, interface_sort_key
from twin_lab.controlplane.links import InterfaceState
from twin_lab.ios.model import Interface

# (interface type prefix, hardware text, delay in usec)
_HARDWARE = (
    ("GigabitEthernet", "iGbE", 10),
    ("TenGigabitEthernet", "TenGigabitEthernet", 10),
    ("FastEthernet", "AmdFE", 100),
    ("Ethernet", "AmdP2", 1000),
    ("Serial", "M4T", 20000),
)


def render_ip_interface_brief(interfaces: dict[str, InterfaceState]) -> str:
    lines = [f"{'Interface':<27}{'IP-Address':<16}OK? Method Status                Protocol"]
    for name in sorted(interfaces, key=interface_sort_key):
        state = interfaces[name]
        if state.address:
            address, method = int_to_ip(state.address[0]), "NVRAM"
        else:
            address, method = "unassigned", "unset"
        protocol = "up" if state.admin_up and state.line_up else "down"
        lines.append(f"{name:<27}{address:<16}YES {method:<6} {state.status_text:<22}{protocol}")
    return "\n".join(lines) + "\n"


def status_line(state: InterfaceState) -> str:
    protocol = "up" if state.admin_up and state.line_up else "down"
    return f"{state.name} is {state.status_text}, line protocol is {protocol} "


@dataclass(frozen=True, slots=True)
class Counters:
    packets_in: int
    bytes_in: int
    packets_out: int
    bytes_out: int
    broadcasts: int
    multicasts: int
    resets: int


def counters(state: InterfaceState, has_peer: bool, uptime: float) -> Counters:
    """Plausible, monotonic counters: hellos and keepalives on a live link since lab start."""
    if state.name.startswith("Loopback") or not (state.line_up and has_peer):
        return Counters(0, 0, 0, 0, 0, 0, 0 if state.line_up else 1)
    ticks = int(uptime) // 5 + 12
    multicasts = int(uptime) // 10 + 3
    return Counters(ticks, ticks * 94, ticks + 4, (ticks + 4) * 91, 2 + multicasts, multicasts, 1)


def _hardware(name: str) -> tuple[str, int]:
    for prefix, hardware, delay in _HARDWARE:
        if name.startswith(prefix):
            return hardware, delay
    if name.startswith("Loopback"):
        return "Loopback", 5000
    if name.startswith("Tunnel"):
        return "Tunnel", 50000
    return "iGbE", 10


def _vlan(itf: Interface | None) -> str | None:
    for line in itf.extra if itf is not None else []:
        words = line.split()
        if len(words) >= 3 and words[0] == "encapsulation" and words[1].lower() == "dot1q":
            return words[2]
    return None


def render_interface(state: InterfaceState, itf: Interface | None, mac: str | None, has_peer: bool,
                     uptime: float) -> list[str]:
    """One interface of ``show interfaces``."""
    name = state.name
    hardware, delay = _hardware(name)
    loopback = name.startswith("Loopback")
    lines = [status_line(state)]
    if loopback or name.startswith("Tunnel") or mac is None:
        lines.append(f"  Hardware is {hardware}")
    else:
        lines.append(f"  Hardware is {hardware}, address is {mac} (bia {mac})")
    if itf is not None and itf.description:
        lines.append(f"  Description: {itf.description}")
    if itf is not None and itf.address:
        lines.append(f"  Internet address is {int_to_ip(itf.address[0])}/{itf.address[1]}")
    mtu = (itf.mtu if itf is not None and itf.mtu else None) or (1514 if loopback else 1500)
    bandwidth = itf.effective_bandwidth if itf is not None else 1_000_000
    lines += [f"  MTU {mtu} bytes, BW {bandwidth} Kbit/sec, DLY {delay} usec, ",
              "     reliability 255/255, txload 1/255, rxload 1/255"]
    vlan = _vlan(itf)
    if loopback:
        lines.append("  Encapsulation LOOPBACK, loopback not set")
    elif vlan is not None:
        lines.append(f"  Encapsulation 802.1Q Virtual LAN, Vlan ID  {vlan}.")
    else:
        lines.append("  Encapsulation ARPA, loopback not set")
    lines.append("  Keepalive set (10 sec)")
    count = counters(state, has_peer, uptime)
    live = count.packets_in > 0
    if not loopback and vlan is None:
        if state.line_up:
            lines.append("  Full Duplex, 1Gbps, link type is auto, media type is RJ45")
        else:
            lines.append("  Auto Duplex, Auto Speed, link type is auto, media type is RJ45")
        lines.append("  output flow-control is unsupported, input flow-control is unsupported")
    if not loopback:
        lines.append("  ARP type: ARPA, ARP Timeout 04:00:00")
    last = "00:00:01" if live else "never"
    lines += [
        f"  Last input {last}, output {last}, output hang never",
        '  Last clearing of "show interface" counters never',
        "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0",
        "  Queueing strategy: fifo",
        "  Output queue: 0/40 (size/max)",
        "  5 minute input rate 0 bits/sec, 0 packets/sec",
        "  5 minute output rate 0 bits/sec, 0 packets/sec",
        f"     {count.packets_in} packets input, {count.bytes_in} bytes, 0 no buffer",
        f"     Received {count.broadcasts} broadcasts ({count.multicasts} IP multicasts)",
        "     0 runts, 0 giants, 0 throttles ",
        "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored",
    ]
    if not loopback:
        lines.append(f"     0 watchdog, {count.multicasts} multicast, 0 pause input")
    lines += [
        f"     {count.packets_out} packets output, {count.bytes_out} bytes, 0 underruns",
        f"     0 output errors, 0 collisions, {count.resets} interface resets",
        "     0 unknown protocol drops",
    ]
    if not loopback:
        lines += ["     0 babbles, 0 late collision, 0 deferred",
                  f"     {0 if state.line_up else 1} lost carrier, 0 no carrier, 0 pause output",
                  "     0 output buffer failures, 0 output buffers swapped out"]
    return lines


def render_interfaces_summary(states: list[InterfaceState]) -> str:
    lines = [
        " *: interface is up",
        " IHQ: pkts in input hold queue     IQD: pkts dropped from input queue",
        " OHQ: pkts in output hold queue    OQD: pkts dropped from output queue",
        " RXBS: rx rate (bits/sec)          RXPS: rx rate (pkts/sec)",
        " TXBS: tx rate (bits/sec)          TXPS: tx rate (pkts/sec)",
        " TRTL: throttle count",
        "",
        f"  {'Interface':<26}{'IHQ':>5}{'IQD':>10}{'OHQ':>10}{'OQD':>10}{'RXBS':>10}{'RXPS':>10}"
        f"{'TXBS':>10}{'TXPS':>10}{'TRTL':>10}",
        "-" * 113,
    ]
    for state in states:
        star = "*" if state.admin_up and state.line_up else " "
        lines.append(f"{star} {state.name:<26}{0:>5}{0:>10}{0:>10}{0:>10}{0:>10}{0:>10}{0:>10}{0:>10}{0:>10}")
    return "\n".join(lines) + "\n"


def render_interfaces_description(states: list[InterfaceState], configs: dict[str, Interface]) -> str:
    from twin_lab.addressing import short_interface

    lines = [f"{'Interface':<31}{'Status':<31}{'Protocol':<9}Description"]
    for state in states:
        protocol = "up" if state.admin_up and state.line_up else "down"
        itf = configs.get(state.name)
        description = itf.description if itf is not None and itf.description else ""
        status = "admin down" if not state.admin_up else state.status_text
        lines.append(f"{short_interface(state.name):<31}{status:<31}{protocol:<9}{description}".rstrip())
    return "\n".join(lines) + "\n"


def render_ip_interface(state: InterfaceState, itf: Interface | None, ospf: bool) -> list[str]:
    """One interface of ``show ip interface`` (IOS 15 wording, line for line)."""
    lines = [status_line(state).rstrip()]
    if itf is None or not itf.address:
        lines.append("  Internet protocol processing disabled")
        return lines
    lines.append(f"  Internet address is {int_to_ip(itf.address[0])}/{itf.address[1]}")
    lines += ["  Broadcast address is 255.255.255.255",
              "  Address determined by non-volatile memory",
              f"  MTU is {itf.ip_mtu or itf.mtu or (1514 if itf.is_loopback else 1500)} bytes",
              "  Helper address is not set",
              "  Directed broadcast forwarding is disabled"]
    for ip, plen in itf.secondary:
        lines.append(f"  Secondary address {int_to_ip(ip)}/{plen}")
    if ospf and state.line_up and not itf.is_loopback:
        lines.append("  Multicast reserved groups joined: 224.0.0.5 224.0.0.6")
    lines += ["  Outgoing Common access list is not set ",
              f"  Outgoing access list is {itf.acl_out or 'not set'}",
              "  Inbound Common access list is not set ",
              f"  Inbound  access list is {itf.acl_in or 'not set'}",
              "  Proxy ARP is enabled",
              "  Local Proxy ARP is disabled",
              "  Security level is default",
              "  Split horizon is enabled",
              "  ICMP redirects are always sent",
              "  ICMP unreachables are always sent",
              "  ICMP mask replies are never sent",
              "  IP fast switching is enabled",
              "  IP Flow switching is disabled",
              "  IP CEF switching is enabled",
              "  IP CEF switching turbo vector",
              "  IP Null turbo vector",
              "  Associated unicast routing topologies:",
              '        Topology "base", operation state is ' + ("UP" if state.line_up else "DOWN"),
              "  IP multicast fast switching is enabled",
              "  IP multicast distributed fast switching is disabled",
              "  IP route-cache flags are Fast, CEF",
              "  Router Discovery is disabled",
              "  IP output packet accounting is disabled",
              "  IP access violation accounting is disabled",
              "  TCP/IP header compression is disabled",
              "  RTP/IP header compression is disabled",
              "  Probe proxy name replies are disabled",
              "  Policy routing is disabled",
              "  Network address translation is disabled",
              "  BGP Policy Mapping is disabled",
              "  Input features: MCI Check",
              "  IPv4 WCCP Redirect outbound is disabled",
              "  IPv4 WCCP Redirect inbound is disabled",
              "  IPv4 WCCP Redirect exclude is disabled"]
    return lines


def render_arp(entries: list[tuple[int, str, str, bool]], age_minutes: int) -> str:
    """``show arp`` / ``show ip arp``: own addresses age ``-``, learned ones in minutes."""
    lines = ["Protocol  Address          Age (min)  Hardware Addr   Type   Interface"]
    for ip, mac, interface, own in entries:
        age = "-" if own else str(age_minutes)
        lines.append(f"Internet  {int_to_ip(ip):<16}{age:>9}   {mac:<14}  ARPA   {interface}")
    return "\n".join(lines) + "\n"
