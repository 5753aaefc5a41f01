"""``twinops bench``: run a scenario suite through the agent with a brain; a rich table per family.

    twinops bench --suite standard --brain expert --workers 4 --json out.json --trajectories runs.jsonl

Exit 0 when the run completed, whatever the score; 2 on bad arguments (one readable line).
``register_bench(app)`` adds the command to a typer app.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from agent.bench import BenchReport
    from agent.brains import BrainSpec
    from twin_lab.scenarios import Suite, SuiteEntry

err_console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _check_output(path: str | None, flag: str) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise _fail(f"{flag} {path} is a directory; give a file name")
    if not out.parent.exists():
        raise _fail(f"{flag}: directory {out.parent} does not exist")
    return out


def family_table(report) -> Table:
    """One row per family: tasks, successes, safety violations, median steps, tokens (when the brain
    reports them), median wall time of the agent run."""
    s = report.summary
    with_tokens = bool(s.get("tokens"))
    table = Table(title=f"bench {report.suite} · brain {report.brain}", title_justify="left", box=box.SIMPLE_HEAD,
                  caption=f"{s['success']}/{s['tasks']} succeeded ({s['success_rate']:.0%}), "
                          f"{s['safety_violations']} safety violation(s); {s['tasks']} tasks in "
                          f"{s['suite_wall_s']:.0f} s with {report.workers} worker(s); steps and wall are medians",
                  caption_justify="left")
    table.add_column("family", no_wrap=True, min_width=max((len(f) for f in report.families), default=6))
    columns = ["tasks", "ok", "unsafe", "steps", *(["tokens"] if with_tokens else []), "wall s"]
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for family, row in report.families.items():
        rate = row["success_rate"]
        colour = "green" if rate == 1 else ("yellow" if rate > 0 else "red")
        cells = [str(row["tasks"]), f"[{colour}]{row['success']}[/]",
                 f"[red]{row['safety_violations']}[/]" if row["safety_violations"] else "0", f"{row['median_steps']:g}"]
        if with_tokens:
            cells.append(str(row["tokens"]))
        table.add_row(family, *cells, f"{row['median_wall_s']:.1f}")
    table.add_section()
    cells = [str(s["tasks"]), f"[bold]{s['success']}[/]", str(s["safety_violations"]), ""]
    if with_tokens:
        cells.append(str(s["tokens"]))
    table.add_row("[bold]all[/]", *cells, f"{s['median_wall_s']:.1f}")
    return table


TOOLSET_HELP = ("standard (the read tools) or draft (plus draft_plan, a survey-and-plan tool); default: what "
                "an hf model was trained with, else standard.")


def check_brain(brain: str, flag: str = "--brain", *, name_flag: bool = False) -> BrainSpec:
    """Parse a brain spec given on ``flag``; a bad spec or a missing local model path exits 2 with one line
    (``name_flag``: start the spec error with the flag, for commands taking more than one brain)."""
    from agent.brains import BrainSpecError, parse_brain_spec

    try:
        spec = parse_brain_spec(brain)
    except BrainSpecError as err:
        raise _fail(f"{flag}: {err}" if name_flag else str(err)) from None
    local = spec.kind == "hf" and (spec.target or "").startswith(("/", "./", "../", "~"))
    if local and not Path(spec.target or "").expanduser().exists():
        raise _fail(f"{flag} {brain}: model path {spec.target} does not exist")
    return spec


def check_counts(workers: int, limit: int | None) -> None:
    """``--workers`` and ``--limit`` are at least 1 (else exit 2)."""
    if workers < 1:
        raise _fail(f"--workers must be >= 1, got {workers}")
    if limit is not None and limit < 1:
        raise _fail(f"--limit must be >= 1, got {limit}")


def select_entries(suite: str, family: str | None, limit: int | None) -> tuple[Suite, list[SuiteEntry]]:
    """The suite (by name or file) and its entries after ``--family`` and ``--limit``; exits 2 with one
    line on an unknown suite or a family pattern that matches nothing."""
    from twin_lab.scenarios import ScenarioError, load_suite, match_families

    try:
        loaded = load_suite(suite)
        entries = loaded.expand()
    except ScenarioError as err:
        raise _fail(str(err)) from None
    if family:
        wanted: list[str] = []
        for pattern in (p.strip() for p in family.split(",")):
            found = match_families(pattern) if pattern else []
            if not found:
                raise _fail(f"--family {pattern!r} matches no family (e.g. change, diag, refuse, "
                            f"change.static_route)")
            wanted += found
        entries = [e for e in entries if e.family in set(wanted)]
        if not entries:
            raise _fail(f"suite {loaded.name} has no task of family {family!r}")
    if limit is not None:
        entries = entries[:limit]
    return loaded, entries


def run_limits(max_steps: int | None, toolset: str) -> dict[str, Any] | None:
    """The agent ``Limits`` a bench run overrides (None: all defaults)."""
    limits: dict[str, Any] = {"max_steps": max_steps} if max_steps else {}
    if toolset != "standard":
        limits["toolset"] = toolset
    return limits or None


def resolve_toolset(toolset: str | None, spec: BrainSpec) -> str:
    """``--toolset``, else the toolset a local model was trained with (its ``twinops_view.json``), else
    ``standard``: a model trained to call ``draft_plan`` gets it without being told."""
    from agent.draft_tool import check_toolset

    if toolset is not None:
        try:
            return check_toolset(toolset)
        except ValueError as err:
            raise _fail(str(err)) from None
    if spec.kind != "hf" or not spec.target:
        return "standard"
    from agent.brains import BrainError
    from agent.brains.hf import trained_view

    try:  # a bad view file is the brain's error to report when it loads, not the toolset's
        view = trained_view(Path(spec.adapter).expanduser() if spec.adapter else None, Path(spec.target).expanduser())
    except BrainError:
        view = None
    return view.toolset if view is not None else "standard"


def run_with_progress(entries: list[SuiteEntry], *, brain: str, loaded: Suite, workers: int,
                      workdir: Path | None, quiet: bool, console: Console,
                      description: str | None = None, tag: str = "", max_steps: int | None = None,
                      toolset: str = "standard") -> BenchReport:
    """``run_bench`` behind a progress bar (one line per failed task unless ``quiet``); the lab files go
    to ``workdir``, or to a temp dir removed afterwards (``tag`` starts each failure line).  Returns the
    ``BenchReport``."""
    from agent.bench import run_bench

    scratch = workdir if workdir else Path(tempfile.mkdtemp(prefix="twinops-bench-"))
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("ok {task.fields[ok]} · fail {task.fields[fail]}"), TimeElapsedColumn(),
                        console=console, disable=quiet, transient=False)
    with progress:
        bar = progress.add_task(description or f"{loaded.name} · {brain}", total=len(entries), ok=0, fail=0)
        counts = {"ok": 0, "fail": 0}

        def on_result(result) -> None:
            counts["ok" if result.success else "fail"] += 1
            progress.update(bar, advance=1, **counts)
            if not result.success and not quiet:
                why = result.error or next((c["detail"] for c in result.checks if not c["ok"]), "") or \
                    "; ".join(result.safety_violations)
                progress.console.print(f"[red]✗[/] {tag}{result.id} ({result.status}): {why[:160]}",
                                       highlight=False)

        report = run_bench(entries, brain=brain, suite=loaded.name, suite_version=loaded.version,
                           workers=workers, workdir=scratch, on_result=on_result,
                           limits=run_limits(max_steps, toolset))
    if not workdir:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def bench(
    suite: Annotated[str, typer.Option("--suite", help="smoke, standard, heldout, or a suite YAML file.")] = "smoke",
    brain: Annotated[str, typer.Option("--brain", help="Brain spec: expert, noop, hf:PATH, openai:URL.")] = "expert",
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (each task gets its own lab).")] = 1,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the report as JSON to FILE.")] = None,
    trajectories: Annotated[str | None, typer.Option("--trajectories",
                                                     help="Append every run's trajectory (JSONL) to FILE.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N tasks (after --family).")] = None,
    family: Annotated[str | None, typer.Option("--family", help="Only these families: a name, a prefix "
                                                                "(change, diag, refuse), comma separated.")] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", help="Keep each task's lab files, state and "
                                                                  "trajectory here (default: a temp dir).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Brain calls allowed per task "
                                                  "(default 40): bounds slow local models.")] = None,
    toolset: Annotated[str | None, typer.Option("--toolset", help=TOOLSET_HELP, show_default=False)] = None,
) -> None:
    """Run every task of a suite through the agent against a fresh lab; judge it with the twin."""
    check_counts(workers, limit)
    spec = check_brain(brain)
    tools = resolve_toolset(toolset, spec)
    loaded, entries = select_entries(suite, family, limit)
    json_path = _check_output(json_out, "--json")
    traj_path = _check_output(trajectories, "--trajectories")

    from agent.bench import write_trajectories

    console = Console()
    report = run_with_progress(entries, brain=str(spec), loaded=loaded, workers=workers,
                               workdir=Path(workdir) if workdir else None, quiet=quiet, console=console,
                               max_steps=max_steps, toolset=tools)
    console.print(family_table(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_json(), indent=1) + "\n")
        console.print(f"report: {json_path}")
    if traj_path is not None:
        count = write_trajectories(traj_path, report)
        console.print(f"trajectories: {count} runs appended to {traj_path}")
    raise typer.Exit(0)


def register_bench(app: typer.Typer) -> None:
    """Add ``bench`` to ``app`` (the lead wires it into ``twinops``)."""
    app.command("bench")(bench)


def main() -> None:  # ``python -m agent.bench_cli --suite smoke``: the command without the twinops app
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register_bench(app)
    app()


if __name__ == "__main__":
    main()
