"""``ExpertBrain``: the deterministic subject-matter-expert policy as a LangChain chat model.

It sees only the conversation (the ``CHANGE:`` / ``DIAGNOSE:`` task in the first human message and the
read-tool results), replays it on every call (stateless) and answers with the next tool calls; the policy
itself lives in ``agent.expert``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.draft_tool import DRAFT_PLAN
from agent.expert.intents import screen_intent
from agent.expert.policy import next_action
from agent.expert.state import State, replay


def _tool_name(tool: Any) -> str:
    if isinstance(tool, BaseTool):
        return tool.name
    if isinstance(tool, dict) and "function" in tool:
        return tool["function"]["name"]
    if isinstance(tool, dict) and "name" in tool:
        return tool["name"]
    return convert_to_openai_tool(tool)["function"]["name"]


class ExpertBrain(BaseChatModel):
    """Deterministic expert: observe with read tools, then exactly one terminal action."""

    tool_names: list[str] = Field(default_factory=list)
    screen: bool = True  # False: plan harmful-looking requests too (inside draft_plan, whose caller screens)

    @classmethod
    def from_spec(cls, _spec: Any = None, **overrides: Any) -> ExpertBrain:
        return cls(**overrides)

    @property
    def _llm_type(self) -> str:
        return "twinops-expert"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"brain": "expert", "tools": list(self.tool_names)}

    def bind_tools(self, tools: Sequence[Any], **_kwargs: Any) -> ExpertBrain:  # type: ignore[override]
        return self.model_copy(update={"tool_names": [_tool_name(t) for t in tools]})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        state = replay(messages)
        bound = set(self.tool_names)
        calls = [(name, args) for name, args in self._decide(state, bound) if name in bound]
        digest = hashlib.sha1(json.dumps([str(m.content)[:200] for m in messages[:1]]).encode()).hexdigest()[:6]
        tool_calls = [{"name": name, "args": args, "id": f"call_{digest}_{state.steps}_{i}", "type": "tool_call"}
                      for i, (name, args) in enumerate(calls)]
        content = "" if tool_calls else "No bound tool fits this task."
        message = AIMessage(content=content, tool_calls=tool_calls,
                            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _decide(self, state: State, bound: set[str]) -> list[tuple[str, dict[str, Any]]]:
        """With ``draft_plan`` bound: draft first (a read, harmless whatever the request), then screen the
        request and refuse, or adopt the draft; else the full policy. Every run then decides at the same
        point with the same evidence in view, which is what a small model learns from."""
        if DRAFT_PLAN not in bound or state.denials:
            return next_action(state, bound, self.screen)
        if not state.has(DRAFT_PLAN):
            return [(DRAFT_PLAN, {})]
        drafted = state.ok(DRAFT_PLAN)
        refusal = screen_intent(state.text) if state.kind == "change" else None
        if refusal:
            return [("refuse", {"reason": refusal})]
        if isinstance(drafted, dict) and drafted.get("action") in bound and isinstance(drafted.get("args"), dict):
            return [(drafted["action"], drafted["args"])]
        return next_action(state, bound, self.screen)  # no usable draft: observe and plan the long way
