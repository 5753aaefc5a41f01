"""Parse the operator's symptom text into structured items the expert can test in its model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_IP = r"\d{1,3}(?:\.\d{1,3}){3}"
_PREFIX = rf"{_IP}(?:/\d{{1,2}})?"
_LABEL = r"[A-Za-z][\w\-]*(?::[A-Za-z][\w/\.]*)?"
_ENDPOINT = rf"(?:{_LABEL}\s*\({_IP}\)|{_IP}|{_LABEL})"


@dataclass(frozen=True)
class Endpoint:
    label: str  # h1, R1:Loopback0, R1, or the IP itself
    ip: str = ""


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint


@dataclass(frozen=True)
class Session:
    device: str
    peer: str  # a device name or an IP address


@dataclass(frozen=True)
class Adjacency:
    device: str
    peer: str
    interface: str = ""


@dataclass(frozen=True)
class InterfaceDown:
    device: str
    interface: str


@dataclass(frozen=True)
class NoRoute:
    device: str
    prefix: str


@dataclass(frozen=True)
class Internet:
    device: str


@dataclass
class Symptom:
    flows: list[Flow] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    adjacencies: list[Adjacency] = field(default_factory=list)
    interfaces: list[InterfaceDown] = field(default_factory=list)
    routes: list[NoRoute] = field(default_factory=list)
    internet: list[Internet] = field(default_factory=list)
    truncated: bool = False  # the operator's list ends with "(and N more)": more is broken than listed

    @property
    def empty(self) -> bool:
        return not (self.flows or self.sessions or self.adjacencies or self.interfaces or self.routes
                    or self.internet)

    def named_hosts(self) -> dict[str, str]:
        found = {}
        for flow in self.flows:
            for end in (flow.src, flow.dst):
                if end.ip and end.label != end.ip and ":" not in end.label:
                    found[end.label] = end.ip
        return found


def endpoint(text: str) -> Endpoint:
    text = text.strip().strip(",.;")
    match = re.match(rf"^({_LABEL})\s*\(({_IP})\)$", text)
    if match:
        return Endpoint(match.group(1), match.group(2))
    if re.match(rf"^{_IP}$", text):
        return Endpoint(text, text)
    return Endpoint(text)


def parse_symptom(text: str) -> Symptom:
    symptom = Symptom(truncated=bool(re.search(r"\(and \d+ more\)", text)))
    for clause in re.split(r";|\n", text):
        clause = clause.strip()
        low = clause.lower()
        if not clause:
            continue
        match = re.search(r"no longer reachable:\s*(.*)", clause, re.IGNORECASE)
        if match:
            for pair in re.finditer(rf"({_ENDPOINT})\s*->\s*({_ENDPOINT})", match.group(1)):
                symptom.flows.append(Flow(endpoint(pair.group(1)), endpoint(pair.group(2))))
            continue
        match = re.search(r"bgp session not established:\s*(.*)", clause, re.IGNORECASE)
        if match:
            for pair in re.finditer(rf"([A-Za-z][\w\-]*)\s*->\s*({_IP})", match.group(1)):
                symptom.sessions.append(Session(pair.group(1), pair.group(2)))
            continue
        match = re.search(r"ospf adjacency not full:\s*(.*)", clause, re.IGNORECASE)
        if match:
            for adj in re.finditer(r"([A-Za-z][\w\-]*)\s+(\S+)\s+-\s+([A-Za-z][\w\-]*)", match.group(1)):
                symptom.adjacencies.append(Adjacency(adj.group(1), adj.group(3), adj.group(2)))
            continue
        match = re.search(r"interfaces? down:\s*(.*)", clause, re.IGNORECASE)
        if match:
            for itf in re.finditer(r"([A-Za-z][\w\-]*)\s+([A-Za-z]+[\d/\.]+)", match.group(1)):
                symptom.interfaces.append(InterfaceDown(itf.group(1), itf.group(2)))
            continue
        match = re.search(r"bgp (?:session|peering|neighbou?r(?:ship)?) between ([A-Za-z][\w\-]*) and "
                          rf"([A-Za-z][\w\-]*|{_IP})", clause, re.IGNORECASE)
        if match:
            symptom.sessions.append(Session(match.group(1), match.group(2)))
            continue
        match = re.search(r"ospf (?:adjacency|neighbou?r(?:ship)?) between ([A-Za-z][\w\-]*) and ([A-Za-z][\w\-]*)",
                          clause, re.IGNORECASE)
        if match:
            symptom.adjacencies.append(Adjacency(match.group(1), match.group(2)))
            continue
        match = re.search(rf"([A-Za-z][\w\-]*) (?:has no|is missing the|lacks a|is missing a) route to ({_PREFIX})",
                          clause, re.IGNORECASE)
        if match:
            symptom.routes.append(NoRoute(match.group(1), match.group(2)))
            continue
        match = re.search(r"(?:users|hosts|clients|customers) (?:behind|on|of|at) ([A-Za-z][\w\-]*) "
                          r"(?:cannot|can't|can not|are unable to) reach (?:the )?internet", clause, re.IGNORECASE)
        if match:
            symptom.internet.append(Internet(match.group(1)))
            continue
        match = re.search(rf"({_ENDPOINT})\s+(?:cannot|can't|can not|is unable to|fails to)\s+(?:reach|ping|"
                          rf"connect to)\s+({_ENDPOINT})", clause, re.IGNORECASE)
        if match:
            symptom.flows.append(Flow(endpoint(match.group(1)), endpoint(match.group(2))))
            continue
        match = re.search(r"([A-Za-z][\w\-]*)\s+([A-Za-z]+\d[\d/\.]*)\s+is down", clause)
        if match and "bgp" not in low and "ospf" not in low:
            symptom.interfaces.append(InterfaceDown(match.group(1), match.group(2)))
    return symptom
