"""Brains as question answerers: spec checks and plain-text replies.

Knowledge evaluation reuses the agent's brain specs (``hf:PATH[,adapter=DIR]``, ``openai:URL[,model=NAME]``)
so the model measured here is exactly the one the agent runs. The ``expert`` brain is the exception: it is a
deterministic tool-calling network agent that replays a task conversation and answers with tool calls, so it
has no knowledge to measure; it is refused with a clear message instead of scoring 0 everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.brains import BrainError, BrainSpecError, load_chat_model, parse_brain_spec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.brains import BrainSpec


class QABrainError(ValueError):
    """A spec that cannot serve as a question-answering brain; one readable line."""


def check_qa_spec(spec: str, option: str) -> BrainSpec:
    """Parse ``spec`` and refuse ``expert``; ``option`` ("--brain", "--judge" ...) names the flag in errors."""
    try:
        parsed = parse_brain_spec(spec)
    except BrainSpecError as exc:
        raise QABrainError(f"{option}: {exc}") from None
    if parsed.kind == "expert":
        raise QABrainError(f"{option} expert: the expert brain is a tool-calling network agent, not a "
                           "question-answering model, so it cannot be evaluated on knowledge sets or act as a "
                           "judge; use hf:PATH[,adapter=DIR] or openai:URL[,model=NAME]")
    return parsed


def load_qa_brain(spec: BrainSpec, option: str) -> BaseChatModel:
    """Build the chat model; a brain that cannot be built here becomes a QABrainError naming the flag."""
    try:
        return load_chat_model(spec)
    except (BrainError, BrainSpecError) as exc:
        raise QABrainError(f"{option} {spec}: {exc}") from None


def message_text(message: Any) -> str:
    """A chat reply's content as plain text (LangChain allows a list of content blocks)."""
    content = getattr(message, "content", message)
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, (str, dict)))
    return "" if content is None else str(content)


def ask(model: BaseChatModel, messages: list[Any]) -> tuple[str, str | None]:
    """(reply text, error): a failed call is recorded per item rather than aborting a long evaluation."""
    try:
        return message_text(model.invoke(messages)), None
    except Exception as exc:
        return "", f"{type(exc).__name__}: {str(exc)[:300]}"
