"""Pydantic contracts of the fault catalogue: what to inject, what was injected, how it shows.

``InjectedFault`` is ground truth: the diagnosis agent never sees it (it sees show-output only);
tests, the scenario generator and the data pipeline do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Component = Literal["link", "interface", "ospf", "bgp", "acl", "static"]


class FaultError(ValueError):
    """A fault that cannot be injected (unknown kind, bad target, lines the applier rejects)."""


class FaultNotApplicable(FaultError):
    """The kind has no target on this network where it would produce an observable symptom."""


class FaultSpec(BaseModel):
    """What to inject: ``target`` None lets ``seed`` choose among the kind's candidates."""

    model_config = ConfigDict(frozen=True)
    kind: str
    target: str | None = None
    seed: int = 0


class LinkChange(BaseModel):
    """Physical state of the cable on ``device:interface`` (not configuration)."""

    model_config = ConfigDict(frozen=True)
    device: str
    interface: str
    up: bool


# --- the structured symptom ----------------------------------------------------------------------


class FlowRef(BaseModel):
    """A round trip (ping) between two endpoints that worked before the fault."""

    model_config = ConfigDict(frozen=True)
    src: str  # endpoint label (host name or DEVICE:LoopbackN)
    dst: str
    src_node: str
    dst_node: str
    src_ip: str
    dst_ip: str

    def text(self) -> str:
        return f"{self.src} -> {self.dst}"


class AdjacencyRef(BaseModel):
    """An OSPF adjacency, seen from ``device``, that was FULL before the fault."""

    model_config = ConfigDict(frozen=True)
    device: str
    interface: str
    neighbor: str  # device name of the neighbour
    state_after: str = "absent"  # what ``show ip ospf neighbor`` shows after the fault

    def key(self) -> tuple[str, str, str]:
        return (self.device, self.interface, self.neighbor)


class SessionRef(BaseModel):
    """A BGP session, seen from ``device``, that was Established before the fault."""

    model_config = ConfigDict(frozen=True)
    device: str
    peer_ip: str
    peer_device: str | None = None
    state_after: str = "absent"
    detail: str = ""  # the simulator's reason (ground truth; never shown to the agent)

    def key(self) -> tuple[str, str]:
        return (self.device, self.peer_ip)


class RouteRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    device: str
    prefix: str  # a.b.c.d/len


class InterfaceRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    device: str
    interface: str
    status_after: str = "down"  # down | administratively down


class Symptom(BaseModel):
    """What the fault breaks, relative to the state it was injected into."""

    unreachable: list[FlowRef] = Field(default_factory=list)
    ospf_down: list[AdjacencyRef] = Field(default_factory=list)
    bgp_down: list[SessionRef] = Field(default_factory=list)
    routes_missing: list[RouteRef] = Field(default_factory=list)
    interfaces_down: list[InterfaceRef] = Field(default_factory=list)
    summary: str = ""  # operator-level wording: effects only, never the cause

    @property
    def empty(self) -> bool:
        return not (self.unreachable or self.ospf_down or self.bgp_down or self.routes_missing
                    or self.interfaces_down)

    @property
    def observable(self) -> bool:
        """Breaks something the repair check watches (reachability, adjacency, session, interface)."""
        return bool(self.unreachable or self.ospf_down or self.bgp_down or self.interfaces_down)


class InjectedFault(BaseModel):
    """One injected fault with its ground truth and its repair."""

    kind: str
    target: str
    seed: int = 0
    device: str
    interface: str | None = None
    peer_device: str | None = None  # the other side, where the fault is between two devices
    component: Component
    description: str  # the root cause in plain words
    lines: dict[str, list[str]] = Field(default_factory=dict)  # config lines that caused it, per device
    links: list[LinkChange] = Field(default_factory=list)  # physical changes that caused it
    fix_hint: dict[str, list[str]] = Field(default_factory=dict)  # config lines that repair it, per device
    fix_links: list[LinkChange] = Field(default_factory=list)  # physical repairs (re-plug a cable)
    evidence: list[str] = Field(default_factory=list)  # show commands, per device, that reveal the cause
    symptom: Symptom = Field(default_factory=Symptom)

    @property
    def devices(self) -> list[str]:
        """Every device the fault or its repair touches."""
        names = [self.device, *self.lines, *self.fix_hint, *(c.device for c in self.links + self.fix_links)]
        if self.peer_device:
            names.append(self.peer_device)
        return list(dict.fromkeys(names))


class RepairCheck(BaseModel):
    repaired: bool
    symptom_gone: bool
    regressions: list[str] = Field(default_factory=list)
    remaining: list[str] = Field(default_factory=list)  # symptom items still present
