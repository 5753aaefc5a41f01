"""``twinops run``, ``twinops diagnose`` and ``twinops resume``: the agent from the command line.

Exit codes: 0 verified (or, with --dry-run / --approve never, a checked plan; for diagnose without a
remediation, a root cause), 1 error, 2 usage, 3 approval pending (resume with the printed thread id),
4 refused (policy deny, operator rejection, or the agent declined), 5 failed and rolled back.
A run with no terminal never waits on standard input: a needed approval ends it with exit 3.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

if TYPE_CHECKING:  # the runner pulls in langgraph and langchain: imported when a command runs, not for --help
    from agent.runner import RunResult

EXIT_USAGE = 2

console = Console()
err_console = Console(stderr=True)

InventoryOpt = Annotated[str, typer.Option("--inventory", help="Nornir SimpleInventory hosts.yaml.")]
BrainOpt = Annotated[str, typer.Option("--brain", help="expert | hf:PATH[,adapter=DIR][,4bit] | openai:URL[,model=NAME]")]
ApproveOpt = Annotated[str, typer.Option("--approve", help="ask | auto (approve what policy allows) | never")]
StateDbOpt = Annotated[str | None, typer.Option("--state-db", help="SQLite file or postgresql:// URL.")]
TrajOpt = Annotated[str | None, typer.Option("--trajectories", help="Trajectory JSONL file to append to.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the outcome record as JSON.")]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help="Policy pack YAML (default: shipped pack).")]
AuditOpt = Annotated[str | None, typer.Option("--audit-log", help="Hash-chained audit log to append to.")]


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _interactive_approver(as_json: bool):
    """y/n at the terminal, with the diff shown; None when nobody is there to ask."""
    if as_json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        show_plan(request.get("changeset") or {}, request.get("diffs") or {}, request.get("verdict"))
        answer = typer.confirm("Apply this change?", default=False)
        return {"approved": answer, "by": "operator"}

    return ask


def show_plan(changeset: dict[str, Any], diffs: dict[str, str], verdict: dict[str, Any] | None,
              out: Console | None = None) -> None:
    out = out or console
    for change in changeset.get("changes", []):
        text = diffs.get(change["device"]) or "\n".join(change["lines"])
        lexer = "diff" if change["device"] in diffs else "text"
        out.print(Panel(Syntax(text, lexer, theme="ansi_dark", word_wrap=True),
                            title=f"{change['device']}", expand=False))
    if verdict:
        style = {"allow": "green", "needs_approval": "yellow", "deny": "red"}.get(verdict["decision"], "white")
        out.print(f"policy: [bold {style}]{verdict['decision']}[/]")
        for rule in verdict.get("rules", []):
            out.print(f"  • {rule['id']} ({rule['decision']}): {rule['reason']}", highlight=False)


def step_printer(out: Console | None = None, *, quiet: bool = False):
    """An ``on_step`` callback that streams the agent's steps (tool calls, verdicts, apply) to ``out``."""
    out = out or console

    def step(node: str, update: dict[str, Any]) -> None:
        if quiet:
            return
        if node == "brain":
            for message in update.get("messages", []):
                for call in getattr(message, "tool_calls", []) or []:
                    args = ", ".join(f"{k}={v!r}" for k, v in (call.get("args") or {}).items()
                                     if k not in ("changes", "checks", "remediation", "evidence"))
                    out.print(f"[cyan]→ {call['name']}[/]({args})", highlight=False)
        elif node in ("guard", "dry_run") and update.get("verdicts"):
            verdict = update["verdicts"][-1]
            out.print(f"[magenta]{node}[/]: policy {verdict['decision']}", highlight=False)
            if node == "dry_run" and update.get("dry_run"):
                result = update["dry_run"]
                out.print(f"  twin: {len(result.get('devices_changed', []))} device(s) changed, "
                          f"reachability lost {len(result.get('reachability_lost', []))}, "
                          f"adjacencies lost {len(result.get('adjacencies_lost', []))}", highlight=False)
        elif node == "apply" and update.get("transaction"):
            out.print(f"[magenta]apply[/]: transaction {update['transaction']['status']}", highlight=False)
    return step


