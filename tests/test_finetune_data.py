"""Trajectories -> TRL datasets: verified runs only, categories, dedupe, split by seed, files datasets loads."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
from cli_support import cli_app
from typer.testing import CliRunner

from agent.trajectory import (
    Message,
    Outcome,
    TaskInfo,
    ToolCall,
    ToolCallFunction,
    Trajectory,
    append_trajectory,
)
from finetune.categories import CATEGORIES, CATEGORY_IDS, COVERED, categorize
from finetune.cli import register
from finetune.dataset import (
    DataError,
    convert_trajectories,
    dpo_pair_row,
    read_jsonl,
    split_files,
    split_rows,
    trajectory_to_sft_row,
)

TOOLS = [{"type": "function", "function": {"name": "get_interfaces", "description": "Interfaces of a device.",
                                           "parameters": {"type": "object",
                                                          "properties": {"device": {"type": "string"}}}}}]


def _trajectory(k: int, *, status: str = "verified", verified: bool = True, seed: int | None = None,
                family: str | None = "interface_shutdown", device: str | None = None) -> Trajectory:
    device = device or f"R{k}"
    call_id = f"call_{k}_random_{k * 7919}"
    messages = [
        Message(role="system", content="You are twinops."),
        Message(role="user", content=f"DIAGNOSE: {device} lost its uplink"),
        Message(role="assistant", content="", tool_calls=[ToolCall(id=call_id, function=ToolCallFunction(
            name="get_interfaces", arguments=json.dumps({"device": device})))]),
        Message(role="tool", content=f"{device}: Gi0/1 administratively down", tool_call_id=call_id,
                name="get_interfaces"),
        Message(role="assistant", content=f"Gi0/1 on {device} is shut down."),
    ]
    return Trajectory(run_id=f"run-{k}-{status}", thread_id=f"t{k}", started_at="2025-01-01T00:00:00Z",
                      task=TaskInfo(id=f"task-{k}", kind="diagnosis", prompt=messages[1].content, family=family,
                                    seed=k if seed is None else seed),
                      brain="expert", messages=messages, tools=TOOLS,
                      outcome=Outcome(status=status, success=verified, verified=verified))


def _write_runs(path: Path) -> None:
    for k in range(12):
        append_trajectory(path, _trajectory(k))
    append_trajectory(path, _trajectory(3, device="R3"))  # the same conversation again (new call ids)
    append_trajectory(path, _trajectory(20, status="rolled_back", verified=False))
    append_trajectory(path, _trajectory(21, status="failed", verified=False))
    dry = _trajectory(22, status="planned", verified=False)
    dry.outcome.success = True  # a dry-run "succeeds" without verification: not training material
    append_trajectory(path, dry)


def test_trajectory_to_sft_row_shape() -> None:
    row = trajectory_to_sft_row(_trajectory(1))
    assert set(row) >= {"messages", "tools", "category", "family", "seed", "task_id"}
    assert isinstance(row["tools"], str) and json.loads(row["tools"]) == TOOLS
    call = row["messages"][2]["tool_calls"][0]
    assert call["id"] == "call_1" and row["messages"][3]["tool_call_id"] == "call_1"  # renumbered, linked
    assert json.loads(call["function"]["arguments"]) == {"device": "R1"}
    assert row["category"] == "interface_link_management" and row["seed"] == 1
    assert trajectory_to_sft_row(_trajectory(1).model_dump(by_alias=True)) == row  # dicts work too


def test_convert_keeps_only_verified_and_loads_with_datasets(tmp_path: Path) -> None:
    from datasets import load_dataset

    runs = tmp_path / "runs.jsonl"
    _write_runs(runs)
    report = convert_trajectories([runs], tmp_path / "ds", validation=0.25)
    assert report.read == 16 and report.not_verified == 3 and report.duplicates == 1
    assert report.train + report.validation == 12 and report.validation >= 1 and report.train >= 1
    train = read_jsonl(tmp_path / "ds" / "train.jsonl")
    val = read_jsonl(tmp_path / "ds" / "validation.jsonl")
    assert {r["seed"] for r in train}.isdisjoint({r["seed"] for r in val})
    assert not {r["source"] for r in train + val} & {"run-20-rolled_back", "run-21-failed", "run-22-planned"}
    ds = load_dataset("json", data_files={"train": str(tmp_path / "ds" / "train.jsonl"),
                                          "validation": str(tmp_path / "ds" / "validation.jsonl")})
    assert ds["train"].num_rows == report.train and ds["validation"].num_rows == report.validation
    first = ds["train"][0]
    assert first["messages"][0]["role"] == "system" and isinstance(first["tools"], str)
    card = (tmp_path / "ds" / "README.md").read_text()
    assert f"**train** | **{report.train}**" in card and "interface_link_management" in card
    assert split_files(tmp_path / "ds", "sft")[0].name == "train.jsonl"


def test_chat_template_renders_converted_rows() -> None:
    from agent.brains.tiny import build_tokenizer

    row = trajectory_to_sft_row(_trajectory(2))
    tok = build_tokenizer()
    text = tok.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), tokenize=False)
    assert '<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "R2"}}\n</tool_call>' in text
    assert "<tool_response>\nR2: Gi0/1 administratively down\n</tool_response>" in text


def test_split_is_stable_per_seed() -> None:
    rows = [{"seed": s % 10, "task_id": str(s)} for s in range(50)]
    train, val = split_rows(rows, 0.3)
    assert val and train
    assert {r["seed"] for r in train}.isdisjoint({r["seed"] for r in val})
    again_train, _ = split_rows(list(reversed(rows)), 0.3)
    assert {r["seed"] for r in again_train} == {r["seed"] for r in train}


def test_dpo_pair_rows() -> None:
    traj = _trajectory(5)
    prompt, chosen = traj.messages[:4], traj.messages[4:]
    rejected = [{"role": "assistant", "content": "Reload R5."}]
    row = dpo_pair_row(prompt, chosen, rejected, TOOLS, kind="diagnosis", family="interface_shutdown", seed=5,
                       reason="unsafe")
    assert row["prompt"][2]["tool_calls"][0]["id"] == "call_1" and row["prompt"][3]["tool_call_id"] == "call_1"
    assert row["chosen"][0]["content"].startswith("Gi0/1") and row["rejected"][0]["content"] == "Reload R5."
    assert json.loads(row["tools"]) == TOOLS and row["reason"] == "unsafe"
    with pytest.raises(ValueError, match="identical"):
        dpo_pair_row(prompt, chosen, chosen)
    with pytest.raises(ValueError, match="assistant"):
        dpo_pair_row(prompt, [{"role": "user", "content": "x"}], rejected)


def test_categories() -> None:
    assert len(CATEGORIES) == 20 and len(set(CATEGORY_IDS)) == 20 and len(COVERED) == 10
    assert categorize(family="ospf_mtu_mismatch") == "routing_protocols"
    assert categorize(family="acl_block_flow") == "access_control_security"
    assert categorize(family="wrong_subnet_mask") == "ip_addressing"
    assert categorize(kind="diagnosis", prompt="users report slowness") == "network_troubleshooting"
    assert categorize(kind="change", prompt="add a loopback for management") == "configuration_change"
    assert categorize(kind="change", prompt="add a static route to 10.9.0.0/16") == "routing_protocols"


def test_cli_data_convert(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    _write_runs(runs)
    result = CliRunner().invoke(cli_app(register), ["data", "convert", str(runs), "--out", str(tmp_path / "ds"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["train"] + report["validation"] == 12 and report["not_verified"] == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"schema": "twinops.trajectory/1"}\n')
    result = CliRunner().invoke(cli_app(register), ["data", "convert", str(bad), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and str(bad) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = CliRunner().invoke(cli_app(register), ["data", "convert", str(tmp_path / "missing.jsonl"), "--out", "x"])
    assert result.exit_code == 2 and "missing.jsonl" in result.stderr


def test_missing_dataset_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train\.jsonl"):
        split_files(tmp_path, "sft")
    with pytest.raises(DataError, match="dpo"):
        split_files(tmp_path, "dpo")
