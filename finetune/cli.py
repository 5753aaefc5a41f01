"""``twinops finetune`` and ``twinops data convert``.

Exit codes: 0 ok, 2 bad config / data / usage (one line naming the file), 1 training failed.

``finetune`` runs unchanged under ``accelerate launch -m agent.cli finetune --config ...`` (multi-GPU,
e.g. with ``finetune/presets/accelerate_fsdp.yaml``): only the main process writes reports and prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

console = Console()
err_console = Console(stderr=True)

data_app = typer.Typer(help="Training data: convert agent runs to TRL datasets.", no_args_is_help=True,
                       pretty_exceptions_enable=False)


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")


def finetune_command(
    config: Annotated[str, typer.Option("--config", "-c", help="Config YAML file or preset name "
                                        "(tiny-cpu, tiny-chain, qlora-phi4mini).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset folder (overrides the config's data).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Run folder (overrides the config).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Base model path (overrides the config's model).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run result as JSON (no progress bars).")]
    = False,
) -> None:
    """Fine-tune a model (SFT, DPO, CPT or a chained recipe) with LoRA/QLoRA or full training."""
    from finetune.common import TrainingError
    from finetune.config import ConfigError, load_config
    from finetune.dataset import DataError

    try:
        cfg = load_config(config, data=data, output=output, model=model)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        _quiet_libraries()
    from finetune.runner import run_finetune

    main = _is_main_process()

    def log(message: str) -> None:
        if main and not as_json:
            err_console.print(f"[dim]finetune:[/] {message}", highlight=False)

    try:
        # With --json, stdout carries exactly one JSON document: anything a library prints goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            result = run_finetune(cfg, quiet=as_json, log=log)
    except (ConfigError, DataError) as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except TrainingError as exc:
        raise _fail(str(exc), EXIT_FAILED) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", EXIT_FAILED) from None
    except Exception as exc:  # anything else inside training libraries
        raise _fail(f"training failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                    EXIT_FAILED) from None
    if not main:
        return
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=f"twinops finetune: {result.name}")
    for col in ("stage", "method", "steps", "loss first -> last", "eval before -> after", "ppl before -> after",
                "tokens/s", "wall s"):
        table.add_column(col, justify="right" if col in ("steps", "tokens/s", "wall s") else "left")
    for f in result.stages:
        table.add_row(f.stage, f.method, str(f.global_steps), f"{_num(f.train_loss_first)} -> {_num(f.train_loss_last)}",
                      f"{_num(f.eval_loss_before)} -> {_num(f.eval_loss_after)}",
                      f"{_num(f.perplexity_before)} -> {_num(f.perplexity_after)}" if f.perplexity_before else "",
                      _num(f.tokens_per_s), f"{f.train_wall_s:.1f}")
    console.print(table)
    console.print(f"run folder: {result.output}  (report.json, loss.png, README.md)")
    console.print(f"brain: [bold]{result.brain_spec}[/]", highlight=False)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        import datasets
        import transformers

        transformers.logging.set_verbosity_error()
        datasets.disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass


@data_app.command("convert")
def convert_command(
    trajectories: Annotated[list[Path], typer.Argument(help="Trajectory JSONL file(s) (twinops.trajectory/1).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset folder to write.")],
    validation: Annotated[float, typer.Option("--validation", help="Fraction of scenario seeds held out.")] = 0.1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the conversion report as JSON.")] = False,
) -> None:
    """Recorded agent runs -> SFT dataset (verified successes only; split by seed; dataset card)."""
    from finetune.dataset import DataError, convert_trajectories

    if not 0.0 <= validation < 1.0:
        raise _fail(f"--validation must be in [0, 1), got {validation}", EXIT_USAGE)
    try:
        report = convert_trajectories(trajectories, out, validation=validation)
    except DataError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
        return
    table = Table(title=f"data convert -> {report.out}")
    table.add_column("")
    table.add_column("rows", justify="right")
    for label, value in (("read", report.read), ("not verified (dropped)", report.not_verified),
                         ("unusable", report.unusable), ("duplicates (dropped)", report.duplicates),
                         ("train", report.train), ("validation", report.validation)):
        table.add_row(label, str(value))
    console.print(table)
    if report.by_category:
        console.print("categories: " + ", ".join(f"{k} {v}" for k, v in report.by_category.items()), highlight=False)
    if report.train + report.validation == 0:
        err_console.print("[yellow]warning:[/] no verified-successful run found: the dataset is empty")


@data_app.command("steps")
def steps_command(
    data: Annotated[Path, typer.Argument(help="A dataset folder with whole-run SFT rows (data generate/convert).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the step rows.")],
    observation_chars: Annotated[int, typer.Option("--observation-chars",
                                                   help="Characters of the last results a step shows.")] = 600,
    max_calls: Annotated[int, typer.Option("--max-calls", help="Tool calls per reply (longer ones are split).")] = 8,
    balance: Annotated[float, typer.Option("--balance", min=0.0, max=1.0, help="Oversample rare decisions in the "
                                           "train split up to this fraction of the commonest (0: off).")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the row counts as JSON.")] = False,
) -> None:
    """Whole runs -> one row per decision in the compact view, for small-context models (tiny-cpu)."""
    from agent.brains.compact import ViewSpec
    from finetune.dataset import DataError
    from finetune.steps import write_step_dataset

    try:
        spec = ViewSpec(observation_chars=observation_chars, max_calls=max_calls)
    except ValueError as exc:
        raise _fail(f"bad view: {str(exc).splitlines()[-1].strip()}", EXIT_USAGE) from None
    try:
        counts = write_step_dataset(data, out, spec, balance=balance)
    except DataError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        sys.stdout.write(json.dumps({"out": str(out), **counts}) + "\n")
        return
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``finetune`` and the ``data`` sub-app to the root ``twinops`` app."""
    app.command("finetune")(finetune_command)
    app.add_typer(data_app, name="data")
