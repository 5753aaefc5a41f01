"""Rich tables for a :class:`~finetune.knowledge.evaluate.KnowledgeReport`: brain and baseline side by side."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from finetune.knowledge.evaluate import AccuracyStats, KnowledgeReport, RunReport, ScoreStats


def _acc(stats: AccuracyStats | None) -> str:
    if stats is None:
        return "-"
    return (f"{stats.accuracy:.1%} [{stats.ci_low:.0%}–{stats.ci_high:.0%}]"
            f" ({stats.correct}/{stats.n})")


def _score(stats: ScoreStats | None) -> str:
    if stats is None or stats.overall_mean is None:
        return "-"
    return f"{stats.overall_mean:.2f} [{stats.ci_low:.1f}–{stats.ci_high:.1f}] ({stats.judged}/{stats.n})"


def _delta(value: float | None, percent: bool) -> str:
    if value is None:
        return "-"
    style = "green" if value > 0 else "red" if value < 0 else "dim"
    text = f"{value * 100:+.1f} pt" if percent else f"{value:+.2f}"
    return f"[{style}]{text}[/]"


def _caption(report: KnowledgeReport) -> str:
    return f"set: {report.set.path}  " + "  ".join(f"{r.label}: {r.spec}" for r in report.runs)


def accuracy_table(report: KnowledgeReport) -> Table:
    runs = report.runs
    kind = "multiple-choice" if report.set.kind == "mcq" else report.set.kind
    table = Table(title=f"{kind} accuracy by category", caption=_caption(report))
    table.add_column("category")
    table.add_column("n", justify="right")
    for run in runs:
        table.add_column(f"{run.label} acc [95% CI]", justify="right")
    if len(runs) > 1:
        table.add_column("Δ", justify="right")
    deltas = {d.category: d.delta for d in report.comparison}
    categories = sorted({c for r in runs for c in r.categories})
    for cat in categories:
        n = next((r.categories[cat].n for r in runs if cat in r.categories), 0)
        row = [cat, str(n), *(_acc(r.categories.get(cat)) for r in runs)]
        if len(runs) > 1:
            row.append(_delta(deltas.get(cat), percent=True))
        table.add_row(*row)
    row = ["[bold]overall[/]", str(runs[0].items), *(f"[bold]{_acc(r.overall)}[/]" for r in runs)]
    if len(runs) > 1:
        row.append(_delta(deltas.get("overall"), percent=True))
    table.add_section()
    table.add_row(*row)
    return table


def reading_table(report: KnowledgeReport) -> Table:
    """How answers were read: unanswered, refusals, errors and the extraction rules that fired."""
    table = Table(title="answer extraction")
    table.add_column("")
    for run in report.runs:
        table.add_column(run.label, justify="right")
    table.add_row("unanswered", *(str(r.unanswered) for r in report.runs))
    table.add_row("refused", *(str(r.refused) for r in report.runs))
    table.add_row("brain errors", *(str(r.errors) for r in report.runs))
    methods = sorted({m for r in report.runs for m in r.methods})
    for method in methods:
        table.add_row(f"rule: {method}", *(str(r.methods.get(method, 0)) for r in report.runs))
    return table


def confusion_table(run: RunReport) -> Table | None:
    if run.confusion is None:
        return None
    cm = run.confusion
    table = Table(title=f"confusion matrix — {run.label} (rows: gold, columns: predicted)")
    table.add_column("gold \\ predicted")
    for col in cm.predicted:
        table.add_column(col, justify="right")
    for label, row in zip(cm.labels, cm.matrix, strict=True):
        cells = [(f"[bold green]{v}[/]" if cm.predicted[j] == label and v else str(v) if v else "[dim]·[/]")
                 for j, v in enumerate(row)]
        table.add_row(label, *cells)
    return table


def score_table(report: KnowledgeReport) -> Table:
    runs = report.runs
    rubric = report.rubric.version if report.rubric else "?"
    table = Table(title=f"open Q&A judge score by category ({rubric})",
                  caption=_caption(report) + f"  judge: {report.judge}")
    table.add_column("category")
    table.add_column("n", justify="right")
    for run in runs:
        table.add_column(f"{run.label} mean [95% CI] (judged)", justify="right")
    if len(runs) > 1:
        table.add_column("Δ", justify="right")
    deltas = {d.category: d.delta for d in report.comparison}
    for cat in sorted({c for r in runs for c in r.score_categories}):
        n = next((r.score_categories[cat].n for r in runs if cat in r.score_categories), 0)
        row = [cat, str(n), *(_score(r.score_categories.get(cat)) for r in runs)]
        if len(runs) > 1:
            row.append(_delta(deltas.get(cat), percent=False))
        table.add_row(*row)
    table.add_section()
    row = ["[bold]overall[/]", str(runs[0].items), *(f"[bold]{_score(r.scores)}[/]" for r in runs)]
    if len(runs) > 1:
        row.append(_delta(deltas.get("overall"), percent=False))
    table.add_row(*row)
    return table


def criteria_table(report: KnowledgeReport) -> Table:
    table = Table(title="mean score per criterion")
    table.add_column("criterion")
    for run in report.runs:
        table.add_column(run.label, justify="right")
    criteria = report.rubric.criteria if report.rubric else sorted({c for r in report.runs if r.scores
                                                                    for c in r.scores.criteria})
    for crit in criteria:
        table.add_row(crit, *(f"{r.scores.criteria[crit]:.2f}" if r.scores and crit in r.scores.criteria else "-"
                              for r in report.runs))
    table.add_section()
    table.add_row("judge failures", *(str(r.judge_failures) for r in report.runs))
    table.add_row("brain errors", *(str(r.errors) for r in report.runs))
    return table


def agreement_table(report: KnowledgeReport) -> Table:
    table = Table(title="judge self-agreement (re-scored sample)")
    for col in ("run", "re-scored", "failures", "mean |Δ|", "exact", "within 1"):
        table.add_column(col, justify="right" if col != "run" else "left")
    for run in report.runs:
        ag = run.agreement
        if ag is None:
            continue
        table.add_row(run.label, f"{ag.rescored}/{ag.sampled}", str(ag.failures),
                      "-" if ag.mean_abs_diff is None else f"{ag.mean_abs_diff:.2f}",
                      "-" if ag.exact_agreement is None else f"{ag.exact_agreement:.0%}",
                      "-" if ag.within_one is None else f"{ag.within_one:.0%}")
    return table


def print_report(report: KnowledgeReport, console: Console) -> None:
    """All tables for the report's kind."""
    if report.set.about:
        console.print(f"[dim]{report.set.about}[/]", highlight=False)
    if report.set.kind == "open_qa":
        console.print(score_table(report))
        console.print(criteria_table(report))
        console.print(agreement_table(report))
        return
    console.print(accuracy_table(report))
    console.print(reading_table(report))
    for run in report.runs:
        if (table := confusion_table(run)) is not None:
            console.print(table)
