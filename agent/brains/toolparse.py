"""Tool calls out of free model text: Hermes/Qwen ``<tool_call>`` tags, fenced JSON, bare JSON objects.

Local models emit tool calls in whatever shape their fine-tuning taught them, and small or partly trained
ones emit them badly. Parsing never raises: a call that is recognisably meant as one but cannot be decoded
goes to ``invalid_tool_calls`` with the error, so the agent can hand the error back to the brain and retry;
text that is no tool call at all stays plain content.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)
_FENCED = re.compile(r"```[ \t]*(?:json|JSON|tool_call|tool_code)?[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_ONLY = re.compile(r"^```[ \t]*\w*[ \t]*\n?(.*?)\n?```$", re.DOTALL)
_ARG_KEYS = ("arguments", "parameters", "args")
_SHAPE_HINT = 'expected {"name": <tool name>, "arguments": {...}}'


@dataclass
class ParsedOutput:
    """Model text split into what the user should read and the calls the agent should run."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


class _ShapeError(ValueError):
    """JSON that decoded but is not a tool call (or has unusable arguments)."""

    def __init__(self, message: str, name: str | None = None, call_id: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.call_id = call_id


def _looks_like_call(obj: Any) -> bool:
    if isinstance(obj, list):
        return bool(obj) and all(_looks_like_call(o) for o in obj)
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("tool_calls"), list):
        return True
    inner = obj.get("function") if isinstance(obj.get("function"), dict) else obj
    return isinstance(inner.get("name"), str) and any(k in inner for k in _ARG_KEYS)


def _to_call(obj: Any) -> ToolCall:
    """One decoded JSON object -> ToolCall, or _ShapeError saying what is wrong with it."""
    if not isinstance(obj, dict):
        raise _ShapeError(f"not a JSON object; {_SHAPE_HINT}")
    call_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    inner = obj["function"] if isinstance(obj.get("function"), dict) else obj
    name = inner.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _ShapeError(f"missing tool name; {_SHAPE_HINT}", call_id=call_id)
    raw_args: Any = {}
    for key in _ARG_KEYS:
        if key in inner:
            raw_args = inner[key]
            break
    if raw_args is None:
        raw_args = {}
    if isinstance(raw_args, str):
        try:
            raw_args = json.loads(raw_args) if raw_args.strip() else {}
        except json.JSONDecodeError as exc:
            raise _ShapeError(f"arguments are not valid JSON: {exc}", name, call_id) from None
    if not isinstance(raw_args, dict):
        raise _ShapeError(f"arguments must be a JSON object, got {type(raw_args).__name__}", name, call_id)
    return tool_call(name=name.strip(), args=raw_args, id=call_id or new_call_id())


def _expand(obj: Any) -> list[Any]:
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("tool_calls"), list):
        return obj["tool_calls"]
    return [obj]


def _decode_all(body: str) -> list[Any]:
    """Every JSON value in ``body`` (one or several, separated by whitespace/commas); raises on junk."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(body)
    while True:
        while pos < end and body[pos] in " \t\r\n,;":
            pos += 1
        if pos >= end:
            return values
        value, pos = decoder.raw_decode(body, pos)
        values.append(value)


def _guess_name(raw: str) -> str | None:
    match = re.search(r'"name"\s*:\s*"([^"]+)"', raw)
    return match.group(1) if match else None


def _bad(raw: str, error: str, name: str | None = None, call_id: str | None = None) -> InvalidToolCall:
    return invalid_tool_call(name=name or _guess_name(raw), args=raw, id=call_id or new_call_id(), error=error)


def _parse_block(raw: str, out: ParsedOutput) -> None:
    """A block that is meant as tool call(s): every value becomes a call or an invalid call."""
    body = raw.strip()
    fence = _FENCE_ONLY.match(body)
    if fence:
        body = fence.group(1).strip()
    if not body:
        out.invalid_tool_calls.append(_bad(raw, f"empty tool call; {_SHAPE_HINT}"))
        return
    try:
        values = _decode_all(body)
    except json.JSONDecodeError as exc:
        out.invalid_tool_calls.append(_bad(raw, f"tool call is not valid JSON: {exc}"))
        return
    for value in values:
        items = _expand(value)
        if not items:
            out.invalid_tool_calls.append(_bad(raw, f"empty list of tool calls; {_SHAPE_HINT}"))
        for item in items:
            try:
                out.tool_calls.append(_to_call(item))
            except _ShapeError as exc:
                out.invalid_tool_calls.append(
                    _bad(json.dumps(item, ensure_ascii=False), str(exc), exc.name, exc.call_id))


def _mentions_call(text: str) -> bool:
    return '"name"' in text and any(f'"{k}"' in text for k in _ARG_KEYS)


def _parse_tagged(text: str, out: ParsedOutput) -> str:
    for match in _TAGGED.finditer(text):
        _parse_block(match.group(1), out)
    return _TAGGED.sub("", text).replace("</tool_call>", "")


def _parse_fenced(text: str, out: ParsedOutput) -> str:
    def take(match: re.Match[str]) -> str:
        body = match.group(1).strip()
        try:
            values = _decode_all(body)
        except json.JSONDecodeError:
            if _mentions_call(body):
                _parse_block(body, out)
                return ""
            return match.group(0)
        if values and all(_looks_like_call(v) for v in values):
            _parse_block(body, out)
            return ""
        return match.group(0)

    return _FENCED.sub(take, text)


def _parse_bare(text: str, out: ParsedOutput) -> str:
    decoder = json.JSONDecoder()
    kept: list[str] = []
    pos = 0
    skip_to = 0
    for start in (m.start() for m in re.finditer(r"[{\[]", text)):
        if start < skip_to:
            continue
        try:
            value, stop = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        skip_to = stop  # never look for calls nested inside a JSON value already read
        if _looks_like_call(value):
            _parse_block(text[start:stop], out)
            kept.append(text[pos:start])
            pos = stop
    kept.append(text[pos:])
    rest = "".join(kept)
    stripped = rest.strip()
    # Output that is nothing but a broken JSON object naming a tool: meant as a call, so report it.
    if not out.tool_calls and stripped[:1] in "{[" and stripped and _mentions_call(stripped):
        _parse_block(stripped, out)
        return ""
    return rest


def parse_tool_calls(text: str) -> ParsedOutput:
    """Split model output into content, tool calls and invalid tool calls. Never raises.

    Tried in order, first match wins: ``<tool_call>...</tool_call>`` blocks (an unterminated last one
    too), then fenced JSON blocks shaped like calls, then bare JSON objects/arrays shaped like calls.
    A call is ``{"name": str, "arguments": object|JSON string}`` (``parameters``/``args`` also accepted,
    as is the OpenAI ``{"type": "function", "function": {...}}`` wrapping and ``{"tool_calls": [...]}``).
    """
    out = ParsedOutput(content="")
    if "<tool_call>" in text:
        rest = _parse_tagged(text, out)
    else:
        rest = _parse_fenced(text, out)
        if not out.tool_calls and not out.invalid_tool_calls:
            rest = _parse_bare(text, out)
    out.content = re.sub(r"\n{3,}", "\n\n", rest).strip()
    return out
