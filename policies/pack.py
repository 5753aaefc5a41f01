"""Policy packs: YAML rules with a small declarative condition language (see ``packs/README.md``).

A rule is ``{id, description, decision, message, match}``.  ``match`` is a mapping of conditions that
must *all* hold:

* line conditions (``command``, ``command_not``, ``section``, ``section_not``, ``device``, ``device_tags``,
  ``mgmt_interface``, ``unknown_collector``, ``collector``) must hold together for at least one normalised
  config line;
* request conditions (``intent``, ``observations``, ``requester``, ``text``, ``devices``, ``lines``,
  ``dry_run``, ``outside_window``, ``always``) are checked once on the whole request;
* ``all`` / ``any`` / ``not`` combine nested ``match`` blocks.

Text conditions take a list of regexes (any matches) or ``{any, all, none, unless, scope}``: ``all`` is
a list of regex groups that must each match, within one sentence or line when ``scope`` says so;
``unless`` regexes veto a sentence; ``none`` regexes veto the whole text (stated reasons, exemptions).
Regexes are Python syntax, case-insensitive, searched (not anchored unless you write ``^``).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Decision = Literal["allow", "needs_approval", "deny"]
RANK: dict[str, int] = {"allow": 0, "needs_approval": 1, "deny": 2}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CMP = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*(\d+)\s*$")


class PolicyError(ValueError):
    """An invalid policy pack; the message names the file and, where it can, the rule."""


def _flatten(value: Any) -> Any:
    """YAML anchors make lists of lists (``any: [*reasons, *more]``); flatten them one level."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _compile(patterns: list[str], where: str) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as err:
            raise ValueError(f"{where}: bad regex {pattern!r}: {err}") from None
    return compiled


class Comparison(BaseModel):
    """``">5"``, ``">= 1"``, ``"==0"`` or a bare number (meaning ``>=``)."""

    op: str
    value: int

    @classmethod
    def parse(cls, raw: Any) -> Comparison:
        if isinstance(raw, Comparison):
            return raw
        if isinstance(raw, bool):
            raise ValueError(f"expected a comparison like '>5', got {raw!r}")
        if isinstance(raw, int):
            return cls(op=">=", value=raw)
        match = _CMP.match(str(raw))
        if not match:
            raise ValueError(f"expected a comparison like '>5', '>=1' or '==0', got {raw!r}")
        return cls(op=match.group(1) or ">=", value=int(match.group(2)))

    def test(self, number: int) -> bool:
        return {">": number > self.value, ">=": number >= self.value, "<": number < self.value,
                "<=": number <= self.value, "==": number == self.value, "!=": number != self.value}[self.op]

    def __str__(self) -> str:
        return f"{self.op}{self.value}"


class TextCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[str] = Field(default_factory=list)
    all: list[list[str]] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    scope: Literal["text", "sentence", "line"] = "text"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"any": [value]}
        if isinstance(value, list):
            return {"any": _flatten(value)}
        if isinstance(value, dict):
            value = dict(value)
            for key in ("any", "none", "unless"):
                if isinstance(value.get(key), str):
                    value[key] = [value[key]]
                value[key] = _flatten(value.get(key) or [])
            value["all"] = [[g] if isinstance(g, str) else _flatten(g) for g in value.get("all") or []]
        return value

    @model_validator(mode="after")
    def _compile_all(self) -> TextCondition:
        if not self.any and not self.all:
            raise ValueError("a text condition needs 'any' or 'all' patterns")
        self._any = _compile(self.any, "any")
        self._all = [_compile(group, "all") for group in self.all]
        self._none = _compile(self.none, "none")
        self._unless = _compile(self.unless, "unless")
        return self

    def find(self, text: str) -> str | None:
        """The evidence (a matched snippet) when the condition holds on ``text``, else None."""
        if not text or any(p.search(text) for p in self._none):
            return None
        for chunk in _chunks(text, self.scope):
            if any(p.search(chunk) for p in self._unless):
                continue
            hits = []
            if self._any:
                hit = next((m for p in self._any if (m := p.search(chunk))), None)
                if hit is None:
                    continue
                hits.append(hit.group(0))
            ok = True
            for group in self._all:
                hit = next((m for p in group if (m := p.search(chunk))), None)
                if hit is None:
                    ok = False
                    break
                hits.append(hit.group(0))
            if ok:
                return " + ".join(dict.fromkeys(h.strip() for h in hits if h.strip())) or chunk[:60]
        return None


# Sentence breaks, but not after the abbreviations people put before names ("Mr. Jones", "St. Mary's").
_ABBREVIATIONS = "".join(rf"(?<!\b{a}\.)" for a in ("Mr", "Mrs", "Ms", "Dr", "St", "Mt", "Jr", "Sr", "Prof",
                                                      "vs", "No", "Nr", "approx", "etc", "Inc", "Ltd", "Co"))
_SENTENCE = re.compile(rf"(?<=[.!?;]){_ABBREVIATIONS}(?<!\be\.g\.)(?<!\bi\.e\.)\s+|\n+|\s+[-\u2013\u2014]\s+"
                       r"|:\s+(?=[A-Z])")


