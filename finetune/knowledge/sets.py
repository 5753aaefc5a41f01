"""Evaluation set files: detect the format by content, validate every item, fail with one clear line.

Users bring benchmark files from elsewhere (TeleQnA's JSON, JSONL exports of Hugging Face sets, their own
question lists), so the loader accepts the common shapes rather than one house format, and tells the user
exactly which file, line and field is wrong instead of a stack trace halfway through an expensive run.

Formats (detected from the content, not the file name):

* **TeleQnA JSON** — one object ``{"question 0": {"question", "option 1".."option N", "answer": "option
  2: text", "explanation", "category"}, ...}`` (netop-team/TeleQnA).
* **MCQ JSONL** — one object per line: ``question``, options as ``options``/``choices`` (a list) or
  ``option 1``..``option N`` keys, ``answer`` as ``"option N[: text]"`` (1-based, TeleQnA style), a letter
  (``"B"``), the exact text of an option, or an **integer 0-based index** (the Hugging Face
  ``choices``/``answer`` convention) — or ``answer_index`` (0-based); optional ``id``, ``category``,
  ``explanation``.
* **Open Q&A JSONL** — ``question``, optional ``reference`` (a reference answer for the judge), ``category``.
* **Classification JSONL** — ``text``, ``label``, optional ``labels`` (the allowed labels; otherwise the
  set of all labels in the file), ``category``.

A JSON array of such records is accepted as well. Objects whose keys all start with ``_`` (a JSONL line
or a top-level TeleQnA key like ``"_about"``) are metadata and skipped: that is how the shipped example
files carry their "this is an example" header without breaking the format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SetKind = Literal["mcq", "open_qa", "classification"]
SetFormat = Literal["teleqna_json", "mcq_jsonl", "open_qa_jsonl", "classification_jsonl"]
DEFAULT_CATEGORY = "uncategorised"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SetFileError(ValueError):
    """A set file that cannot be used. The message is one line and names the file."""


class MCQItem(BaseModel):
    """A multiple-choice question; ``answer`` is the 0-based index of the correct option."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str = Field(min_length=1)
    options: list[str] = Field(min_length=2, max_length=26)
    answer: int = Field(ge=0)
    explanation: str | None = None
    category: str = DEFAULT_CATEGORY

    @field_validator("options")
    @classmethod
    def _non_empty_options(cls, options: list[str]) -> list[str]:
        if any(not o.strip() for o in options):
            raise ValueError("options must not be empty strings")
        return options


class OpenQAItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    question: str = Field(min_length=1)
    reference: str | None = None
    category: str = DEFAULT_CATEGORY


class ClassificationItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str = Field(min_length=1)
    label: str = Field(min_length=1)
    labels: list[str] | None = None
    category: str = DEFAULT_CATEGORY


Item = MCQItem | OpenQAItem | ClassificationItem


class KnowledgeSet(BaseModel):
    """A validated set: one kind of item, plus the label space for classification sets."""

    path: str
    kind: SetKind
    format: SetFormat
    items: list[Any]
    labels: list[str] = Field(default_factory=list)
    about: str | None = None

    def limited(self, limit: int | None) -> KnowledgeSet:
        """The first ``limit`` items (the label space stays that of the whole file)."""
        if limit is None or limit >= len(self.items):
            return self
        return self.model_copy(update={"items": self.items[:limit]})


# ---- raw record shapes -----------------------------------------------------------------------------------

_OPTION_KEY = re.compile(r"^option\s*(\d+)$", re.IGNORECASE)
_ANSWER_OPTION = re.compile(r"^\s*option\s*(\d+)\s*(?:[:.)\-]\s*(.*))?$", re.IGNORECASE | re.DOTALL)
_ANSWER_LETTER = re.compile(r"^\s*\(?([A-Za-z])\)?\s*[.):]?\s*$")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .")


