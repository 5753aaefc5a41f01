"""Run a knowledge set against a brain and summarise it: the ``report JSON`` contract of eval-knowledge.

One :class:`RunReport` per brain (``--brain`` and, optionally, ``--baseline``), both over the same items
with the same prompts, so a base model and its adapter are compared like for like; a
:class:`KnowledgeReport` holds the runs side by side plus per-category deltas. Every item's raw reply and
how it was read are kept in the report, so a surprising score can be checked by eye.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from finetune.knowledge.brains import ask
from finetune.knowledge.extract import extract_choice, extract_label
from finetune.knowledge.judge import Agreement, Judge, JudgeOutcome, RubricInfo, self_agreement
from finetune.knowledge.sets import ClassificationItem, KnowledgeSet, MCQItem, OpenQAItem, SetFormat, SetKind
from finetune.knowledge.stats import mean_interval, wilson_interval

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

REPORT_SCHEMA = "twinops.knowledge-report/1"
NO_LABEL = "(none)"
Progress = Callable[[int, int], None]

SYSTEM = "You are an expert in telecommunications and computer networking."
MCQ_INSTRUCTION = ('Reply with "Answer: N", where N is the number of the correct option, followed by one short '
                   "sentence of justification.")
OPEN_SYSTEM = SYSTEM + " Answer the question accurately and concisely."


def mcq_prompt(item: MCQItem) -> str:
    """The user turn for a multiple-choice item (options numbered from 1, as TeleQnA numbers them)."""
    options = "\n".join(f"{i}. {text}" for i, text in enumerate(item.options, start=1))
    return (f"Answer this multiple-choice question. Exactly one option is correct.\n\nQuestion: {item.question}\n\n"
            f"Options:\n{options}\n\n{MCQ_INSTRUCTION}")


def classification_prompt(item: ClassificationItem, labels: list[str]) -> str:
    allowed = item.labels or labels
    return (f"Classify the text into exactly one of these labels: {', '.join(allowed)}.\n\nText: {item.text}\n\n"
            'Reply with "Label: X", where X is one of the labels, and nothing else.')


def _messages(system: str, user: str) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(system), HumanMessage(user)]


# ---- report models -----------------------------------------------------------------------------------


class AccuracyStats(BaseModel):
    """Accuracy over all items (unanswered count as wrong) with a Wilson 95% interval."""

    n: int
    correct: int
    answered: int
    accuracy: float
    ci_low: float
    ci_high: float


def accuracy_stats(correct: int, answered: int, n: int) -> AccuracyStats:
    low, high = wilson_interval(correct, n)
    return AccuracyStats(n=n, correct=correct, answered=answered, accuracy=correct / n if n else 0.0,
                         ci_low=low, ci_high=high)


class ScoreStats(BaseModel):
    """Judge scores: mean overall (mean of the criteria) with a 95% interval, and per-criterion means."""

    n: int
    judged: int
    failures: int
    overall_mean: float | None
    ci_low: float | None
    ci_high: float | None
    criteria: dict[str, float]


class MCQItemResult(BaseModel):
    id: str
    category: str
    gold: int
    predicted: int | None
    correct: bool
    refused: bool
    method: str
    response: str
    error: str | None = None


class ClassificationItemResult(BaseModel):
    id: str
    category: str
    gold: str
    predicted: str | None
    correct: bool
    method: str
    response: str
    error: str | None = None


class OpenQAItemResult(BaseModel):
    id: str
    category: str
    response: str
    error: str | None = None
    judge: JudgeOutcome | None = None


class ConfusionMatrix(BaseModel):
    """``matrix[i][j]``: items with gold ``labels[i]`` predicted as ``predicted[j]`` (last column: no label)."""

    labels: list[str]
    predicted: list[str]
    matrix: list[list[int]]


class RunReport(BaseModel):
    """One brain over one set. Accuracy fields for mcq/classification, score fields for open_qa."""

    label: str
    spec: str
    kind: SetKind
    items: int
    errors: int = Field(description="items whose brain call failed (counted as unanswered)")
    overall: AccuracyStats | None = None
    categories: dict[str, AccuracyStats] = Field(default_factory=dict)
    unanswered: int = 0
    refused: int = 0
    methods: dict[str, int] = Field(default_factory=dict, description="how answers were read (extraction rule)")
    confusion: ConfusionMatrix | None = None
    scores: ScoreStats | None = None
    score_categories: dict[str, ScoreStats] = Field(default_factory=dict)
    judge_failures: int = 0
    agreement: Agreement | None = None
    results: list[MCQItemResult | ClassificationItemResult | OpenQAItemResult] = Field(default_factory=list)


class CategoryDelta(BaseModel):
    """brain minus baseline, per category (accuracy, or mean judge score for open Q&A)."""

    category: str
    brain: float | None
    baseline: float | None
    delta: float | None


class SetInfo(BaseModel):
    path: str
    kind: SetKind
    format: SetFormat
    items: int
    about: str | None = None
    labels: list[str] = Field(default_factory=list)


class KnowledgeReport(BaseModel):
    """What ``eval-knowledge --json FILE`` writes."""

    schema_version: str = REPORT_SCHEMA
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    set: SetInfo
    judge: str | None = None
    rubric: RubricInfo | None = None
    runs: list[RunReport]
    comparison: list[CategoryDelta] = Field(default_factory=list)


# ---- runners -----------------------------------------------------------------------------------------


def _by_category(results: list[Any], key: Callable[[Any], bool]) -> dict[str, AccuracyStats]:
    cats: dict[str, list[Any]] = {}
    for r in results:
        cats.setdefault(r.category, []).append(r)
    return {c: accuracy_stats(sum(key(r) for r in rs), sum(r.predicted is not None for r in rs), len(rs))
            for c, rs in sorted(cats.items())}


def run_mcq(model: BaseChatModel, items: list[MCQItem], *, label: str, spec: str,
            progress: Progress | None = None) -> RunReport:
    results: list[MCQItemResult] = []
    for done, item in enumerate(items, start=1):
        reply, error = ask(model, _messages(SYSTEM, mcq_prompt(item)))
        ext = extract_choice(reply, item.options)
        results.append(MCQItemResult(id=item.id, category=item.category, gold=item.answer, predicted=ext.choice,
                                     correct=ext.choice == item.answer, refused=ext.refused,
                                     method="error" if error else ext.method, response=reply, error=error))
        if progress:
            progress(done, len(items))
    return RunReport(
        label=label, spec=spec, kind="mcq", items=len(items), errors=sum(r.error is not None for r in results),
        overall=accuracy_stats(sum(r.correct for r in results), sum(r.predicted is not None for r in results),
                               len(results)),
        categories=_by_category(results, lambda r: r.correct),
        unanswered=sum(r.predicted is None for r in results), refused=sum(r.refused for r in results),
        methods=dict(Counter(r.method for r in results).most_common()), results=results)


def run_classification(model: BaseChatModel, items: list[ClassificationItem], labels: list[str], *, label: str,
                       spec: str, progress: Progress | None = None) -> RunReport:
    results: list[ClassificationItemResult] = []
    for done, item in enumerate(items, start=1):
        allowed = item.labels or labels
        reply, error = ask(model, _messages(SYSTEM, classification_prompt(item, labels)))
        ext = extract_label(reply, allowed)
        predicted = allowed[ext.choice] if ext.choice is not None else None
        results.append(ClassificationItemResult(id=item.id, category=item.category, gold=item.label,
                                                predicted=predicted, correct=predicted == item.label,
                                                method="error" if error else ext.method, response=reply,
                                                error=error))
        if progress:
            progress(done, len(items))
    gold_labels = list(dict.fromkeys([*labels, *(r.gold for r in results)]))
    columns = [*gold_labels, NO_LABEL]
    matrix = [[0] * len(columns) for _ in gold_labels]
    for r in results:
        matrix[gold_labels.index(r.gold)][columns.index(r.predicted if r.predicted is not None else NO_LABEL)] += 1
    return RunReport(
        label=label, spec=spec, kind="classification", items=len(items),
        errors=sum(r.error is not None for r in results),
        overall=accuracy_stats(sum(r.correct for r in results), sum(r.predicted is not None for r in results),
                               len(results)),
        categories=_by_category(results, lambda r: r.correct),
        unanswered=sum(r.predicted is None for r in results),
        refused=sum(r.method == "refusal" for r in results),
        methods=dict(Counter(r.method for r in results).most_common()),
        confusion=ConfusionMatrix(labels=gold_labels, predicted=columns, matrix=matrix), results=results)


def score_stats(results: list[OpenQAItemResult], criteria: list[str]) -> ScoreStats:
    judged = [r.judge for r in results if r.judge is not None and r.judge.ok]
    overall = [j.overall for j in judged if j.overall is not None]
    mean, low, high = mean_interval(overall)
    return ScoreStats(n=len(results), judged=len(judged), failures=len(results) - len(judged),
                      overall_mean=mean if overall else None, ci_low=low if overall else None,
                      ci_high=high if overall else None,
                      criteria={c: sum(j.scores[c] for j in judged if j.scores) / len(judged)
                                for c in criteria} if judged else {})


def run_open_qa(model: BaseChatModel, items: list[OpenQAItem], judge: Judge, *, label: str, spec: str,
                agreement_fraction: float, seed: int = 0, progress: Progress | None = None) -> RunReport:
    """Answer every question with the brain, grade every answer with the judge, then re-grade a sample.

    A brain error leaves the answer empty and the item unjudged (it counts as a failure, not a low score).
    """
    results: list[OpenQAItemResult] = []
    judged: list[tuple[str, str, str | None, str, JudgeOutcome]] = []
    for done, item in enumerate(items, start=1):
        reply, error = ask(model, _messages(OPEN_SYSTEM, item.question))
        outcome = None if error else judge.score(item.question, item.reference, reply)
        results.append(OpenQAItemResult(id=item.id, category=item.category, response=reply, error=error,
                                        judge=outcome))
        if outcome is not None:
            judged.append((item.id, item.question, item.reference, reply, outcome))
        if progress:
            progress(done, len(items))
    criteria = list(judge.rubric.criteria)
    cats: dict[str, list[OpenQAItemResult]] = {}
    for r in results:
        cats.setdefault(r.category, []).append(r)
    agreement = self_agreement(judge, judged, fraction=agreement_fraction, seed=seed)
    return RunReport(
        label=label, spec=spec, kind="open_qa", items=len(items), errors=sum(r.error is not None for r in results),
        scores=score_stats(results, criteria),
        score_categories={c: score_stats(rs, criteria) for c, rs in sorted(cats.items())},
        judge_failures=sum(r.judge is not None and not r.judge.ok for r in results), agreement=agreement,
        results=results)


def compare(brain: RunReport, baseline: RunReport) -> list[CategoryDelta]:
    """Per-category brain-minus-baseline deltas (accuracy, or mean overall judge score), then 'overall'."""
    def value_map(run: RunReport) -> dict[str, float | None]:
        if run.kind == "open_qa":
            values = {c: s.overall_mean for c, s in run.score_categories.items()}
            values["overall"] = run.scores.overall_mean if run.scores else None
        else:
            values = {c: s.accuracy for c, s in run.categories.items()}
            values["overall"] = run.overall.accuracy if run.overall else None
        return values

    a, b = value_map(brain), value_map(baseline)
    out = []
    for cat in [*sorted(k for k in {*a, *b} if k != "overall"), "overall"]:
        va, vb = a.get(cat), b.get(cat)
        out.append(CategoryDelta(category=cat, brain=va, baseline=vb,
                                 delta=va - vb if va is not None and vb is not None else None))
    return out


def evaluate(ks: KnowledgeSet, model: BaseChatModel, *, label: str, spec: str, judge: Judge | None = None,
             agreement_fraction: float = 0.2, seed: int = 0, progress: Progress | None = None) -> RunReport:
    """Dispatch on the set's kind. Open Q&A needs a judge."""
    if ks.kind == "mcq":
        return run_mcq(model, ks.items, label=label, spec=spec, progress=progress)
    if ks.kind == "classification":
        return run_classification(model, ks.items, ks.labels, label=label, spec=spec, progress=progress)
    if judge is None:
        raise ValueError("open Q&A sets need a judge")
    return run_open_qa(model, ks.items, judge, label=label, spec=spec, agreement_fraction=agreement_fraction,
                       seed=seed, progress=progress)


def set_info(ks: KnowledgeSet) -> SetInfo:
    """The set as evaluated (after ``--limit``)."""
    return SetInfo(path=ks.path, kind=ks.kind, format=ks.format, items=len(ks.items), about=ks.about,
                   labels=ks.labels)
