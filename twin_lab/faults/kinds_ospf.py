"""OSPF faults: adjacency-breaking mismatches, missing network statements, router-id, default route."""

from __future__ import annotations

import random

from twin_lab.addressing import int_to_ip, wildcard_match
from twin_lab.controlplane.ospf import OspfInterface
from twin_lab.faults.base import (
    Change,
    FaultKind,
    apply_checked,
    full_adjacency_sides,
    interface_target,
    register,
    split_target,
    where,
)
from twin_lab.ios.model import Interface, OspfNetwork
from twin_lab.network import Network

AREAS = (0, 1, 2, 10, 51)


def _ospf_interface(network: Network, device: str, interface: str) -> OspfInterface:
    return network.control_plane.ospf.interfaces[device][interface]


def _neighbor_of(network: Network, device: str, interface: str) -> tuple[str, str]:
    for nbr in network.ospf_neighbors(device):
        if nbr.interface == interface:
            return nbr.neighbor, nbr.neighbor_interface
    raise KeyError(f"no OSPF neighbour on {device} {interface}")


def _statement(network: Network, device: str, interface: str) -> tuple[int, OspfNetwork | None]:
    """(process id, the ``network`` statement enabling the interface; None when ``ip ospf P area A`` does)."""
    config = network.config(device)
    itf = config.interfaces[interface]
    if itf.ospf_area is not None and itf.ospf_area[0] in config.ospf:
        return itf.ospf_area[0], None
    best, found = -1, None
    for process in config.ospf.values():
        if process.shutdown:
            continue
        for net in process.networks:
            if wildcard_match(itf.address[0], net.address, net.wildcard):
                specificity = 32 - bin(net.wildcard).count("1")
                if specificity > best:
                    best, found = specificity, (process.pid, net)
    if found is None:
        raise KeyError(f"{device} {interface} is not enabled for OSPF")
    return found


def _only_match(network: Network, device: str, interface: str, net: OspfNetwork) -> bool:
    """The statement enables no other addressed interface of the device."""
    for name, itf in network.config(device).interfaces.items():
        if name != interface and itf.address and wildcard_match(itf.address[0], net.address, net.wildcard):
            return False
    return True


def _net_text(net: OspfNetwork, area: int | None = None) -> str:
    return f"network {int_to_ip(net.address)} {int_to_ip(net.wildcard)} area {net.area if area is None else area}"


class _AdjacencyFault(FaultKind):
    """Injected on one side of a FULL adjacency; target ``DEVICE:INTERFACE`` (that side)."""

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{i}" for d, i, _n, _ni in full_adjacency_sides(network) if self._applies(network, d, i)]

    def _applies(self, network: Network, device: str, interface: str) -> bool:
        return True

    def _base(self, network: Network, target: str) -> tuple[str, str, str, str]:
        device, interface = interface_target(target)
        neighbor, neighbor_itf = _neighbor_of(network, device, interface)
        return device, interface, neighbor, neighbor_itf

    def _evidence(self, device: str, interface: str, neighbor: str, neighbor_itf: str) -> list[str]:
        return [f"{device}: show ip ospf neighbor", f"{device}: show ip ospf interface {interface}",
                f"{neighbor}: show ip ospf interface {neighbor_itf}"]


@register
class OspfAreaMismatch(_AdjacencyFault):
    name = "ospf_area_mismatch"
    component = "ospf"
    title = "one side of an OSPF link is put in the wrong area"

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, neighbor, neighbor_itf = self._base(network, target)
        area = _ospf_interface(network, device, interface).area
        wrong = rng.choice([a for a in AREAS if a != area])
        pid, net = _statement(network, device, interface)
        change = Change(
            device=device, interface=interface, peer_device=neighbor,
            description=(f"{where(network, device, interface)} is in OSPF area {wrong}; {neighbor} {neighbor_itf} "
                         f"is in area {area}: area mismatch, no adjacency."),
            evidence=self._evidence(device, interface, neighbor, neighbor_itf))
        if net is not None and _only_match(network, device, interface, net):
            lines = [f"router ospf {pid}", f" no {_net_text(net)}", f" {_net_text(net, wrong)}"]
            change.fix_hint = {device: [f"router ospf {pid}", f" no {_net_text(net, wrong)}", f" {_net_text(net)}"]}
        else:
            lines = [f"interface {interface}", f" ip ospf {pid} area {wrong}"]
            restore = f" ip ospf {pid} area {area}" if net is None else f" no ip ospf {pid} area {wrong}"
            change.fix_hint = {device: [f"interface {interface}", restore]}
        apply_checked(network, change, device, lines)
        return change


