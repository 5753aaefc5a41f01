"""Brains: LangChain chat models with tool calling, chosen by a spec string.

Kept import-light on purpose: torch/transformers/langchain-openai load only when a brain of that kind is
built, so ``twinops --help`` and the expert brain never pay for them.
"""

from agent.brains.spec import BrainError, BrainSpec, BrainSpecError, load_chat_model, parse_brain_spec

__all__ = ["BrainError", "BrainSpec", "BrainSpecError", "load_chat_model", "parse_brain_spec"]
