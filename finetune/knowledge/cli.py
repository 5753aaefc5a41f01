"""``twinops eval-knowledge``: measure what a brain knows, optionally against a baseline brain.

Exit codes: 0 done; 1 a brain failed on every item (unreachable endpoint, broken model); 2 usage: bad
brain/judge spec (including ``expert``), bad set file, bad rubric, open Q&A without ``--judge``.
Everything heavy (LangChain, torch) is imported only when the command runs, so ``twinops --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from finetune.knowledge.evaluate import KnowledgeReport

EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_eval(brain: str, set_file: Path, *, baseline: str | None = None, judge: str | None = None,
             limit: int | None = None, rubric: Path | None = None, retries: int = 2,
             agreement_sample: float = 0.2, seed: int = 0, show_progress: bool = False) -> KnowledgeReport:
    """Validate everything cheap first (specs, set, rubric), then load brains and run; raises
    ``typer.Exit`` with the documented codes. Usable from Python (tests, notebooks) as well."""
    from finetune.knowledge.brains import QABrainError, check_qa_spec, load_qa_brain
    from finetune.knowledge.evaluate import KnowledgeReport, compare, evaluate, set_info
    from finetune.knowledge.judge import Judge, RubricError, load_rubric, rubric_info
    from finetune.knowledge.sets import SetFileError, load_set

    try:
        brain_spec = check_qa_spec(brain, "--brain")
        baseline_spec = check_qa_spec(baseline, "--baseline") if baseline else None
        judge_spec = check_qa_spec(judge, "--judge") if judge else None
    except QABrainError as exc:
        raise _fail(str(exc)) from None
    try:
        ks = load_set(set_file).limited(limit)
    except SetFileError as exc:
        raise _fail(str(exc)) from None
    judge_obj = None
    rubric_obj = None
    if ks.kind == "open_qa":
        if judge_spec is None:
            raise _fail(f"{set_file}: an open Q&A set is scored by a judge: add --judge SPEC "
                        "(e.g. openai:URL,model=NAME serving a large model)")
        try:
            rubric_obj = load_rubric(rubric)
        except RubricError as exc:
            raise _fail(str(exc)) from None
    try:
        models = [("brain", brain_spec, load_qa_brain(brain_spec, "--brain"))]
        if baseline_spec is not None:
            models.append(("baseline", baseline_spec, load_qa_brain(baseline_spec, "--baseline")))
        if rubric_obj is not None and judge_spec is not None:
            judge_obj = Judge(load_qa_brain(judge_spec, "--judge"), rubric_obj, retries=retries)
    except QABrainError as exc:
        raise _fail(str(exc)) from None

    runs = []
    for label, spec, model in models:
        if show_progress:
            from rich.progress import Progress

            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task(f"{label}: {spec}", total=len(ks.items))
                run = evaluate(ks, model, label=label, spec=str(spec), judge=judge_obj,
                               agreement_fraction=agreement_sample, seed=seed,
                               progress=lambda done, _total, t=task, b=bar: b.update(t, completed=done))
        else:
            run = evaluate(ks, model, label=label, spec=str(spec), judge=judge_obj,
                           agreement_fraction=agreement_sample, seed=seed)
        runs.append(run)
    report = KnowledgeReport(set=set_info(ks), judge=str(judge_spec) if judge_obj else None,
                             rubric=rubric_info(rubric_obj) if rubric_obj and judge_obj else None, runs=runs,
                             comparison=compare(runs[0], runs[1]) if len(runs) > 1 else [])
    return report


def eval_knowledge_command(
    brain: Annotated[str, typer.Option("--brain", help="Brain to evaluate: hf:PATH[,adapter=DIR] | openai:URL[,model=NAME].",
                                       show_default=False)],
    set_file: Annotated[Path, typer.Option("--set", help="TeleQnA JSON, MCQ / open Q&A / classification JSONL.",
                                           show_default=False)],
    baseline: Annotated[str | None, typer.Option("--baseline", help="A second brain, reported side by side "
                                                 "(e.g. the base model of an adapter).")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Judge brain for open Q&A sets.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report JSON to this file ('-': stdout, "
                                                  "no tables).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N items.")] = None,
    rubric: Annotated[Path | None, typer.Option("--rubric", help="Judge rubric YAML (default: the shipped "
                                                "rubric_v1.yaml).")] = None,
    retries: Annotated[int, typer.Option("--judge-retries", min=0, max=10,
                                         help="Retries after an invalid judge reply before it counts as a failure.")] = 2,
    agreement_sample: Annotated[float, typer.Option("--agreement-sample", min=0.0, max=1.0,
                                                    help="Share of judged answers re-scored to measure the judge's "
                                                         "self-agreement.")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the self-agreement sample.")] = 0,
) -> None:
    """Knowledge benchmarks: multiple choice (TeleQnA), judged open Q&A, classification; per category."""
    to_stdout = json_out is not None and str(json_out) == "-"
    report = run_eval(brain, set_file, baseline=baseline, judge=judge, limit=limit, rubric=rubric, retries=retries,
                      agreement_sample=agreement_sample, seed=seed, show_progress=not to_stdout)
    if to_stdout:
        print(report.model_dump_json(indent=2))
    else:
        from finetune.knowledge.tables import print_report

        print_report(report, Console())
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
            Console().print(f"wrote {json_out}", highlight=False)
    failed = [r for r in report.runs if r.items and r.errors == r.items]
    if failed:
        first = next(res.error for res in failed[0].results if res.error)
        raise _fail(f"{failed[0].label} {failed[0].spec} failed on every item; first error: {first}", EXIT_FAILED)


def register_knowledge(app: typer.Typer) -> None:
    """Add ``eval-knowledge`` to the root ``twinops`` app."""
    app.command("eval-knowledge")(eval_knowledge_command)
