"""A tiny IOS-style keyword tree: unique-prefix abbreviations, ambiguity and error positions.

Both the config applier and the emulator's exec commands use it, so ``int gi0/1``,
``sh ip int br`` and ``% Ambiguous command`` behave the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."


@dataclass(slots=True)
class Token:
    text: str
    start: int


def tokenize(line: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        while i < n and not line[i].isspace():
            i += 1
        tokens.append(Token(line[start:i], start))
    return tokens


@dataclass(slots=True)
class CommandError(Exception):
    """An IOS-style error; ``position`` is the character offset the caret points at."""

    message: str
    position: int = 0
    line: str = ""

    def __str__(self) -> str:
        return self.message


def invalid_at(tokens: list[Token], index: int, line: str) -> CommandError:
    position = tokens[index].start if index < len(tokens) else len(line)
    return CommandError(INVALID, position, line)


Handler = Callable[..., Any]


@dataclass
class Node:
    """A keyword level; ``handler`` runs with the remaining argument tokens."""

    children: dict[str, Node] = field(default_factory=dict)
    handler: Handler | None = None
    hidden: bool = False

    def add(self, path: str, handler: Handler) -> Node:
        node = self
        for word in path.split():
            node = node.children.setdefault(word, Node())
        node.handler = handler
        return node

    def match(self, word: str) -> tuple[str | None, list[str]]:
        """Return (keyword, candidates): the unique keyword ``word`` abbreviates, or the candidates."""
        lowered = word.lower()
        if lowered in self.children:
            return lowered, [lowered]
        candidates = [k for k in self.children if k.startswith(lowered)]
        if len(candidates) == 1:
            return candidates[0], candidates
        return None, candidates


@dataclass(slots=True)
class Resolved:
    handler: Handler
    keywords: list[str]
    args: list[Token]
    exact: bool = True  # every keyword typed in full (not abbreviated)


def resolve(root: Node, line: str, tokens: list[Token], start: int = 0) -> Resolved:
    """Walk the keyword tree; raise ``CommandError`` with IOS wording when it cannot."""
    node = root
    keywords: list[str] = []
    exact = True
    index = start
    while index < len(tokens):
        keyword, candidates = node.match(tokens[index].text)
        if keyword is None:
            if len(candidates) > 1:
                typed = " ".join(t.text for t in tokens[: index + 1])
                raise CommandError(f'% Ambiguous command:  "{typed}"', tokens[index].start, line)
            if node.handler is not None:
                break
            raise invalid_at(tokens, index, line)
        node = node.children[keyword]
        exact = exact and tokens[index].text.lower() == keyword
        keywords.append(keyword)
        index += 1
        if not node.children:
            break
    if node.handler is None:
        if index >= len(tokens):
            raise CommandError(INCOMPLETE, len(line), line)
        raise invalid_at(tokens, index, line)
    return Resolved(node.handler, keywords, tokens[index:], exact)
