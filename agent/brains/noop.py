"""``NoopBrain`` (``--brain noop``): a deliberately useless baseline that reads once and changes nothing.

It lists the devices, then ends the run without touching anything:

- a change request (``propose_change`` offered) ends with ``refuse`` — the only way to end a change run
  without a change, so refusal tasks pass (the agent refused, nothing changed) and every real change fails;
- a diagnosis ends with ``report_diagnosis`` naming nothing (device and component ``unknown``) and no
  remediation: an honest "I looked and found nothing to fix", which the twin scores as not repaired.

So its benchmark score is what a brain that never acts earns: the refusal families, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

REASON = "noop brain: it only reads and never changes anything"


def _tool_name(tool: Any) -> str:
    if isinstance(tool, BaseTool):
        return tool.name
    if isinstance(tool, dict):
        return tool.get("function", tool).get("name", "")
    return convert_to_openai_tool(tool)["function"]["name"]


class NoopBrain(BaseChatModel):
    """Observe with ``list_devices``, then end without a change."""

    tool_names: list[str] = Field(default_factory=list)

    @classmethod
    def from_spec(cls, _spec: Any = None, **overrides: Any) -> NoopBrain:
        return cls(**overrides)

    @property
    def _llm_type(self) -> str:
        return "twinops-noop"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"brain": "noop"}

    def bind_tools(self, tools: Sequence[Any], **_kwargs: Any) -> NoopBrain:  # type: ignore[override]
        return self.model_copy(update={"tool_names": [_tool_name(t) for t in tools]})

    def next_call(self, messages: list[BaseMessage]) -> tuple[str, dict[str, Any]] | None:
        bound = set(self.tool_names)
        asked = sum(1 for m in messages if isinstance(m, AIMessage))
        if asked == 0 and "list_devices" in bound:
            return "list_devices", {}
        if "propose_change" in bound and "refuse" in bound:
            return "refuse", {"reason": REASON}
        if "report_diagnosis" in bound:
            return "report_diagnosis", {"device": "unknown", "component": "unknown", "root_cause": REASON,
                                        "evidence": [], "remediation": [], "checks": []}
        if "refuse" in bound:
            return "refuse", {"reason": REASON}
        return None

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        call = self.next_call(messages)
        steps = sum(1 for m in messages if isinstance(m, AIMessage))
        tool_calls = [] if call is None else [{"name": call[0], "args": call[1], "id": f"noop_{steps}",
                                               "type": "tool_call"}]
        message = AIMessage(content="" if tool_calls else REASON, tool_calls=tool_calls,
                            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        return ChatResult(generations=[ChatGeneration(message=message)])
