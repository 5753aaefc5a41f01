"""Exec-mode command registry on the shared IOS keyword tree (``twin_lab.ios.grammar``).

Using the same tree as the config applier means ``sh ip int br``, ``% Ambiguous command`` and
caret positions behave identically in exec and config mode.  Commands register a privilege
level: user exec (``R1>``) sees only level-1 commands, exactly as if the others did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from twin_lab.ios.grammar import INVALID, CommandError, Node, Token, resolve, tokenize

if TYPE_CHECKING:
    from twin_lab.emulator.shell import Shell


@dataclass(slots=True)
class Invocation:
    """One resolved command: the keywords matched, the argument tokens left, the full line."""

    keywords: list[str]
    args: list[Token]
    line: str

    def words(self) -> list[str]:
        return [t.text for t in self.args]

    def invalid(self, index: int = 0) -> CommandError:
        """The IOS error for argument ``index`` (or end of line)."""
        position = self.args[index].start if index < len(self.args) else len(self.line)
        return CommandError(INVALID, position, self.line)

    def expect_none(self, index: int = 0) -> None:
        if len(self.args) > index:
            raise self.invalid(index)


@dataclass(slots=True)
class Question:
    """A handler asking the user something (``Destination filename [x]?``, ``Password:``).

    ``answer`` gets the typed line and returns more output (or another question).
    """

    prompt: str
    answer: Callable[[str], Output]
    hidden: bool = False
    before: str = ""  # output printed before the prompt


Output = Union[str, Question, None]  # noqa: UP007 - a runtime alias, keep it readable
Handler = Callable[["Shell", Invocation], Output]


@dataclass
class CommandSet:
    """Two keyword trees: everything (privileged exec) and the user-exec subset."""

    privileged: Node = field(default_factory=Node)
    user: Node = field(default_factory=Node)
    pipeable: set[str] = field(default_factory=set)

    def add(self, path: str, handler: Handler, *, level: int = 15, pipe: bool = False) -> None:
        self.privileged.add(path, handler)
        if level <= 1:
            self.user.add(path, handler)
        if pipe:
            self.pipeable.add(path.split()[0])

    def root(self, level: int) -> Node:
        return self.privileged if level >= 15 else self.user

    def lookup(self, line: str, level: int) -> tuple[Handler, Invocation]:
        """Resolve ``line``; raises ``CommandError`` (invalid / incomplete / ambiguous)."""
        tokens = tokenize(line)
        resolved = resolve(self.root(level), line, tokens)
        return resolved.handler, Invocation(resolved.keywords, resolved.args, line)
