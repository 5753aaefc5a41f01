"""LLM-as-judge for open Q&A: a fixed, versioned rubric, strictly parsed JSON verdicts, bounded retries,
and the judge's agreement with itself.

TSLAM-Mini-style quality scores are only worth reporting if they are reproducible: the same rubric text
(versioned file, hashed into the report), a machine-checkable verdict (a JSON object validated by a
pydantic model built from the rubric's criteria — extra keys, missing keys, non-integer or out-of-range
scores are all rejected), a bounded number of retries when the judge replies with something else (then the
item counts as a judge failure instead of silently scoring 0), and a measure of how much the judge's own
scores move when it grades the same answer again (self-agreement on a sample).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from finetune.knowledge.brains import message_text

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

DEFAULT_RUBRIC = Path(__file__).with_name("rubric_v1.yaml")
DEFAULT_RETRIES = 2
DEFAULT_AGREEMENT_FRACTION = 0.2
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*)\n\s*```$", re.DOTALL)


class RubricError(ValueError):
    """A rubric file that cannot be used; one line naming the file."""


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int = 1
    max: int = 10


class Rubric(BaseModel):
    """A rubric file (``rubric_v1.yaml``): criteria and the prompt templates the judge sees."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    scale: Scale = Field(default_factory=Scale)
    criteria: dict[str, str] = Field(min_length=1)
    system: str
    user: str
    retry: str
    path: str = ""
    sha256: str = ""

    @field_validator("criteria")
    @classmethod
    def _identifiers(cls, criteria: dict[str, str]) -> dict[str, str]:
        for name in criteria:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"criterion name {name!r} must be a lowercase identifier")
        return criteria


