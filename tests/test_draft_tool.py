"""``draft_plan`` and the ``draft`` toolset: the expert's survey-and-plan as one tool, over real SSH.

Every run here serves a scenario's lab with the emulator and drives it through the real Netmiko/NAPALM
clients; the twin judges the outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.bench import run_task
from agent.brains.compact import ViewSpec, write_view
from agent.brains.constrained import draft_of
from agent.draft_tool import DRAFT_PLAN
from finetune.generate import GenerateError, generate
from finetune.steps import write_step_dataset


def _calls(trajectory: dict) -> list[list[str]]:
    return [[(c.get("function") or c).get("name") for c in m.get("tool_calls") or []]
            for m in trajectory["messages"] if m.get("role") == "assistant"]


@pytest.mark.parametrize("family", ["diag.ospf_mtu_mismatch", "change.ospf_cost"])
def test_expert_with_the_draft_toolset_drafts_then_adopts_and_the_twin_verifies(tmp_path: Path, family: str) -> None:
    result = run_task({"family": family, "seed": 1, "topology": "small"}, "expert", str(tmp_path), {"toolset": "draft"})
    assert result["success"], (result.get("error"), result.get("checks"))
    terminal = "report_diagnosis" if family.startswith("diag") else "propose_change"
    assert _calls(result["trajectory"]) == [[DRAFT_PLAN], [terminal]]
    messages = result["trajectory"]["messages"]
    drafted = draft_of(messages)
    assert drafted is not None and drafted["action"] == terminal and drafted["reads"] > 10
    adopted = next(m for m in messages if m.get("role") == "assistant" and m.get("tool_calls")
                   and (m["tool_calls"][0].get("function") or m["tool_calls"][0])["name"] == terminal)
    args = (adopted["tool_calls"][0].get("function") or adopted["tool_calls"][0])["arguments"]
    assert (json.loads(args) if isinstance(args, str) else args) == drafted["args"]


def test_a_harmful_request_is_drafted_then_refused(tmp_path: Path) -> None:
    """The tool plans what it is asked; screening is the caller's job: the expert reads the draft (a read,
    harmless) and refuses, whatever the draft says."""
    result = run_task({"family": "refuse.destructive", "seed": 1, "topology": "small"}, "expert", str(tmp_path),
                      {"toolset": "draft"})
    assert result["success"] and result["status"] == "refused"
    assert _calls(result["trajectory"]) == [[DRAFT_PLAN], ["refuse"]]


def test_standard_toolset_has_no_draft_tool(tmp_path: Path) -> None:
    result = run_task({"family": "change.ospf_cost", "seed": 1, "topology": "small"}, "expert", str(tmp_path))
    assert result["success"]
    assert all(DRAFT_PLAN not in calls for calls in _calls(result["trajectory"]))
    assert len(_calls(result["trajectory"])) > 2


def test_draft_of_reads_the_last_usable_draft() -> None:
    good = {"action": "propose_change", "args": {"changes": [], "checks": [], "summary": "s"}, "reads": 3}
    chat = [{"role": "user", "content": "CHANGE: x"},
            {"role": "tool", "name": DRAFT_PLAN, "content": json.dumps(good)}]
    assert draft_of(chat) == good
    assert draft_of([*chat, {"role": "tool", "name": DRAFT_PLAN, "content": '{"action": "none", "args": {}}'}]) is None
    assert draft_of([{"role": "tool", "name": DRAFT_PLAN, "content": "not json"}]) is None
    assert draft_of([{"role": "tool", "name": "show", "content": json.dumps(good)}]) is None


def test_generate_with_the_draft_toolset_writes_two_step_rows_and_keeps_its_toolset(tmp_path: Path) -> None:
    out = tmp_path / "data"
    report = generate(4, out, workers=1, families=["change.ospf_cost", "refuse.destructive"], toolset="draft")
    assert report.toolset == "draft" and report.sft_rows >= 4
    view = json.loads((out / "steps" / "twinops_view.json").read_text())
    assert view["toolset"] == "draft"
    rows = [json.loads(line) for line in (out / "steps" / "train.jsonl").read_text().splitlines()]
    assert rows and {r["step"] for r in rows} == {0, 1}  # draft, then adopt or refuse
    assert "draft_plan()" in rows[0]["messages"][0]["content"]  # the tool is in the signatures line
    with pytest.raises(GenerateError, match="--toolset draft"):
        generate(6, out, workers=1, families=["change.ospf_cost"], toolset="standard")
    with pytest.raises(GenerateError, match="--toolset must be one of"):
        generate(4, tmp_path / "other", workers=1, toolset="everything")


def test_step_dataset_of_standard_runs_keeps_the_standard_toolset(tmp_path: Path) -> None:
    out = tmp_path / "data"
    generate(2, out, workers=1, families=["change.ospf_cost"])
    assert json.loads((out / "steps" / "twinops_view.json").read_text())["toolset"] == "standard"
    write_step_dataset(out, tmp_path / "again")
    assert json.loads((tmp_path / "again" / "twinops_view.json").read_text())["toolset"] == "standard"


def test_bench_takes_the_toolset_from_the_model_and_rejects_unknown_ones(tmp_path: Path) -> None:
    from agent.bench_cli import resolve_toolset
    from agent.brains import parse_brain_spec
    from agent.cli import app

    model = tmp_path / "model"
    model.mkdir()
    spec = parse_brain_spec(f"hf:{model}")
    assert resolve_toolset(None, spec) == "standard"
    write_view(model, ViewSpec(toolset="draft"))
    assert resolve_toolset(None, spec) == "draft"
    assert resolve_toolset("standard", spec) == "standard"
    assert resolve_toolset(None, parse_brain_spec("expert")) == "standard"
    for command in (["bench", "--brain", "expert"], ["eval", "--brain", "expert", "--suite", "smoke"]):
        result = CliRunner().invoke(app, [*command, "--toolset", "everything"])
        assert result.exit_code == 2 and "--toolset must be one of" in result.output, result.output
    result = CliRunner().invoke(app, ["data", "generate", "--n", "2", "--out", str(tmp_path / "d"),
                                      "--toolset", "everything"])
    assert result.exit_code == 2 and "--toolset must be one of" in result.output, result.output


def test_a_model_trained_with_draft_plan_gets_it_bound_without_being_told() -> None:
    """``twinops run``/``diagnose``/``shell`` bind what an hf model's twinops_view.json says it was trained with."""
    from types import SimpleNamespace

    from agent.graph import Limits, RunContext

    def names(ctx: RunContext) -> list[str]:
        return [t.name for t in ctx.tools_for("change", "CHANGE: x")]

    drafted = SimpleNamespace(view=ViewSpec(toolset="draft"))  # only .view is read: stands in for an HFChatModel
    assert DRAFT_PLAN in names(RunContext(session=None, brain=drafted))  # type: ignore[arg-type]
    plain = SimpleNamespace(view=ViewSpec())
    assert DRAFT_PLAN not in names(RunContext(session=None, brain=plain))  # type: ignore[arg-type]
    assert DRAFT_PLAN in names(RunContext(session=None, brain=plain, limits=Limits(toolset="draft")))  # type: ignore[arg-type]
    broken = RunContext(session=None, brain_spec="hf:/nonexistent/model")  # type: ignore[arg-type]
    assert names(broken)[-2:] == ["propose_change", "refuse"]  # a brain that cannot load: the brain node says why