class _RawMCQ(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    question: str
    options: list[str] | None = None
    choices: list[str] | None = None
    answer: str | int | None = None
    answer_index: int | None = None
    explanation: str | None = None
    category: str | None = None


class _RawOpen(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    question: str
    reference: str | None = None
    answer: str | None = None  # some sets call the reference answer "answer"
    category: str | None = None


class _RawClass(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    text: str
    label: str | int
    labels: list[str | int] | None = None
    category: str | None = None


def _options_from_keys(record: dict[str, Any]) -> list[str] | None:
    numbered = {int(m.group(1)): v for k, v in record.items() if (m := _OPTION_KEY.match(k))}
    if not numbered:
        return None
    numbers = sorted(numbered)
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"option keys must be 'option 1'..'option {len(numbers)}' without gaps, "
                         f"got {', '.join(f'option {n}' for n in numbers)}")
    values = [numbered[n] for n in numbers]
    if not all(isinstance(v, str) for v in values):
        raise ValueError("every 'option N' value must be a string")
    return values


def _resolve_answer(answer: Any, options: list[str], *, teleqna: bool) -> int:
    """The 0-based index an answer field names (see the module docstring for the accepted forms)."""
    n = len(options)
    if isinstance(answer, bool):
        raise ValueError("answer must not be a boolean")
    if isinstance(answer, int):
        if teleqna:
            raise ValueError(f"answer must be a string like 'option 2: ...' in the TeleQnA shape, got {answer}")
        if not 0 <= answer < n:
            raise ValueError(f"answer index {answer} (0-based) is out of range for {n} options")
        return answer
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError("answer is missing or empty")
    if m := _ANSWER_OPTION.match(answer):
        number = int(m.group(1))
        if not 1 <= number <= n:
            raise ValueError(f"answer {answer.strip()!r} names option {number}, but there are {n} options")
        return number - 1
    if teleqna:
        raise ValueError(f"answer must look like 'option N: text', got {answer.strip()[:60]!r}")
    matches = [i for i, o in enumerate(options) if _norm(o) == _norm(answer)]
    if len(matches) == 1:
        return matches[0]
    if (m := _ANSWER_LETTER.match(answer)) and LETTERS.index(m.group(1).upper()) < n:
        return LETTERS.index(m.group(1).upper())
    if answer.strip().isdigit():
        raise ValueError(f"answer {answer!r} is ambiguous: use 'option N' (1-based) or an integer index (0-based)")
    raise ValueError(f"answer {answer.strip()[:60]!r} is not 'option N', a letter, an integer index or the text "
                     "of one of the options")


def _mcq_from_raw(record: dict[str, Any], default_id: str, *, teleqna: bool) -> MCQItem:
    raw = _RawMCQ.model_validate(record)
    sources = [o for o in (raw.options, raw.choices, _options_from_keys(record)) if o is not None]
    if not sources:
        raise ValueError("no options: expected 'options' or 'choices' (a list) or 'option 1'..'option N' keys")
    if len(sources) > 1:
        raise ValueError("give the options once: 'options', 'choices' or 'option N' keys, not several")
    options = sources[0]
    if raw.answer_index is not None:
        if teleqna:
            raise ValueError("'answer_index' is not part of the TeleQnA shape; use 'answer': 'option N: text'")
        if not 0 <= raw.answer_index < len(options):
            raise ValueError(f"answer_index {raw.answer_index} (0-based) is out of range for {len(options)} options")
        answer = raw.answer_index
    else:
        answer = _resolve_answer(raw.answer, options, teleqna=teleqna)
    return MCQItem(id=str(raw.id) if raw.id is not None else default_id, question=raw.question.strip(),
                   options=[o.strip() for o in options], answer=answer, explanation=raw.explanation,
                   category=(raw.category or DEFAULT_CATEGORY).strip() or DEFAULT_CATEGORY)


def _open_from_raw(record: dict[str, Any], default_id: str) -> OpenQAItem:
    raw = _RawOpen.model_validate(record)
    reference = raw.reference if raw.reference is not None else raw.answer
    return OpenQAItem(id=str(raw.id) if raw.id is not None else default_id, question=raw.question.strip(),
                      reference=reference, category=(raw.category or DEFAULT_CATEGORY).strip() or DEFAULT_CATEGORY)


def _class_from_raw(record: dict[str, Any], default_id: str) -> ClassificationItem:
    raw = _RawClass.model_validate(record)
    labels = [str(x).strip() for x in raw.labels] if raw.labels is not None else None
    label = str(raw.label).strip()
    if labels is not None and label not in labels:
        raise ValueError(f"label {label!r} is not in its own 'labels' list")
    return ClassificationItem(id=str(raw.id) if raw.id is not None else default_id, text=raw.text.strip(),
                              label=label, labels=labels,
                              category=(raw.category or DEFAULT_CATEGORY).strip() or DEFAULT_CATEGORY)


def _record_kind(record: dict[str, Any]) -> SetKind | None:
    if "options" in record or "choices" in record or any(_OPTION_KEY.match(k) for k in record):
        return "mcq"
    if "question" in record:
        return "open_qa"
    if "text" in record and "label" in record:
        return "classification"
    return None


def _why(exc: Exception) -> str:
    """One line from a pydantic ValidationError (first error, with its field) or any other exception."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{loc}: {msg}{more}" if loc else f"{msg}{more}"
    return str(exc)


def _is_metadata(record: dict[str, Any]) -> bool:
    return bool(record) and all(str(k).startswith("_") for k in record)


# ---- loading -------------------------------------------------------------------------------------------


def _load_teleqna(path: Path, data: dict[str, Any]) -> KnowledgeSet:
    items: list[MCQItem] = []
    about = data.get("_about") if isinstance(data.get("_about"), str) else None
    for key, record in data.items():
        if str(key).startswith("_"):
            continue
        if not isinstance(record, dict):
            raise SetFileError(f"{path}: {key!r}: expected an object with question/options/answer")
        try:
            items.append(_mcq_from_raw(record, str(key), teleqna=True))
        except (ValidationError, ValueError) as exc:
            raise SetFileError(f"{path}: {key!r}: {_why(exc)}") from None
    return KnowledgeSet(path=str(path), kind="mcq", format="teleqna_json", items=items, about=about)


def _load_records(path: Path, records: list[tuple[str, Any]]) -> KnowledgeSet:
    kind: SetKind | None = None
    first_where = ""
    items: list[Any] = []
    about: str | None = None
    for where, record in records:
        if not isinstance(record, dict):
            raise SetFileError(f"{path}: {where}: expected a JSON object, got {type(record).__name__}")
        if _is_metadata(record):
            about = about or (record.get("_about") if isinstance(record.get("_about"), str) else None)
            continue
        this = _record_kind(record)
        if this is None:
            raise SetFileError(f"{path}: {where}: cannot tell what kind of item this is: expected question + "
                               "options (multiple choice), question (open Q&A) or text + label (classification)")
        if kind is None:
            kind, first_where = this, where
        elif this != kind:
            raise SetFileError(f"{path}: {where}: holds a {this!r} item, but {first_where} holds a {kind!r} item; "
                               "one file holds one kind of item")
        default_id = f"{len(items) + 1}"
        try:
            if this == "mcq":
                items.append(_mcq_from_raw(record, default_id, teleqna=False))
            elif this == "open_qa":
                items.append(_open_from_raw(record, default_id))
            else:
                items.append(_class_from_raw(record, default_id))
        except (ValidationError, ValueError) as exc:
            raise SetFileError(f"{path}: {where}: {_why(exc)}") from None
    if kind is None:
        raise SetFileError(f"{path}: no items (only metadata lines)")
    fmt: SetFormat = {"mcq": "mcq_jsonl", "open_qa": "open_qa_jsonl",
                      "classification": "classification_jsonl"}[kind]  # type: ignore[assignment]
    labels: list[str] = []
    if kind == "classification":
        declared = [lab for item in items if item.labels for lab in item.labels]
        seen = dict.fromkeys([*declared, *(item.label for item in items)])
        labels = sorted(seen) if not declared else list(seen)
    return KnowledgeSet(path=str(path), kind=kind, format=fmt, items=items, labels=labels, about=about)


def load_set(path: str | Path) -> KnowledgeSet:
    """Read, detect and validate a set file; raises SetFileError (one line naming the file)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SetFileError(f"{p}: no such file")
    if not p.is_file():
        raise SetFileError(f"{p}: not a file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SetFileError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SetFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    stripped = text.strip()
    if not stripped:
        raise SetFileError(f"{p}: empty file")
    if stripped[0] not in "{[":
        raise SetFileError(f"{p}: not JSON or JSONL (the first character is {stripped[0]!r}, expected '{{' or '[')")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        ks = _load_records(p, [(f"item {i + 1}", r) for i, r in enumerate(whole)])
    elif isinstance(whole, dict):
        body = {k: v for k, v in whole.items() if not str(k).startswith("_")}
        if body and all(isinstance(v, dict) for v in body.values()) and _record_kind(whole) is None:
            ks = _load_teleqna(p, whole)
        else:  # a single-record JSONL file
            ks = _load_records(p, [("line 1", whole)])
    else:
        records: list[tuple[str, Any]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SetFileError(f"{p}: line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        ks = _load_records(p, records)
    if not ks.items:
        raise SetFileError(f"{p}: no items")
    ids = [item.id for item in ks.items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise SetFileError(f"{p}: duplicate item id {dup!r}")
    return ks
