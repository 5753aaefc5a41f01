"""The compact view and step rows: what a small model sees is the same at training and at inference."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from typer.testing import CliRunner

from agent.brains import load_chat_model
from agent.brains.compact import VIEW_FILE, ViewSpec, compact_view, read_view, write_view
from agent.brains.hf import messages_to_chat
from agent.brains.tiny import build_tiny_model
from agent.cli import app
from finetune.dataset import sft_row, write_jsonl
from finetune.steps import balance_rows, rechunk, reply_tool, step_rows, write_step_dataset

TOOLS = [{"type": "function", "function": {"name": n, "description": "long text " * 20,
                                           "parameters": {"type": "object", "properties": props}}}
         for n, props in (("list_devices", {}), ("get_interfaces", {"device": {"type": "string"}}),
                          ("refuse", {"reason": {"type": "string"}}))]


def _call(i: int, name: str, **args: str) -> dict:
    return {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _run(devices: int = 20) -> list[dict]:
    """system, task, list_devices, a survey of ``devices`` calls, a terminal call."""
    names = [f"R{i}" for i in range(1, devices + 1)]
    msgs = [{"role": "system", "content": "You are twinops."},
            {"role": "user", "content": "DIAGNOSE: R7 Gi0/1 is down"},
            {"role": "assistant", "content": "", "tool_calls": [_call(0, "list_devices")]},
            {"role": "tool", "tool_call_id": "c0", "name": "list_devices",
             "content": json.dumps({"devices": [{"name": n} for n in names]})},
            {"role": "assistant", "content": "",
             "tool_calls": [_call(i + 1, "get_interfaces", device=n) for i, n in enumerate(names)]}]
    msgs += [{"role": "tool", "tool_call_id": f"c{i + 1}", "name": "get_interfaces",
              "content": f"{n} OBSERVATION-{n} " + "x" * 500} for i, n in enumerate(names)]
    msgs.append({"role": "assistant", "content": "", "tool_calls": [_call(99, "refuse", reason="done")]})
    return msgs


def test_compact_view_shows_task_devices_reads_and_only_the_last_results() -> None:
    msgs = _run(20)
    view = compact_view(msgs[:-1], TOOLS, ViewSpec(observation_chars=400))
    assert [m["role"] for m in view] == ["system", "user"]
    system, user = view[0]["content"], view[1]["content"]
    assert "TOOLS: list_devices() | get_interfaces(device) | refuse(reason)" in system
    assert "long text" not in system  # descriptions are left to constrained decoding
    assert user.startswith("DIAGNOSE: R7 Gi0/1 is down")
    assert "DEVICES: R1 R2" in user and "R20" in user
    assert "READ: list_devices; get_interfaces R1 R2" in user
    assert "UNREAD: none" in user
    assert "OBSERVATION-R20" in user  # every last result appears, clipped to its share
    assert len(user) < 400 + 20 * 60 + 600
    assert '"devices"' not in user  # the list_devices result was not the last reply's


def test_rechunk_splits_long_replies_and_keeps_results_with_their_calls() -> None:
    msgs = rechunk(_run(20), max_calls=8)
    sizes = [len(m["tool_calls"]) for m in msgs if m["role"] == "assistant"]
    assert sizes == [1, 8, 8, 4, 1]
    for i, msg in enumerate(msgs):  # every part is followed by exactly its own results
        if msg["role"] == "assistant":
            ids = [c["id"] for c in msg["tool_calls"]]
            following = [m["tool_call_id"] for m in msgs[i + 1:i + 1 + len(ids)] if m["role"] == "tool"]
            assert following == ids or msg is msgs[-1]


def test_step_rows_one_per_decision_each_ending_with_the_reply() -> None:
    row = sft_row(_run(20), TOOLS, family="diag.x", seed=3, task_id="diag.x/small/3")
    steps = step_rows(row, ViewSpec(max_calls=8))
    assert len(steps) == 5
    for i, step in enumerate(steps):
        assert [m["role"] for m in step["messages"]] == ["system", "user", "assistant"]
        assert step["tools"] == "[]" and step["step"] == i and step["task_id"] == "diag.x/small/3"
    assert json.loads(steps[0]["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {}
    assert "READ" not in steps[0]["messages"][1]["content"]
    second_survey = steps[2]["messages"]
    assert "get_interfaces R1 R2 R3 R4 R5 R6 R7 R8" in second_survey[1]["content"]
    assert "UNREAD: R9 R10 R11" in second_survey[1]["content"]
    assert json.loads(second_survey[2]["tool_calls"][0]["function"]["arguments"]) == {"device": "R9"}
    assert steps[-1]["messages"][2]["tool_calls"][0]["function"]["name"] == "refuse"


def test_write_step_dataset_loads_with_datasets_and_carries_the_view(tmp_path: Path) -> None:
    src = tmp_path / "data"
    write_jsonl(src / "train.jsonl", [sft_row(_run(12), TOOLS, seed=1, task_id="a")])
    write_jsonl(src / "validation.jsonl", [sft_row(_run(4), TOOLS, seed=2, task_id="b")])
    counts = write_step_dataset(src, tmp_path / "steps", ViewSpec(observation_chars=300, max_calls=4))
    assert counts == {"train": 5, "validation": 3}
    assert read_view(tmp_path / "steps") == ViewSpec(observation_chars=300, max_calls=4)
    import datasets

    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "steps" / "train.jsonl"), split="train")
    assert len(loaded) == 5 and set(loaded.column_names) >= {"messages", "tools", "family", "step"}


def _step(name: str, task: str) -> dict:
    return sft_row([{"role": "user", "content": task},
                    {"role": "assistant", "content": "", "tool_calls": [_call(0, name)]}], [], task_id=task)


def test_balance_oversamples_rare_decisions_up_to_the_floor() -> None:
    rows = [_step("draft_plan", f"t{i}") for i in range(40)] + [_step("propose_change", f"p{i}") for i in range(20)] \
        + [_step("refuse", f"r{i}") for i in range(3)]
    balanced = balance_rows(rows, 0.25)
    counts = {name: sum(reply_tool(r) == name for r in balanced) for name in ("draft_plan", "propose_change", "refuse")}
    assert counts == {"draft_plan": 40, "propose_change": 20, "refuse": 12}  # 10 wanted: 4 copies of each of 3
    assert balanced[:len(rows)] == rows  # the originals first, in order
    assert balance_rows(rows, 0.0) == rows
    assert sum(reply_tool(r) == "refuse" for r in balance_rows(rows, 1.0)) == 24  # at most 8 copies of a row


def test_data_steps_balance_touches_only_the_train_split(tmp_path: Path) -> None:
    src = tmp_path / "data"
    write_jsonl(src / "train.jsonl", [sft_row(_run(12), TOOLS, seed=1, task_id="a")])
    write_jsonl(src / "validation.jsonl", [sft_row(_run(4), TOOLS, seed=2, task_id="b")])
    out = CliRunner().invoke(app, ["data", "steps", str(src), "--out", str(tmp_path / "s"), "--max-calls", "4",
                                   "--balance", "1.0", "--json"])
    assert out.exit_code == 0, out.output
    # train: list_devices 1, get_interfaces 3, refuse 1 -> every class up to 3 rows; validation untouched
    assert json.loads(out.output)["train"] == 9 and json.loads(out.output)["validation"] == 3
    bad = CliRunner().invoke(app, ["data", "steps", str(src), "--out", str(tmp_path / "s"), "--balance", "2"])
    assert bad.exit_code == 2


def test_data_steps_cli_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["data", "steps", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no SFT rows" in missing.output and "Traceback" not in missing.output
    (tmp_path / "d").mkdir()
    write_jsonl(tmp_path / "d" / "train.jsonl", [sft_row(_run(2), TOOLS, seed=1)])
    bad = runner.invoke(app, ["data", "steps", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                              "--observation-chars", "5"])
    assert bad.exit_code == 2 and "bad view" in bad.output
    (tmp_path / "d" / "train.jsonl").write_text('{"messages": "not a list", "tools": "[]"}\n')
    broken = runner.invoke(app, ["data", "steps", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    assert broken.exit_code == 2 and "train.jsonl" in broken.output


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_hf_brain_renders_the_view_its_model_was_trained_on(tiny_dir: Path, tmp_path: Path) -> None:
    history = [SystemMessage("You are twinops."), HumanMessage("DIAGNOSE: R7 Gi0/1 is down"),
               AIMessage("", tool_calls=[{"name": "list_devices", "args": {}, "id": "a"}]),
               ToolMessage(json.dumps({"devices": [{"name": "R7"}]}), tool_call_id="a", name="list_devices"),
               AIMessage("", tool_calls=[{"name": "get_interfaces", "args": {"device": "R7"}, "id": "b"}]),
               ToolMessage("R7 Gi0/1 administratively down", tool_call_id="b", name="get_interfaces")]
    full = load_chat_model(f"hf:{tiny_dir}")
    assert full.view is None
    assert "<tools>" in full.render_prompt(history, TOOLS)

    view = ViewSpec(observation_chars=200, max_calls=2)
    assert write_view(tiny_dir, view).name == VIEW_FILE
    try:
        compact = load_chat_model(f"hf:{tiny_dir}")
        assert compact.view == view
        prompt = compact.render_prompt(history, TOOLS)
        expected = compact_view(messages_to_chat(history), TOOLS, view)
        assert prompt == compact.tokenizer.apply_chat_template(expected, add_generation_prompt=True, tokenize=False)
        assert "<tools>" not in prompt and "LAST RESULTS" in prompt and "READ: list_devices; get_interfaces R7" in prompt
    finally:
        (tiny_dir / VIEW_FILE).unlink()
