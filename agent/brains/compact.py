"""The compact view: what a small-context model sees of a run, built the same way for training and inference.

A full agent run does not fit a small model: the tool schemas alone are ~8k characters, and a survey of 16
devices is ~35k characters of observations in one turn. A model trained with this view instead sees two
messages:

- **system**: the agent's system prompt plus one line of tool signatures (names and argument names, no
  descriptions: constrained decoding supplies the exact schema);
- **user**: the task, the devices known so far, what has been read already (tool -> devices) and which
  listed devices no call has touched yet, any operator notes (a deny, a replan request), and the results of
  the *last* reply only, each clipped to an equal share of ``observation_chars``.

So every step is a small Markov decision: read the next things, or act. ``finetune.steps`` turns a recorded
run into one training row per decision with :func:`compact_view`, and the ``hf`` brain renders a model's
prompt with the same function when the model directory carries a ``twinops_view.json`` saying so; the two
cannot drift apart. Replies are capped at ``max_calls`` tool calls (constrained decoding allows no more),
so a recorded reply with more calls is split into consecutive replies of at most that many.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

VIEW_FILE = "twinops_view.json"


class ViewSpec(BaseModel):
    """How a model's prompts are rendered; saved next to a model trained on compact rows."""

    view: str = Field(default="compact", pattern="^compact$")
    observation_chars: int = Field(default=600, ge=100, le=100_000)
    max_calls: int = Field(default=8, ge=1, le=64)
    toolset: str = Field(default="standard", pattern="^(standard|draft)$")  # the tools the rows were recorded with


def read_view(model_dir: str | Path) -> ViewSpec | None:
    """The view a model directory asks for, or None (full chat history, the default)."""
    path = Path(model_dir) / VIEW_FILE
    if not path.is_file():
        return None
    return ViewSpec.model_validate_json(path.read_text())


def write_view(model_dir: str | Path, spec: ViewSpec) -> Path:
    path = Path(model_dir) / VIEW_FILE
    path.write_text(spec.model_dump_json(indent=2) + "\n")
    return path


def tool_signatures(tools: Sequence[dict[str, Any]]) -> str:
    """``list_devices() | get_interfaces(device) | ...``: names and top-level argument names only."""
    parts = []
    for tool in tools:
        fn = tool.get("function", tool)
        props = (fn.get("parameters") or {}).get("properties") or {}
        parts.append(f"{fn.get('name', '')}({', '.join(props)})")
    return " | ".join(parts)


def _args_text(args: Any) -> str:
    if isinstance(args, str):
        return args
    if not isinstance(args, dict):
        return json.dumps(args)
    return ", ".join(f"{k}={v}" if isinstance(v, str) else f"{k}={json.dumps(v)}" for k, v in args.items())


def call_name_args(entry: dict[str, Any]) -> tuple[str, Any]:
    """(name, arguments) of a tool call in the OpenAI/HF shape (``function.arguments`` JSON text or dict)
    or LangChain's (``name``/``args``); arguments that are not valid JSON stay a string."""
    fn = entry.get("function", entry)
    args = fn.get("arguments", fn.get("args"))
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    return str(fn.get("name") or ""), args


def _devices_from(content: str) -> list[str]:
    try:
        data = json.loads(content)
    except ValueError:
        return []
    devices = data.get("devices") if isinstance(data, dict) else None
    return [str(d.get("name")) for d in devices or [] if isinstance(d, dict) and d.get("name")]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " …"


def compact_view(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]],
                 spec: ViewSpec | None = None) -> list[dict[str, Any]]:
    """``[system, user]`` for the next decision of a run whose chat so far is ``messages`` (HF/OpenAI
    dict shape: ``role``, ``content``, ``tool_calls``, ``tool_call_id``, ``name``)."""
    spec = spec or ViewSpec()
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    task = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
    first_user = next((i for i, m in enumerate(messages) if m.get("role") == "user"), len(messages))
    devices: list[str] = []
    done: dict[str, list[str]] = {}
    last_calls: list[tuple[str, Any]] = []
    last_results: list[tuple[str, str]] = []
    notes: list[str] = []
    for msg in messages[first_user + 1:]:
        role = msg.get("role")
        if role == "assistant":
            last_calls = [call_name_args(c) for c in msg.get("tool_calls") or []]
            last_results, notes = [], []
            for name, args in last_calls:
                target = args.get("device") if isinstance(args, dict) else None
                seen = done.setdefault(name, [])
                if target and target not in seen:
                    seen.append(str(target))
        elif role == "tool":
            content = msg.get("content") or ""
            if msg.get("name") == "list_devices":
                devices = _devices_from(content) or devices
            last_results.append((str(msg.get("name") or ""), content))
        elif role in ("user", "system"):
            notes.append(msg.get("content") or "")
    lines = [task]
    if devices:
        lines.append("DEVICES: " + " ".join(devices))
    if done:
        lines.append("READ: " + "; ".join(f"{n} {' '.join(d)}".rstrip() for n, d in done.items()))
    if devices:  # bookkeeping a small model cannot do itself: which listed devices no call has touched yet
        touched = {d for names in done.values() for d in names}
        lines.append("UNREAD: " + (" ".join(d for d in devices if d not in touched) or "none"))
    if last_results:
        share = max(60, spec.observation_chars // len(last_results))
        lines.append("LAST RESULTS:")
        for index, (name, content) in enumerate(last_results):
            args = _args_text(last_calls[index][1]) if index < len(last_calls) else ""
            lines.append(f"{name}({args}) -> {_clip(content, share)}")
    lines.extend(f"NOTE: {_clip(n, 400)}" for n in notes if n)
    system_text = f"{system}\nTOOLS: {tool_signatures(tools)}" if tools else system
    return [{"role": "system", "content": system_text}, {"role": "user", "content": "\n".join(lines)}]


def split_reply(message: dict[str, Any], max_calls: int) -> list[dict[str, Any]]:
    """A recorded assistant reply with more than ``max_calls`` tool calls -> consecutive replies."""
    calls = message.get("tool_calls") or []
    if len(calls) <= max_calls:
        return [message]
    return [{**message, "content": message.get("content", "") if i == 0 else "",
             "tool_calls": calls[i:i + max_calls]} for i in range(0, len(calls), max_calls)]
