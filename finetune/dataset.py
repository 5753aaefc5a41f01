"""Trajectories -> training rows in TRL's formats, and the dataset folder layout the trainers read.

SFT rows are TRL *conversational* rows: ``messages`` (OpenAI tool-calling shape, tool-call ``arguments`` kept
as JSON text so every row has the same Arrow schema) plus a ``tools`` column holding the JSON-serialised
tool schemas (TRL's SFT and DPO trainers ``json.loads`` it). DPO rows are ``prompt`` / ``chosen`` /
``rejected`` message lists plus ``tools``. Every row also carries ``category``, ``family``, ``seed`` and
``task_id`` so cards can count them and splits can be checked for leaks.

A dataset folder (written by ``twinops data convert`` / ``data generate``)::

    DIR/train.jsonl, DIR/validation.jsonl          SFT rows
    DIR/dpo/train.jsonl, DIR/dpo/validation.jsonl  preference pairs (optional)
    DIR/corpus/                                    documents for cpt (optional)
    DIR/README.md                                  dataset card

``datasets.load_dataset("json", data_files=...)`` loads the JSONL files unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from finetune.categories import CATEGORIES, NOT_COVERED, categorize

SFT_FILES = ("train.jsonl", "validation.jsonl")
DPO_SUBDIR = "dpo"
CORPUS_SUBDIR = "corpus"
DEFAULT_VALIDATION = 0.1


class DataError(ValueError):
    """A dataset that cannot be used; one line naming the file."""


# ---- rows --------------------------------------------------------------------------------------------


def _dump(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=True)
    return dict(obj)


def normalize_messages(messages: Iterable[Any], *, id_map: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Messages in one canonical shape: ``content`` always a string, tool-call ``arguments`` JSON text,
    call ids renumbered ``call_1, call_2, ...`` in order (random ids carry nothing to learn and would
    defeat deduplication); tool results point at the renumbered ids. ``id_map`` carries the numbering
    across calls (prompt, then completion)."""
    ids = id_map if id_map is not None else {}
    out: list[dict[str, Any]] = []
    for raw in messages:
        msg = _dump(raw)
        role = msg.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"unknown message role {role!r}")
        content = msg.get("content")
        entry: dict[str, Any] = {"role": role, "content": content if isinstance(content, str) else
                                 ("" if content is None else json.dumps(content))}
        if role == "assistant" and msg.get("tool_calls"):
            calls = []
            for call in msg["tool_calls"]:
                call = _dump(call)
                fn = _dump(call.get("function") or {"name": call.get("name"), "arguments": call.get("args")})
                args = fn.get("arguments")
                if not isinstance(args, str):
                    args = json.dumps(args if args is not None else {}, sort_keys=False)
                new_id = f"call_{len(ids) + 1}"
                if call.get("id"):
                    ids[str(call["id"])] = new_id
                else:
                    ids[new_id] = new_id
                calls.append({"id": new_id, "type": "function",
                              "function": {"name": str(fn.get("name") or ""), "arguments": args}})
            entry["tool_calls"] = calls
        if role == "tool":
            ref = msg.get("tool_call_id")
            entry["tool_call_id"] = ids.get(str(ref), str(ref)) if ref is not None else ""
            entry["name"] = str(msg.get("name") or "")
        out.append(entry)
    return out


def _tools_json(tools: Sequence[Any] | str | None) -> str:
    if isinstance(tools, str):
        json.loads(tools)  # must be valid JSON already
        return tools
    return json.dumps([_dump(t) for t in (tools or [])], sort_keys=True)