def report(result: RunResult, as_json: bool, out: Console | None = None) -> None:
    out = out or console
    outcome = result.outcome
    if as_json:
        print(json.dumps({**outcome, "thread_id": result.thread_id}, default=str))
        return
    state = result.state
    if state.get("diagnosis"):
        d = state["diagnosis"]
        out.print(Panel(f"[bold]{d['device']}[/] ({d['component']}): {d['root_cause']}\n"
                            + "\n".join(f"  • {e}" for e in d.get("evidence", [])), title="root cause"))
    if state.get("changeset") and outcome["status"] != "pending_approval":
        diffs = {}
        if state.get("transaction"):
            diffs = {d: o.get("diff", "") for d, o in state["transaction"]["devices"].items() if o.get("diff")}
        elif state.get("dry_run"):
            diffs = state["dry_run"].get("config_diffs", {})
        show_plan(state["changeset"], diffs, (state.get("verdicts") or [None])[-1], out)
    if state.get("checks"):
        table = Table(title="verification")
        for col in ("check", "ok", "detail"):
            table.add_column(col)
        for check in state["checks"]:
            spec = check["check"]
            table.add_row(spec["kind"] + " " + " ".join(str(v) for k, v in spec.items() if k != "kind"),
                          "[green]yes[/]" if check["ok"] else "[red]no[/]", check["detail"])
        out.print(table)
    style = "green" if outcome.get("success") else "yellow" if outcome["status"] == "pending_approval" else "red"
    out.print(f"[bold {style}]{outcome['status']}[/] {outcome.get('error') or ''}  (thread {result.thread_id})",
                  highlight=False)


def _run(kind: str, prompt: str, inventory: str, brain: str, dry_run: bool, approve: str, state_db: str | None,
         trajectories: str | None, as_json: bool, policy: str | None, audit_log: str | None) -> None:
    if approve not in ("ask", "auto", "never"):
        raise _fail(f"--approve must be ask, auto or never (got {approve!r})")
    from agent.runner import RunError, start_run

    try:
        result = start_run(prompt, kind=kind, inventory=inventory, brain=brain, approve=approve,
                           dry_run_only=dry_run, state_db=state_db, trajectories=trajectories, policy=policy,
                           audit=audit_log, approver=_interactive_approver(as_json), on_step=step_printer(quiet=as_json))
    except RunError as err:
        raise _fail(str(err)) from None
    report(result, as_json)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add run / diagnose / resume / shell to the root app."""
    register_shell(app)

    @app.command("run")
    def run_command(intent: Annotated[str, typer.Argument(help="What to change, in plain words.")],
                    inventory: InventoryOpt, brain: BrainOpt = "expert",
                    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and check only.")] = False,
                    approve: ApproveOpt = "ask", state_db: StateDbOpt = None, trajectories: TrajOpt = None,
                    as_json: JsonOpt = False, policy: PolicyOpt = None, audit_log: AuditOpt = None) -> None:
        """Plan a change from an intent, guard it, dry-run it, ask, apply it, verify it."""
        _run("change", intent, inventory, brain, dry_run, approve, state_db, trajectories, as_json, policy,
             audit_log)

    @app.command("diagnose")
    def diagnose_command(symptom: Annotated[str, typer.Argument(help="What is wrong, in plain words.")],
                         inventory: InventoryOpt, brain: BrainOpt = "expert",
                         dry_run: Annotated[bool, typer.Option("--dry-run", help="Diagnose and plan only.")] = False,
                         approve: ApproveOpt = "ask", state_db: StateDbOpt = None, trajectories: TrajOpt = None,
                         as_json: JsonOpt = False, policy: PolicyOpt = None, audit_log: AuditOpt = None) -> None:
        """Find the root cause of a symptom (read-only), then fix it through the change path."""
        _run("diagnosis", symptom, inventory, brain, dry_run, approve, state_db, trajectories, as_json, policy,
             audit_log)

    @app.command("resume")
    def resume_command(thread_id: Annotated[str, typer.Argument(help="The thread id a run printed.")],
                       state_db: StateDbOpt = None,
                       approve_: Annotated[bool | None, typer.Option("--approve/--reject",
                                                                     help="Answer a pending approval.")] = None,
                       by: Annotated[str, typer.Option("--by", help="Who approves.")] = "operator",
                       as_json: JsonOpt = False) -> None:
        """Continue a run after a crash, or answer its pending approval."""
        from agent.runner import RunError, resume_run

        decision = None if approve_ is None else {"approved": approve_, "by": by}
        try:
            result = resume_run(thread_id, state_db=state_db, decision=decision,
                                approver=_interactive_approver(as_json), on_step=step_printer(quiet=as_json))
        except RunError as err:
            raise _fail(str(err)) from None
        report(result, as_json)
        raise typer.Exit(result.exit_code)


def register_shell(app: typer.Typer) -> None:
    @app.command("shell")
    def shell_command(inventory: InventoryOpt, brain: BrainOpt = "expert", state_db: StateDbOpt = None,
                      trajectories: TrajOpt = None) -> None:
        """An interactive ops session: show commands, intents and symptoms, approvals with diffs."""
        from agent.runner import RunError
        from agent.shell import run_shell

        try:
            code = run_shell(inventory, brain, state_db, trajectories)
        except (RunError, ValueError) as err:
            raise _fail(str(err)) from None
        raise typer.Exit(code)
