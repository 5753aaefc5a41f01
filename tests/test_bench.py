"""``twinops bench``: the reviewer, the real path per task, the JSON contract, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agent.bench import TaskResult, reviewer, run_task, stopped_by, summarize
from agent.bench_cli import register_bench
from agent.trajectory import Trajectory
from twin_lab.scenarios import generate_task


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """Test app."""

    register_bench(app)
    return app


def test_reviewer_never_rubber_stamps() -> None:
    change = reviewer(generate_task("change.ospf_cost", 1, "small"))
    acl = reviewer(generate_task("change.acl_block", 1, "small"))
    refusal = reviewer(generate_task("refuse.destructive", 1, "small"))

    def ask(*rules: str) -> dict:
        return {"verdict": {"decision": "needs_approval",
                            "rules": [{"id": r, "decision": "needs_approval", "reason": ""} for r in rules]}}

    assert change(ask("core-routing-change", "outside-change-window"))["approved"]
    assert not change(ask("core-routing-change", "prompt-injection"))["approved"]
    assert not change(ask("dry-run-reachability-lost"))["approved"]  # not expected for a cost change
    assert acl(ask("single-party-restriction", "dry-run-reachability-lost"))["approved"]
    assert not refusal(ask("outside-change-window"))["approved"]


def test_stopped_by() -> None:
    assert stopped_by({"status": "refused", "error": "the agent refused: no"}, [], []) == "agent"
    deny = [{"decision": "deny", "rules": [{"id": "destructive-command", "decision": "deny"}]}]
    assert stopped_by({"status": "refused", "error": "denied by policy: x"}, deny, []) == "policy"
    twin = [{"decision": "deny", "rules": [{"id": "twin.config-error", "decision": "deny"}]}]
    assert stopped_by({"status": "refused", "error": "denied by policy: twin"}, twin, []) == "twin"
    rejected = [{"decision": "rejected", "by": "bench-reviewer"}]
    assert stopped_by({"status": "refused", "error": "rejected by bench-reviewer"}, [], rejected) == "reviewer"
    assert stopped_by({"status": "verified"}, [], []) == "none"


def test_noop_brain_passes_refusals_and_fails_the_rest(tmp_path: Path) -> None:
    """The real path (a lab over SSH per task, the LangGraph agent) with the do-nothing brain."""
    results = {}
    for family in ("refuse.degradation", "change.description", "diag.interface_shutdown"):
        data = run_task({"family": family, "seed": 1, "topology": "small"}, "noop", str(tmp_path))
        results[family] = TaskResult.model_validate({k: v for k, v in data.items() if k != "trajectory"})
        assert data["trajectory"]["bench"]["task_id"] == data["id"]
        Trajectory.model_validate(data["trajectory"])  # a valid twinops.trajectory/1 record (plus "bench")
    assert results["refuse.degradation"].success and results["refuse.degradation"].stopped_by == "agent"
    assert not results["change.description"].success and results["change.description"].status == "refused"
    assert not results["diag.interface_shutdown"].success
    assert results["diag.interface_shutdown"].status == "diagnosed"
    assert all(not r.safety_violations and r.error is None for r in results.values())
    summary, families = summarize(list(results.values()))
    assert summary["tasks"] == 3 and summary["success"] == 1 and families["refuse.degradation"]["success_rate"] == 1


def test_a_task_that_cannot_be_generated_is_a_failed_task(tmp_path: Path) -> None:
    data = run_task({"family": "diag.bgp_missing_update_source", "seed": 1, "topology": "gen-8"}, "noop",
                    str(tmp_path))
    assert data["success"] is False and data["error"].startswith("generate:")


def test_cli_writes_the_json_contract(cli: typer.Typer, tmp_path: Path) -> None:
    out, traj = tmp_path / "report.json", tmp_path / "runs.jsonl"
    result = CliRunner().invoke(cli, ["bench", "--suite", "smoke", "--brain", "noop", "--workers", "2",
                                      "--limit", "4", "--family", "refuse,change", "--json", str(out),
                                      "--trajectories", str(traj), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert {"suite", "brain", "summary", "families", "tasks"} <= set(report)
    assert report["suite"] == "smoke" and report["brain"] == "noop"
    assert {"tasks", "success_rate", "safety_violations", "median_wall_s"} <= set(report["summary"])
    assert report["summary"]["tasks"] == 4
    for task in report["tasks"]:
        assert {"id", "family", "success", "safety_violations", "steps", "wall_s"} <= set(task)
        assert isinstance(task["success"], bool) and isinstance(task["safety_violations"], list)
        assert task["family"].startswith(("refuse.", "change."))
    assert report["summary"]["success_rate"] == pytest.approx(
        sum(t["success"] for t in report["tasks"]) / 4)
    lines = traj.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["bench"]["task_id"] for line in lines)
    assert "bench smoke" in result.output and "change.static_route" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--suite", "nope"], "unknown suite"),
    (["--brain", "gpt4"], "unknown brain kind"),
    (["--brain", "expert:fast"], "takes no options"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--limit", "0"], "--limit must be >= 1"),
    (["--family", "nothing"], "matches no family"),
    (["--json", "/no/such/dir/out.json"], "does not exist"),
])
def test_bad_arguments_exit_2(cli: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["bench", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_expert_on_smoke_tasks(cli: typer.Typer, tmp_path: Path) -> None:
    """The teacher through the CLI on a few smoke tasks: a diagnosis, a change and a refusal."""
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["bench", "--suite", "smoke", "--brain", "expert", "--family",
                                      "diag.interface_shutdown,change.static_route,refuse.destructive",
                                      "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["summary"]["tasks"] == 3
    assert report["summary"]["safety_violations"] == 0
    assert all(t["success"] for t in report["tasks"]), [(t["id"], t["checks"]) for t in report["tasks"]]
