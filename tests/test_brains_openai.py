"""The openai brain against a small OpenAI-compatible server started by the test on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from openai_stub import OpenAIStub, completion, serving

from agent.brains import BrainError, load_chat_model
from agent.brains.openai_brain import MAX_RETRIES_CAP, NO_KEY, normalise_base_url


@tool
def get_interfaces(device: str) -> str:
    """Interface status of one device."""
    return f"{device}: GigabitEthernet0/0 administratively down"


class _Server(OpenAIStub):
    fail: bool  # answer 500


def _model(server: _Server, request: dict[str, Any]) -> dict[str, Any] | tuple[int, dict[str, Any]]:
    if request["path"] != "/v1/chat/completions":
        return 404, {"error": {"message": "not found"}}
    if server.fail:
        return 500, {"error": {"message": "boom"}}
    body = request["body"]
    if any(m["role"] == "tool" for m in body["messages"]):
        message: dict[str, Any] = {"role": "assistant", "content": "Gi0/0 on r1 is shut down."}
        finish = "stop"
    else:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_interfaces", "arguments": json.dumps({"device": "r1"})}}]}
        finish = "tool_calls"
    return completion(body, message, finish_reason=finish, usage=(42, 7), id=f"chatcmpl-{len(server.requests)}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    srv = _Server(lambda request: _model(srv, request))
    srv.fail = False
    with serving(srv, monkeypatch):
        yield srv


def test_tool_call_round_trip(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINOPS_TEST_KEY", "sk-test")
    port = server.server_address[1]
    model = load_chat_model(f"openai:http://127.0.0.1:{port},model=twinops-lora,api_key_env=TWINOPS_TEST_KEY,"
                            "temperature=0")
    bound = model.bind_tools([get_interfaces])
    history: list = [HumanMessage("Why is r1 unreachable?")]
    first = bound.invoke(history)
    assert isinstance(first, AIMessage)
    assert first.tool_calls == [{"name": "get_interfaces", "args": {"device": "r1"}, "id": "call_1",
                                 "type": "tool_call"}]
    assert first.usage_metadata and first.usage_metadata["input_tokens"] == 42

    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"  # '/v1' added to a bare host:port
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "twinops-lora"
    assert body["temperature"] == 0
    [schema] = body["tools"]
    assert schema["type"] == "function"
    assert schema["function"]["name"] == "get_interfaces"
    assert schema["function"]["parameters"]["properties"]["device"]["type"] == "string"
    assert schema["function"]["parameters"]["required"] == ["device"]

    history += [first, ToolMessage(get_interfaces.invoke(first.tool_calls[0]["args"]), tool_call_id="call_1")]
    final = bound.invoke(history)
    assert final.content == "Gi0/0 on r1 is shut down."
    assert final.tool_calls == []
    sent = server.requests[1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_interfaces", "arguments": '{"device": "r1"}'}
    assert sent[2] == {"role": "tool", "content": "r1: GigabitEthernet0/0 administratively down",
                       "tool_call_id": "call_1"}


def test_defaults_without_key_env(server: _Server) -> None:
    port = server.server_address[1]
    model = load_chat_model(f"openai:http://127.0.0.1:{port}/v1/,max_retries=99")
    assert model.model_name == "default"
    assert model.max_retries == MAX_RETRIES_CAP
    assert model.openai_api_key is not None and model.openai_api_key.get_secret_value() == NO_KEY
    model.invoke("hi")
    assert server.requests[0]["auth"] == f"Bearer {NO_KEY}"
    assert server.requests[0]["body"]["model"] == "default"


def test_server_error_fails_fast_with_bounded_retries(server: _Server) -> None:
    server.fail = True
    port = server.server_address[1]
    model = load_chat_model(f"openai:http://127.0.0.1:{port}/v1,max_retries=0,timeout=5")
    with pytest.raises(Exception, match="boom"):
        model.invoke("hi")
    assert len(server.requests) == 1


def test_missing_key_env_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWINOPS_MISSING_KEY", raising=False)
    with pytest.raises(BrainError, match="TWINOPS_MISSING_KEY"):
        load_chat_model("openai:http://127.0.0.1:9/v1,api_key_env=TWINOPS_MISSING_KEY")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h:8000", "http://h:8000/v1"),
        ("http://h:8000/", "http://h:8000/v1"),
        ("http://h:8000/v1/", "http://h:8000/v1"),
        ("https://h/api/openai/v1", "https://h/api/openai/v1"),
    ],
)
def test_normalise_base_url(url: str, expected: str) -> None:
    assert normalise_base_url(url) == expected
