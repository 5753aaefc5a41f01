"""Brain spec strings (``expert``, ``hf:PATH[,...]``, ``openai:URL[,...]``) and the factory behind them.

Every command takes ``--brain SPEC``; one parser gives one readable error for a bad spec, and the spec
round-trips (``str(spec)``) so trajectories can record exactly which brain produced them. Nothing heavy is
imported here: each kind's module is imported only when that kind is loaded.
"""

from __future__ import annotations

import importlib
import math
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

BrainKind = Literal["expert", "noop", "hf", "openai"]

SPEC_HELP = "expected 'expert', 'noop', 'hf:PATH[,adapter=DIR][,4bit]' or 'openai:URL[,model=NAME]'"
SIMPLE_KINDS = ("expert", "noop")  # no target, no options

# Options each kind accepts: name -> kind of value ("flag" takes none).
_OPTIONS: dict[str, dict[str, str]] = {
    "expert": {},
    "noop": {},
    "hf": {"adapter": "str", "4bit": "flag", "max_new_tokens": "int", "temperature": "float", "device": "str",
           "constrained": "onoff"},
    "openai": {"model": "str", "api_key_env": "env", "temperature": "float", "max_tokens": "int",
               "timeout": "float", "max_retries": "int"},
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BrainSpecError(ValueError):
    """A spec string that cannot be understood; the message is one readable line."""


class BrainError(RuntimeError):
    """A valid spec whose brain cannot be built here (missing CUDA, missing module, bad model dir...)."""


class BrainSpec(BaseModel):
    """A parsed brain spec. ``target`` is the model path (hf) or the server URL (openai)."""

    model_config = ConfigDict(frozen=True)

    kind: BrainKind
    target: str | None = None
    adapter: str | None = None
    load_in_4bit: bool = False
    max_new_tokens: int | None = None
    device: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    constrained: bool | None = None  # hf: None = auto (on when xgrammar is importable)

    @classmethod
    def parse(cls, spec: str | BrainSpec) -> BrainSpec:
        return parse_brain_spec(spec)

    def __str__(self) -> str:
        """The canonical spec string (parses back to an equal BrainSpec)."""
        if self.kind in SIMPLE_KINDS:
            return self.kind
        parts = [f"{self.kind}:{self.target}"]
        for name, kind in _OPTIONS[self.kind].items():
            field = "load_in_4bit" if name == "4bit" else name
            value = getattr(self, field)
            if kind == "flag":
                if value:
                    parts.append(name)
            elif kind == "onoff":
                if value is not None:
                    parts.append(f"{name}={'on' if value else 'off'}")
            elif value is not None:
                parts.append(f"{name}={value}")
        return ",".join(parts)


def _convert(kind: str, name: str, raw: str, spec: str) -> Any:
    def bad(why: str) -> BrainSpecError:
        return BrainSpecError(f"bad brain spec {spec!r}: option {name!r} {why}")

    if kind == "int":
        try:
            value = int(raw)
        except ValueError:
            raise bad(f"needs an integer, got {raw!r}") from None
        minimum = 0 if name == "max_retries" else 1
        if value < minimum:
            raise bad(f"must be >= {minimum}, got {value}")
        return value
    if kind == "float":
        try:
            value_f = float(raw)
        except ValueError:
            raise bad(f"needs a number, got {raw!r}") from None
        if not math.isfinite(value_f) or value_f < 0:
            raise bad(f"must be a finite number >= 0, got {raw!r}")
        return value_f
    if kind == "onoff":
        switch = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False,
                  "0": False, "auto": None}
        if raw.lower() not in switch:
            raise bad(f"needs on, off or auto, got {raw!r}")
        return switch[raw.lower()]
    if kind == "env":
        if not _ENV_NAME.match(raw):
            raise bad(f"needs an environment variable name, got {raw!r}")
        return raw
    if not raw:
        raise bad("needs a value")
    return raw


