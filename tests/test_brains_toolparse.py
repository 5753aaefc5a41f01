"""Tool calls parsed out of free model text: every shape the hf brain may meet, and never an exception."""

from __future__ import annotations

import pytest

from agent.brains.toolparse import parse_tool_calls


def test_hermes_single_call() -> None:
    out = parse_tool_calls('<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "r1"}}\n</tool_call>')
    assert out.content == ""
    assert out.invalid_tool_calls == []
    [call] = out.tool_calls
    assert call["name"] == "get_interfaces"
    assert call["args"] == {"device": "r1"}
    assert call["id"].startswith("call_")
    assert call["type"] == "tool_call"


def test_hermes_multiple_calls_with_text_and_string_arguments() -> None:
    text = ('Let me look at both routers.\n'
            '<tool_call>\n{"name": "get_routes", "arguments": {"device": "r1"}}\n</tool_call>\n'
            '<tool_call>{"name": "get_routes", "arguments": "{\\"device\\": \\"r2\\"}"}</tool_call>')
    out = parse_tool_calls(text)
    assert out.content == "Let me look at both routers."
    assert [c["args"] for c in out.tool_calls] == [{"device": "r1"}, {"device": "r2"}]
    assert len({c["id"] for c in out.tool_calls}) == 2


def test_unterminated_last_tool_call_is_still_parsed() -> None:
    out = parse_tool_calls('<tool_call>\n{"name": "ping", "arguments": {"device": "r1", "destination": "h2"}}\n')
    assert [c["name"] for c in out.tool_calls] == ["ping"]


def test_malformed_json_goes_to_invalid_tool_calls() -> None:
    text = 'Checking.\n<tool_call>{"name": "ping", "arguments": {"device": "r1"</tool_call>'
    out = parse_tool_calls(text)
    assert out.tool_calls == []
    [bad] = out.invalid_tool_calls
    assert bad["name"] == "ping"
    assert "not valid JSON" in bad["error"]
    assert bad["args"] == '{"name": "ping", "arguments": {"device": "r1"'
    assert out.content == "Checking."


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('<tool_call>{"name": "ping", "arguments": [1, 2]}</tool_call>', "must be a JSON object"),
        ('<tool_call>{"arguments": {}}</tool_call>', "missing tool name"),
        ('<tool_call>{"name": "ping", "arguments": "{oops"}</tool_call>', "arguments are not valid JSON"),
        ("<tool_call></tool_call>", "empty tool call"),
        ('<tool_call>"just a string"</tool_call>', "not a JSON object"),
    ],
)
def test_bad_calls_inside_tags_are_reported(text: str, error: str) -> None:
    out = parse_tool_calls(text)
    assert out.tool_calls == []
    assert len(out.invalid_tool_calls) == 1
    assert error in out.invalid_tool_calls[0]["error"]


def test_one_good_one_bad_call() -> None:
    text = ('<tool_call>{"name": "a", "arguments": {}}</tool_call>'
            '<tool_call>{"name": "b", "arguments": {</tool_call>')
    out = parse_tool_calls(text)
    assert [c["name"] for c in out.tool_calls] == ["a"]
    assert [c["name"] for c in out.invalid_tool_calls] == ["b"]


def test_fenced_json_block() -> None:
    text = 'I will ping.\n```json\n{"name": "ping", "arguments": {"device": "r1", "destination": "h2"}}\n```'
    out = parse_tool_calls(text)
    assert out.content == "I will ping."
    assert out.tool_calls[0]["args"] == {"device": "r1", "destination": "h2"}


def test_fenced_list_of_calls_and_parameters_key() -> None:
    text = '```\n[{"name": "a", "parameters": {"x": 1}}, {"name": "b", "arguments": {}}]\n```'
    out = parse_tool_calls(text)
    assert [(c["name"], c["args"]) for c in out.tool_calls] == [("a", {"x": 1}), ("b", {})]


def test_fenced_malformed_call_is_invalid() -> None:
    out = parse_tool_calls('```json\n{"name": "ping", "arguments": {"device": }}\n```')
    assert out.tool_calls == []
    assert out.invalid_tool_calls[0]["name"] == "ping"


def test_plain_json_objects() -> None:
    out = parse_tool_calls('{"name": "a", "arguments": {"x": 1}}\n{"name": "b", "arguments": {"y": 2}}')
    assert [c["name"] for c in out.tool_calls] == ["a", "b"]
    assert out.content == ""


def test_openai_shaped_call_keeps_its_id() -> None:
    text = '{"id": "call_7", "type": "function", "function": {"name": "f", "arguments": "{\\"k\\": true}"}}'
    out = parse_tool_calls(text)
    assert out.tool_calls == [{"name": "f", "args": {"k": True}, "id": "call_7", "type": "tool_call"}]


def test_truncated_bare_call_is_invalid() -> None:
    out = parse_tool_calls('{"name": "get_config", "arguments": {"device": "r')
    assert out.tool_calls == []
    assert out.invalid_tool_calls[0]["name"] == "get_config"


@pytest.mark.parametrize(
    "text",
    [
        "The OSPF adjacency is FULL; the fault is fixed.",
        'The device returned {"hostname": "r1", "uptime": 5} which looks fine.',
        '```json\n{"hostname": "r1"}\n```',
        '{"report": {"name": "x"}}',
        "",
        "<tool_response>not mine</tool_response>",
        "{ this is not json",
    ],
)
def test_unknown_shapes_stay_plain_content(text: str) -> None:
    out = parse_tool_calls(text)
    assert out.tool_calls == []
    assert out.invalid_tool_calls == []
    assert out.content == text.strip()


def test_never_raises_on_garbage() -> None:
    for text in ["<tool_call>", "</tool_call>", "```", "```json", "[{]", '{"name":', "\x00\ufffd{[", "<tool_call>[]"]:
        parse_tool_calls(text)