def _chunks(text: str, scope: str) -> list[str]:
    if scope == "text":
        return [text]
    if scope == "line":
        return [line for line in text.splitlines() if line.strip()]
    return [s for s in _SENTENCE.split(text) if s and s.strip()]


class DryRunCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reachability_lost: Comparison | None = None
    adjacencies_lost: Comparison | None = None
    devices_changed: Comparison | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _cmp(cls, value: Any) -> Any:
        return None if value is None else Comparison.parse(value)


LINE_KEYS = ("command", "command_not", "section", "section_not", "device", "device_tags", "mgmt_interface",
             "unknown_collector", "collector")


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # line conditions (one line must satisfy all of them)
    command: list[str] = Field(default_factory=list)
    command_not: list[str] = Field(default_factory=list)
    section: list[str] = Field(default_factory=list)
    section_not: list[str] = Field(default_factory=list)
    device: list[str] = Field(default_factory=list)
    device_tags: list[str] = Field(default_factory=list)
    mgmt_interface: bool | None = None
    unknown_collector: bool | None = None
    collector: Literal["known", "unknown"] | None = None  # the line names a collector (added or removed)
    # request conditions
    intent: TextCondition | None = None
    observations: TextCondition | None = None
    requester: TextCondition | None = None
    text: TextCondition | None = None  # intent + observations + config descriptions
    devices: Comparison | None = None
    lines: Comparison | None = None
    dry_run: DryRunCondition | None = None
    outside_window: bool | None = None
    always: bool | None = None
    # combinators
    all: list[Match] = Field(default_factory=list)
    any: list[Match] = Field(default_factory=list)
    not_: Match | None = Field(default=None, alias="not")

    @field_validator("command", "command_not", "section", "section_not", "device", "device_tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else _flatten(value)

    @field_validator("devices", "lines", mode="before")
    @classmethod
    def _cmp(cls, value: Any) -> Any:
        return None if value is None else Comparison.parse(value)

    @model_validator(mode="after")
    def _check(self) -> Match:
        if not any(getattr(self, k) not in (None, []) for k in type(self).model_fields):
            raise ValueError("empty match: give at least one condition (or 'always: true')")
        for key in ("command", "command_not", "section", "section_not", "device"):
            setattr(self, f"_{key}", _compile(getattr(self, key), key))
        self._tags = {t.lower() for t in self.device_tags}
        self._line_level = any(getattr(self, k) not in (None, []) for k in LINE_KEYS)
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    description: str = ""
    decision: Decision
    message: str = ""
    category: str = ""
    match: Match
    enabled: bool = True


class WindowSlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[str] = Field(default_factory=lambda: list(DAYS))
    start: time
    end: time

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        days = [value] if isinstance(value, str) else value
        out = []
        for day in days or []:
            key = str(day).strip().lower()[:3]
            if key not in DAYS:
                raise ValueError(f"unknown day {day!r} (use mon..sun)")
            out.append(key)
        return out

    def contains(self, moment: datetime) -> bool:
        now, day = moment.time().replace(tzinfo=None), DAYS[moment.weekday()]
        if self.start <= self.end:
            return day in self.days and self.start <= now < self.end
        previous = DAYS[(moment.weekday() - 1) % 7]
        return (day in self.days and now >= self.start) or (previous in self.days and now < self.end)


class ChangeWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    slots: list[WindowSlot] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(slot.contains(local) for slot in self.slots)


class PolicyPack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "policy"
    version: str | int = 1
    description: str = ""
    change_window: ChangeWindow | None = None
    known_collectors: list[str] = Field(default_factory=list)
    mgmt_interfaces: list[str] = Field(default_factory=list,
                                       description="Regexes for interfaces treated as management when the "
                                                   "inventory names none.")
    vocabulary: Any = Field(default=None, description="Free space for YAML anchors shared by rules.")
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PolicyPack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        self._mgmt = _compile(self.mgmt_interfaces, "mgmt_interfaces")
        return self


def _describe_error(err: ValidationError, data: Any) -> str:
    first = err.errors()[0]
    loc = list(first["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        try:
            rule_id = data["rules"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (KeyError, IndexError, TypeError, AttributeError):
            rule_id = f"#{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:]) or "(rule)"
        where = f"rule {rule_id!r}: {rest}"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {message}{more}"


def parse_pack(data: Any, source: str = "policy") -> PolicyPack:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy pack must be a YAML mapping with 'rules'")
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as err:
        raise PolicyError(f"{source}: invalid policy pack: {_describe_error(err, data)}") from None


def load_pack(path: str | Path) -> PolicyPack:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{source}: no such policy file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(f"{source}: cannot read policy file: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{source}: not valid YAML{at}: {getattr(err, 'problem', None) or err}") from None
    return parse_pack(data, source)


def default_pack_text() -> str:
    return resources.files("policies").joinpath("packs/default.yaml").read_text(encoding="utf-8")


_DEFAULT: PolicyPack | None = None


def default_pack() -> PolicyPack:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse_pack(yaml.safe_load(default_pack_text()), "policies/packs/default.yaml")
    return _DEFAULT