def parse_brain_spec(spec: str | BrainSpec) -> BrainSpec:
    """Parse ``expert`` | ``noop`` | ``hf:PATH[,adapter=DIR][,4bit]`` | ``openai:URL[,model=NAME]`` (plus options).

    Options are comma separated ``key=value`` pairs (or bare flags) after the path/URL, so a path or URL
    containing a comma is not supported. Raises BrainSpecError with a one-line message.
    """
    if isinstance(spec, BrainSpec):
        return spec
    if not isinstance(spec, str):
        raise BrainSpecError(f"bad brain spec {spec!r}: not a string; {SPEC_HELP}")
    text = spec.strip()
    if not text:
        raise BrainSpecError(f"empty brain spec; {SPEC_HELP}")
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind in SIMPLE_KINDS:
        if sep and rest.strip():
            raise BrainSpecError(f"bad brain spec {spec!r}: '{kind}' takes no options")
        return BrainSpec(kind=kind)
    if kind not in _OPTIONS:
        raise BrainSpecError(f"unknown brain kind {kind!r} in {spec!r}; {SPEC_HELP}")
    if not sep:
        what = "PATH" if kind == "hf" else "URL"
        raise BrainSpecError(f"bad brain spec {spec!r}: '{kind}' needs a {what}, as '{kind}:{what}'")
    target, *opts = (p.strip() for p in rest.split(","))
    if not target:
        what = "model path" if kind == "hf" else "server URL"
        raise BrainSpecError(f"bad brain spec {spec!r}: missing {what} after '{kind}:'")
    if "=" in target:
        raise BrainSpecError(f"bad brain spec {spec!r}: the {kind} spec must start with the path/URL, "
                             f"got option {target!r}")
    values: dict[str, Any] = {"kind": kind, "target": target}
    allowed = _OPTIONS[kind]
    seen: set[str] = set()
    for opt in opts:
        if not opt:
            raise BrainSpecError(f"bad brain spec {spec!r}: empty option (stray comma?)")
        name, has_eq, raw = (s.strip() for s in opt.partition("="))
        name = name.lower()
        if name not in allowed:
            raise BrainSpecError(f"bad brain spec {spec!r}: unknown option {name!r} for '{kind}' "
                                 f"(allowed: {', '.join(allowed)})")
        if name in seen:
            raise BrainSpecError(f"bad brain spec {spec!r}: option {name!r} given twice")
        seen.add(name)
        if allowed[name] == "flag":
            if has_eq:
                raise BrainSpecError(f"bad brain spec {spec!r}: {name!r} is a flag and takes no value")
            values["load_in_4bit" if name == "4bit" else name] = True
            continue
        if not has_eq and allowed[name] == "onoff":  # a bare ',constrained' means on
            values[name] = True
            continue
        if not has_eq:
            raise BrainSpecError(f"bad brain spec {spec!r}: option {name!r} needs a value, as {name}=...")
        values[name] = _convert(allowed[name], name, raw, spec)
    if kind == "openai" and not re.match(r"^https?://[^/\s]+", target, re.IGNORECASE):
        raise BrainSpecError(f"bad brain spec {spec!r}: the openai URL must start with http:// or https://")
    return BrainSpec(**values)


def load_chat_model(spec: str | BrainSpec, **overrides: Any) -> BaseChatModel:
    """Build the LangChain chat model a spec names; ``overrides`` go to that kind's builder.

    ``expert`` is provided by ``agent.brains.expert.ExpertBrain`` (a separate module, imported only here so
    this file never depends on it at import time); it is built with ``ExpertBrain.from_spec(spec)`` when
    that classmethod exists, else ``ExpertBrain(**overrides)``.
    """
    parsed = parse_brain_spec(spec)
    if parsed.kind == "hf":
        from agent.brains.hf import HFChatModel

        return HFChatModel.from_spec(parsed, **overrides)
    if parsed.kind == "openai":
        from agent.brains.openai_brain import build_openai_chat_model

        return build_openai_chat_model(parsed, **overrides)
    if parsed.kind == "noop":
        from agent.brains.noop import NoopBrain

        return NoopBrain.from_spec(parsed, **overrides)
    try:
        module = importlib.import_module("agent.brains.expert")
    except ModuleNotFoundError as exc:
        if exc.name not in ("agent.brains.expert",):
            raise
        raise BrainError("the 'expert' brain is not available: agent/brains/expert.py is missing") from None
    expert_cls = getattr(module, "ExpertBrain", None)
    if expert_cls is None:
        raise BrainError("agent.brains.expert defines no ExpertBrain")
    if hasattr(expert_cls, "from_spec"):
        return expert_cls.from_spec(parsed, **overrides)
    return expert_cls(**overrides)
