"""``twinops policy ...`` and ``twinops audit ...``: judge a change request, publish its schema, verify logs.

Exit codes of ``policy check``: 0 allow, 3 needs_approval, 4 deny, 2 unreadable/invalid request or policy.
Exit codes of ``audit verify``: 0 intact, 1 tampered (first bad line reported), 2 unreadable.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from policies.audit import AuditError, AuditLog, verify
from policies.engine import Verdict, evaluate
from policies.pack import PolicyError, PolicyPack, default_pack, load_pack
from policies.request import RequestError, change_request_schema, load_request

policy_app = typer.Typer(help="Guardrails: judge change requests against a policy pack.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help="A policy pack YAML (default: the shipped pack).")]
STYLE = {"allow": "bold green", "needs_approval": "bold yellow", "deny": "bold red"}


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one readable error line and return the exit to raise (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


def _pack(policy: str | None) -> PolicyPack:
    try:
        return load_pack(policy) if policy else default_pack()
    except PolicyError as err:
        raise fail(str(err)) from None


def verdict_table(verdict: Verdict, source: str) -> Table:
    table = Table(title=f"{source}: [{STYLE[verdict.decision]}]{verdict.decision}[/]", title_justify="left")
    for column in ("rule", "decision", "reason"):
        table.add_column(column, overflow="fold")
    for rule in verdict.rules:
        table.add_row(rule.id, f"[{STYLE[rule.decision]}]{rule.decision}[/]", rule.reason)
    return table


@policy_app.command("check")
def check(change: Annotated[str, typer.Argument(help="Change request JSON file ('-' for stdin).")],
          policy: PolicyOpt = None, as_json: JsonOpt = False,
          audit: Annotated[str | None, typer.Option("--audit", help="Append the verdict to this audit log.")] = None,
          ) -> None:
    """Judge a change request: exit 0 allow, 3 needs_approval, 4 deny, 2 invalid input."""
    pack = _pack(policy)
    try:
        request = load_request(change)
    except RequestError as err:
        raise fail(str(err)) from None
    verdict = evaluate(request, pack)
    if audit:
        try:
            AuditLog(audit).log_verdict(request, verdict, source=change)
        except (OSError, ValueError, KeyError) as err:
            raise fail(f"{audit}: cannot append to the audit log: {err}") from None
    if as_json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        console.print(verdict_table(verdict, change))
    raise typer.Exit(verdict.exit_code)


@policy_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a change request."""
    print(json.dumps(change_request_schema(), indent=2))


@policy_app.command("rules")
def rules(policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """List the rules of a policy pack (the shipped default unless --policy)."""
    pack = _pack(policy)
    if as_json:
        print(json.dumps([{"id": r.id, "decision": r.decision, "category": r.category,
                           "description": r.description} for r in pack.rules], indent=2))
        return
    table = Table(title=f"Policy pack {pack.name} (v{pack.version})", title_justify="left")
    for column in ("rule", "decision", "category", "description"):
        table.add_column(column, overflow="fold")
    for rule in pack.rules:
        table.add_row(rule.id, f"[{STYLE[rule.decision]}]{rule.decision}[/]", rule.category, rule.description)
    console.print(table)


@audit_app.command("verify")
def audit_verify(path: Annotated[str, typer.Argument(help="The audit log (JSONL).")], as_json: JsonOpt = False,
                 head: Annotated[str | None, typer.Option("--head", help="Expected last hash (detects truncation).")]
                 = None) -> None:
    """Check the hash chain: exit 0 intact, 1 tampered (first bad line), 2 unreadable."""
    try:
        result = verify(path, expect_head=head)
    except AuditError as err:
        raise fail(str(err)) from None
    if as_json:
        print(json.dumps({"file": path, **result.to_dict()}, indent=2))
    elif result.ok:
        console.print(f"[bold green]intact[/]: {path}: {result.records} records, head {result.head[:16]}…", soft_wrap=True,
                      highlight=False)
    else:
        err_console.print(f"[bold red]tampered[/]: {path}: line {result.bad_line}: {result.problem}", highlight=False,
                          soft_wrap=True)
    raise typer.Exit(0 if result.ok else 1)


def build_root() -> typer.Typer:
    root = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
    root.add_typer(policy_app, name="policy")
    root.add_typer(audit_app, name="audit")
    return root


if __name__ == "__main__":
    build_root()()
