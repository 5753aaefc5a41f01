"""Replay a conversation into the expert's state: the task and every observation so far."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage


def call_key(name: str, args: dict[str, Any]) -> str:
    return f"{name}|{json.dumps(args, sort_keys=True)}"


def _parse(content: Any) -> Any:
    if isinstance(content, dict | list):
        return content
    text = str(content)
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return {"raw": text}


@dataclass
class State:
    kind: str  # change | diagnose
    text: str
    observations: dict[str, Any] = field(default_factory=dict)  # call_key -> parsed result
    steps: int = 0  # AI messages so far
    denials: list[str] = field(default_factory=list)  # "The plan was denied (...)" feedback, in order

    def get(self, name: str, **args: Any) -> Any:
        return self.observations.get(call_key(name, args))

    def has(self, name: str, **args: Any) -> bool:
        return call_key(name, args) in self.observations

    def ok(self, name: str, **args: Any) -> Any:
        """The result when it is present and not an error dict, else None."""
        value = self.get(name, **args)
        if isinstance(value, dict) and "error" in value and len(value) <= 4:
            return None
        return value


def task_of(messages: list[BaseMessage]) -> tuple[str, str]:
    first = next((m for m in messages if isinstance(m, HumanMessage)), None)
    text = str(first.content if first is not None else "").strip()
    head, sep, rest = text.partition(":")
    if sep and head.strip().upper() in ("CHANGE", "DIAGNOSE"):
        return head.strip().lower(), rest.strip()
    lowered = text.lower()
    symptomish = ("cannot reach", "can't reach", "unreachable", " is down", "no route", "not established",
                  "not full")
    return ("diagnose" if any(s in lowered for s in symptomish) else "change"), text


def replay(messages: list[BaseMessage]) -> State:
    kind, text = task_of(messages)
    state = State(kind=kind, text=text)
    pending: dict[str, str] = {}
    for message in messages:
        if isinstance(message, AIMessage):
            state.steps += 1
            for call in message.tool_calls or []:
                if call.get("id"):
                    pending[call["id"]] = call_key(call["name"], dict(call.get("args") or {}))
        elif isinstance(message, HumanMessage) and str(message.content).lstrip().lower().startswith(
                "the plan was denied"):
            state.denials.append(str(message.content).strip())
        elif isinstance(message, ToolMessage):
            key = pending.get(message.tool_call_id)
            if key is not None:
                state.observations[key] = _parse(message.content)
    return state
