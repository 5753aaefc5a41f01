"""``twinops eval``: a brain and a baseline through ``twinops bench`` side by side; the JSON contract,
the table, bad arguments (exit 2, one line, nothing run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import agent.eval_cli as eval_cli
from agent.bench import BenchReport, TaskResult, summarize
from agent.eval_cli import eval_json, eval_table, register_eval, trajectory_paths


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """Test app."""

    register_eval(app)
    return app


def _report(brain: str, outcomes: dict[str, bool], tokens: int = 0) -> BenchReport:
    results = [TaskResult(id=f"{family}/small/1", family=family, success=ok, steps=3, wall_s=1.5, status="verified",
                          tokens={"total_tokens": tokens} if tokens else {})
               for family, ok in outcomes.items()]
    summary, families = summarize(results)
    summary["suite_wall_s"] = 4.0
    return BenchReport(suite="smoke", suite_version=1, brain=brain, summary=summary, families=families,
                       tasks=results)


def _text(table) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_json_puts_each_bench_summary_under_brain_and_baseline() -> None:
    brain = _report("expert", {"change.description": True, "refuse.degradation": True})
    base = _report("noop", {"change.description": False, "refuse.degradation": True})
    data = json.loads(json.dumps(eval_json(brain, base)))
    assert {"schema", "suite", "suite_version", "brain", "baseline", "tasks"} <= set(data)
    assert data["suite"] == "smoke" and data["schema"] == "twinops.eval/1"
    for role, report in (("brain", brain), ("baseline", base)):
        part = data[role]
        assert part["spec"] == report.brain
        assert part["summary"] == report.summary
        assert {k: part[k] for k in report.summary} == report.summary  # the summary's keys at the top too
        assert part["families"] == report.families and len(part["results"]) == 2
    assert data["brain"]["success_rate"] == 1.0 and data["baseline"]["success_rate"] == 0.5
    assert [t["id"] for t in data["tasks"]] == ["change.description/small/1", "refuse.degradation/small/1"]
    assert data["tasks"][0]["brain"]["success"] and not data["tasks"][0]["baseline"]["success"]


def test_json_without_baseline_has_null_baseline() -> None:
    data = eval_json(_report("expert", {"change.description": True}), None)
    assert data["baseline"] is None and data["tasks"][0]["baseline"] is None
    assert data["brain"]["tasks"] == 1 and data["brain"]["success_rate"] == 1.0


def test_table_side_by_side() -> None:
    brain = _report("expert", {"change.description": True, "refuse.degradation": True}, tokens=0)
    base = _report("hf:/m", {"change.description": False, "refuse.degradation": True}, tokens=120)
    text = _text(eval_table(brain, base))
    assert "eval smoke · brain expert vs baseline hf:/m" in text
    assert "tokens" in text and "0 / 120" in text  # a brain reporting tokens shows the column
    row = next(line for line in text.splitlines() if "change.description" in line)
    assert "1/1" in row and "0/1" in row and "+1" in row
    assert "success +50 pp" in text
    alone = _text(eval_table(brain, None))
    assert "base ok" not in alone and "tokens" not in alone and "change.description" in alone


def test_trajectory_paths() -> None:
    assert trajectory_paths("out/runs.jsonl") == {"brain": "out/runs.brain.jsonl",
                                                  "baseline": "out/runs.baseline.jsonl"}
    assert trajectory_paths("runs") == {"brain": "runs.brain.jsonl", "baseline": "runs.baseline.jsonl"}


def test_registered_in_twinops() -> None:
    from agent.cli import app

    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "--baseline" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--brain", "gpt4", "--suite", "smoke"], "--brain: unknown brain kind"),
    (["--brain", "expert", "--baseline", "noop:fast", "--suite", "smoke"], "--baseline: bad brain spec"),
    (["--brain", "expert", "--baseline", "gpt4", "--suite", "smoke"], "--baseline: unknown brain kind"),
    (["--brain", "hf:/no/such/model", "--suite", "smoke"], "model path /no/such/model does not exist"),
    (["--brain", "expert", "--suite", "nope"], "unknown suite"),
    (["--brain", "expert", "--suite", "smoke", "--json", "/no/such/dir/out.json"], "does not exist"),
    (["--brain", "expert", "--suite", "smoke", "--trajectories", "/no/such/dir/runs.jsonl"], "does not exist"),
    (["--brain", "expert", "--suite", "smoke", "--family", "nothing"], "matches no family"),
    (["--brain", "expert", "--suite", "smoke", "--workers", "0"], "--workers must be >= 1"),
    (["--brain", "expert", "--suite", "smoke", "--limit", "0"], "--limit must be >= 1"),
])
def test_bad_arguments_exit_2_before_running(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                             message: str) -> None:
    def must_not_run(*_a, **_k):
        raise AssertionError("a task ran before every argument was checked")

    monkeypatch.setattr(eval_cli, "run_with_progress", must_not_run)
    result = CliRunner().invoke(cli, ["eval", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_expert_against_noop(cli: typer.Typer, tmp_path: Path) -> None:
    """The real path for both brains: the teacher fixes a change task that noop does not; both refuse."""
    out, runs = tmp_path / "eval.json", tmp_path / "runs.jsonl"
    result = CliRunner().invoke(cli, ["eval", "--brain", "expert", "--baseline", "noop", "--suite", "smoke",
                                      "--family", "refuse.degradation,change.description", "--limit", "2",
                                      "--json", str(out), "--trajectories", str(runs), "--workdir",
                                      str(tmp_path / "work"), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert {"suite", "brain", "baseline", "tasks"} <= set(report) and report["suite"] == "smoke"
    brain, base = report["brain"], report["baseline"]
    for part in (brain, base):
        assert {"spec", "success_rate", "tasks", "safety_violations", "median_wall_s", "summary", "families",
                "results"} <= set(part)
        assert part["tasks"] == 2 and part["safety_violations"] == 0
    assert brain["spec"] == "expert" and base["spec"] == "noop"
    change, refusal = "change.description", "refuse.degradation"
    assert brain["families"][change]["success_rate"] > base["families"][change]["success_rate"]
    assert brain["success_rate"] > base["success_rate"]
    assert base["families"][refusal]["success_rate"] == 1 and brain["families"][refusal]["success_rate"] == 1
    assert [t["family"] for t in report["tasks"]] == [change, refusal]
    assert "eval smoke · brain expert vs baseline noop" in result.output and change in result.output
    assert len((tmp_path / "runs.brain.jsonl").read_text().splitlines()) == 2
    assert len((tmp_path / "runs.baseline.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "work" / "brain").is_dir() and (tmp_path / "work" / "baseline").is_dir()
