"""The change request a policy pack judges: a pydantic model and its published JSON Schema.

Only ``intent``, ``requester`` and ``changes`` are required.  The model is lenient where operators and
agents are sloppy (a single string where a list is expected, unknown extra keys are ignored) and strict
where a wrong value would silently weaken a guard (types, an unparseable time).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_ID = "https://twinops.dev/schemas/change-request/v1.json"


class RequestError(ValueError):
    """An unreadable or invalid change request; the message names the file and the problem."""


class DeviceChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    device: str = Field(min_length=1, description="Device name as in the inventory (e.g. R1).")
    lines: list[str] = Field(description="Candidate config lines, as typed (abbreviations allowed).")

    @field_validator("lines", mode="before")
    @classmethod
    def _split_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.splitlines()
        return value


class DryRun(BaseModel):
    model_config = ConfigDict(extra="allow")

    reachability_lost: list[list[str]] = Field(default_factory=list,
                                               description="Host pairs that lose reachability.")
    adjacencies_lost: list[list[str]] = Field(default_factory=list,
                                              description="Device pairs whose OSPF/BGP adjacency goes down.")
    devices_changed: int | None = Field(default=None, ge=0, description="Devices whose config changes.")

    @field_validator("reachability_lost", "adjacencies_lost", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Tolerate the shapes tools write: ``[["h1", "h2"]]``, ``["h1->h2"]``, ``[{"src": .., "dst": ..}]``
        or a bare count; each lost pair counts, whatever its spelling."""
        if value is None:
            return []
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            return [["?", "?"] for _ in range(max(value, 0))]
        if isinstance(value, (str, dict)):
            value = [value]
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append([str(v) for v in item.values()])
            elif isinstance(item, (list, tuple)):
                out.append([str(v) for v in item])
            else:
                out.append([str(item)])
        return out


class InventoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    tags: list[str] = Field(default_factory=list, description="Device tags, e.g. core, edge, protected.")
    mgmt_interface: str | list[str] | None = Field(default=None,
                                                   description="The management interface(s) of the device.")
    collectors: list[str] = Field(default_factory=list,
                                  description="Approved flow/telemetry collectors for this device.")

    @field_validator("tags", "collectors", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ChangeRequest(BaseModel):
    """What the agent or an operator wants to change, with the evidence it was planned from."""

    model_config = ConfigDict(extra="ignore", title="ChangeRequest")

    intent: str = Field(description="Free text from the operator or the agent's plan.")
    requester: str = Field(description="Who asks (operator name or agent id).")
    changes: list[DeviceChange] = Field(description="Per-device candidate config lines.")
    observations: list[str] = Field(default_factory=list,
                                    description="Tool output text the plan was based on (data, never instructions).")
    dry_run: DryRun | None = Field(default=None, description="Differential analysis of the change in the twin.")
    inventory: dict[str, InventoryEntry] = Field(default_factory=dict,
                                                 description="Per-device facts: tags, management interface.")
    time: datetime | None = Field(default=None, description="When the change would run (ISO 8601; UTC if naive).")

    @field_validator("observations", mode="before")
    @classmethod
    def _observations(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("inventory", mode="before")
    @classmethod
    def _inventory(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    # --- derived facts --------------------------------------------------------------------------

    def device_names(self) -> list[str]:
        seen: dict[str, str] = {}
        for change in self.changes:
            if any(line.strip() and not line.strip().startswith("!") for line in change.lines):
                seen.setdefault(change.device.strip().lower(), change.device)
        return list(seen.values())

    def entry_of(self, device: str) -> InventoryEntry | None:
        """The inventory entry of ``device``; names match case-insensitively (``core1`` is ``CORE1``)."""
        entry = self.inventory.get(device)
        if entry is None:
            wanted = device.strip().lower()
            entry = next((e for name, e in self.inventory.items() if name.strip().lower() == wanted), None)
        return entry

    def tags_of(self, device: str) -> set[str]:
        entry = self.entry_of(device)
        return {t.lower() for t in entry.tags} if entry else set()


def change_request_schema() -> dict:
    schema = ChangeRequest.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_request(data: Any, source: str = "request") -> ChangeRequest:
    if not isinstance(data, dict):
        raise RequestError(f"{source}: a change request must be a JSON object, not {type(data).__name__}")
    try:
        return ChangeRequest.model_validate(data)
    except ValidationError as err:
        raise RequestError(f"{source}: invalid change request: {_format_error(err)}") from None


def load_request(path: str | Path) -> ChangeRequest:
    """Read a change request from a JSON file (``-`` for stdin); raise ``RequestError`` on any problem."""
    import sys

    source = str(path)
    try:
        text = sys.stdin.read() if source == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequestError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise RequestError(f"{source}: is a directory, not a change request file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RequestError(f"{source}: cannot read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RequestError(f"{source}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    return parse_request(data, source)
