"""Dry-run: predict what a ``ChangeSet`` does to a network before it touches a device.

1. ``pull_snapshot``: running-configs from every device (NAPALM ``get_config``) and the wiring - from a
   ``Topology`` when given (which also brings end hosts), else LLDP (``get_lldp_neighbors``), else
   point-to-point subnets shared by exactly two devices.  Works against any NAPALM-reachable devices.
2. ``build_network``: a ``TopologySpec`` from those configs and links -> a simulator ``Network``.  Lines the
   simulator cannot parse are left out and listed in ``unmodelled``.
3. ``simulate``: apply the ChangeSet to a fork with the one config applier (``Network.apply``) and diff:
   adjacencies, routes, reachability lost/gained, per-device unified config diffs, per-line config errors.

``compare_snapshots(before, after)`` diffs two pulled snapshots the same way (what a change really did).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from policies.redact import redact
from tools.changeset import ChangeSet
from tools.connections import describe_error
from tools.errors import ToolError
from tools.session import ToolSession
from tools.transaction import CONFIG_HEADERS
from twin_lab.addressing import AddressError, canonical_interface, int_to_ip, ip_to_int, network_of
from twin_lab.diff import AdjacencyChange, NetworkDiff, RouteChange, diff
from twin_lab.ios import parse_config
from twin_lab.network import Network
from twin_lab.topology import DeviceSpec, HostSpec, Topology, TopologyError, TopologySpec

_HOSTNAME = re.compile(r"^hostname\s+(\S+)", re.MULTILINE)


class ConfigLineError(BaseModel):
    device: str
    lineno: int | None = None
    line: str = ""
    message: str


class NetworkSnapshot(BaseModel):
    """Configs and wiring of a network at one moment.  ``configs`` hold secrets: never show them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    configs: dict[str, str] = Field(repr=False)
    links: list[tuple[str, str]] = Field(default_factory=list)
    hosts: dict[str, HostSpec] = Field(default_factory=dict)
    specs: dict[str, DeviceSpec] = Field(default_factory=dict, repr=False)
    link_source: str = "none"
    warnings: list[str] = Field(default_factory=list)


class BuiltNetwork(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    network: Network
    unmodelled: dict[str, list[str]] = Field(default_factory=dict)
    link_source: str = "none"
    warnings: list[str] = Field(default_factory=list)


class DryRunResult(BaseModel):
    change_id: str = ""
    intent: str = ""
    devices_changed: list[str] = Field(default_factory=list)
    config_diffs: dict[str, str] = Field(default_factory=dict, description="Unified diff per device (redacted).")
    config_errors: list[ConfigLineError] = Field(default_factory=list)
    adjacencies_lost: list[AdjacencyChange] = Field(default_factory=list)
    adjacencies_gained: list[AdjacencyChange] = Field(default_factory=list)
    routes: list[RouteChange] = Field(default_factory=list)
    reachability_lost: list[tuple[str, str]] = Field(default_factory=list)
    reachability_gained: list[tuple[str, str]] = Field(default_factory=list)
    reachability_scope: str = "hosts+loopbacks"
    link_source: str = "none"
    unmodelled: dict[str, list[str]] = Field(default_factory=dict, description="Lines the twin cannot model.")
    warnings: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when every candidate line applied cleanly in the twin."""
        return not self.config_errors

    def adjacency_pairs(self, which: str = "lost") -> list[list[str]]:
        """Adjacencies as sorted device pairs (``R1:Gi0/0`` endpoints reduced to ``R1``)."""
        changes = self.adjacencies_lost if which == "lost" else self.adjacencies_gained
        pairs = {tuple(sorted((c.a.split(":")[0], c.b.split(":")[0]))) for c in changes}
        return [list(p) for p in sorted(pairs)]

    def to_policy_dry_run(self) -> Any:
        """The ``dry_run`` field of a policy ``ChangeRequest``."""
        from policies.request import DryRun

        return DryRun(reachability_lost=[list(p) for p in self.reachability_lost],
                      adjacencies_lost=self.adjacency_pairs("lost"), devices_changed=len(self.devices_changed))

    def summary(self) -> str:
        parts = [f"{len(self.devices_changed)} device(s) changed"]
        if self.config_errors:
            parts.append(f"{len(self.config_errors)} config error(s)")
        parts.append(f"adjacencies -{len(self.adjacencies_lost)}/+{len(self.adjacencies_gained)}")
        parts.append(f"routes changed {len(self.routes)}")
        parts.append(f"reachability -{len(self.reachability_lost)}/+{len(self.reachability_gained)}")
        return ", ".join(parts)


# --- pulling ----------------------------------------------------------------------------------------

def _hostname_map(configs: dict[str, str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for device, text in configs.items():
        for key in {device, device.lower()}:
            names[key] = device
        match = _HOSTNAME.search(text)
        if match:
            host = match.group(1)
            for key in {host, host.lower(), host.split(".")[0], host.split(".")[0].lower()}:
                names.setdefault(key, device)
    return names


def _canonical(name: str) -> str | None:
    try:
        return canonical_interface(name)
    except (AddressError, ValueError):
        return None


def _add_link(links: list[tuple[str, str]], used: set[str], a: str, b: str) -> bool:
    if a in used or b in used or a == b:
        return False
    used.update((a, b))
    links.append((a, b))
    return True


def lldp_links(neighbors: dict[str, dict[str, list[dict[str, Any]]]], configs: dict[str, str]
               ) -> tuple[list[tuple[str, str]], list[str]]:
    """Links from NAPALM ``get_lldp_neighbors`` results of every device (neighbours outside the set ignored)."""
    names = _hostname_map(configs)
    links: list[tuple[str, str]] = []
    used: set[str] = set()
    seen: set[frozenset[str]] = set()
    warnings = []
    for device in sorted(neighbors):
        for local, entries in sorted(neighbors[device].items()):
            for entry in entries:
                remote = names.get(str(entry.get("hostname", ""))) or names.get(
                    str(entry.get("hostname", "")).split(".")[0].lower())
                if remote is None or remote == device:
                    continue
                a_if, b_if = _canonical(local), _canonical(str(entry.get("port", "")))
                if a_if is None or b_if is None:
                    warnings.append(f"LLDP {device}:{local} -> {remote}:{entry.get('port')}: unknown interface name")
                    continue
                a, b = f"{device}:{a_if}", f"{remote}:{b_if}"
                key = frozenset((a, b))
                if key in seen:
                    continue
                seen.add(key)
                if not _add_link(links, used, a, b):
                    warnings.append(f"LLDP link {a} - {b} conflicts with another link; left out")
    return links, warnings


def subnet_links(configs: dict[str, str]) -> list[tuple[str, str]]:
    """Links inferred from IPv4 subnets that exactly two devices share (point-to-point wiring)."""
    members: dict[tuple[int, int], list[str]] = {}
    for device, text in configs.items():
        config, _errors = parse_config(clean_config(text), strict=False)
        for name, itf in config.interfaces.items():
            if itf.is_loopback:
                continue
            for ip, plen in itf.all_addresses():
                if plen < 32:
                    members.setdefault((network_of(ip, plen), plen), []).append(f"{device}:{name}")
    links: list[tuple[str, str]] = []
    used: set[str] = set()
    for _key, ends in sorted(members.items()):
        if len(ends) == 2 and ends[0].split(":")[0] != ends[1].split(":")[0]:
            _add_link(links, used, ends[0], ends[1])
    return links


def clean_config(text: str) -> str:
    """Running-config text without the headers a device prints around it."""
    return "\n".join(line for line in text.replace("\r", "").splitlines() if not line.startswith(CONFIG_HEADERS)) + "\n"


def pull_snapshot(session: ToolSession, *, devices: list[str] | None = None, topology: Topology | None = None,
                  lldp: bool = True, parallel: int = 8) -> NetworkSnapshot:
    """Read every device's running-config (and LLDP neighbours unless a topology gives the wiring)."""
    names = list(devices) if devices is not None else session.devices()
    for name in names:
        session.check_device(name)
    use_lldp = lldp and topology is None

    arp: dict[str, list[dict[str, Any]]] = {}

    def pull(name: str) -> tuple[str, str, dict | None, str | None]:
        try:
            driver = session.napalm(name)
            with session.pool.lock(name):
                text = driver.get_config(retrieve="running")["running"]
                neighbors = None
                if use_lldp:
                    try:
                        neighbors = driver.get_lldp_neighbors()
                    except Exception:
                        neighbors = None  # LLDP not supported / not running: fall back below
                    try:
                        arp[name] = driver.get_arp_table()
                    except Exception:
                        arp[name] = []  # no end hosts inferred for this device
            session.log_action(name, "dry_run_pull", {"lldp": use_lldp})
            return name, text, neighbors, None
        except Exception as err:
            return name, "", None, describe_error(err)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names)))) as pool:
        pulled = list(pool.map(pull, names))
    failed = [f"{name}: {error}" for name, _t, _n, error in pulled if error]
    if failed:
        raise ToolError("dry-run could not read every device: " + "; ".join(failed), kind="unreachable")
    configs = {name: text for name, text, _n, _e in pulled}
    warnings: list[str] = []
    if topology is not None:
        links = [(str(a), str(b)) for a, b in topology.links if a.device in configs and b.device in configs]
        spec = topology.to_spec()
        hosts = {n: h for n, h in spec.hosts.items() if h.attach.split(":")[0] in configs}
        specs = {n: s for n, s in topology.specs.items() if n in configs}
        source = "topology"
    else:
        hosts, specs = {}, {}
        neighbors = {name: n for name, _t, n, _e in pulled if n}
        links, warnings = lldp_links(neighbors, configs)
        source = "lldp"
        if not links:
            links, source = subnet_links(configs), "subnets"
        hosts = arp_hosts(arp, configs, links)
    return NetworkSnapshot(configs=configs, links=links, hosts=hosts, specs=specs, link_source=source,
                           warnings=warnings)


