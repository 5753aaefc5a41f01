"""The ``noop`` brain: its spec, and what it does (reads once, never changes anything)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.actions import action_tools
from agent.brains import BrainSpec, BrainSpecError, load_chat_model, parse_brain_spec
from agent.brains.noop import REASON, NoopBrain


def test_noop_spec_parses_and_round_trips() -> None:
    spec = parse_brain_spec(" NOOP ")
    assert spec == BrainSpec(kind="noop") and str(spec) == "noop"
    assert parse_brain_spec(str(spec)) == spec


@pytest.mark.parametrize("text", ["noop:fast", "noop:x,y=1"])
def test_noop_takes_no_options(text: str) -> None:
    with pytest.raises(BrainSpecError, match="'noop' takes no options"):
        parse_brain_spec(text)


def test_unknown_kind_message_mentions_noop() -> None:
    with pytest.raises(BrainSpecError, match="noop"):
        parse_brain_spec("gpt4")


def test_load_chat_model_builds_the_noop_brain() -> None:
    assert isinstance(load_chat_model("noop"), NoopBrain)


def _tools(kind: str) -> list:
    from langchain_core.tools import StructuredTool

    def list_devices() -> dict:
        """List devices."""
        return {}

    return [StructuredTool.from_function(list_devices), *action_tools(kind)]


@pytest.mark.parametrize(("kind", "terminal"), [("change", "refuse"), ("diagnosis", "report_diagnosis")])
def test_noop_reads_once_then_ends_without_a_change(kind: str, terminal: str) -> None:
    brain = NoopBrain().bind_tools(_tools(kind))
    messages = [HumanMessage(f"{'CHANGE' if kind == 'change' else 'DIAGNOSE'}: shut R1 Gi0/1")]
    first = brain.invoke(messages)
    assert [c["name"] for c in first.tool_calls] == ["list_devices"]
    messages += [first, ToolMessage("{}", tool_call_id=first.tool_calls[0]["id"])]
    second = brain.invoke(messages)
    [call] = second.tool_calls
    assert call["name"] == terminal
    if terminal == "refuse":
        assert call["args"] == {"reason": REASON}
    else:
        assert call["args"]["remediation"] == [] and call["args"]["device"] == "unknown"
    assert isinstance(second, AIMessage)