def _tool_names(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [c["function"]["name"] for m in messages for c in (m.get("tool_calls") or [])]


def sft_row(messages: Iterable[Any], tools: Sequence[Any] | str | None = None, *, category: str | None = None,
            kind: str | None = None, family: str | None = None, seed: int | None = None,
            task_id: str | None = None, source: str | None = None) -> dict[str, Any]:
    """One TRL conversational SFT row (``messages`` + ``tools`` JSON) with its metadata columns."""
    msgs = normalize_messages(messages)
    if not any(m["role"] == "assistant" for m in msgs):
        raise ValueError("an SFT row needs at least one assistant message")
    prompt = next((m["content"] for m in msgs if m["role"] == "user"), "")
    return {"messages": msgs, "tools": _tools_json(tools),
            "category": category or categorize(kind=kind, family=family, prompt=prompt,
                                               tool_names=_tool_names(msgs)),
            "family": family, "seed": seed, "task_id": task_id, "source": source}


def is_verified_success(trajectory: Any) -> bool:
    """Kept for SFT: the twin verified the outcome (not merely 'success' of a dry-run or a plan)."""
    outcome = trajectory.outcome
    return bool(outcome.success and outcome.verified)


def trajectory_to_sft_row(trajectory: Any, *, category: str | None = None) -> dict[str, Any]:
    """A ``twinops.trajectory/1`` record (pydantic model or its dict) -> one SFT row. No filtering here:
    callers keep only :func:`is_verified_success` runs."""
    if isinstance(trajectory, dict):
        from agent.trajectory import Trajectory

        trajectory = Trajectory.model_validate(trajectory)
    task = trajectory.task
    return sft_row(trajectory.messages, trajectory.tools, category=category, kind=task.kind, family=task.family,
                   seed=task.seed, task_id=task.id, source=trajectory.run_id)


def dpo_pair_row(prompt: Iterable[Any], chosen: Iterable[Any], rejected: Iterable[Any],
                 tools: Sequence[Any] | str | None = None, *, category: str | None = None,
                 kind: str | None = None, family: str | None = None, seed: int | None = None,
                 task_id: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """One TRL conversational preference row: the same ``prompt`` history, a ``chosen`` and a ``rejected``
    continuation (assistant messages, possibly with tool calls). ``reason`` says why rejected is worse."""
    id_map: dict[str, str] = {}
    prompt_msgs = normalize_messages(prompt, id_map=id_map)
    chosen_msgs = normalize_messages(chosen, id_map=dict(id_map))
    rejected_msgs = normalize_messages(rejected, id_map=dict(id_map))
    if not prompt_msgs:
        raise ValueError("a preference pair needs a non-empty prompt")
    for label, msgs in (("chosen", chosen_msgs), ("rejected", rejected_msgs)):
        if not msgs or msgs[0]["role"] != "assistant":
            raise ValueError(f"{label} must start with an assistant message")
    if chosen_msgs == rejected_msgs:
        raise ValueError("chosen and rejected are identical")
    user = next((m["content"] for m in prompt_msgs if m["role"] == "user"), "")
    return {"prompt": prompt_msgs, "chosen": chosen_msgs, "rejected": rejected_msgs, "tools": _tools_json(tools),
            "category": category or categorize(kind=kind, family=family, prompt=user,
                                               tool_names=_tool_names(chosen_msgs)),
            "family": family, "seed": seed, "task_id": task_id, "reason": reason}


def row_key(row: dict[str, Any]) -> str:
    """Content hash for deduplication (conversation + tools; metadata ignored)."""
    body = {k: row[k] for k in ("messages", "prompt", "chosen", "rejected", "tools") if k in row}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def split_for(group: Any, validation: float = DEFAULT_VALIDATION) -> str:
    """'train' or 'validation' for a scenario seed (or task id): a stable hash, so one seed is always on
    the same side, whichever run or worker produced it: no state leaks from training into validation."""
    digest = hashlib.sha256(f"twinops-split:{group}".encode()).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2**64 < validation else "train"


def split_rows(rows: Sequence[dict[str, Any]], validation: float = DEFAULT_VALIDATION
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split by ``seed`` (falling back to ``task_id``); with two or more groups each side gets one."""
    def group(row: dict[str, Any]) -> str:
        return str(row["seed"]) if row.get("seed") is not None else f"task:{row.get('task_id')}"

    groups = sorted({group(r) for r in rows})
    val_groups = {g for g in groups if split_for(g, validation) == "validation"}
    if validation > 0 and len(groups) >= 2:
        ranked = sorted(groups, key=lambda g: hashlib.sha256(f"twinops-split:{g}".encode()).digest())
        if not val_groups:
            val_groups = {ranked[0]}
        elif len(val_groups) == len(groups):
            val_groups.discard(ranked[-1])
    train = [r for r in rows if group(r) not in val_groups]
    val = [r for r in rows if group(r) in val_groups]
    return train, val


# ---- files -------------------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        rows.append(row)
    return rows


def split_files(data_dir: str | Path, method: str) -> tuple[Path, Path | None]:
    """(train file, validation file or None) a trainer reads for ``method`` from a dataset folder.

    ``sft``: DIR/train.jsonl. ``dpo``: DIR/dpo/train.jsonl, else DIR/train.jsonl when it holds pairs.
    A path to a .jsonl file is used as the training file itself.
    """
    path = Path(data_dir).expanduser()
    if path.is_file():
        return path, None
    if not path.is_dir():
        raise DataError(f"{data_dir}: no such data folder")
    candidates = [path / DPO_SUBDIR, path] if method == "dpo" else [path]
    for folder in candidates:
        train = folder / SFT_FILES[0]
        if train.is_file():
            val = folder / SFT_FILES[1]
            return train, (val if val.is_file() and val.stat().st_size > 0 else None)
    where = " or ".join(str(c / SFT_FILES[0]) for c in candidates)
    raise DataError(f"{data_dir}: no {where} (write one with `twinops data convert` or `data generate`)")


def check_rows(path: Path, rows: Sequence[dict[str, Any]], method: str) -> None:
    need = ("messages",) if method == "sft" else ("prompt", "chosen", "rejected")
    if not rows:
        raise DataError(f"{path}: no rows")
    for number, row in enumerate(rows, 1):
        missing = [k for k in need if not row.get(k)]
        if missing:
            raise DataError(f"{path}: row {number}: missing {', '.join(missing)} (a {method} row needs "
                            f"{', '.join(need)})")


# ---- convert -----------------------------------------------------------------------------------------


class ConvertReport(BaseModel):
    out: str
    inputs: list[str]
    read: int = 0
    not_verified: int = 0
    unusable: int = 0
    duplicates: int = 0
    train: int = 0
    validation: int = 0
    validation_fraction: float = DEFAULT_VALIDATION
    by_category: dict[str, int] = Field(default_factory=dict)
    by_family: dict[str, int] = Field(default_factory=dict)
    by_status: dict[str, int] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)


def convert_trajectories(paths: Sequence[str | Path], out_dir: str | Path, *,
                         validation: float = DEFAULT_VALIDATION) -> ConvertReport:
    """Recorded agent runs -> SFT dataset folder: verified successes only, tagged, deduplicated, split by
    seed, plus a dataset card. Raises DataError (one line) for unreadable input."""
    from agent.trajectory import read_trajectories

    out = Path(out_dir)
    report = ConvertReport(out=str(out), inputs=[str(p) for p in paths], validation_fraction=validation)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    status: Counter[str] = Counter()
    for path in paths:
        if not Path(path).is_file():
            raise DataError(f"{path}: no such trajectory file")
        try:
            trajectories = read_trajectories(path)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        for traj in trajectories:
            report.read += 1
            status[traj.outcome.status] += 1
            if not is_verified_success(traj):
                report.not_verified += 1
                continue
            try:
                row = trajectory_to_sft_row(traj)
            except ValueError:
                report.unusable += 1
                continue
            key = row_key(row)
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
            rows.append(row)
    train, val = split_rows(rows, validation)
    out.mkdir(parents=True, exist_ok=True)
    report.train = write_jsonl(out / SFT_FILES[0], train)
    report.validation = write_jsonl(out / SFT_FILES[1], val)
    report.by_category = dict(sorted(Counter(r["category"] for r in rows).items()))
    report.by_family = dict(sorted(Counter(r["family"] or "(none)" for r in rows).items()))
    report.by_status = dict(sorted(status.items()))
    report.files = {"train": str(out / SFT_FILES[0]), "validation": str(out / SFT_FILES[1]),
                    "card": str(out / "README.md")}
    (out / "README.md").write_text(dataset_card(report, train, val), encoding="utf-8")
    return report


def dataset_card(report: ConvertReport, train: Sequence[dict[str, Any]], val: Sequence[dict[str, Any]]) -> str:
    """A Hugging Face-style dataset card (README.md) with counts per split, category and family."""
    cat_train = Counter(r["category"] for r in train)
    cat_val = Counter(r["category"] for r in val)
    fam_train = Counter(r["family"] or "(none)" for r in train)
    fam_val = Counter(r["family"] or "(none)" for r in val)
    lines = [
        "---",
        "language: [en]",
        "tags: [twinops, network-automation, tool-calling, sft]",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - {split: train, path: train.jsonl}",
        "  - {split: validation, path: validation.jsonl}",
        "---",
        "",
        "# twinops SFT dataset",
        "",
        "Agent runs recorded by twinops (`twinops.trajectory/1`), converted by `twinops data convert`. Only",
        "runs whose outcome the digital twin **verified** are kept; duplicates (same conversation and tools)",
        "are dropped; train and validation are split by scenario seed, so no scenario state appears in both.",
        "",
        "## Counts",
        "",
        "| | rows |",
        "|---|---:|",
        f"| trajectories read | {report.read} |",
        f"| not verified (dropped) | {report.not_verified} |",
        f"| unusable (no assistant turn) | {report.unusable} |",
        f"| duplicates (dropped) | {report.duplicates} |",
        f"| **train** | **{report.train}** |",
        f"| **validation** | **{report.validation}** |",
        "",
        "Outcome statuses read: " + (", ".join(f"{k} {v}" for k, v in report.by_status.items()) or "none") + ".",
        "",
        "## Use-case categories",
        "",
        "| category | train | validation |",
        "|---|---:|---:|",
    ]
    for cid, title, _covered in CATEGORIES:
        if cat_train[cid] or cat_val[cid]:
            lines.append(f"| {cid} ({title}) | {cat_train[cid]} | {cat_val[cid]} |")
    lines += ["", "Not produced by the twin (bring your own data for these): " + ", ".join(NOT_COVERED) + ".",
              "", "## Families", "", "| family | train | validation |", "|---|---:|---:|"]
    for fam in sorted(set(fam_train) | set(fam_val)):
        lines.append(f"| {fam} | {fam_train[fam]} | {fam_val[fam]} |")
    lines += [
        "",
        "## Format",
        "",
        "TRL conversational rows: `messages` (OpenAI tool-calling shape; tool-call `arguments` are JSON text)",
        "and `tools` (the JSON-serialised tool schemas), plus `category`, `family`, `seed`, `task_id`, `source`.",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("json", data_files={"train": "train.jsonl", "validation": "validation.jsonl"})',
        "```",
        "",
    ]
    return "\n".join(lines)