def arp_hosts(arp: dict[str, list[dict[str, Any]]], configs: dict[str, str], links: list[tuple[str, str]]
              ) -> dict[str, HostSpec]:
    """End hosts seen in ARP on interfaces that lead to no other device (LAN ports): ``host-<ip>``.

    Without them a dry-run could only judge reachability between loopbacks; with them it sees the users
    behind each LAN, as a network engineer reading ARP tables would.
    """
    linked = {_link_end(end) for pair in links for end in pair}
    owned: set[int] = set()
    addresses: dict[tuple[str, str], tuple[int, int]] = {}
    for name, text in configs.items():
        config, _errors = parse_config(clean_config(text), strict=False)
        for itf in config.interfaces.values():
            for ip, plen in [itf.address, *itf.secondary] if itf.address else itf.secondary:
                owned.add(ip)
                addresses.setdefault((name, itf.name), (ip, plen))
    hosts: dict[str, HostSpec] = {}
    for name in sorted(arp):
        for entry in arp[name]:
            try:
                interface, ip = canonical_interface(str(entry.get("interface", ""))), str(entry.get("ip", ""))
                ip_int = ip_to_int(ip)
            except (AddressError, ValueError):
                continue
            if (name, interface) in linked or ip_int in owned or (name, interface) not in addresses:
                continue
            gateway, plen = addresses[(name, interface)]
            if network_of(ip_int, plen) != network_of(gateway, plen):
                continue
            hosts.setdefault(f"host-{ip}", HostSpec(ip=f"{ip}/{plen}", gateway=int_to_ip(gateway),
                                                    attach=f"{name}:{interface}"))
    return hosts


def _link_end(end: str) -> tuple[str, str | None]:
    device, _, interface = end.partition(":")
    return device, _canonical(interface)


# --- building and simulating ----------------------------------------------------------------------

