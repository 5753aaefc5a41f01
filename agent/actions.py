"""The brain's terminal actions: the tool calls that end a loop with a plan, a diagnosis or a refusal.

Every brain (expert, hf, openai) speaks the same tool-calling protocol: read tools to observe, then
exactly one of these.  They are plain pydantic schemas; the graph, not the brain, acts on them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

PROPOSE_CHANGE = "propose_change"
REPORT_DIAGNOSIS = "report_diagnosis"
REFUSE = "refuse"
TERMINAL_ACTIONS = (PROPOSE_CHANGE, REPORT_DIAGNOSIS, REFUSE)


class DeviceLines(BaseModel):
    device: str = Field(description="Inventory name of the device, e.g. R1.")
    lines: list[str] = Field(description="Config-mode lines, in order, as typed after 'configure terminal'.")


class PingCheck(BaseModel):
    kind: Literal["ping"] = "ping"
    source: str = Field(description="Device that pings.")
    destination: str = Field(description="IP address to ping.")
    source_ip: str = Field("", description="Optional source address (e.g. a host gateway or loopback).")
    expect: Literal["success", "fail"] = "success"


class RouteCheck(BaseModel):
    kind: Literal["route"] = "route"
    device: str
    prefix: str = Field(description="Destination to look up, e.g. 10.0.4.0/24 or 10.0.4.10.")
    present: bool = True
    protocol: str = Field("", description="Optional: the route must come from this protocol (ospf, bgp, static...).")


class OspfNeighborCheck(BaseModel):
    kind: Literal["ospf_neighbor"] = "ospf_neighbor"
    device: str
    neighbor: str = Field(description="Neighbour router-id or address.")
    full: bool = True


class BgpNeighborCheck(BaseModel):
    kind: Literal["bgp_neighbor"] = "bgp_neighbor"
    device: str
    neighbor: str = Field(description="Neighbour address.")
    established: bool = True


class InterfaceCheck(BaseModel):
    kind: Literal["interface"] = "interface"
    device: str
    interface: str
    up: bool = True


class ConfigCheck(BaseModel):
    kind: Literal["config"] = "config"
    device: str
    line: str = Field(description="A running-config line that must (or must not) be present.")
    present: bool = True


Check = Annotated[PingCheck | RouteCheck | OspfNeighborCheck | BgpNeighborCheck | InterfaceCheck | ConfigCheck,
                  Field(discriminator="kind")]


class ProposeChange(BaseModel):
    """Propose the configuration change that carries out the intent, and how to verify it."""

    summary: str = Field(description="One sentence: what the change does.")
    changes: list[DeviceLines] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list, description="Read-back checks that prove the intent holds.")


class ReportDiagnosis(BaseModel):
    """Report the root cause of a symptom, the evidence, and the remediation to apply."""

    device: str
    component: Literal["link", "interface", "ospf", "bgp", "acl", "static", "unknown"]
    root_cause: str
    evidence: list[str] = Field(default_factory=list)
    remediation: list[DeviceLines] = Field(default_factory=list, description="Empty when nothing config-side fixes it.")
    checks: list[Check] = Field(default_factory=list)


class Refuse(BaseModel):
    """Decline the request (unsafe, out of scope, or cannot be done), with the reason."""

    reason: str


ACTION_SCHEMAS: dict[str, type[BaseModel]] = {
    PROPOSE_CHANGE: ProposeChange, REPORT_DIAGNOSIS: ReportDiagnosis, REFUSE: Refuse}


def _never_run(**_: object) -> str:
    return "terminal action: handled by the graph"


def action_tools(kind: Literal["change", "diagnosis"]) -> list[StructuredTool]:
    """The terminal tools offered to a brain for a change run or a diagnosis run."""
    names = [PROPOSE_CHANGE, REFUSE] if kind == "change" else [REPORT_DIAGNOSIS, REFUSE]
    return [StructuredTool.from_function(_never_run, name=name, description=ACTION_SCHEMAS[name].__doc__ or name,
                                         args_schema=ACTION_SCHEMAS[name]) for name in names]
