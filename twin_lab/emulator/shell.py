"""One interactive IOS CLI session: line framing, echo, modes, prompts, questions, errors.

Screen-scraping clients (Netmiko, NAPALM) synchronise on two things: the echo of the command
they sent and the prompt after its output.  So a line is echoed when it is processed, output
follows, then the prompt - all in one write, with no per-byte delays.  Lines may end in ``\\r``,
``\\n`` or ``\\r\\n``; NUL bytes (NAPALM's keepalive) are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from twin_lab.emulator.commands import CommandSet, Output, Question
from twin_lab.emulator.device import DeviceState, LabState
from twin_lab.emulator.pipes import apply_pipe, split_pipe
from twin_lab.ios.grammar import INCOMPLETE, INVALID, CommandError, tokenize

log = logging.getLogger(__name__)

_LINE_END = re.compile(r"\r\n|\r|\n|\x1a|\x03")
UNKNOWN_COMMAND = "% Unknown command or computer name, or unable to find computer address"
MAX_LINE = 16_384  # characters kept of one unterminated line (a client streaming garbage cannot grow it)


def error_text(err: CommandError, caret_base: int) -> str:
    """IOS error output; the caret sits under the offending character of the echoed line."""
    if err.message == INVALID:
        return " " * (caret_base + err.position) + "^\n" + INVALID + "\n\n"
    if err.message == INCOMPLETE:
        return INCOMPLETE + "\n\n"
    return err.message + "\n"


class Shell:
    """The CLI state machine of one session on one device (transport-agnostic)."""

    def __init__(self, lab: LabState, device: str, commands: CommandSet, *, username: str,
                 write: Callable[[str], None], close: Callable[[], None], peer: str = "127.0.0.1"):
        self.lab = lab
        self.device = device
        self.commands = commands
        self.username = username
        self.peer = peer
        self.level = 15  # lab users log in privileged, like "privilege 15" local users
        self.config = None  # the simulator's config session while in config mode
        self.term_length = 24
        self.term_width = 80
        self.closed = False
        self._write = write
        self._close = close
        self._pending: Question | None = None
        self._buffer = ""
        self._after_cr = False
        self._out: list[str] = []

    # --- state ----------------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        return self.lab.device(self.device)

    @property
    def network(self):
        return self.lab.network

    @property
    def hostname(self) -> str:
        return self.lab.hostname(self.device)

    def prompt(self) -> str:
        if self.config is not None:
            return f"{self.hostname}({self.config.mode})#"
        return f"{self.hostname}{'#' if self.level >= 15 else '>'}"

    def enter_config(self) -> None:
        self.config = self.network.config_session(self.device)

    def request_close(self) -> None:
        self.closed = True

    # --- transport side ---------------------------------------------------------------------

    def start(self) -> None:
        self.state  # noqa: B018 - create device state (startup-config snapshot) at first login
        self._write("\r\n" + self.prompt())

    def feed(self, data: str) -> None:
        """Process received characters; complete lines are executed in order."""
        if self.closed:
            return
        data = data.replace("\x00", "")
        if self._after_cr and data.startswith("\n"):
            data = data[1:]
        self._after_cr = False
        position = 0
        for match in _LINE_END.finditer(data):
            line = (self._buffer + data[position:match.start()])[:MAX_LINE]
            self._buffer = ""
            position = match.end()
            terminator = match.group()
            if terminator in ("\x1a", "\x03"):
                self._handle_line(line, interrupt=True)
            else:
                self._handle_line(line)
            if self.closed:
                break
        else:
            self._buffer = (self._buffer + data[position:])[:MAX_LINE]
            self._after_cr = data.endswith("\r")
        self._flush()
        if self.closed:
            self._close()

    def run_once(self, line: str) -> str:
        """Run one exec command without echo or prompt (``ssh R1 "show version"``)."""
        result = self._execute(line, 0)
        while isinstance(result, Question):  # non-interactive: take every default
            self._out.append(result.before + result.prompt + "\n")
            result = result.answer("")
        text = "".join(self._out) + (result or "")
        self._out = []
        return text

    def _flush(self) -> None:
        if self._out:
            text = "".join(self._out).replace("\n", "\r\n")
            self._out = []
            self._write(text)

    # --- line handling ----------------------------------------------------------------------

    def _handle_line(self, line: str, interrupt: bool = False) -> None:
        line = _apply_backspaces(line)
        if self._pending is not None:
            question, self._pending = self._pending, None
            self._out.append(("" if question.hidden else line) + "\n")
            result = self._safe(lambda: question.answer(line))
        elif interrupt:
            self._out.append(line + "\n" if line else "\n")
            result = None
            if self.config is not None:
                self.config = None
        else:
            self._out.append(line + "\n")
            result = self._execute(line, len(self.prompt()))
        if self.closed:
            if isinstance(result, str):
                self._out.append(_terminated(result))
            return
        if isinstance(result, Question):
            self._out.append(result.before + result.prompt)
            self._pending = result
            return
        if result:
            self._out.append(_terminated(result))
        self._out.append(self.prompt())

    def _execute(self, line: str, caret_base: int) -> Output:
        if self.config is not None:
            return self._config_line(line, caret_base)
        return self.exec_command(line, self.level, caret_base)

    def exec_command(self, line: str, level: int, caret_base: int) -> Output:
        """Run an exec-mode command line (also used by ``do`` in config mode)."""
        if not line.strip():
            return None
        try:
            command, pipe = split_pipe(line)
            handler, invocation = self.commands.lookup(command, level)
            if pipe is not None and invocation.keywords[0] not in self.commands.pipeable:
                raise CommandError(INVALID, line.index("|"), line)
        except CommandError as err:
            tokens = tokenize(line)
            if err.message == INVALID and len(tokens) == 1 and "|" not in line:
                return f'Translating "{tokens[0].text}"\n{UNKNOWN_COMMAND}\n'
            return error_text(err, caret_base)
        try:
            result = handler(self, invocation)
        except CommandError as err:
            return error_text(err, caret_base)
        except Exception:  # a bug must not kill the session a client is scripting against
            log.exception("exec command %r failed on %s", line, self.device)
            return "% Internal error\n"
        if pipe is not None and isinstance(result, str):
            result = apply_pipe(result, pipe)
        return result

    def _config_line(self, line: str, caret_base: int) -> Output:
        tokens = tokenize(line)
        if not tokens:
            return None
        if tokens[0].text.lower() == "do":
            if len(tokens) == 1:
                return INCOMPLETE + "\n\n"
            return self.exec_command(line[tokens[1].start:], 15, caret_base + tokens[1].start)
        session = self.config
        error = self._safe_apply(line)
        if error is not None:
            return error_text(CommandError(error.message, error.position, line), caret_base)
        if tokens[0].text.lower() not in ("end", "exit"):
            self.lab.touch(self.device, self.username)
        if session.ended:
            self.config = None
        return None

    def _safe_apply(self, line: str):
        try:
            return self.config.apply(line)
        except Exception:
            log.exception("config line %r failed on %s", line, self.device)
            return CommandError(INVALID, 0, line)

    def _safe(self, action: Callable[[], Output]) -> Output:
        try:
            return action()
        except CommandError as err:
            return error_text(err, len(self.prompt()))
        except Exception:
            log.exception("answer handler failed on %s", self.device)
            return "% Internal error\n"


def _terminated(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _apply_backspaces(line: str) -> str:
    if "\x7f" not in line and "\x08" not in line:
        return line
    out: list[str] = []
    for ch in line:
        if ch in "\x7f\x08":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)
