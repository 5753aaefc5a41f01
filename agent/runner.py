"""Start, resume and record agent runs: the glue between the CLI, the graph, the checkpointer and the recorder.

A run's thread id names its checkpoint.  Everything needed to rebuild the live parts (inventory file,
brain spec, trajectory file) is stored in the state itself, so ``resume(thread_id)`` needs nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import convert_to_openai_messages
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.types import Command

from agent.brains import parse_brain_spec
from agent.graph import Limits, RunContext, build_graph, initial_messages
from agent.trajectory import Approval, Message, Outcome, TaskInfo, Trajectory, append_trajectory, now_iso
from policies.audit import AuditLog
from policies.pack import PolicyPack, default_pack, load_pack
from tools.journal import ChangeJournal
from tools.session import ToolSession

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PENDING, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2, 3, 4, 5
EXIT_CODES = {"verified": EXIT_OK, "planned": EXIT_OK, "diagnosed": EXIT_OK, "no_change": EXIT_OK,
              "pending_approval": EXIT_PENDING, "refused": EXIT_REFUSED, "rolled_back": EXIT_FAILED,
              "failed": EXIT_FAILED, "error": EXIT_ERROR}

Approver = Callable[[dict[str, Any]], dict[str, Any] | None]
"""Asked when the graph interrupts for approval; returns ``{"approved": bool, "by": ...}`` or None to
leave the run pending (no terminal: the run ends with EXIT_PENDING and can be resumed later)."""


class RunError(ValueError):
    """A run that cannot start (bad inventory, brain spec, state db, unknown thread)."""


def state_dir() -> Path:
    """``$TWINOPS_STATE_DIR``, else ``$XDG_STATE_HOME/twinops``, else ``~/.local/state/twinops``."""
    explicit = os.environ.get("TWINOPS_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "twinops"


@contextmanager
def open_checkpointer(state_db: str | None) -> Iterator[Any]:
    """SQLite by default (a file under the state dir); Postgres when ``state_db`` is a postgresql:// URL."""
    if state_db and state_db.startswith(("postgresql://", "postgres://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver  # type: ignore[import-not-found]
        except ImportError:
            raise RunError("a postgresql:// state db needs langgraph-checkpoint-postgres: "
                           "pip install 'twinops[postgres]'") from None
        with PostgresSaver.from_conn_string(state_db) as saver:
            saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(state_db) if state_db else state_dir() / "state.db"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as err:
        raise RunError(f"{path}: cannot open the state db ({err})") from None
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


@dataclass
class RunResult:
    thread_id: str
    outcome: dict[str, Any]
    state: dict[str, Any]
    interrupt: dict[str, Any] | None = None
    trajectory: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.outcome.get("status", "error"), EXIT_ERROR)


def _context(run: dict[str, Any], thread_id: str, session: ToolSession | None, brain: Any,
             pack: PolicyPack | None) -> RunContext:
    state = Path(run["state_dir"])
    if session is None:
        try:
            session = ToolSession.from_files(run["inventory"], audit=run.get("audit"))
        except ValueError as err:
            raise RunError(str(err)) from None
    if brain is None:
        try:
            parse_brain_spec(run["brain"])
        except ValueError as err:
            raise RunError(str(err)) from None
    if pack is None:
        pack = load_pack(run["policy"]) if run.get("policy") else default_pack()
    audit = session.audit or (AuditLog(run["audit"]) if run.get("audit") else None)
    return RunContext(session=session, brain=brain, brain_spec=run["brain"], pack=pack, journal=ChangeJournal(state / "journal.db"),
                      audit=audit, thread_id=thread_id, limits=Limits(**run.get("limits", {})))


@contextmanager
def _owned(ctx: RunContext, given: ToolSession | None) -> Iterator[None]:
    """Close the sessions a run opened itself when it returns (a caller's session stays the caller's).

    Left to the garbage collector, NAPALM's ``__del__`` logs out over SSH from whatever thread collects
    it: devices keep a vty line per leaked session meanwhile, and an in-process lab's event loop can be
    the thread that waits on itself."""
    try:
        yield
    finally:
        if given is None:
            ctx.session.close()


def start_run(prompt: str, *, kind: str, inventory: str | Path, brain: str = "expert", approve: str = "ask",
              dry_run_only: bool = False, state_db: str | None = None, trajectories: str | Path | None = None,
              thread_id: str | None = None, policy: str | None = None, audit: str | Path | None = None,
              task: dict[str, Any] | None = None, approver: Approver | None = None,
              session: ToolSession | None = None, brain_model: Any = None, pack: PolicyPack | None = None,
              limits: dict[str, int] | None = None, on_step: Callable[[str, dict], None] | None = None) -> RunResult:
    """Run the agent on ``prompt`` until it ends or waits for an approval nobody can give now."""
    thread_id = thread_id or f"run-{uuid.uuid4().hex[:12]}"
    task_info = TaskInfo(id=(task or {}).get("id", thread_id), kind=kind, prompt=prompt,
                         family=(task or {}).get("family"), seed=(task or {}).get("seed"))
    folder = state_dir()
    run = {"inventory": str(inventory), "brain": brain, "policy": policy, "audit": str(audit) if audit else None,
           "trajectories": str(trajectories or folder / "trajectories.jsonl"), "state_dir": str(folder),
           "state_db": state_db, "started_at": now_iso(), "t0": time.time(), "limits": limits or {}}
    ctx = _context(run, thread_id, session, brain_model, pack)
    state = {"run": run, "task": task_info.model_dump(), "approve": approve, "dry_run_only": dry_run_only,
             "messages": initial_messages(task_info.model_dump()), "steps": 0, "verdicts": [], "approvals": []}
    with _owned(ctx, session):
        return _drive(ctx, state, state_db, thread_id, approver, on_step)


def resume_run(thread_id: str, *, state_db: str | None = None, decision: dict[str, Any] | None = None,
               approver: Approver | None = None, session: ToolSession | None = None, brain_model: Any = None,
               pack: PolicyPack | None = None, on_step: Callable[[str, dict], None] | None = None) -> RunResult:
    """Continue ``thread_id`` after a crash or an approval given later (``decision``, or ask ``approver``)."""
    with open_checkpointer(state_db) as saver:
        snapshot = build_graph(_placeholder_context(), saver).get_state(_config(thread_id))
    if not snapshot or not snapshot.values:
        raise RunError(f"no run with thread id {thread_id!r} in the state db")
    run = snapshot.values["run"]
    ctx = _context(run, thread_id, session, brain_model, pack)
    if snapshot.interrupts and decision is None and approver is not None:
        decision = approver(snapshot.interrupts[0].value)
    if snapshot.interrupts and decision is None:
        return _pending(snapshot.values, thread_id, snapshot.interrupts[0].value)
    payload = Command(resume=decision) if snapshot.interrupts else None
    with _owned(ctx, session):
        return _drive(ctx, payload, state_db, thread_id, approver, on_step)


def _placeholder_context() -> RunContext:
    """Enough of a context to read a checkpoint (no node runs)."""
    return RunContext(session=None, brain=None)  # type: ignore[arg-type]


def _config(thread_id: str, limit: int = 200) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": limit}


def _drive(ctx: RunContext, payload: Any, state_db: str | None, thread_id: str, approver: Approver | None,
           on_step: Callable[[str, dict], None] | None) -> RunResult:
    with open_checkpointer(state_db) as saver:
        graph = build_graph(ctx, saver)
        config = _config(thread_id)
        while True:
            for chunk in graph.stream(payload, config, stream_mode="updates"):
                for node, update in chunk.items():
                    if on_step is not None and node != "__interrupt__":
                        on_step(node, update or {})
            snapshot = graph.get_state(config)
            if not snapshot.interrupts:
                break
            request = snapshot.interrupts[0].value
            decision = approver(request) if approver is not None else None
            if decision is None:
                return _pending(snapshot.values, thread_id, request)
            payload = Command(resume=decision)
        values = dict(snapshot.values)
    outcome = dict(values.get("outcome") or {"status": "error", "success": False, "error": "no outcome"})
    outcome["wall_s"] = round(time.time() - values["run"]["t0"], 3)
    record = record_trajectory(values, outcome, ctx)
    return RunResult(thread_id=thread_id, outcome=outcome, state=values, trajectory=record)


def _pending(values: dict[str, Any], thread_id: str, request: dict[str, Any]) -> RunResult:
    outcome = {"status": "pending_approval", "success": False, "thread_id": thread_id,
               "error": f"approval needed: resume with `twinops resume {thread_id}`"}
    return RunResult(thread_id=thread_id, outcome=outcome, state=dict(values), interrupt=request)


def record_trajectory(values: dict[str, Any], outcome: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Write the finished run as one ``twinops.trajectory/1`` line (redacted)."""
    run, task = values["run"], values["task"]
    messages = [Message.model_validate(_message(m)) for m in convert_to_openai_messages(values["messages"])]
    tools = [convert_to_openai_tool(t) for t in ctx.tools_for(task["kind"])]
    usage: dict[str, int] = {}
    for message in values["messages"]:
        for key, count in (getattr(message, "usage_metadata", None) or {}).items():
            if isinstance(count, int):
                usage[key] = usage.get(key, 0) + count
    change = None
    if values.get("changeset"):
        change = {"changeset": values["changeset"],
                  "diffs": ((values.get("transaction") or {}).get("devices") and
                            {d: o.get("diff", "") for d, o in values["transaction"]["devices"].items()}) or {},
                  "transaction": values.get("transaction")}
    record = Trajectory(
        run_id=f"{values['task']['id']}@{run['started_at']}", thread_id=ctx.thread_id, started_at=run["started_at"],
        task=TaskInfo.model_validate(task), brain=str(run["brain"]), messages=messages, tools=tools,
        verdicts=values.get("verdicts", []), dry_run=values.get("dry_run"), change=change,
        approvals=[Approval.model_validate(a) for a in values.get("approvals", [])],
        outcome=Outcome.model_validate({**outcome, "verified": outcome.get("status") == "verified",
                                        "steps": values.get("steps", 0), "checks": values.get("checks", [])}),
        usage=usage)
    return append_trajectory(run["trajectories"], record)


def _message(raw: dict[str, Any]) -> dict[str, Any]:
    content = raw.get("content", "")
    if isinstance(content, list):
        content = "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    out = {"role": raw["role"], "content": content or ""}
    if raw.get("tool_calls"):
        out["tool_calls"] = raw["tool_calls"]
    if raw.get("tool_call_id"):
        out["tool_call_id"] = raw["tool_call_id"]
    if raw["role"] == "tool" and raw.get("name"):
        out["name"] = raw["name"]
    return out
