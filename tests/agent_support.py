"""Shared test support for the agent tests: a scripted brain and lab helpers.

The scripted brain replays fixed replies: it stands in for a model's sampling so that the graph, the shell
and the CLI are what is under test.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from twin_lab.emulator import LabThread


class ScriptedBrain(BaseChatModel):
    """Replies with the next scripted AIMessage (tool calls included); stands in for a model's sampling."""

    replies: list[Any]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedBrain:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        message = (reply(messages) if callable(reply) else reply).model_copy(update={"id": None})
        return ChatResult(generations=[ChatGeneration(message=message)])


def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"c{n}", "type": "tool_call"}])


DESCRIBE = [
    call("get_interfaces", {"device": "R1"}, 1),
    call("propose_change", {"summary": "describe R1 Gi0/1",
                            "changes": [{"device": "R1", "lines": ["interface GigabitEthernet0/1",
                                                                   " description uplink-to-R3"]}],
                            "checks": [{"kind": "config", "device": "R1", "line": "description uplink-to-R3"}]}, 2),
]


def running_config(lab: LabThread, device: str) -> str:
    return lab.call(lab.server.network.running_config, device)
