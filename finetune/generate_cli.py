"""``twinops data generate --n N --out DIR [--workers K] [--seed S]`` (see ``finetune.generate``).

Exit codes: 0 ok, 2 usage (bad --n / --workers / --seed / --families).  ``register_generate(data_app)``
adds the command to the ``data`` sub-app.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

EXIT_USAGE = 2


def generate_command(
    n: Annotated[int, typer.Option("--n", help="Verified SFT samples to have in DIR (a re-run resumes).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Dataset folder to write.")],
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="First training seed (seeds count up from here).")] = 0,
    families: Annotated[str | None, typer.Option("--families", help="Comma-separated families or prefixes "
                                                 "(change, diag, refuse); default all.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (no progress bar).")] = False,
    toolset: Annotated[str, typer.Option("--toolset", help="standard (the read tools) or draft (the expert calls "
                                         "draft_plan, then adopts the draft: 2-step runs for small models).")
                       ] = "standard",
) -> None:
    """Generate SFT and DPO data from the twin with the expert brain (training seeds only)."""
    from finetune.generate import GenerateError, generate, validate_args

    err = Console(stderr=True)
    selected = None
    if families:
        from twin_lab.scenarios import match_families

        selected = []
        for part in (p.strip() for p in families.split(",") if p.strip()):
            matched = match_families(part)
            if not matched:
                err.print(f"[bold red]error:[/] unknown family {part!r}", highlight=False)
                raise typer.Exit(EXIT_USAGE)
            selected += [m for m in matched if m not in selected]
    try:
        validate_args(n, workers, seed)
        if as_json:
            report = generate(n, out, workers=workers, seed=seed, families=selected, toolset=toolset)
        else:
            columns = (TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(), TextColumn("SFT rows"),
                       TimeElapsedColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err) as bar:
                job = bar.add_task("generate", total=n)
                report = generate(n, out, workers=workers, seed=seed, families=selected, toolset=toolset,
                                  progress=lambda done, total: bar.update(job, completed=done, total=total))
    except GenerateError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        print(json.dumps(report.model_dump(mode="json")))
        return
    console = Console()
    console.print(f"wrote {out}: {report.sft_rows} SFT rows (whole runs), {report.step_rows} step rows, "
                  f"{report.dpo_rows} DPO pairs ({report.shards_run} tasks run, {report.shards_resumed} resumed) "
                  f"in {report.wall_s:.1f} s ({report.sft_per_s:.2f} verified runs/s, "
                  f"{report.step_per_s:.2f} step samples/s)", highlight=False)
    if report.failed_families:
        console.print(f"no verified run (skipped): {', '.join(report.failed_families)}", highlight=False)


def register_generate(data_app: typer.Typer) -> None:
    """Add ``generate`` to the ``data`` sub-app."""
    data_app.command("generate")(generate_command)