@register
class OspfPassiveInterface(_AdjacencyFault):
    name = "ospf_passive_interface"
    component = "ospf"
    title = "a transit interface is made OSPF passive (no hellos, no adjacency)"

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, neighbor, _neighbor_itf = self._base(network, target)
        pid = _ospf_interface(network, device, interface).process.pid
        change = Change(
            device=device, interface=interface, peer_device=neighbor,
            description=(f"{where(network, device, interface)} is passive-interface under router ospf {pid}: "
                         f"no hellos are sent, the adjacency with {neighbor} is gone."),
            fix_hint={device: [f"router ospf {pid}", f" no passive-interface {interface}"]},
            evidence=[f"{device}: show ip protocols", f"{device}: show ip ospf interface {interface}",
                      f"{device}: show ip ospf neighbor"])
        apply_checked(network, change, device, [f"router ospf {pid}", f" passive-interface {interface}"])
        return change


@register
class OspfMtuMismatch(_AdjacencyFault):
    name = "ospf_mtu_mismatch"
    component = "ospf"
    title = "IP MTU differs between the two ends of an OSPF link (stuck in EXSTART)"

    def _applies(self, network: Network, device: str, interface: str) -> bool:
        neighbor, neighbor_itf = _neighbor_of(network, device, interface)
        ignore = "ip ospf mtu-ignore"
        return not (ignore in network.config(device).interfaces[interface].extra
                    and ignore in network.config(neighbor).interfaces[neighbor_itf].extra)

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, neighbor, neighbor_itf = self._base(network, target)
        itf = network.config(device).interfaces[interface]
        theirs = network.config(neighbor).interfaces[neighbor_itf].effective_mtu
        options = [("ip mtu", v) for v in (1400, 1450, 1476, 1492) if v != theirs]
        if itf.ip_mtu is None:
            options.append(("mtu", 9000 if theirs != 9000 else 9216))
        command, value = rng.choice(options)
        old = itf.ip_mtu if command == "ip mtu" else itf.mtu
        restore = f" no {command}" if old is None else f" {command} {old}"
        change = Change(
            device=device, interface=interface, peer_device=neighbor,
            description=(f"{where(network, device, interface)} has {command} {value}; the {neighbor} "
                         f"{neighbor_itf} side is {theirs}: the DBD exchange fails, OSPF stuck in EXSTART."),
            fix_hint={device: [f"interface {interface}", restore]},
            evidence=[f"{device}: show ip ospf neighbor", f"{device}: show interfaces {interface}",
                      f"{neighbor}: show interfaces {neighbor_itf}"])
        apply_checked(network, change, device, [f"interface {interface}", f" {command} {value}"])
        return change


class _IntervalMismatch(_AdjacencyFault):
    """One end's hello- or dead-interval set to a value its neighbour does not use: no adjacency."""

    timer: str  # "hello" | "dead": the ``ip ospf <timer>-interval`` command and the ``ospf_<timer>`` field
    values: tuple[int, ...]

    def _excluded(self, itf: Interface, theirs: Interface) -> tuple[int, ...]:
        raise NotImplementedError

    def _theirs_text(self, theirs: Interface) -> str:
        raise NotImplementedError

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, neighbor, neighbor_itf = self._base(network, target)
        itf = network.config(device).interfaces[interface]
        theirs = network.config(neighbor).interfaces[neighbor_itf]
        excluded = self._excluded(itf, theirs)
        value = rng.choice([v for v in self.values if v not in excluded])
        command = f"ip ospf {self.timer}-interval"
        old = getattr(itf, f"ospf_{self.timer}")
        restore = f" no {command}" if old is None else f" {command} {old}"
        change = Change(
            device=device, interface=interface, peer_device=neighbor,
            description=(f"{where(network, device, interface)} has {command} {value}; {neighbor} "
                         f"{neighbor_itf} uses {self._theirs_text(theirs)}: hello parameters mismatch, "
                         f"no adjacency."),
            fix_hint={device: [f"interface {interface}", restore]},
            evidence=self._evidence(device, interface, neighbor, neighbor_itf))
        apply_checked(network, change, device, [f"interface {interface}", f" {command} {value}"])
        return change


@register
class OspfHelloMismatch(_IntervalMismatch):
    name = "ospf_hello_mismatch"
    component = "ospf"
    title = "OSPF hello-interval differs between the two ends of a link"
    timer = "hello"
    values = (1, 5, 15, 20, 30)

    def _excluded(self, itf: Interface, theirs: Interface) -> tuple[int, ...]:
        return (theirs.hello,)

    def _theirs_text(self, theirs: Interface) -> str:
        return f"hello {theirs.hello} / dead {theirs.dead}"


