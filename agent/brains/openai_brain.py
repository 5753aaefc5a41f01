"""``openai:URL`` brain: any OpenAI-compatible server (vLLM with the fine-tuned adapter, Ollama, llama.cpp).

Uses langchain-openai's ChatOpenAI on the Chat Completions API (what those servers implement), with a
bounded timeout and retry count so a dead endpoint fails a run quickly instead of hanging it. The API key is
read from the environment variable the spec names and is never part of the spec, logs or trajectories.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from agent.brains.spec import BrainError, BrainSpec, parse_brain_spec

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_RETRIES = 2
MAX_RETRIES_CAP = 5
NO_KEY = "not-needed"  # local servers ignore the key, but the client insists on one


def normalise_base_url(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1`` (the OpenAI-compatible root); other paths kept."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def build_openai_chat_model(spec: str | BrainSpec, **overrides: Any) -> ChatOpenAI:
    """ChatOpenAI for an ``openai:URL[,model=NAME][,api_key_env=VAR][,temperature=X]`` spec."""
    parsed = parse_brain_spec(spec)
    if parsed.kind != "openai" or not parsed.target:
        raise BrainError(f"not an openai brain spec: {parsed}")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise BrainError("the openai brain needs langchain-openai (pip install langchain-openai)") from None
    if parsed.api_key_env:
        api_key = os.environ.get(parsed.api_key_env)
        if not api_key:
            raise BrainError(f"environment variable {parsed.api_key_env} (named by api_key_env) is not set")
    else:
        api_key = NO_KEY
    retries = parsed.max_retries if parsed.max_retries is not None else DEFAULT_MAX_RETRIES
    kwargs: dict[str, Any] = {
        "base_url": normalise_base_url(parsed.target),
        "model": parsed.model or "default",
        "api_key": api_key,
        "timeout": parsed.timeout if parsed.timeout is not None else DEFAULT_TIMEOUT_S,
        "max_retries": min(retries, MAX_RETRIES_CAP),
        "use_responses_api": False,
    }
    if parsed.temperature is not None:
        kwargs["temperature"] = parsed.temperature
    if parsed.max_tokens is not None:
        kwargs["max_tokens"] = parsed.max_tokens
    kwargs.update(overrides)
    return ChatOpenAI(**kwargs)
