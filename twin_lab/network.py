"""``Network``: one state of the twin (configs + physical link state), forkable, lazily computed.

Forks share unchanged device configs and copy a device's config on first write, so a fork
costs a dict copy and never leaks into its parent.  The control plane is recomputed on the
first read after a change.
"""

from __future__ import annotations

import hashlib

from twin_lab.acl import Packet
from twin_lab.addressing import canonical_interface, int_to_ip
from twin_lab.controlplane import ControlPlane, compute_control_plane
from twin_lab.controlplane.bgp import BgpSession
from twin_lab.controlplane.links import InterfaceState
from twin_lab.controlplane.ospf import OspfNeighbor
from twin_lab.controlplane.rib import Route
from twin_lab.dataplane import Forwarder, PingResult, Trace, ping
from twin_lab.ios import ConfigError, ConfigSession, DeviceConfig, parse_config, render_config
from twin_lab.topology import Topology


def mac_address(node: str, interface: str) -> str:
    """A stable, locally administered MAC per (node, interface), in IOS dotted notation."""
    digest = hashlib.blake2b(f"{node}|{interface}".encode(), digest_size=4).hexdigest()
    return f"5254.{digest[:4]}.{digest[4:]}"


class UnknownDevice(KeyError):
    def __str__(self) -> str:
        return f"unknown device {self.args[0]!r}"


