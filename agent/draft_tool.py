"""``draft_plan``: a planning tool that turns a whole survey into one observation.

A run with the standard read tools is 10-25 decisions long (list, read every device, probe, act), far
past what a small model trained for minutes can plan. ``draft_plan`` does the reading and the analysis
the way the expert does (running-config, interfaces, LLDP and ARP of every device, then protocol state and
probes, then a what-if test of the fix in a simulator built from what it read) and returns the terminal
action it would take, as data. The brain still decides: whether to refuse the request outright (the tool
plans what it is asked and does not screen requests), whether to adopt the draft, read more or refuse, and
the guard, dry-run, approval and verify stages judge the adopted plan like any other.

It reads through the run's own session (SSH to the devices, or the in-process twin), so it works on any
network the read tools work on and sees nothing the read tools do not.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from agent.actions import TERMINAL_ACTIONS, action_tools
from tools.read_tools import read_tools
from tools.session import ToolSession

DRAFT_PLAN = "draft_plan"
DRAFT_TOOLSET = "draft"
TOOLSETS = ("standard", DRAFT_TOOLSET)
MAX_ROUNDS = 12  # the expert needs at most 8 reading rounds, then acts

DESCRIPTION = ("Survey every device (configs, interfaces, LLDP, ARP, protocol state, probes), analyse the "
               "network and draft the terminal action for this run's request: a change with read-back checks, "
               "a diagnosis with its remediation, or why no plan fits. Returns {action, args, reads}. The "
               "request is not screened for safety: refuse harmful requests yourself.")


def check_toolset(toolset: str) -> str:
    """``toolset`` when it names one (``--toolset`` on bench, eval and data generate), else ValueError."""
    if toolset not in TOOLSETS:
        raise ValueError(f"--toolset must be one of {', '.join(TOOLSETS)}, got {toolset!r}")
    return toolset


class NoArgs(BaseModel):
    """``draft_plan`` takes no arguments: it plans the run's own request."""


def draft(session: ToolSession, kind: str, prompt: str, workers: int = 8) -> dict[str, Any]:
    """The terminal action the expert would take on ``prompt`` (``kind``: change | diagnosis), from reads
    made through ``session``: ``{"action": name, "args": {...}, "reads": n}``."""
    from agent.brains.expert import ExpertBrain
    from agent.graph import run_reads

    change = kind == "change"
    reads = {t.name: t for t in read_tools(session)}
    expert = ExpertBrain(screen=False).bind_tools([*reads.values(), *action_tools("change" if change else "diagnosis")])
    messages: list[BaseMessage] = [HumanMessage(f"{'CHANGE' if change else 'DIAGNOSE'}: {prompt}")]
    count = 0
    for _ in range(MAX_ROUNDS):
        reply = expert.invoke(messages)
        calls = list(reply.tool_calls or [])
        terminal = next((c for c in calls if c["name"] in TERMINAL_ACTIONS), None)
        if terminal is not None:
            return {"action": terminal["name"], "args": terminal["args"], "reads": count}
        if not calls:
            break
        messages.append(AIMessage(content="", tool_calls=calls))
        results = run_reads(calls, reads, workers)
        for index, call in enumerate(calls):
            result = results.get(index, {"error": "not a read tool"})
            text = result if isinstance(result, str) else json.dumps(result, default=str)
            messages.append(ToolMessage(text, tool_call_id=call["id"], name=call["name"]))
        count += len(calls)
    return {"action": "none", "args": {}, "reads": count, "error": "no plan within the reading budget"}


def draft_tool(session: ToolSession, kind: str, prompt: str, workers: int = 8) -> BaseTool:
    """``draft_plan`` bound to one run's session and request."""

    def draft_plan() -> dict[str, Any]:
        return draft(session, kind, prompt, workers)

    return StructuredTool.from_function(func=draft_plan, name=DRAFT_PLAN, description=DESCRIPTION, args_schema=NoArgs)

