"""Evaluate a change request against a policy pack: the strictest decision of all matching rules wins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from policies.normalize import NormalLine, clean_text, normalize_changes
from policies.pack import RANK, Decision, Match, PolicyPack, TextCondition, default_pack
from policies.request import ChangeRequest, parse_request
from twin_lab.addressing import AddressError, canonical_interface

MAX_EVIDENCE = 3


class RuleHit(BaseModel):
    id: str
    decision: Decision
    reason: str


class Verdict(BaseModel):
    decision: Decision
    rules: list[RuleHit] = Field(default_factory=list)
    pack: str = ""
    evidence: dict[str, list[str]] = Field(default_factory=dict)

    def to_json(self, *, extra: bool = True) -> dict[str, Any]:
        """The contract shape ``{"decision", "rules": [{"id", "decision", "reason"}]}`` (+ ``pack``)."""
        out: dict[str, Any] = {"decision": self.decision,
                               "rules": [{"id": r.id, "decision": r.decision, "reason": r.reason} for r in self.rules]}
        if extra:
            out["pack"] = self.pack
        return out

    @property
    def exit_code(self) -> int:
        return {"allow": 0, "needs_approval": 3, "deny": 4}[self.decision]


# --- facts the conditions look at ---------------------------------------------------------------------

_COLLECTOR_PATTERNS = (
    (re.compile(r"^ip flow-export destination (\S+)", re.I), None),
    (re.compile(r"^destination (?:ip address |ipv4 )?(\S+)", re.I), re.compile(r"^(flow exporter|sampler)", re.I)),
    (re.compile(r"^ip traffic-export .*?\b(\d+\.\d+\.\d+\.\d+)", re.I), None),
    (re.compile(r"^sflow (?:collector|destination) (?:ip )?(\S+)", re.I), None),
    (re.compile(r"^(?:ip )?flow[- ]export.*?\b(\d+\.\d+\.\d+\.\d+)", re.I), None),
)
_RANGE = re.compile(r"^interface range (.+)$", re.I)
_MGMT_HINT = re.compile(r"^(description .*\b(mgmt|management|oob|out[- ]of[- ]band)\b|"
                        r"(ip )?vrf forwarding \S*(mgmt|management|oob)\S*)", re.I)


def _canon(name: str) -> str | None:
    try:
        return canonical_interface(name)
    except AddressError:
        return None


def _range_members(spec: str) -> set[str]:
    """``GigabitEthernet0/0 - 3 , Gi1/1`` → the interfaces the range names."""
    members: set[str] = set()
    for part in spec.split(","):
        match = re.match(r"^\s*([A-Za-z-]+\s*[\d/]*?)(\d+)\s*(?:-\s*(\d+))?\s*$", part)
        if not match:
            continue
        prefix, low = match.group(1), int(match.group(2))
        high = int(match.group(3)) if match.group(3) else low
        for number in range(low, min(high, low + 512) + 1):
            canon = _canon(f"{prefix}{number}")
            if canon:
                members.add(canon)
    return members


@dataclass
class Context:
    request: ChangeRequest
    pack: PolicyPack
    lines: list[NormalLine]
    mgmt: dict[str, set[str]] = field(default_factory=dict)  # device -> mgmt interface names
    mgmt_sections: set[tuple[str, str]] = field(default_factory=set)
    known_collectors: set[str] = field(default_factory=set)
    _cache: dict[int, list[str] | None] = field(default_factory=dict)

    @classmethod
    def build(cls, request: ChangeRequest, pack: PolicyPack) -> Context:
        ctx = cls(request, pack, normalize_changes(request.changes))
        for device, entry in request.inventory.items():
            names = entry.mgmt_interface or []
            for name in [names] if isinstance(names, str) else names:
                canon = _canon(name) or name.strip()
                ctx.mgmt.setdefault(device.strip().lower(), set()).add(canon.lower())
            ctx.known_collectors.update(c.lower() for c in entry.collectors)
        ctx.known_collectors.update(c.lower() for c in pack.known_collectors)
        for line in ctx.lines:
            if line.section.lower().startswith("interface") and _MGMT_HINT.search(line.command):
                ctx.mgmt_sections.add((line.device, line.section.lower()))
        return ctx

    # line facts

    def is_mgmt(self, line: NormalLine) -> bool:
        names = self.mgmt.get(line.device.strip().lower(), set())
        section = line.section.lower()
        if (line.device, section) in self.mgmt_sections:
            return True
        interfaces: set[str] = set()
        if section.startswith("interface range "):
            interfaces |= {m.lower() for m in _range_members(line.section[len("interface range "):])}
        elif section.startswith("interface "):
            interfaces.add(section[len("interface "):].strip())
        command = line.command.lower()
        range_match = _RANGE.match(line.command)
        if range_match:
            interfaces |= {m.lower() for m in _range_members(range_match.group(1))}
        words = set(command.split())
        if names and (interfaces & names or words & names):
            return True
        if not names and self.pack._mgmt:
            candidates = interfaces | {w for w in words if _looks_like_interface(w)}
            return any(p.search(c) for c in candidates for p in self.pack._mgmt)
        return False

    def collector_of(self, line: NormalLine) -> str | None:
        """The collector address a flow/traffic-export line names (added or removed), else None."""
        command = line.command[3:] if line.negated else line.command
        for pattern, section in _COLLECTOR_PATTERNS:
            if section is not None and not section.search(line.section):
                continue
            match = pattern.search(command)
            if match:
                return match.group(1).lower()
        return None

    def collector_unknown(self, line: NormalLine) -> bool:
        """The line *adds* export to a collector that is not on the approved list."""
        if line.negated:
            return False
        collector = self.collector_of(line)
        return collector is not None and collector not in self.known_collectors

    def collector_kind(self, line: NormalLine) -> str | None:
        """``known`` / ``unknown`` for a line naming a collector (added or removed), else None."""
        collector = self.collector_of(line)
        if collector is None:
            return None
        return "known" if collector in self.known_collectors else "unknown"

    # request facts

    def text_of(self, key: str) -> str:
        request = self.request
        if key == "intent":
            return clean_text(request.intent)
        if key == "observations":
            return clean_text("\n".join(request.observations))
        if key == "requester":
            return clean_text(request.requester)
        notes = [line.command.split(None, 1)[1] for line in self.lines
                 if re.match(r"^(description|remark|\d+ remark|banner-text) ", line.command)]
        return clean_text("\n".join([request.intent, *notes]))

    def line_count(self) -> int:
        """Config lines as the operator wrote them (blank lines and ``!`` comments aside): ``exit`` and
        ``end`` count too, so the blast-radius limit reads the same as a person counting the change."""
        typed = sum(1 for change in self.request.changes for raw in change.lines
                    for part in str(raw).splitlines() if part.strip() and not part.strip().startswith("!"))
        return max(typed, len(self.lines))

    def outside_window(self) -> bool:
        window = self.pack.change_window
        if window is None or self.request.time is None:
            return False
        return not window.contains(self.request.time)


def _looks_like_interface(word: str) -> bool:
    return bool(re.match(r"^[a-z][a-z-]*\d", word, re.I))


# --- matching -----------------------------------------------------------------------------------------


def _line_holds(m: Match, line: NormalLine, ctx: Context) -> bool:
    if m._command and not any(p.search(line.command) for p in m._command):
        return False
    if any(p.search(line.command) for p in m._command_not):
        return False
    if m._section and not any(p.search(line.section) for p in m._section):
        return False
    if any(p.search(line.section) for p in m._section_not):
        return False
    if m._device and not any(p.search(line.device) for p in m._device):
        return False
    if m._tags and not (m._tags & ctx.request.tags_of(line.device)):
        return False
    if m.mgmt_interface is not None and ctx.is_mgmt(line) != m.mgmt_interface:
        return False
    if m.collector is not None and ctx.collector_kind(line) != m.collector:
        return False
    return m.unknown_collector is None or ctx.collector_unknown(line) == m.unknown_collector


def _text(cond: TextCondition | None, key: str, ctx: Context, evidence: list[str]) -> bool:
    if cond is None:
        return True
    found = cond.find(ctx.text_of(key))
    if found is None:
        return False
    evidence.append(f"{key}: {found!r}")
    return True


def holds(m: Match, ctx: Context) -> list[str] | None:
    """Evidence strings when ``m`` holds on the request, else None."""
    evidence: list[str] = []
    if m.always is False:
        return None
    for key in ("intent", "observations", "requester", "text"):
        if not _text(getattr(m, key), key, ctx, evidence):
            return None
    request = ctx.request
    if m.devices is not None:
        count = len(request.device_names())
        if not m.devices.test(count):
            return None
        evidence.append(f"{count} devices changed")
    if m.lines is not None:
        count = ctx.line_count()
        if not m.lines.test(count):
            return None
        evidence.append(f"{count} config lines")
    if m.dry_run is not None:
        dry = request.dry_run
        if dry is None:
            return None
        values = {"reachability_lost": len(dry.reachability_lost), "adjacencies_lost": len(dry.adjacencies_lost),
                  "devices_changed": dry.devices_changed}
        for key in ("reachability_lost", "adjacencies_lost", "devices_changed"):
            cmp = getattr(m.dry_run, key)
            if cmp is None:
                continue
            if values[key] is None or not cmp.test(values[key]):
                return None
            detail = getattr(dry, key)
            shown = ", ".join("-".join(map(str, p)) for p in detail[:3]) if isinstance(detail, list) else detail
            evidence.append(f"dry-run {key.replace('_', ' ')}: {shown}")
    if m.outside_window is not None:
        outside = ctx.outside_window()
        if outside != m.outside_window:
            return None
        if outside:
            evidence.append(f"time {request.time.isoformat()} is outside the change window")
    if m._line_level:
        hits = [line for line in ctx.lines if _line_holds(m, line, ctx)]
        if not hits:
            return None
        evidence.extend(line.describe() for line in hits[:MAX_EVIDENCE])
        if len(hits) > MAX_EVIDENCE:
            evidence.append(f"+{len(hits) - MAX_EVIDENCE} more lines")
    for sub in m.all:
        found = holds(sub, ctx)
        if found is None:
            return None
        evidence.extend(found)
    if m.any:
        for sub in m.any:
            found = holds(sub, ctx)
            if found is not None:
                evidence.extend(found)
                break
        else:
            return None
    if m.not_ is not None and holds(m.not_, ctx) is not None:
        return None
    return evidence


def evaluate(request: ChangeRequest | dict, pack: PolicyPack | None = None) -> Verdict:
    """Judge ``request`` with ``pack`` (the shipped default pack when None)."""
    if isinstance(request, dict):
        request = parse_request(request)
    pack = pack or default_pack()
    ctx = Context.build(request, pack)
    hits: list[RuleHit] = []
    evidence: dict[str, list[str]] = {}
    for rule in pack.rules:
        if not rule.enabled:
            continue
        found = holds(rule.match, ctx)
        if found is None:
            continue
        shown = "; ".join(dict.fromkeys(found))
        message = rule.message or rule.description or rule.id
        reason = f"{message} ({shown})" if shown else message
        hits.append(RuleHit(id=rule.id, decision=rule.decision, reason=reason))
        evidence[rule.id] = list(dict.fromkeys(found))
    strictest = [h for h in hits if RANK[h.decision] == max((RANK[x.decision] for x in hits), default=0)]
    decision: Decision = strictest[0].decision if strictest else "allow"
    if decision != "allow":
        # An allow rule explains an allow verdict; next to a stricter rule it says nothing.
        hits = [h for h in hits if h.decision != "allow"]
    # Strictest first, pack order within a decision.
    hits.sort(key=lambda h: -RANK[h.decision])
    return Verdict(decision=decision, rules=hits, pack=pack.name, evidence=evidence)
