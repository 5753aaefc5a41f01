"""Layer 1-3 facts every protocol needs: interface states, who is wired to whom, who owns an address."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_lab.addressing import network_of
from twin_lab.ios.model import DeviceConfig
from twin_lab.topology import Endpoint, Host, Topology


@dataclass(slots=True)
class InterfaceState:
    device: str
    name: str
    admin_up: bool
    line_up: bool
    address: tuple[int, int] | None

    @property
    def up(self) -> bool:
        return self.line_up

    @property
    def status_text(self) -> str:
        if not self.admin_up:
            return "administratively down"
        return "up" if self.line_up else "down"


@dataclass(slots=True)
class Attachment:
    """What sits at the far end of an interface: a router port or an end host."""

    device: str | None = None
    interface: str | None = None
    host: Host | None = None


@dataclass
class L3:
    """Interface states, the wiring and the address index of one network state."""

    interfaces: dict[str, dict[str, InterfaceState]]
    peer: dict[tuple[str, str], Attachment]  # (device, interface) -> far end, only when the link is up
    owner: dict[int, tuple[str, str]]  # interface address -> (device, interface), up interfaces only
    host_owner: dict[int, Host]
    connected: dict[str, list[tuple[int, int, str, int]]] = field(default_factory=dict)
    # device -> [(network, plen, interface, address)]
    local: dict[str, set[int]] = field(default_factory=dict)  # device -> its addresses on up interfaces
    # (``owner`` keeps one device per address; with a duplicate address each router still owns its own)

    def is_up(self, device: str, interface: str) -> bool:
        state = self.interfaces[device].get(interface)
        return bool(state and state.line_up)


def compute_l3(topology: Topology, configs: dict[str, DeviceConfig], link_down: set[int]) -> L3:
    wired: dict[tuple[str, str], Attachment] = {}
    for index, (a, b) in enumerate(topology.links):
        if index in link_down:
            continue
        wired[(a.device, a.interface)] = Attachment(b.device, b.interface)
        wired[(b.device, b.interface)] = Attachment(a.device, a.interface)
    for host in topology.hosts.values():
        wired[(host.attach.device, host.attach.interface)] = Attachment(host=host)

    def admin_up(device: str, interface: str) -> bool:
        itf = configs[device].interfaces.get(interface)
        return itf is not None and not itf.shutdown

    interfaces: dict[str, dict[str, InterfaceState]] = {}
    peer: dict[tuple[str, str], Attachment] = {}
    owner: dict[int, tuple[str, str]] = {}
    connected: dict[str, list[tuple[int, int, str, int]]] = {}
    for device, config in configs.items():
        states = interfaces[device] = {}
        routes = connected[device] = []
        for name, itf in config.interfaces.items():
            up = not itf.shutdown
            line_up = False
            if up:
                if itf.is_loopback or name.startswith(("Tunnel", "Null")):
                    line_up = True
                else:
                    far = wired.get((device, name))
                    if far is not None:
                        line_up = far.host is not None or admin_up(far.device, far.interface)
                        if line_up:
                            peer[(device, name)] = far
            states[name] = InterfaceState(device, name, up, line_up, itf.address)
            if line_up:
                for ip, plen in itf.all_addresses():
                    owner[ip] = (device, name)
                    routes.append((network_of(ip, plen), plen, name, ip))
    host_owner = {h.ip: h for h in topology.hosts.values()}
    local = {device: {address for _n, _p, _i, address in routes} for device, routes in connected.items()}
    return L3(interfaces, peer, owner, host_owner, connected, local)


def endpoint_key(point: Endpoint) -> tuple[str, str]:
    return (point.device, point.interface)
