"""The ``twinops.trajectory/1`` record: one agent run, as the fine-tuning modules read it.

Messages are kept in the OpenAI tool-calling shape (what TRL's conversational SFT format and every
OpenAI-compatible server speak), so a trajectory becomes a training row without reinterpretation.
Everything is passed through the redaction filter before it is written: no secret reaches the file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policies.redact import redact_obj

SCHEMA_ID = "twinops.trajectory/1"
SCHEMA_FILE = Path(__file__).with_name("schemas") / "trajectory-1.json"

Status = Literal["verified", "planned", "refused", "pending_approval", "rolled_back", "failed", "error",
                 "diagnosed", "no_change"]


class ToolCallFunction(BaseModel):
    name: str
    arguments: str = Field(description="JSON text of the arguments, as OpenAI sends it.")


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class Message(BaseModel):
    """One chat message in the OpenAI tool-calling shape."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class TaskInfo(BaseModel):
    id: str
    kind: Literal["change", "diagnosis"]
    prompt: str
    family: str | None = None
    seed: int | None = None


class Approval(BaseModel):
    decision: Literal["approved", "rejected", "auto", "pending"]
    by: str
    at: str
    reason: str = ""


class Outcome(BaseModel):
    status: Status
    success: bool = Field(description="True only when the outcome was verified (or a dry-run was produced).")
    verified: bool = False
    rollback: bool = False
    steps: int = 0
    wall_s: float = 0.0
    error: str | None = None
    root_cause: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = Field(default_factory=list)


class Trajectory(BaseModel):
    """One run of the agent, start to end."""

    model_config = ConfigDict(populate_by_name=True)
    schema_: Literal["twinops.trajectory/1"] = Field(SCHEMA_ID, alias="schema")
    run_id: str
    thread_id: str
    started_at: str
    task: TaskInfo
    brain: str
    messages: list[Message] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list, description="OpenAI tool schemas offered.")
    verdicts: list[dict[str, Any]] = Field(default_factory=list)
    dry_run: dict[str, Any] | None = None
    change: dict[str, Any] | None = Field(None, description="The ChangeSet and its per-device diffs.")
    approvals: list[Approval] = Field(default_factory=list)
    outcome: Outcome
    usage: dict[str, int] = Field(default_factory=dict)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def trajectory_schema() -> dict[str, Any]:
    schema = Trajectory.model_json_schema(by_alias=True)
    schema["$id"] = "https://twinops.dev/schemas/trajectory/1.json"
    schema["title"] = SCHEMA_ID
    return schema


def append_trajectory(path: str | Path, record: Trajectory) -> dict[str, Any]:
    """Redact and append one record as a JSON line; returns what was written."""
    data = record.model_dump(mode="json", by_alias=True, exclude_none=True)
    usage = data.pop("usage", {})  # token counts: numbers, never secrets (the filter keys on "token")
    data = {**redact_obj(data), "usage": usage}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(data, sort_keys=False) + "\n")
    return data


def read_trajectories(path: str | Path) -> list[Trajectory]:
    """Read a trajectory JSONL file; a bad line raises ValueError naming the file and line."""
    out: list[Trajectory] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Trajectory.model_validate_json(line))
        except ValueError as err:
            first = str(err).splitlines()[0:3]
            raise ValueError(f"{path}: line {number}: not a {SCHEMA_ID} record ({' '.join(first)})") from None
    return out