@register
class OspfDeadMismatch(_IntervalMismatch):
    name = "ospf_dead_mismatch"
    component = "ospf"
    title = "OSPF dead-interval differs between the two ends of a link"
    timer = "dead"
    values = (20, 30, 60, 120)

    def _excluded(self, itf: Interface, theirs: Interface) -> tuple[int, ...]:
        return (theirs.dead, itf.hello)

    def _theirs_text(self, theirs: Interface) -> str:
        return f"dead {theirs.dead}"


@register
class OspfDuplicateRouterId(_AdjacencyFault):
    name = "ospf_duplicate_router_id"
    component = "ospf"
    title = "a router is given its OSPF neighbour's router-id"

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface, neighbor, _neighbor_itf = self._base(network, target)
        process = _ospf_interface(network, device, interface).process
        rid = network.control_plane.ospf.router_id[neighbor]
        restore = " no router-id" if process.router_id is None else f" router-id {int_to_ip(process.router_id)}"
        change = Change(
            device=device, interface=interface, peer_device=neighbor,
            description=(f"{device} router ospf {process.pid} has router-id {int_to_ip(rid)}, the router-id of "
                         f"its neighbour {neighbor}: duplicate router-id, the adjacency on {interface} is "
                         f"refused (real IOS applies a new router-id after clear ip ospf process)."),
            fix_hint={device: [f"router ospf {process.pid}", restore]},
            evidence=[f"{device}: show ip ospf", f"{neighbor}: show ip ospf", f"{device}: show ip ospf neighbor"])
        apply_checked(network, change, device, [f"router ospf {process.pid}", f" router-id {int_to_ip(rid)}"])
        return change


@register
class OspfMissingNetwork(FaultKind):
    name = "ospf_missing_network"
    component = "ospf"
    title = "the network statement that enables an interface in OSPF is missing"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device in network.device_names():
            for interface in network.control_plane.ospf.interfaces.get(device, {}):
                _pid, net = _statement(network, device, interface)
                if net is None or _only_match(network, device, interface, net):
                    result.append(f"{device}:{interface}")
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, interface = interface_target(target)
        itf = network.config(device).interfaces[interface]
        pid, net = _statement(network, device, interface)
        prefix = f"{int_to_ip(itf.address[0])}/{itf.address[1]}"
        change = Change(
            device=device, interface=interface,
            description=(f"{where(network, device, interface)} ({prefix}) is not enabled in OSPF: "
                         + (f"router ospf {pid} lacks '{_net_text(net)}'." if net is not None else
                            f"'ip ospf {pid} area {itf.ospf_area[1]}' is missing on the interface.")),
            evidence=[f"{device}: show ip protocols", f"{device}: show ip ospf interface brief",
                      f"{device}: show running-config | section router ospf"])
        if net is not None:
            lines = [f"router ospf {pid}", f" no {_net_text(net)}"]
            change.fix_hint = {device: [f"router ospf {pid}", f" {_net_text(net)}"]}
        else:
            area = itf.ospf_area[1]
            lines = [f"interface {interface}", f" no ip ospf {pid} area {area}"]
            change.fix_hint = {device: [f"interface {interface}", f" ip ospf {pid} area {area}"]}
        apply_checked(network, change, device, lines)
        return change


@register
class OspfMissingDefaultOriginate(FaultKind):
    name = "ospf_missing_default_originate"
    component = "ospf"
    title = "the edge router no longer originates the default route into OSPF"
    target_format = "DEVICE"

    def candidates(self, network: Network) -> list[str]:
        return [d for d in network.device_names()
                if any(p.default_originate and not p.shutdown for p in network.config(d).ospf.values())]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device = split_target(target, 1)[0]
        process = next(p for p in network.config(device).ospf.values() if p.default_originate and not p.shutdown)
        original = "default-information originate" + (" always" if process.default_originate_always else "")
        change = Change(
            device=device,
            description=(f"{device} router ospf {process.pid} lacks '{original}': the OSPF routers behind it "
                         f"have no default route (no gateway of last resort)."),
            fix_hint={device: [f"router ospf {process.pid}", f" {original}"]},
            evidence=[f"{device}: show running-config | section router ospf", "any OSPF router: show ip route",
                      f"{device}: show ip ospf database external"])
        apply_checked(network, change, device, [f"router ospf {process.pid}", " no default-information originate"])
        return change
