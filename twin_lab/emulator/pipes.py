"""Output filters: ``| include``, ``| exclude``, ``| begin``, ``| section``, ``| count``.

Operators and parsers (NAPALM's ``show running-config | inc ip scp server enable``) depend on
IOS semantics: the regex is the rest of the line (spaces included), it is case-sensitive, and
``_`` matches a delimiter as in IOS regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twin_lab.ios.grammar import INCOMPLETE, INVALID, CommandError

FILTERS = ("append", "begin", "count", "exclude", "format", "include", "redirect", "section", "tee")
SUPPORTED = ("begin", "count", "exclude", "include", "section")


@dataclass(frozen=True, slots=True)
class Pipe:
    kind: str  # one of SUPPORTED
    pattern: re.Pattern[str]


def split_pipe(line: str) -> tuple[str, Pipe | None]:
    """Split ``show x | include y`` into the command and its filter; raise IOS errors."""
    bar = line.find("|")
    if bar < 0:
        return line, None
    command = line[:bar]
    rest = line[bar + 1:]
    word_match = re.match(r"\s*(\S+)", rest)
    if word_match is None:
        raise CommandError(INCOMPLETE, len(line), line)
    word = word_match.group(1).lower()
    word_start = bar + 1 + word_match.start(1)
    candidates = [f for f in FILTERS if f.startswith(word)]
    if len(candidates) != 1 or candidates[0] not in SUPPORTED:
        raise CommandError(INVALID, word_start, line)
    kind = candidates[0]
    expression = rest[word_match.end(1):].strip()
    if kind == "section":
        expression = re.sub(r"^(include|exclude)\s+", "", expression)
    if not expression:
        raise CommandError(INCOMPLETE, len(line), line)
    try:
        pattern = ios_regex(expression)
    except re.error:
        raise CommandError(INVALID, word_start + len(word) + 1, line) from None
    return command, Pipe(kind, pattern)


def ios_regex(expression: str) -> re.Pattern[str]:
    """Compile an IOS regular expression (``_`` is a delimiter; the rest is POSIX-like)."""
    out = []
    escaped = False
    for ch in expression:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "_":
            out.append(r"(?:^|$|[,{}()\s_])")
        else:
            out.append(ch)
    return re.compile("".join(out))


def apply_pipe(output: str, pipe: Pipe) -> str:
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    search = pipe.pattern.search
    if pipe.kind == "include":
        kept = [line for line in lines if search(line)]
    elif pipe.kind == "exclude":
        kept = [line for line in lines if not search(line)]
    elif pipe.kind == "begin":
        start = next((i for i, line in enumerate(lines) if search(line)), len(lines))
        kept = lines[start:]
    elif pipe.kind == "count":
        return f"Number of lines which match regexp = {sum(1 for line in lines if search(line))}\n"
    else:
        kept = _sections(lines, search)
    return "".join(line + "\n" for line in kept)


def _sections(lines: list[str], search) -> list[str]:
    """IOS ``section``: whole sections whose header matches, else header plus matching children."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        header = lines[index]
        end = index + 1
        while end < len(lines) and lines[end][:1] == " ":
            end += 1
        children = lines[index + 1:end]
        if search(header):
            kept.append(header)
            kept.extend(children)
        else:
            matching = [c for c in children if search(c)]
            if matching:
                kept.append(header)
                kept.extend(matching)
        index = end
    return kept