def _modelled_text(text: str) -> tuple[str, list[str]]:
    """The config with lines the simulator rejects removed (they are returned, redacted)."""
    lines = clean_config(text).splitlines()
    dropped: list[str] = []
    for _round in range(8):
        _config, errors = parse_config("\n".join(lines))
        if not errors:
            break
        bad = {e.lineno for e in errors if e.lineno is not None}
        dropped.extend(redact(lines[n - 1].strip()) for n in sorted(bad))
        lines = [line for index, line in enumerate(lines, start=1) if index not in bad]
    return "\n".join(lines) + "\n", dropped


def build_network(snapshot: NetworkSnapshot) -> BuiltNetwork:
    """A simulator ``Network`` from a snapshot (via a ``TopologySpec``)."""
    devices: dict[str, DeviceSpec] = {}
    unmodelled: dict[str, list[str]] = {}
    for name, text in snapshot.configs.items():
        config, dropped = _modelled_text(text)
        if dropped:
            unmodelled[name] = dropped
        base = snapshot.specs.get(name) or DeviceSpec()
        devices[name] = base.model_copy(update={"config": config})
    warnings = list(snapshot.warnings)
    links = []
    for a, b in snapshot.links:
        ends = [(end.split(":", 1)[0], _canonical(end.split(":", 1)[1]) if ":" in end else None) for end in (a, b)]
        if any(dev not in devices or itf is None for dev, itf in ends):
            warnings.append(f"link {a} - {b} left out (unknown device or interface)")
            continue
        links.append((a, b))
    spec = TopologySpec(name="dry-run", devices=devices, links=links, hosts=snapshot.hosts)
    try:
        topology = Topology.from_spec(spec, source="dry-run")
    except TopologyError as err:
        raise ToolError(f"cannot model the network: {err.problem}", kind="invalid") from None
    return BuiltNetwork(network=Network(topology), unmodelled=unmodelled, link_source=snapshot.link_source,
                        warnings=warnings)


def _from_diff(result: NetworkDiff, **extra: Any) -> DryRunResult:
    return DryRunResult(
        devices_changed=list(result.devices_changed),
        config_diffs={d: redact(text) for d, text in result.config_diffs.items()},
        adjacencies_lost=result.adjacencies_lost, adjacencies_gained=result.adjacencies_gained,
        routes=result.routes, reachability_lost=result.reachability_lost,
        reachability_gained=result.reachability_gained, reachability_scope=result.reachability_scope, **extra)


def simulate(built: BuiltNetwork, changeset: ChangeSet) -> DryRunResult:
    """Apply ``changeset`` to a fork of ``built.network`` and diff the two states (no I/O)."""
    before = built.network
    after = before.fork()
    errors: list[ConfigLineError] = []
    known = set(before.device_names())
    for change in changeset.changes:
        if change.device not in known:
            errors.append(ConfigLineError(device=change.device, message="device not in the modelled network"))
            continue
        for err in after.apply(change.device, change.lines):
            errors.append(ConfigLineError(device=change.device, lineno=err.lineno, line=redact(err.line.strip()),
                                          message=err.message))
    return _from_diff(diff(before, after), change_id=changeset.id, intent=changeset.intent, config_errors=errors,
                      link_source=built.link_source, unmodelled=built.unmodelled, warnings=built.warnings)


def dry_run(session: ToolSession, changeset: ChangeSet, *, topology: Topology | None = None,
            snapshot: NetworkSnapshot | None = None, devices: list[str] | None = None) -> DryRunResult:
    """Pull the network (or use ``snapshot``), apply ``changeset`` in the twin, return the predicted diff."""
    if snapshot is None:
        snapshot = pull_snapshot(session, devices=devices, topology=topology)
    return simulate(build_network(snapshot), changeset)


def compare_snapshots(before: NetworkSnapshot, after: NetworkSnapshot) -> DryRunResult:
    """The state diff between two pulled snapshots: what a change actually did."""
    after = after.model_copy(update={"links": before.links, "hosts": before.hosts})  # same wiring
    old, new = build_network(before), build_network(after)
    return _from_diff(diff(old.network, new.network), link_source=before.link_source,
                      warnings=old.warnings + new.warnings)
