"""``twinops eval``: ``twinops bench`` for a brain and a baseline on the same tasks, side by side.

    twinops eval --brain SPEC --suite NAME [--baseline SPEC] [--json FILE]
    twinops eval --brain hf:runs/x/merged --baseline expert --suite standard --workers 4 --json eval.json

Both brains run the same tasks of the suite (after ``--family`` and ``--limit``) through the real path
that ``twinops bench`` takes (``agent.bench.run_bench``: a fresh lab per task, the agent with
``--approve auto``, judged by the twin), the brain first, then the baseline.  Then a rich table, one row
per family: success (x/n) of each brain and the difference, safety violations, median steps, tokens
(when a brain reports them) and median wall time of the agent run.

Exit 0 when the run completed, whatever the scores; 2 with one readable line on bad arguments.  Every
argument (both brain specs, the suite, ``--family``, ``--limit``, ``--workers``, the output paths) is
checked before any task runs.

The JSON report (``--json FILE``)::

    {"schema": "twinops.eval/1",
     "suite": "smoke", "suite_version": 1,
     "brain": {"spec": "expert",                       # the bench summary's keys, at this level:
               "tasks": 20, "success": 19, "success_rate": 0.95, "safety_violations": 0,
               "tasks_with_violations": 0, "errors": 0, "median_wall_s": 0.4, "median_task_wall_s": 1.2,
               "tokens": 0, "suite_wall_s": 31.0,
               "summary": {...the same summary, as one object...},
               "families": {"change.static_route": {"tasks", "success", "success_rate",
                                                    "safety_violations", "errors", "median_steps",
                                                    "median_wall_s", "tokens"}, ...},
               "results": [...every task result, as in the bench report's "tasks"...],
               "workers": 2, "started_at": "..."},
     "baseline": {...the same shape...} | null,        # null without --baseline
     "tasks": [{"id", "family",                        # the tasks side by side, in suite order
                "brain": {"success", "safety_violations", "steps", "wall_s", "status", "error"},
                "baseline": {...the same...} | null}, ...]}

so ``report["brain"]["success_rate"]`` and ``report["brain"]["summary"]["success_rate"]`` both work.
(``"tasks"`` inside a brain is the bench summary's task count; the per-task results are ``"results"``.)

``--trajectories FILE`` appends the brain's runs to ``FILE`` with ``.brain`` before the suffix and the
baseline's with ``.baseline`` (``runs.jsonl`` → ``runs.brain.jsonl`` and ``runs.baseline.jsonl``), so a
baseline's runs never mix into training data by accident.  ``--workdir DIR`` keeps the lab files under
``DIR/brain`` and ``DIR/baseline``.

``register_eval(app)`` adds the command to a typer app.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from agent.bench_cli import (
    TOOLSET_HELP,
    _check_output,
    check_brain,
    check_counts,
    resolve_toolset,
    run_with_progress,
    select_entries,
)

if TYPE_CHECKING:
    from agent.bench import BenchReport, TaskResult

SCHEMA = "twinops.eval/1"
ROLES = ("brain", "baseline")


def trajectory_paths(path: str) -> dict[str, str]:
    """``runs.jsonl`` → ``{"brain": "runs.brain.jsonl", "baseline": "runs.baseline.jsonl"}``."""
    out = Path(path)
    suffix = out.suffix if out.suffix else ".jsonl"
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {role: str(out.with_name(f"{stem}.{role}{suffix}")) for role in ROLES}


def brain_json(report: BenchReport) -> dict[str, Any]:
    """One brain's part of the report: its bench summary's keys at the top, plus spec, summary, families,
    results (see the module docstring)."""
    data = report.to_json()
    return {"spec": report.brain, **data["summary"], "summary": data["summary"], "families": data["families"],
            "results": data["tasks"], "workers": data["workers"], "started_at": data["started_at"]}


def _side(result: TaskResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"success": result.success, "safety_violations": list(result.safety_violations), "steps": result.steps,
            "wall_s": result.wall_s, "status": result.status, "error": result.error}


def eval_json(brain: BenchReport, baseline: BenchReport | None) -> dict[str, Any]:
    """The ``twinops eval`` JSON report (shape in the module docstring)."""
    others = baseline.tasks if baseline is not None else []
    tasks = [{"id": result.id, "family": result.family, "brain": _side(result),
              "baseline": _side(others[i]) if i < len(others) else None}
             for i, result in enumerate(brain.tasks)]
    return {"schema": SCHEMA, "suite": brain.suite, "suite_version": brain.suite_version,
            "brain": brain_json(brain), "baseline": brain_json(baseline) if baseline is not None else None,
            "tasks": tasks}


def _ok(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    rate = row["success_rate"]
    colour = "green" if rate == 1 else ("yellow" if rate > 0 else "red")
    return f"[{colour}]{row['success']}/{row['tasks']}[/]"


def _unsafe(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    return f"[red]{row['safety_violations']}[/]" if row["safety_violations"] else "0"


def _delta(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if not a or not b:
        return "-"
    diff = a["success"] - b["success"]
    return f"[green]+{diff}[/]" if diff > 0 else (f"[red]{diff}[/]" if diff < 0 else "0")


def _pair(values: list[str]) -> str:
    return " / ".join(values)


def eval_table(brain: BenchReport, baseline: BenchReport | None) -> Table:
    """One row per family: success x/n of the brain and of the baseline and the difference (in tasks); then
    safety violations, median steps, tokens (when a brain reports them) and median wall time of the agent
    run, each as ``brain / baseline``; an ``all`` row and the totals in the caption."""
    reports = [brain] if baseline is None else [brain, baseline]
    with_tokens = any(r.summary.get("tokens") for r in reports)
    title = f"eval {brain.suite} · brain {brain.brain}" + (f" vs baseline {baseline.brain}" if baseline else "")
    parts = [f"{role} {r.brain}: {r.summary['success']}/{r.summary['tasks']} ({r.summary['success_rate']:.0%}), "
             f"{r.summary['safety_violations']} unsafe" for role, r in zip(ROLES, reports, strict=False)]
    notes = "steps and wall are medians"
    if baseline is not None:
        points = (brain.summary["success_rate"] - baseline.summary["success_rate"]) * 100
        parts.append(f"success {points:+.0f} pp")
        notes = f"Δ ok in tasks; a / b = brain / baseline; {notes}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption=" · ".join(parts) + f"\n{notes}",
                  caption_justify="left")
    families = list(dict.fromkeys([*brain.families, *(baseline.families if baseline else {})]))
    table.add_column("family", no_wrap=True, min_width=max((len(f) for f in families), default=6))
    columns = [*(["brain ok", "base ok", "Δ ok"] if baseline else ["ok"]), "unsafe", "steps",
               *(["tokens"] if with_tokens else []), "wall s"]
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)

    def cells(rows: list[dict[str, Any] | None], total: bool) -> list[str]:
        out = [_ok(row) for row in rows]
        if baseline is not None:
            out.append(_delta(rows[0], rows[1]))
        out.append(_pair([_unsafe(row) for row in rows]))
        out.append("" if total else _pair([f"{row['median_steps']:g}" if row else "-" for row in rows]))
        if with_tokens:
            out.append(_pair([str(row["tokens"]) if row else "-" for row in rows]))
        out.append(_pair([f"{row['median_wall_s']:.1f}" if row else "-" for row in rows]))
        return out

    for family in families:
        table.add_row(family, *cells([r.families.get(family) for r in reports], total=False))
    table.add_section()
    table.add_row("[bold]all[/]", *cells([r.summary for r in reports], total=True))
    return table


def _release(spec: str) -> None:
    """Drop a brain loaded in this process (``workers=1``) before the next one loads: two local models
    need not share the GPU."""
    from agent.bench import release_brain

    if release_brain(spec):
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


def eval_command(
    brain: Annotated[str, typer.Option("--brain", help="Brain to evaluate: expert, noop, hf:PATH, openai:URL.",
                                       show_default=False)],
    suite: Annotated[str, typer.Option("--suite", help="smoke, standard, heldout, or a suite YAML file.",
                                       show_default=False)],
    baseline: Annotated[str | None, typer.Option("--baseline", help="A second brain run on the same tasks, "
                                                 "side by side (e.g. expert, noop, the base model).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write both reports as JSON to FILE.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (each task gets its own lab).")] = 1,
    family: Annotated[str | None, typer.Option("--family", help="Only these families: a name, a prefix "
                                                                "(change, diag, refuse), comma separated.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N tasks (after --family).")] = None,
    trajectories: Annotated[str | None, typer.Option("--trajectories", help="Append the runs (JSONL) to FILE with "
                                                     ".brain / .baseline before the suffix.")] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", help="Keep each task's lab files under DIR/brain "
                                                                  "and DIR/baseline (default: a temp dir).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Brain calls allowed per task "
                                                  "(default 40): bounds slow local models.")] = None,
    toolset: Annotated[str | None, typer.Option("--toolset", help=TOOLSET_HELP + " Both brains get the same "
                                                "tools.", show_default=False)] = None,
) -> None:
    """Benchmark a brain and a baseline on the same suite tasks; a side-by-side table per family."""
    check_counts(workers, limit)
    specs = {"brain": check_brain(brain, "--brain", name_flag=True)}
    tools = resolve_toolset(toolset, specs["brain"])
    if baseline is not None:
        specs["baseline"] = check_brain(baseline, "--baseline", name_flag=True)
    loaded, entries = select_entries(suite, family, limit)
    json_path = _check_output(json_out, "--json")
    traj_paths = {}
    if trajectories is not None:
        traj_paths = {role: _check_output(path, "--trajectories")
                      for role, path in trajectory_paths(trajectories).items() if role in specs}

    from agent.bench import write_trajectories

    console = Console()
    reports: dict[str, BenchReport] = {}
    for role, spec in specs.items():
        reports[role] = run_with_progress(entries, brain=str(spec), loaded=loaded, workers=workers,
                                          workdir=Path(workdir) / role if workdir else None, quiet=quiet,
                                          console=console, description=f"{role} · {loaded.name} · {spec}",
                                          tag=f"{role}: ", max_steps=max_steps, toolset=tools)
        _release(str(spec))
    console.print(eval_table(reports["brain"], reports.get("baseline")))
    if json_path is not None:
        json_path.write_text(json.dumps(eval_json(reports["brain"], reports.get("baseline")), indent=1) + "\n")
        console.print(f"report: {json_path}")
    for role, path in traj_paths.items():
        if path is not None:
            count = write_trajectories(path, reports[role])
            console.print(f"trajectories ({role}): {count} runs appended to {path}")
    raise typer.Exit(0)


def register_eval(app: typer.Typer) -> None:
    """Add ``eval`` to ``app`` (the ``twinops`` app wires it in ``agent/cli.py``)."""
    app.command("eval")(eval_command)


def main() -> None:  # ``python -m agent.eval_cli --brain expert --baseline noop --suite smoke``
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register_eval(app)
    app()


if __name__ == "__main__":
    main()
