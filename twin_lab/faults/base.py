"""The fault registry, the injection template every kind shares, and the repair check.

A kind is a ``FaultKind`` subclass registered with ``@register``.  It says where it can be
injected (``candidates``: deterministic target strings) and how (``_inject``: config lines
through ``Network.apply`` — the one applier — or a cable pulled with ``Network.set_link``).
The template measures the network before and after, so every fault carries the symptom it
really caused, and ``is_repaired`` checks any repair by state, not by text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import ClassVar

from twin_lab.addressing import AddressError, canonical_interface, int_to_ip, network_of, short_interface
from twin_lab.faults.health import fork, health, regressions, remaining, symptom_between
from twin_lab.faults.model import (
    Component,
    FaultError,
    FaultNotApplicable,
    FaultSpec,
    InjectedFault,
    LinkChange,
    RepairCheck,
)
from twin_lab.ios.render import mask_text
from twin_lab.network import Network

REGISTRY: dict[str, FaultKind] = {}


@dataclass
class Change:
    """What a kind's ``_inject`` did and how to undo it (the template adds the symptom)."""

    device: str
    description: str
    interface: str | None = None
    peer_device: str | None = None
    lines: dict[str, list[str]] = field(default_factory=dict)
    links: list[LinkChange] = field(default_factory=list)
    fix_hint: dict[str, list[str]] = field(default_factory=dict)
    fix_links: list[LinkChange] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


class FaultKind:
    """One kind of fault. Subclasses set the class attributes and implement two methods."""

    name: ClassVar[str]
    component: ClassVar[Component]
    title: ClassVar[str]  # one line: what gets injected
    target_format: ClassVar[str] = "DEVICE:INTERFACE"

    def candidates(self, network: Network) -> list[str]:
        """Targets where this kind can be injected on ``network`` (deterministic order)."""
        raise NotImplementedError

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        raise NotImplementedError

    def inject(self, network: Network, target: str, rng: random.Random, *, seed: int = 0,
               check: bool = True) -> InjectedFault:
        """Inject into ``network`` (mutated in place) and return the ground truth with its symptom.

        ``check`` False skips validating ``target`` against ``candidates`` (the caller already did).
        """
        target = self.normalize(target)
        if check and target not in self.candidates(network):
            raise FaultError(f"{self.name}: {target!r} is not a candidate on this network")
        before = health(network)
        change = self._inject(network, target, rng)
        after = health(network, before.points)
        return InjectedFault(
            kind=self.name, target=target, seed=seed, device=change.device, interface=change.interface,
            peer_device=change.peer_device, component=self.component, description=change.description,
            lines=change.lines, links=change.links, fix_hint=change.fix_hint, fix_links=change.fix_links,
            evidence=change.evidence, symptom=symptom_between(before, after))

    def symptom_present(self, network: Network, fault: InjectedFault) -> bool:
        return bool(remaining(network, fault.symptom))

    def normalize(self, target: str) -> str:
        """The canonical spelling of a target (``R3:Gi0/2`` -> ``R3:GigabitEthernet0/2``)."""
        if self.target_format.startswith("DEVICE:INTERFACE"):
            device, sep, rest = target.partition(":")
            interface, sep2, tail = rest.partition(":")
            try:
                return f"{device}{sep}{canonical_interface(interface)}{sep2}{tail}"
            except AddressError:
                return target
        return target


