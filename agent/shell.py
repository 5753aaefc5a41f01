"""``twinops shell``: an interactive ops session (rich output, prompt_toolkit input when on a terminal).

Lines are: ``/help``, ``/devices``, ``/history``, ``/quit``; ``R1 show ip route`` (a read-only show on a
device, allow-listed); ``/run INTENT`` and ``/diagnose SYMPTOM``; anything else is free text, read as a
symptom when it sounds like one ("h1 cannot reach h2", "BGP to R5 is down") and as a change intent
otherwise.  Approvals are y/n prompts with the diff shown.  Piped input works the same, line by line
(that is how the tests drive it), so the shell never needs a terminal.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from agent.commands import report, show_plan, step_printer
from agent.runner import RunError, start_run, state_dir
from tools.allowlist import ALLOWED_PHRASES
from tools.errors import ToolError
from tools.read_tools import show
from tools.session import ToolSession

# completion words: those of the read-only commands `show` accepts (one allow-list, in tools/)
SHOW_WORDS = ["show", *sorted({word for phrase in ALLOWED_PHRASES for word in phrase.split()})]
SLASH = ["/help", "/devices", "/history", "/run", "/diagnose", "/quit"]
_SYMPTOM = re.compile(r"\b(can'?not|can't|cant|unable|unreachable|down|fail\w*|broken|lost|no route|not working|"
                      r"isn'?t|doesn'?t|why|missing|flapping|drops?|timeouts?)\b", re.IGNORECASE)
HELP = """[bold]twinops shell[/]
  [cyan]R1 show ip route[/]          a read-only show command on a device (allow-listed)
  [cyan]/run INTENT[/]               plan, check, dry-run and (after your y) apply a change
  [cyan]/diagnose SYMPTOM[/]         find a root cause, then offer the fix
  [cyan]free text[/]                 a symptom ("h1 cannot reach h2") or an intent ("describe R1 Gi0/1 as uplink")
  [cyan]/devices[/]  [cyan]/history[/]  [cyan]/help[/]  [cyan]/quit[/]"""


def classify(text: str) -> str:
    """``diagnosis`` for text that reads like a symptom, else ``change``."""
    return "diagnosis" if _SYMPTOM.search(text) else "change"


class OpsShell:
    """One interactive session; ``lines`` and ``confirm`` are injectable so it runs headless."""

    def __init__(self, inventory: str | Path, *, brain: str = "expert", state_db: str | None = None,
                 console: Console | None = None, session: ToolSession | None = None, brain_model: Any = None,
                 trajectories: str | None = None):
        self.inventory = str(inventory)
        self.brain, self.brain_model, self.state_db, self.trajectories = brain, brain_model, state_db, trajectories
        self.console = console or Console()
        self.session = session or ToolSession.from_files(inventory)
        self._owns_session = session is None  # closed when run() ends; a given session stays the caller's
        self.history: list[dict[str, Any]] = []
        self._pending_answers: Iterator[str] | None = None

    # --- input ----------------------------------------------------------------------------------------
    def terminal_lines(self) -> Iterator[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory

        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        words = SLASH + self.session.devices() + SHOW_WORDS
        prompt = PromptSession(history=FileHistory(str(folder / "shell_history")),
                               completer=WordCompleter(words, ignore_case=True, WORD=True))
        self.confirm = lambda question: prompt.prompt(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        while True:
            try:
                yield prompt.prompt("twinops> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return

    def stream_lines(self, stream: TextIO) -> Iterator[str]:
        def answer(question: str) -> bool:
            line = stream.readline()
            self.console.print(f"{question} [y/N] {line.strip()}", highlight=False, markup=False)
            return line.strip().lower() in ("y", "yes")

        self.confirm = answer
        while True:
            line = stream.readline()
            if not line:
                return
            self.console.print(f"twinops> {line.rstrip()}", highlight=False, markup=False)
            yield line

    confirm: Callable[[str], bool] = staticmethod(lambda question: False)  # type: ignore[assignment]

    # --- loop -----------------------------------------------------------------------------------------
    def run(self, lines: Iterator[str]) -> int:
        self.console.print(f"[bold]twinops shell[/] — {len(self.session.devices())} devices, brain "
                           f"[cyan]{self.brain}[/]. /help for commands.")
        try:
            for raw in lines:
                line = raw.strip()
                if not line:
                    continue
                if line in ("/quit", "/exit", "quit", "exit"):
                    break
                try:
                    self.handle(line)
                except (RunError, ToolError, ValueError) as err:
                    self.console.print(f"[red]error:[/] {err}", highlight=False)
        finally:
            if self._owns_session:
                self.session.close()
        self.console.print("bye")
        return 0

    def handle(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "/help":
            self.console.print(HELP)
        elif word == "/devices":
            self.devices()
        elif word == "/history":
            self.show_history()
        elif word == "/run":
            self.agent("change", rest.strip())
        elif word == "/diagnose":
            self.agent("diagnosis", rest.strip())
        elif word.startswith("/"):
            self.console.print(f"[red]unknown command {word}[/]; /help lists them")
        elif word in self.session.devices() and rest.strip():
            self.show(word, rest.strip())
        else:
            self.agent(classify(line), line)

    def devices(self) -> None:
        table = Table(title="devices")
        for column in ("name", "address", "platform", "role"):
            table.add_column(column)
        for name in self.session.devices():
            host = self.session.host(name)
            table.add_row(name, f"{host.hostname}:{host.port}", host.platform, str((host.data or {}).get("role", "")))
        self.console.print(table)

    def show(self, device: str, command: str) -> None:
        result = show(self.session, device, " ".join(shlex.split(command)))
        self.console.print(result["output"], highlight=False, markup=False)
        self.history.append({"kind": "show", "text": f"{device} {command}", "status": "ok"})

    def show_history(self) -> None:
        table = Table(title="this session")
        for column in ("#", "kind", "text", "status", "thread"):
            table.add_column(column)
        for number, item in enumerate(self.history, 1):
            table.add_row(str(number), item["kind"], item["text"], item["status"], item.get("thread", ""))
        self.console.print(table)

    def agent(self, kind: str, text: str) -> None:
        if not text:
            self.console.print("[red]say what to do[/], e.g. /run describe R1 Gi0/1 as uplink")
            return

        def approver(request: dict[str, Any]) -> dict[str, Any]:
            show_plan(request.get("changeset") or {}, request.get("diffs") or {}, request.get("verdict"),
                      self.console)
            return {"approved": self.confirm("Apply this change?"), "by": "operator"}

        result = start_run(text, kind=kind, inventory=self.inventory, brain=self.brain, approve="ask",
                           state_db=self.state_db, trajectories=self.trajectories, approver=approver,
                           session=self.session, brain_model=self.brain_model,
                           on_step=step_printer(self.console))
        report(result, as_json=False, out=self.console)
        self.history.append({"kind": kind, "text": text, "status": result.outcome["status"],
                             "thread": result.thread_id})


def run_shell(inventory: str, brain: str, state_db: str | None, trajectories: str | None) -> int:
    shell = OpsShell(inventory, brain=brain, state_db=state_db, trajectories=trajectories)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    return shell.run(shell.terminal_lines() if interactive else shell.stream_lines(sys.stdin))
