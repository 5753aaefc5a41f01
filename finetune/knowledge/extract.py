"""Which option did the model pick? Robust answer extraction for multiple-choice and classification.

Models rarely answer "2". They write "Option 2: min(nt, nr)", "**B**", "(b)", "The correct answer is
OSPF.", "Answer: C — because ...", think aloud first, or decline. Scoring only exact replies would measure
formatting, not knowledge, and would punish a base model against its instruction-tuned adapter for the
wrong reason. The rules, in order (the first that yields an answer wins):

1. **explicit statements** — "the answer is X", "Answer: X", "correct option is X", "I would choose X",
   "option X is correct"; when there are several, the *last* one (models revise themselves);
2. **leading reference** — the reply starts with an option reference: ``2``, ``2)``, ``B.``, ``(b)``,
   ``Option 2:`` (a bare "A"/"I" followed by a word is an article or a pronoun, not a letter), or with an
   option's text; overridden only when a conclusion later names another option by reference;
3. **the reply is an option's text** (normalised: case, spacing, markdown, trailing punctuation);
4. **references anywhere** — "option 3", "choice B", "(C)": one distinct option -> it; several -> the
   first after the last conclusion marker ("therefore", "so", "thus", "hence", "in conclusion"), else the
   first mentioned;
5. **option texts mentioned** — one distinct option text in the reply -> it;
6. **refusals** — "I don't know", "cannot determine", "not enough information" ... -> unanswered;
7. **fuzzy text** — the reply is close (difflib ratio >= 0.85, clear margin) to exactly one option;
8. **several option texts** — the first/last-mention rule of step 4.

A reference is an option number (1-based) or letter (A = first option). Bare numbers inside prose are never
references ("area 0", "RFC 2328" are not answers). Everything returns an :class:`Extraction` saying which
rule fired, so reports can show how answers were read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Extraction(BaseModel):
    """``choice`` is the 0-based option index (None: unanswered); ``method`` names the rule that fired."""

    choice: int | None
    method: str
    refused: bool = False


_THINK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_MARKDOWN = re.compile(r"[*_`#]+")
_VERB = r"(?:is|are|would\s+be|should\s+be|will\s+be|must\s+be|seems\s+to\s+be)"
_EXPLICIT = [
    re.compile(r"\b(?:correct|right|best|final|true)\s+(?:answer|option|choice|response)\s*(?:" + _VERB
               + r")?\s*[:=\-–—]?\s*", re.IGNORECASE),
    re.compile(r"\banswer\s*(?:" + _VERB + r"\s*[:=]?|[:=\-–—])\s*", re.IGNORECASE),
    re.compile(r"\bi(?:\s+would|'d|\s+will)?\s+(?:choose|pick|select|go\s+with)\s*:?\s*", re.IGNORECASE),
]
_REF_IS_CORRECT = re.compile(r"\b(?:option|choice)\s*#?\s*(\d{1,2}|[A-Za-z])(?![A-Za-z0-9])[^.\n]{0,30}?\s+"
                             r"(?:is|seems|appears)\s+(?:to\s+be\s+)?(?:the\s+)?(?:correct|right|best|true)\b",
                             re.IGNORECASE)
# Words that may follow a bare letter/number answer ("B because ...", "2, since ...").
_CONJ = r"(?:because|since|as|and|which|given|it|this|there|for|from|with|is)\b"
_LEAD_OPTION = re.compile(r"^(?:option|choice)\s*(?:#|no\.?|number)?\s*\(?(\d{1,2}|[A-Za-z])\)?(?![A-Za-z0-9])",
                          re.IGNORECASE)
_LEAD_PAREN = re.compile(r"^[(\[]\s*(\d{1,2}|[A-Za-z])\s*[)\]]")
_LEAD_NUMBER = re.compile(r"^(\d{1,2})(?=$|[):;,\]]|\.(?!\d)|\s*[-–—]\s|\s+" + _CONJ + ")")
# "A"/"I" followed by a word are an article/pronoun; other capitals followed by a space are letters.
_LEAD_UPPER = re.compile(r"^([A-Z])(?=$|[).:;,\]]|\s*[-–—]\s|\s+" + _CONJ + r")|^([B-HJ-Z])(?=\s)")
_LEAD_LOWER = re.compile(r"^([a-z])(?=$|[):\]]|\.\s|\.$)")
_BARE_REF = re.compile(r"^[(\[]?\s*(?:option\s*|choice\s*)?(\d{1,2}|[A-Za-z])\s*[)\]]?[.):]?$", re.IGNORECASE)
_ANY_REF = re.compile(r"\b(?:option|choice)\s*#?\s*(\d{1,2}|[A-Za-z])(?![A-Za-z0-9])|[(\[](\d{1,2}|[A-Z])[)\]]",
                      re.IGNORECASE)
_CONCLUSION = re.compile(r"\b(?:therefore|thus|hence|so\s+the|in\s+conclusion|consequently|overall|final(?:ly)?)\b",
                         re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(?:i\s+(?:do\s+not|don't|dont)\s+know|i\s+am\s+not\s+sure|i'm\s+not\s+sure|not\s+enough\s+information|"
    r"insufficient\s+information|cannot\s+(?:answer|determine|be\s+determined|tell)|can't\s+(?:answer|determine|tell)|"
    r"unable\s+to\s+(?:answer|determine)|no\s+(?:correct\s+)?answer|none\s+of\s+the\s+(?:above|options|choices)|"
    r"i\s+(?:cannot|can't|won't|will\s+not)\s+(?:help|provide)|as\s+an\s+ai\b|i\s+decline)",
    re.IGNORECASE)


def clean_response(text: str) -> str:
    """Drop reasoning blocks (``<think>...</think>``; an unclosed one hides everything after it) and
    markdown emphasis, collapse spaces; keeps line breaks."""
    text = _THINK.sub(" ", text or "")
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>"):]
    elif "<think>" in text.lower():
        text = text[:text.lower().index("<think>")]
    text = _MARKDOWN.sub("", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def _norm(text: str) -> str:
    return " ".join(_MARKDOWN.sub("", text).casefold().split()).strip(" .,:;!\"'")


def _ref_index(token: str, n: int) -> int | None:
    """An option reference token ("2", "b") -> 0-based index, or None when out of range."""
    i = int(token) - 1 if token.isdigit() else LETTERS.find(token.upper())
    return i if 0 <= i < n else None


def _lead_ref(fragment: str, n: int) -> int | None:
    """An option reference at the very start of ``fragment``."""
    frag = fragment.lstrip(" \t:=-–—\"'")
    for pattern in (_LEAD_OPTION, _LEAD_PAREN, _LEAD_NUMBER, _LEAD_UPPER, _LEAD_LOWER):
        if m := pattern.match(frag):
            return _ref_index(next(g for g in m.groups() if g), n)
    return None


def _lead_answer(fragment: str, options: Sequence[str], *, anywhere: bool) -> tuple[int, str] | None:
    """The answer at the start of ``fragment``: a bare reference ("2", "(b)", "option C") first, then an
    option's text (so "C band" is the option "C band", not option C), then a leading reference; with
    ``anywhere``, finally the earliest option text inside the fragment."""
    n = len(options)
    frag = fragment.strip().lstrip(":=-–—\"' ").rstrip(" .!\"'")
    if (m := _BARE_REF.match(frag)) and (choice := _ref_index(m.group(1), n)) is not None:
        return choice, "reference"
    norm = _norm(frag)
    starts = [(len(_norm(o)), i) for i, o in enumerate(options)
              if _norm(o) and re.match(re.escape(_norm(o)) + r"(?!\w)", norm)]
    if starts:
        return max(starts)[1], "text"
    if (choice := _lead_ref(frag, n)) is not None:
        return choice, "reference"
    if anywhere:
        positions = _text_positions(frag, options)
        if positions:
            return min(positions, key=lambda i: positions[i]), "text"
    return None


def _text_positions(text: str, options: Sequence[str]) -> dict[int, int]:
    """Option index -> first position of its (normalised) text as a whole phrase in ``text``; an option whose
    text is part of a longer matched option at the same place is dropped ("OSPF" inside "OSPFv3")."""
    hay = _norm(text)
    found: dict[int, tuple[int, int]] = {}
    for i, option in enumerate(options):
        needle = _norm(option)
        if not needle:
            continue
        if m := re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", hay):
            found[i] = (m.start(), m.end())
    kept: dict[int, int] = {}
    for i, (start, end) in found.items():
        shadowed = any(j != i and s <= start and end <= e and (e - s) > (end - start) for j, (s, e) in found.items())
        if not shadowed:
            kept[i] = start
    return kept


def _pick_mention(find: Callable[[str], dict[int, int]], text: str) -> tuple[int, str] | None:
    """Among several mentioned options: the first mentioned after the last conclusion marker ("therefore",
    "so the", "in conclusion" ...), else the first mentioned overall. ``find`` maps a text to
    {option: first position}."""
    markers = [m.end() for m in _CONCLUSION.finditer(text)]
    if markers:
        after = find(text[markers[-1]:])
        if after:
            return min(after, key=lambda i: after[i]), "after_conclusion"
    positions = find(text)
    if not positions:
        return None
    return min(positions, key=lambda i: positions[i]), "first_mention"


def _ref_positions(text: str, n: int) -> dict[int, int]:
    """Option -> first position of a reference to it anywhere ("option 3", "choice B", "(C)")."""
    refs: dict[int, int] = {}
    for m in _ANY_REF.finditer(text):
        choice = _ref_index(m.group(1) or m.group(2), n)
        if choice is not None and choice not in refs:
            refs[choice] = m.start()
    return refs


def extract_choice(response: str, options: Sequence[str]) -> Extraction:
    """The option a free-text reply picks (0-based), by the rules in the module docstring."""
    n = len(options)
    text = clean_response(response)
    if not text:
        return Extraction(choice=None, method="empty")
    # 1. explicit statements; the last one wins
    statements: list[tuple[int, int]] = []  # (position, choice)
    for pattern in _EXPLICIT:
        for m in pattern.finditer(text):
            fragment = text[m.end():].split("\n", 1)[0][:300]
            if (found := _lead_answer(fragment, options, anywhere=True)) is not None:
                statements.append((m.start(), found[0]))
    for m in _REF_IS_CORRECT.finditer(text):
        if (choice := _ref_index(m.group(1), n)) is not None:
            statements.append((m.start(), choice))
    if statements:
        return Extraction(choice=max(statements)[1], method="explicit")
    # 2. a leading reference (or the reply starts with an option's text)
    if (found := _lead_answer(text.split("\n", 1)[0], options, anywhere=False)) is not None:
        # ...unless a conclusion later names a different option by reference ("in conclusion, option 3")
        markers = [m.end() for m in _CONCLUSION.finditer(text)]
        later = _ref_positions(text[markers[-1]:], n) if markers else {}
        if later and found[0] not in later:
            return Extraction(choice=min(later, key=lambda i: later[i]), method="reference_after_conclusion")
        return Extraction(choice=found[0], method=f"leading_{found[1]}")
    # 3. the whole reply is an option's text
    exact = [i for i, o in enumerate(options) if _norm(o) == _norm(text)]
    if len(exact) == 1:
        return Extraction(choice=exact[0], method="option_text")
    # 4. references anywhere
    refs = _ref_positions(text, n)
    if len(refs) == 1:
        return Extraction(choice=next(iter(refs)), method="reference")
    if refs and (picked := _pick_mention(lambda t: _ref_positions(t, n), text)):
        return Extraction(choice=picked[0], method=f"reference_{picked[1]}")
    # 5. exactly one option text mentioned
    positions = _text_positions(text, options)
    if len(positions) == 1:
        return Extraction(choice=next(iter(positions)), method="option_text")
    # 6. refusals
    if _REFUSAL.search(text):
        return Extraction(choice=None, method="refusal", refused=True)
    # 7. fuzzy match of the reply (or its first line) to one option
    candidates = {_norm(text), _norm(text.split("\n", 1)[0])}
    ratios = sorted(((max(difflib.SequenceMatcher(None, c, _norm(o)).ratio() for c in candidates), i)
                     for i, o in enumerate(options)), reverse=True)
    if ratios and ratios[0][0] >= 0.85 and (len(ratios) == 1 or ratios[0][0] - ratios[1][0] >= 0.1):
        return Extraction(choice=ratios[0][1], method="fuzzy_text")
    # 8. several option texts: first / last-conclusion mention
    if positions and (picked := _pick_mention(lambda t: _text_positions(t, options), text)):
        return Extraction(choice=picked[0], method=f"option_text_{picked[1]}")
    return Extraction(choice=None, method="none")


# ---- classification ----------------------------------------------------------------------------------

_LABEL_STATEMENT = re.compile(r"\b(?:label|category|class|answer|working\s+group|group)\s*(?:" + _VERB
                              + r"\s*[:=]?|[:=\-–—])\s*", re.IGNORECASE)


def _label_positions(text: str, labels: Sequence[str]) -> dict[int, int]:
    hay = text.casefold()
    found: dict[int, tuple[int, int]] = {}
    for i, label in enumerate(labels):
        needle = label.casefold().strip()
        if needle and (m := re.search(r"(?<![\w-])" + re.escape(needle) + r"(?![\w-])", hay)):
            found[i] = (m.start(), m.end())
    return {i: s for i, (s, e) in found.items()
            if not any(j != i and fs <= s and e <= fe and fe - fs > e - s for j, (fs, fe) in found.items())}


def extract_label(response: str, labels: Sequence[str]) -> Extraction:
    """The label a free-text reply names: an explicit "Label: X" statement (last wins), the reply itself,
    a leading label, one label mentioned, else the first-mentioned label; ``choice`` indexes ``labels``."""
    text = clean_response(response)
    if not text:
        return Extraction(choice=None, method="empty")
    statements: list[tuple[int, int]] = []
    for m in _LABEL_STATEMENT.finditer(text):
        fragment = text[m.end():].split("\n", 1)[0][:200]
        positions = _label_positions(fragment, labels)
        starts = {i: p for i, p in positions.items() if p == 0}
        pick = starts or positions
        if pick:
            statements.append((m.start(), min(pick, key=lambda i: pick[i])))
    if statements:
        return Extraction(choice=max(statements)[1], method="explicit")
    exact = [i for i, lab in enumerate(labels) if _norm(lab) == _norm(text)]
    if len(exact) == 1:
        return Extraction(choice=exact[0], method="label_text")
    positions = _label_positions(text, labels)
    if len(positions) == 1:
        return Extraction(choice=next(iter(positions)), method="mention")
    if positions and (picked := _pick_mention(lambda t: _label_positions(t, labels), text)):
        return Extraction(choice=picked[0], method=f"mention_{picked[1]}")
    if _REFUSAL.search(text):
        return Extraction(choice=None, method="refusal", refused=True)
    return Extraction(choice=None, method="none")
