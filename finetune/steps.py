"""Whole-run SFT rows -> one row per decision in the compact view (``agent.brains.compact``).

A verified run of the agent is 10-40k tokens: more than a small model's window, and a single row per run
teaches its first decision as often as its last. ``step_rows`` replays a run and emits, for every assistant
reply, ``[system, user] = compact_view(history)`` followed by that reply: the exact prompt the ``hf`` brain
renders for a model trained this way (the dataset's ``twinops_view.json`` travels into the model dir).
Replies with more calls than constrained decoding allows are split into consecutive replies first.

``twinops data steps DIR --out OUT`` writes ``OUT/train.jsonl``, ``OUT/validation.jsonl`` (the splits of
``DIR``, kept: rows of one task stay on one side), ``OUT/twinops_view.json`` and a dataset card.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from agent.brains.compact import VIEW_FILE, ViewSpec, call_name_args, compact_view, split_reply, write_view
from agent.draft_tool import DRAFT_PLAN, DRAFT_TOOLSET
from finetune.dataset import SFT_FILES, DataError, read_jsonl, row_key, sft_row, write_jsonl


def rechunk(messages: list[dict[str, Any]], max_calls: int) -> list[dict[str, Any]]:
    """Split replies of more than ``max_calls`` calls, each part followed by its own tool results."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(messages):
        msg = messages[i]
        if msg.get("role") != "assistant" or len(msg.get("tool_calls") or []) <= max_calls:
            out.append(msg)
            i += 1
            continue
        j = i + 1
        results: dict[str, dict[str, Any]] = {}
        while j < len(messages) and messages[j].get("role") == "tool":
            results[str(messages[j].get("tool_call_id"))] = messages[j]
            j += 1
        for part in split_reply(msg, max_calls):
            out.append(part)
            out.extend(results[c["id"]] for c in part["tool_calls"] if c.get("id") in results)
        i = j
    return out


def step_rows(row: dict[str, Any], spec: ViewSpec) -> list[dict[str, Any]]:
    """One compact-view SFT row per assistant reply of a whole-run row (metadata kept, ``step`` added)."""
    tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else (row.get("tools") or [])
    messages = rechunk(list(row["messages"]), spec.max_calls)
    rows = []
    for index, msg in enumerate(messages):
        if msg.get("role") != "assistant":
            continue
        reply = {"role": "assistant", "content": msg.get("content") or ""}
        if msg.get("tool_calls"):
            reply["tool_calls"] = msg["tool_calls"]
        step = sft_row([*compact_view(messages[:index], tools, spec), reply], [], category=row.get("category"),
                       family=row.get("family"), seed=row.get("seed"), task_id=row.get("task_id"),
                       source=row.get("source"))
        step["step"] = len(rows)
        rows.append(step)
    return rows


def _calls_draft(row: dict[str, Any]) -> bool:
    return any(call_name_args(c)[0] == DRAFT_PLAN for m in row.get("messages") or [] for c in m.get("tool_calls") or [])


def reply_tool(row: dict[str, Any]) -> str:
    """The first tool a step row's reply calls (its decision class), or "" for a text reply."""
    calls = row["messages"][-1].get("tool_calls") or []
    return call_name_args(calls[0])[0] if calls else ""


def balance_rows(rows: list[dict[str, Any]], floor: float, cap: int = 8) -> list[dict[str, Any]]:
    """``rows`` with every decision class (the tool its reply calls) repeated up to ``floor`` x the largest
    class (at most ``cap`` copies of a row): a rare decision (``refuse`` after a draft is ~4% of rows) is
    otherwise out-voted by the majority at the one token that decides it."""
    if floor <= 0 or not rows:
        return rows
    counts = Counter(reply_tool(r) for r in rows)
    target = math.ceil(max(counts.values()) * floor)
    out = list(rows)
    for row in rows:
        copies = min(cap, math.ceil(target / counts[reply_tool(row)])) - 1
        out.extend([row] * max(0, copies))
    return out


def write_step_dataset(data_dir: str | Path, out_dir: str | Path, spec: ViewSpec | None = None,
                       balance: float = 0.0) -> dict[str, int]:
    """Convert ``data_dir``'s whole-run splits into step rows in ``out_dir``; counts per split.
    ``balance`` > 0 oversamples rare decisions in the train split (``balance_rows``); validation stays as is."""
    spec = spec or ViewSpec()
    src, out = Path(data_dir), Path(out_dir)
    if not (src / SFT_FILES[0]).is_file():
        raise DataError(f"{src / SFT_FILES[0]}: no SFT rows to convert (run 'twinops data generate' first)")
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    families: Counter[str] = Counter()
    drafted = False
    for name in SFT_FILES:
        path = src / name
        rows = read_jsonl(path) if path.is_file() else []
        seen: set[str] = set()
        kept = []
        for row in rows:
            try:
                steps = step_rows(row, spec)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}: a row cannot be replayed ({type(exc).__name__}: {exc})") from exc
            drafted = drafted or _calls_draft(row)
            for step in steps:
                key = row_key(step)
                if key not in seen:
                    seen.add(key)
                    kept.append(step)
                    families[str(step.get("family"))] += 1
        if name.startswith("train"):
            kept = balance_rows(kept, balance)
        counts[name.split(".")[0]] = write_jsonl(out / name, kept)
    if drafted and spec.toolset == "standard":  # rows that call draft_plan: the model needs that tool bound
        spec = spec.model_copy(update={"toolset": DRAFT_TOOLSET})
    write_view(out, spec)
    lines = [f"# twinops step dataset (compact view) from {src}", "",
             f"One row per agent decision, rendered with `agent.brains.compact.compact_view` ({VIEW_FILE}: "
             f"observation_chars={spec.observation_chars}, max_calls={spec.max_calls}, toolset={spec.toolset}).", "",
             *(f"- {split}: {n} rows" for split, n in counts.items()), "", "| family | rows |", "|---|---|",
             *(f"| {f} | {n} |" for f, n in sorted(families.items()))]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts
