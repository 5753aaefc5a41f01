"""``ChangeSet``: per-device candidate config lines plus an intent, an id and an idempotency key."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator


class DeviceChange(BaseModel):
    device: str = Field(min_length=1, description="Device name as in the inventory.")
    lines: list[str] = Field(description="Candidate config lines, as typed in config mode.")

    @field_validator("lines", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.splitlines()
        if isinstance(value, list):
            out = []
            for line in value:
                out.extend(str(line).replace("\r", "").split("\n"))
            return [line.rstrip() for line in out if line.strip()]
        return value


class ChangeSet(BaseModel):
    """What to change.  ``changes`` may also be given as ``{"R1": ["line", ...]}``.  Without an explicit
    ``idempotency_key`` the key is a digest of the changes, so the same change is never applied twice."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], description="This change's id.")
    intent: str = Field(default="", description="Why: the operator's or the agent's intent.")
    idempotency_key: str = Field(default="", description="Re-running with the same key applies nothing.")
    changes: list[DeviceChange] = Field(min_length=1)

    @field_validator("changes", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [{"device": device, "lines": lines} for device, lines in value.items()]
        return value

    @model_validator(mode="after")
    def _merge_and_key(self) -> ChangeSet:
        merged: dict[str, list[str]] = {}
        for change in self.changes:
            merged.setdefault(change.device, []).extend(change.lines)
        if len(merged) != len(self.changes):
            self.changes = [DeviceChange(device=d, lines=lines) for d, lines in merged.items()]
        if not self.idempotency_key:
            self.idempotency_key = f"cs-{self.fingerprint()[:24]}"
        return self

    def fingerprint(self) -> str:
        """Digest of what would be applied (devices and lines, in order)."""
        body = json.dumps([[c.device, c.lines] for c in self.changes], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def device_names(self) -> list[str]:
        """Devices with at least one line to apply, in the order given."""
        return [c.device for c in self.changes if c.lines]

    def lines_for(self, device: str) -> list[str]:
        return next((c.lines for c in self.changes if c.device == device), [])

    def candidate(self, device: str) -> str:
        """The merge candidate text for ``device``."""
        return "\n".join(self.lines_for(device)) + "\n"

    def line_count(self) -> int:
        return sum(len(c.lines) for c in self.changes)

    def to_change_request(self, requester: str, *, dry_run: Any = None, observations: list[str] | None = None,
                          inventory: dict[str, Any] | None = None, time: Any = None) -> Any:
        """The policy engine's ``ChangeRequest`` for this change (``dry_run``: a ``DryRunResult`` or dict)."""
        from policies.request import ChangeRequest

        if dry_run is not None and hasattr(dry_run, "to_policy_dry_run"):
            dry_run = dry_run.to_policy_dry_run()
        return ChangeRequest.model_validate({
            "intent": self.intent, "requester": requester,
            "changes": [{"device": c.device, "lines": c.lines} for c in self.changes],
            "observations": observations or [], "dry_run": dry_run, "inventory": inventory or {}, "time": time})