class Network:
    def __init__(self, topology: Topology, configs: dict[str, DeviceConfig] | None = None,
                 link_down: set[int] | None = None):
        self.topology = topology
        self._configs = dict(configs) if configs is not None else {n: c.clone() for n, c in topology.configs.items()}
        self._owned: set[str] = set(self._configs) if configs is None else set()
        self.link_down: set[int] = set(link_down or ())
        self._cp: ControlPlane | None = None
        self._forwarder: Forwarder | None = None
        self.version = 0  # bumps on every change; lets callers cache per state
        self._reach_cache: tuple | None = None

    # --- state and forking -------------------------------------------------------------------

    def fork(self) -> Network:
        child = Network(self.topology, self._configs, self.link_down)
        self._owned.clear()  # both now share every config object: copy before writing
        child._cp, child._forwarder = self._cp, self._forwarder
        return child

    def device_names(self) -> list[str]:
        return list(self._configs)

    def _check(self, device: str) -> None:
        if device not in self._configs:
            raise UnknownDevice(device)

    def config(self, device: str) -> DeviceConfig:
        """Read-only view of a device config (use ``edit`` to change it)."""
        self._check(device)
        return self._configs[device]

    def edit(self, device: str) -> DeviceConfig:
        """The device's config, private to this network; marks the network changed."""
        self._check(device)
        if device not in self._owned:
            self._configs[device] = self._configs[device].clone()
            self._owned.add(device)
        self.invalidate()
        return self._configs[device]

    def invalidate(self) -> None:
        self._cp = None
        self._forwarder = None
        self.version += 1

    def running_config(self, device: str) -> str:
        return render_config(self.config(device))

    def apply(self, device: str, lines: list[str] | str, *, strict: bool = True) -> list[ConfigError]:
        """Apply config-mode lines like an operator typing them (errors reported, not raised)."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        session = self.config_session(device, strict=strict)
        errors = []
        for lineno, line in enumerate(lines, start=1):
            error = session.apply(line)
            if error is not None:
                error.lineno = lineno
                errors.append(error)
        return errors

    def config_session(self, device: str, *, strict: bool = True) -> NetworkConfigSession:
        self._check(device)
        return NetworkConfigSession(self, device, strict)

    def replace_config(self, device: str, text: str) -> list[ConfigError]:
        """``configure replace``: the whole config becomes ``text``; on any error nothing changes."""
        self._check(device)
        config, errors = parse_config(text)
        if errors:
            return errors
        for itf in self._configs[device].interfaces:
            if not itf.startswith(("Loopback", "Tunnel", "Vlan", "Port-channel")) and "." not in itf:
                config.interface(itf)  # physical ports cannot disappear
        self._configs[device] = config
        self._owned.add(device)
        self.invalidate()
        return []

    def merge_config(self, device: str, text: str) -> list[ConfigError]:
        return self.apply(device, text.splitlines())

    # --- physical links ----------------------------------------------------------------------

    def link_index(self, device: str, interface: str) -> int:
        interface = canonical_interface(interface)
        for index, (a, b) in enumerate(self.topology.links):
            if (a.device, a.interface) == (device, interface) or (b.device, b.interface) == (device, interface):
                return index
        raise KeyError(f"no link on {device}:{interface}")

    def set_link(self, device: str, interface: str, up: bool) -> None:
        """Pull or plug the cable on ``device:interface`` (physical state, not config)."""
        index = self.link_index(device, interface)
        if up:
            self.link_down.discard(index)
        else:
            self.link_down.add(index)
        self.invalidate()

    # --- computed state ----------------------------------------------------------------------

    @property
    def control_plane(self) -> ControlPlane:
        if self._cp is None:
            self._cp = compute_control_plane(self.topology, self._configs, self.link_down, self._reachability_probe)
            self._forwarder = None
        return self._cp

    def _reachability_probe(self, l3, ribs):
        forwarder = Forwarder(self._configs, l3, ribs, self.topology.hosts)

        def reachable(device: str, src: int, dst: int) -> bool:
            # A TCP connection to dst:179: the SYN must arrive and the replies (from port 179) come back.
            return ping(forwarder, device, dst, src, protocol="tcp", dport=179).success

        return reachable

    @property
    def forwarder(self) -> Forwarder:
        cp = self.control_plane
        if self._forwarder is None:
            self._forwarder = Forwarder(self._configs, cp.l3, cp.ribs, self.topology.hosts)
        return self._forwarder

    def interfaces(self, device: str) -> dict[str, InterfaceState]:
        self._check(device)
        return self.control_plane.l3.interfaces[device]

    def routes(self, device: str) -> list[Route]:
        self._check(device)
        return self.control_plane.ribs[device].routes()

    def route_lookup(self, device: str, ip: int) -> Route | None:
        self._check(device)
        return self.control_plane.ribs[device].lookup(ip)

    def ospf_neighbors(self, device: str) -> list[OspfNeighbor]:
        self._check(device)
        return self.control_plane.ospf.neighbors.get(device, [])

    def bgp_sessions(self, device: str) -> list[BgpSession]:
        self._check(device)
        return self.control_plane.bgp.sessions.get(device, [])

    def lldp_neighbors(self, device: str) -> list[tuple[str, str, str]]:
        """(local interface, remote device, remote interface) for every link that is up."""
        self._check(device)
        found = []
        for (dev, itf), far in self.control_plane.l3.peer.items():
            if dev == device and far.device is not None:
                found.append((itf, far.device, far.interface))
        return sorted(found)

    def arp_table(self, device: str) -> list[tuple[int, str, str, bool]]:
        """(address, MAC, interface, own) for the device's addresses and its neighbours on up links."""
        self._check(device)
        l3 = self.control_plane.l3
        entries = []
        for name, itf in self.config(device).interfaces.items():
            if not l3.is_up(device, name) or itf.is_loopback:
                continue
            for ip, _plen in itf.all_addresses():
                entries.append((ip, mac_address(device, name), name, True))
            far = l3.peer.get((device, name))
            if far is None:
                continue
            if far.host is not None:
                entries.append((far.host.ip, mac_address(far.host.name, "eth0"), name, False))
            else:
                far_itf = self.config(far.device).interfaces.get(far.interface)
                for ip, _plen in far_itf.all_addresses() if far_itf else []:
                    entries.append((ip, mac_address(far.device, far.interface), name, False))
        return sorted(entries)

    # --- data plane ---------------------------------------------------------------------------

    def _node(self, name: str) -> str:
        if name in self._configs or name in self.topology.hosts:
            return name
        raise UnknownDevice(name)

    def ping(self, source: str, dst: int, src_ip: int | None = None) -> PingResult:
        return ping(self.forwarder, self._node(source), dst, src_ip)

    def traceroute(self, source: str, dst: int, src_ip: int | None = None) -> Trace:
        forwarder = self.forwarder
        node = self._node(source)
        host = self.topology.hosts.get(node)
        if src_ip is None:
            src_ip = host.ip if host else (forwarder.source_address(node, dst) or 0)
        return forwarder.trace(node, Packet(src_ip, dst, "udp", 49152, 33434, None))

    def endpoints(self) -> list[tuple[str, str, int]]:
        """(label, node, address) for every host and every device loopback address."""
        points = [(name, name, host.ip) for name, host in self.topology.hosts.items()]
        for device, config in self._configs.items():
            for name, itf in config.interfaces.items():
                if itf.is_loopback and itf.address:
                    points.append((f"{device}:{name}", device, itf.address[0]))
        return points

    def reachability(self, endpoints: list[tuple[str, str, int]] | None = None, *,
                     reuse: Network | None = None, changed: set[str] | None = None) -> dict[tuple[str, str], bool]:
        """Round-trip reachability between every ordered pair of endpoints.

        With ``reuse`` (an earlier state of this network) and ``changed`` (devices whose config,
        interfaces or routes differ from it), pairs whose earlier packets never touched a changed
        device keep their earlier result: forwarding there is provably the same.
        """
        points = self.endpoints() if endpoints is None else endpoints
        key = (self.version, tuple(points))
        if self._reach_cache is not None and self._reach_cache[0] == key:
            return dict(self._reach_cache[1])
        previous = None
        if reuse is not None and changed is not None:
            reuse.reachability(points)
            previous = reuse._reach_cache
        matrix, touched = {}, {}
        for label_a, node_a, ip_a in points:
            for label_b, _node_b, ip_b in points:
                if label_a == label_b:
                    continue
                pair = (label_a, label_b)
                if previous is not None and pair in previous[2] and not (previous[2][pair] & changed):
                    matrix[pair], touched[pair] = previous[1][pair], previous[2][pair]
                    continue
                result = ping(self.forwarder, node_a, ip_b, ip_a)
                matrix[pair], touched[pair] = result.success, result.touched
        self._reach_cache = (key, matrix, touched)
        return dict(matrix)

    def describe_ip(self, ip: int) -> str:
        owner = self.forwarder.owner_of(ip)
        return f"{int_to_ip(ip)} ({owner})" if owner else int_to_ip(ip)