def register(cls: type[FaultKind]) -> type[FaultKind]:
    if cls.name in REGISTRY:
        raise ValueError(f"fault kind {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def get_kind(kind: str) -> FaultKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise FaultError(f"unknown fault kind {kind!r}; choose one of {', '.join(list_kinds())}") from None


COMPONENT_ORDER = ("link", "interface", "ospf", "bgp", "acl", "static")


def list_kinds() -> list[str]:
    """Every registered kind, grouped by component (layer 1 up to policy), stable order."""
    return sorted(REGISTRY, key=lambda k: COMPONENT_ORDER.index(REGISTRY[k].component))


def describe_kinds() -> dict[str, str]:
    return {name: REGISTRY[name].title for name in list_kinds()}


def _param_rng(kind: str, target: str, seed: int) -> random.Random:
    # Parameter choices (wrong MTU, wrong AS...) depend on (kind, target, seed) only.
    return random.Random(f"{kind}|{target}|{seed}")


def inject_fault(network: Network, kind: str, target: str | None = None, seed: int = 0) -> InjectedFault:
    """Inject ``kind`` into ``network`` (in place).

    ``target`` None: the seed picks, among the candidates, one where the fault is observable
    (it breaks reachability, an adjacency, a session or an interface); raises
    ``FaultNotApplicable`` when there is none.  An explicit target is injected as asked.
    """
    fault_kind = get_kind(kind)
    if target is not None:
        target = fault_kind.normalize(target)
        return fault_kind.inject(network, target, _param_rng(kind, target, seed), seed=seed)
    order = fault_kind.candidates(network)
    random.Random(f"{kind}|{seed}").shuffle(order)
    health(network)  # measured once, inherited by every trial fork
    for candidate in order:
        trial = fork(network)
        fault = fault_kind.inject(trial, candidate, _param_rng(kind, candidate, seed), seed=seed, check=False)
        if fault.symptom.observable:
            _replay(network, fault)  # same state as the trial, without measuring it again
            return fault
    raise FaultNotApplicable(f"{kind}: no candidate on this network gives an observable symptom")


def _replay(network: Network, fault: InjectedFault) -> None:
    for device, lines in fault.lines.items():
        errors = network.apply(device, lines)
        if errors:
            raise FaultError(f"{device}: replay rejected: {errors[0]}")
    for change in fault.links:
        network.set_link(change.device, change.interface, change.up)


def inject(network: Network, spec: FaultSpec) -> InjectedFault:
    return inject_fault(network, spec.kind, spec.target, spec.seed)


def observable_targets(network: Network, kind: str, seed: int = 0) -> list[str]:
    """Candidates whose injection (on a fork) breaks something observable."""
    fault_kind = get_kind(kind)
    found = []
    health(network)
    for candidate in fault_kind.candidates(network):
        fault = fault_kind.inject(fork(network), candidate, _param_rng(kind, candidate, seed), seed=seed,
                                  check=False)
        if fault.symptom.observable:
            found.append(candidate)
    return found


def applicable_kinds(network: Network) -> list[str]:
    """Kinds with at least one observable target on ``network`` (tries candidates on forks)."""
    result = []
    health(network)
    for name in list_kinds():
        fault_kind = REGISTRY[name]
        for candidate in fault_kind.candidates(network):
            fault = fault_kind.inject(fork(network), candidate, _param_rng(name, candidate, 0), check=False)
            if fault.symptom.observable:
                result.append(name)
                break
    return result


def symptom_present(network: Network, fault: InjectedFault) -> bool:
    return get_kind(fault.kind).symptom_present(network, fault)


def apply_fix(network: Network, fault: InjectedFault) -> list[str]:
    """Apply the ground-truth repair (``fix_hint`` lines and cable re-plugs); returns applier errors."""
    errors = []
    for device, lines in fault.fix_hint.items():
        errors.extend(f"{device}: {e}" for e in network.apply(device, lines))
    for change in fault.fix_links:
        network.set_link(change.device, change.interface, change.up)
    return errors


def is_repaired(baseline: Network, current: Network, fault: InjectedFault) -> RepairCheck:
    """Symptom gone AND nothing the healthy ``baseline`` had is lost in ``current``.

    Judged on state only (reachability over the baseline's endpoints, FULL OSPF adjacencies,
    Established BGP sessions, interfaces up), so any repair that restores them counts,
    however it is worded.
    """
    present = get_kind(fault.kind).symptom_present(current, fault)
    left = remaining(current, fault.symptom) if present else []
    if present and not left:
        left = [f"{fault.kind}: symptom still present"]
    base = health(baseline)
    lost = regressions(base, health(current, base.points))
    return RepairCheck(repaired=not present and not lost, symptom_gone=not present, regressions=lost,
                       remaining=left)


# --- helpers shared by the kinds ------------------------------------------------------------------


def split_target(target: str, parts: int = 2) -> list[str]:
    pieces = target.split(":", parts - 1)
    if len(pieces) != parts or not all(pieces):
        raise FaultError(f"bad target {target!r}")
    return pieces


def addr_text(ip: int, plen: int) -> str:
    return f"{int_to_ip(ip)} {mask_text(plen)}"


def cidr(ip: int, plen: int) -> str:
    return f"{int_to_ip(ip)}/{plen}"


def apply_checked(network: Network, change: Change, device: str, lines: list[str]) -> None:
    """Apply injection lines through the one applier; a rejected line is a bug in the kind."""
    errors = network.apply(device, lines)
    if errors:
        raise FaultError(f"{device}: injection rejected: {errors[0]}")
    change.lines.setdefault(device, []).extend(lines)


def far_end(network: Network, device: str, interface: str) -> tuple[str, str] | None:
    """The router port wired to ``device:interface`` (by the topology, whatever the link state)."""
    for a, b in network.topology.links:
        if (a.device, a.interface) == (device, interface):
            return b.device, b.interface
        if (b.device, b.interface) == (device, interface):
            return a.device, a.interface
    return None


def hosts_on(network: Network, device: str, interface: str) -> list[str]:
    return [h.name for h in network.topology.hosts.values()
            if (h.attach.device, h.attach.interface) == (device, interface)]


def attached_interfaces(network: Network) -> list[tuple[str, str]]:
    """Addressed, line-up router ports wired to another router or to a host (deterministic order)."""
    result = []
    for device in network.device_names():
        states = network.interfaces(device)
        config = network.config(device)
        for name in config.interfaces:
            itf = config.interfaces[name]
            if itf.is_loopback or itf.address is None or not states[name].line_up:
                continue
            if far_end(network, device, name) is not None or hosts_on(network, device, name):
                result.append((device, name))
    return result


def where(network: Network, device: str, interface: str) -> str:
    """``R3 GigabitEthernet0/2 (to R4 GigabitEthernet0/0)`` — for descriptions."""
    far = far_end(network, device, interface)
    if far is not None:
        return f"{device} {interface} (to {far[0]} {far[1]})"
    hosts = hosts_on(network, device, interface)
    return f"{device} {interface} (LAN of {', '.join(hosts)})" if hosts else f"{device} {interface}"


def interface_target(target: str) -> tuple[str, str]:
    device, interface = split_target(target)
    return device, canonical_interface(interface)


def full_adjacency_sides(network: Network) -> list[tuple[str, str, str, str]]:
    """(device, interface, neighbour, neighbour interface) for every FULL OSPF adjacency side."""
    sides = []
    for device in network.device_names():
        for nbr in network.ospf_neighbors(device):
            if nbr.full:
                sides.append((device, nbr.interface, nbr.neighbor, nbr.neighbor_interface))
    return sides


def subnet_of(ip: int, plen: int) -> int:
    return network_of(ip, plen)


def short(interface: str) -> str:
    return short_interface(interface)
