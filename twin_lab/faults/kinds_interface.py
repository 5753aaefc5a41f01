"""Layer 1-3 faults: a cable, an interface shut, a wrong address or mask, a duplicate address."""

from __future__ import annotations

import random

from twin_lab.addressing import int_to_ip, network_of
from twin_lab.faults.base import (
    Change,
    FaultKind,
    addr_text,
    apply_checked,
    attached_interfaces,
    cidr,
    far_end,
    hosts_on,
    interface_target,
    register,
    where,
)
from twin_lab.faults.model import LinkChange
from twin_lab.network import Network


def _peer_addresses(network: Network, device: str, interface: str) -> list[int]:
    """Addresses that must stay on-link for ``device:interface`` to work: the far router port, the hosts."""
    far = far_end(network, device, interface)
    found = []
    if far is not None:
        itf = network.config(far[0]).interfaces.get(far[1])
        if itf is not None and itf.address is not None:
            found.append(itf.address[0])
    found.extend(network.topology.hosts[h].ip for h in hosts_on(network, device, interface))
    return found


def _all_subnets(network: Network) -> list[tuple[int, int]]:
    subnets = []
    for device in network.device_names():
        for itf in network.config(device).interfaces.values():
            subnets.extend((network_of(ip, plen), plen) for ip, plen in itf.all_addresses())
    return subnets


def _overlaps(net: int, plen: int, others: list[tuple[int, int]]) -> bool:
    return any(network_of(net, min(plen, p)) == network_of(o, min(plen, p)) for o, p in others)


def _usable(ip: int, plen: int) -> bool:
    if plen >= 31:
        return True
    net = network_of(ip, plen)
    return ip not in (net, net | ((1 << (32 - plen)) - 1))


@register
class LinkDown(FaultKind):
    name = "link_down"
    component = "link"
    title = "a cable between two routers fails: both ports down/down (not administratively)"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for index, (a, _b) in enumerate(network.topology.links):
            if index in network.link_down:
                continue
            if network.interfaces(a.device)[a.interface].line_up:
                result.append(f"{a.device}:{a.interface}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        far = far_end(network, device, interface)
        network.set_link(device, interface, False)
        return Change(
            device=device, interface=interface, peer_device=far[0],
            description=(f"The link {device} {interface} <-> {far[0]} {far[1]} is physically down (cable or "
                         f"optic failure): both ports are down/down, not administratively down."),
            links=[LinkChange(device=device, interface=interface, up=False)],
            fix_links=[LinkChange(device=device, interface=interface, up=True)],
            evidence=[f"{device}: show ip interface brief", f"{far[0]}: show ip interface brief",
                      f"{device}: show interfaces {interface}"])


@register
class InterfaceShutdown(FaultKind):
    name = "interface_shutdown"
    component = "interface"
    title = "an in-use interface is administratively shut down"

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{i}" for d, i in attached_interfaces(network)]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        far = far_end(network, device, interface)
        change = Change(
            device=device, interface=interface, peer_device=far[0] if far else None,
            description=f"{where(network, device, interface)} is administratively shut down.",
            fix_hint={device: [f"interface {interface}", " no shutdown"]},
            evidence=[f"{device}: show ip interface brief", f"{device}: show running-config interface {interface}"])
        apply_checked(network, change, device, [f"interface {interface}", " shutdown"])
        return change


def _wrong_addresses(network: Network, device: str, interface: str) -> list[int]:
    ip, plen = network.config(device).interfaces[interface].address
    block = 1 << (32 - plen)
    others = _all_subnets(network)
    hosts = {h.ip for h in network.topology.hosts.values()}
    options = []
    for k in (1, 2, 3, 4, 8):
        new = ip + k * block
        if new >= 1 << 32 or new in hosts or _overlaps(network_of(new, plen), plen, others):
            continue
        options.append(new)
    return options


@register
class WrongIpAddress(FaultKind):
    name = "wrong_ip_address"
    component = "interface"
    title = "an interface address is mistyped into another subnet (peer or hosts no longer on-link)"

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{i}" for d, i in attached_interfaces(network) if _wrong_addresses(network, d, i)]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        ip, plen = network.config(device).interfaces[interface].address
        new = rng.choice(_wrong_addresses(network, device, interface))
        far = far_end(network, device, interface)
        other = ""
        if far is not None:
            far_itf = network.config(far[0]).interfaces.get(far[1])
            if far_itf is not None and far_itf.address is not None:
                other = f"; the {far[0]} side is {cidr(*far_itf.address)}"
        elif hosts_on(network, device, interface):
            other = f"; the hosts use gateway {int_to_ip(ip)}"
        change = Change(
            device=device, interface=interface, peer_device=far[0] if far else None,
            description=(f"{where(network, device, interface)} has ip address {cidr(new, plen)} instead of "
                         f"{cidr(ip, plen)}{other}: not in the same subnet any more."),
            fix_hint={device: [f"interface {interface}", f" ip address {addr_text(ip, plen)}"]},
            evidence=[f"{device}: show ip interface brief", f"{device}: show running-config interface {interface}"]
            + ([f"{far[0]}: show ip interface brief"] if far else []))
        apply_checked(network, change, device, [f"interface {interface}", f" ip address {addr_text(new, plen)}"])
        return change


def _wrong_masks(network: Network, device: str, interface: str) -> list[int]:
    config = network.config(device)
    ip, plen = config.interfaces[interface].address
    peers = _peer_addresses(network, device, interface)
    others = [(network_of(a, p), p) for name, itf in config.interfaces.items() if name != interface
              for a, p in itf.all_addresses()]
    # Only broadcast-type OSPF links compare the hello mask (point-to-point ones ignore it).
    far = far_end(network, device, interface)
    in_ospf = any(n.interface == interface for n in network.ospf_neighbors(device)) and far is not None and all(
        network.config(d).interfaces[i].ospf_network in (None, "broadcast") for d, i in ((device, interface), far))
    options = []
    for q in range(plen + 1, min(31, plen + 8) + 1):  # narrower: a peer falls off the subnet
        if _usable(ip, q) and any(network_of(p, q) != network_of(ip, q) for p in peers):
            options.append(q)
            break
    if in_ospf:  # wider: still on-link, but OSPF hellos carry a different mask
        for q in sorted({plen - 1, plen - 2, 24 if plen > 24 else plen - 3}, reverse=True):
            if 8 <= q < plen and _usable(ip, q) and not _overlaps(network_of(ip, q), q, others):
                options.append(q)
    return options


@register
class WrongSubnetMask(FaultKind):
    name = "wrong_subnet_mask"
    component = "interface"
    title = "an interface has the right address with the wrong mask"

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{i}" for d, i in attached_interfaces(network) if _wrong_masks(network, d, i)]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        ip, plen = network.config(device).interfaces[interface].address
        q = rng.choice(_wrong_masks(network, device, interface))
        far = far_end(network, device, interface)
        hosts = hosts_on(network, device, interface)
        off = f"{far[0]} {far[1]}" if far else ", ".join(hosts) or "the peer"
        effect = ("the OSPF hello masks no longer match" if q < plen else f"{off} is no longer on-link")
        change = Change(
            device=device, interface=interface, peer_device=far[0] if far else None,
            description=(f"{where(network, device, interface)} has ip address {int_to_ip(ip)} with mask /{q} "
                         f"instead of /{plen}: {effect}."),
            fix_hint={device: [f"interface {interface}", f" ip address {addr_text(ip, plen)}"]},
            evidence=[f"{device}: show running-config interface {interface}", f"{device}: show ip route connected"])
        apply_checked(network, change, device, [f"interface {interface}", f" ip address {addr_text(ip, q)}"])
        return change


def _loopbacks(network: Network) -> list[tuple[str, str, tuple[int, int]]]:
    return [(d, name, itf.address) for d in network.device_names()
            for name, itf in network.config(d).interfaces.items() if itf.is_loopback and itf.address]


@register
class DuplicateAddress(FaultKind):
    name = "duplicate_address"
    component = "interface"
    title = "a loopback is re-addressed with an address another router already uses"

    def _donors(self, network: Network, device: str) -> list[tuple[str, str, tuple[int, int]]]:
        return [x for x in _loopbacks(network) if x[0] != device]

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{name}" for d, name, _ in _loopbacks(network) if self._donors(network, d)]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        ip, plen = network.config(device).interfaces[interface].address
        owner, owner_itf, (dup, dup_plen) = rng.choice(self._donors(network, device))
        change = Change(
            device=device, interface=interface, peer_device=owner,
            description=(f"{device} {interface} was re-addressed to {cidr(dup, dup_plen)}, which {owner} "
                         f"{owner_itf} already uses (duplicate address); {device}'s own {cidr(ip, plen)} "
                         f"is gone."),
            fix_hint={device: [f"interface {interface}", f" ip address {addr_text(ip, plen)}"]},
            evidence=[f"{device}: show ip interface brief", f"{owner}: show ip interface brief",
                      f"{device}: show running-config interface {interface}"])
        apply_checked(network, change, device, [f"interface {interface}", f" ip address {addr_text(dup, dup_plen)}"])
        return change