class RubricInfo(BaseModel):
    version: str
    path: str
    sha256: str
    criteria: list[str]


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Load and validate a rubric file (default: the shipped ``rubric_v1.yaml``)."""
    p = Path(path).expanduser() if path is not None else DEFAULT_RUBRIC
    try:
        raw = p.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise RubricError(f"{p}: cannot read rubric: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RubricError(f"{p}: not a YAML rubric: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise RubricError(f"{p}: a rubric is a YAML mapping with version, criteria, system, user, retry")
    try:
        rubric = Rubric.model_validate({**data, "path": str(p), "sha256": hashlib.sha256(raw).hexdigest()})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise RubricError(f"{p}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    if rubric.scale.min >= rubric.scale.max:
        raise RubricError(f"{p}: scale.min must be below scale.max")
    return rubric


def rubric_info(rubric: Rubric) -> RubricInfo:
    return RubricInfo(version=rubric.version, path=rubric.path, sha256=rubric.sha256,
                      criteria=list(rubric.criteria))


# ---- the verdict schema -----------------------------------------------------------------------------


def judgement_model(rubric: Rubric) -> type[BaseModel]:
    """The pydantic model a verdict must match: one ``{"score": int, "justification": str}`` per
    criterion, nothing else; strict types (``"8"`` or ``8.5`` are not scores)."""
    return _judgement_model(tuple(rubric.criteria), rubric.scale.min, rubric.scale.max)


@functools.lru_cache(maxsize=16)
def _judgement_model(criteria: tuple[str, ...], lo: int, hi: int) -> type[BaseModel]:
    score_model = create_model(
        "CriterionScore", __config__=ConfigDict(extra="forbid", strict=True),
        score=(int, Field(ge=lo, le=hi)),
        justification=(str, Field(min_length=1, max_length=1000)),
    )
    fields: dict[str, Any] = {name: (score_model, ...) for name in criteria}
    return create_model("Judgement", __config__=ConfigDict(extra="forbid", strict=True), **fields)


class JudgementError(ValueError):
    """A judge reply that is not a valid verdict; the message is fed back to the judge on retry."""


def parse_judgement(reply: str, rubric: Rubric) -> dict[str, dict[str, Any]]:
    """Strictly parse a judge reply: one JSON object matching :func:`judgement_model` (a single surrounding
    Markdown code fence is tolerated; any other text is not). Returns ``{criterion: {score, justification}}``."""
    text = (reply or "").strip()
    if m := _FENCE.match(text):
        text = m.group(1).strip()
    if not text.startswith("{") or not text.endswith("}"):
        raise JudgementError("the reply must be a single JSON object and nothing else")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgementError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    try:
        verdict = judgement_model(rubric).model_validate_json(text)
    except ValidationError as exc:
        errs = exc.errors()
        parts = [f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in errs[:4]]
        more = f" (+{len(errs) - 4} more)" if len(errs) > 4 else ""
        raise JudgementError("; ".join(parts) + more) from None
    return verdict.model_dump()


class JudgeOutcome(BaseModel):
    """One judged answer. ``scores`` is None when every attempt failed (a judge failure)."""

    scores: dict[str, int] | None = None
    justifications: dict[str, str] | None = None
    overall: float | None = None
    attempts: int = 0
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.scores is not None


class Judge:
    """A judge brain plus a rubric: :meth:`score` one answer with bounded retries."""

    def __init__(self, model: BaseChatModel, rubric: Rubric, *, retries: int = DEFAULT_RETRIES) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.model = model
        self.rubric = rubric
        self.retries = retries

    def schema_text(self) -> str:
        lo, hi = self.rubric.scale.min, self.rubric.scale.max
        body = ", ".join(f'"{name}": {{"score": <integer {lo}-{hi}>, "justification": "<at most two sentences>"}}'
                         for name in self.rubric.criteria)
        return "{" + body + "}"

    def messages(self, question: str, reference: str | None, answer: str) -> list[Any]:
        from langchain_core.messages import HumanMessage, SystemMessage

        criteria = "\n".join(f"- {name}: {text.strip()}" for name, text in self.rubric.criteria.items())
        user = Template(self.rubric.user).safe_substitute(
            question=question.strip(), reference=(reference or "").strip() or "(none given)",
            answer=answer.strip() or "(empty answer)", criteria=criteria, schema=self.schema_text())
        return [SystemMessage(self.rubric.system), HumanMessage(user)]

    def score(self, question: str, reference: str | None, answer: str) -> JudgeOutcome:
        """Ask the judge; on an invalid verdict, show it its reply and the error and ask again, at most
        ``retries`` times; then give up and return a failed outcome (never raises for a bad judge)."""
        from langchain_core.messages import AIMessage, HumanMessage

        history = self.messages(question, reference, answer)
        outcome = JudgeOutcome()
        for _ in range(self.retries + 1):
            outcome.attempts += 1
            try:
                reply = message_text(self.model.invoke(history))
            except Exception as exc:  # a dead endpoint is a failed attempt, not a crashed evaluation
                outcome.errors.append(f"judge call failed: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            try:
                verdict = parse_judgement(reply, self.rubric)
            except JudgementError as exc:
                outcome.errors.append(str(exc))
                history = [*history, AIMessage(reply),
                           HumanMessage(Template(self.rubric.retry).safe_substitute(error=str(exc)))]
                continue
            outcome.scores = {k: v["score"] for k, v in verdict.items()}
            outcome.justifications = {k: v["justification"] for k, v in verdict.items()}
            outcome.overall = sum(outcome.scores.values()) / len(outcome.scores)
            return outcome
        return outcome


# ---- self-agreement ----------------------------------------------------------------------------------


class Agreement(BaseModel):
    """How much the judge agrees with itself when it grades the same answers again."""

    fraction: float
    sampled: int
    rescored: int
    failures: int
    mean_abs_diff: float | None = Field(None, description="mean |first - second| over items and criteria")
    per_criterion_mad: dict[str, float] = Field(default_factory=dict)
    exact_agreement: float | None = Field(None, description="share of (item, criterion) scores that are equal")
    within_one: float | None = Field(None, description="share differing by at most one point")
    item_ids: list[str] = Field(default_factory=list)


def self_agreement(judge: Judge, judged: list[tuple[str, str, str | None, str, JudgeOutcome]], *,
                   fraction: float = DEFAULT_AGREEMENT_FRACTION, seed: int = 0) -> Agreement:
    """Re-score a seeded sample (``ceil(fraction * n)``, at least one) of successfully judged items
    ``(id, question, reference, answer, first outcome)`` in a fresh conversation and compare."""
    pool = [j for j in judged if j[4].ok]
    if fraction <= 0 or not pool:
        return Agreement(fraction=fraction, sampled=0, rescored=0, failures=0)
    k = min(len(pool), max(1, math.ceil(fraction * len(pool))))
    sample = random.Random(seed).sample(pool, k)
    diffs: dict[str, list[int]] = {name: [] for name in judge.rubric.criteria}
    failures = 0
    for _id, question, reference, answer, first in sample:
        second = judge.score(question, reference, answer)
        if not second.ok or first.scores is None or second.scores is None:
            failures += 1
            continue
        for name in diffs:
            diffs[name].append(abs(first.scores[name] - second.scores[name]))
    flat = [d for values in diffs.values() for d in values]
    return Agreement(
        fraction=fraction, sampled=k, rescored=k - failures, failures=failures,
        mean_abs_diff=sum(flat) / len(flat) if flat else None,
        per_criterion_mad={n: sum(v) / len(v) for n, v in diffs.items() if v},
        exact_agreement=sum(d == 0 for d in flat) / len(flat) if flat else None,
        within_one=sum(d <= 1 for d in flat) / len(flat) if flat else None,
        item_ids=[s[0] for s in sample])