class NetworkConfigSession:
    """Config mode bound to a network: each line goes through the one applier and invalidates state."""

    def __init__(self, network: Network, device: str, strict: bool = True):
        self.network, self.device = network, device
        self._session = ConfigSession(network.config(device), strict=strict)

    @property
    def mode(self) -> str:
        return self._session.mode

    @property
    def ended(self) -> bool:
        return self._session.ended

    def reset(self) -> None:
        self._session.reset()

    def apply(self, line: str) -> ConfigError | None:
        if not line.strip() or line.strip().startswith("!"):
            return None
        config = self.network.edit(self.device)
        if self._session.config is not config:
            self._rebind(config)
        return self._session.apply(line)

    def _rebind(self, config: DeviceConfig) -> None:
        """Point the session (and its sub-mode targets) at the network's private copy."""
        old = self._session.config
        self._session.config = config
        for context in self._session.stack[1:]:
            target = context.target
            if context.kind == "if":
                context.target = config.interfaces.get(target.name) or config.interface(target.name)
            elif context.kind == "ospf":
                context.target = config.ospf.get(target.pid, target)
            elif context.kind == "bgp":
                context.target = config.bgp or target
            elif context.kind == "acl":
                context.target = config.acls.get(target.name, target)
            elif context.kind in ("block", "banner"):
                index = next((i for i, b in enumerate(old.extra) if b is target), None)
                context.target = config.extra[index] if index is not None else target
