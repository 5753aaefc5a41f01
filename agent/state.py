"""The graph's state: what a checkpoint holds, so a run survives a crash and resumes by thread id.

Only data lives here (messages, plans, verdicts, results as plain dicts); the live parts of a run (the
device session, the brain, the journal) are built again by the runner on every resume.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

ApproveMode = Literal["ask", "auto", "never"]


class AgentState(TypedDict, total=False):
    run: dict[str, Any]  # how to rebuild the live parts on resume: inventory, brain spec, trajectory file
    task: dict[str, Any]  # agent.trajectory.TaskInfo as a dict
    approve: ApproveMode
    dry_run_only: bool
    messages: Annotated[list[AnyMessage], add_messages]
    steps: int  # brain calls so far
    brain_errors: int  # malformed or invalid tool calls so far
    replans: int
    observations: list[str]  # device output the plan was based on (untrusted: goes to the policy check)
    plan: dict[str, Any] | None  # ProposeChange, or ReportDiagnosis with a remediation
    diagnosis: dict[str, Any] | None
    changeset: dict[str, Any] | None
    verdicts: list[dict[str, Any]]
    dry_run: dict[str, Any] | None
    approvals: list[dict[str, Any]]
    transaction: dict[str, Any] | None
    checks: list[dict[str, Any]]
    outcome: dict[str, Any] | None
