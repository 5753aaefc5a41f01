"""Constrained decoding for the hf brain: spans, the per-step schema, the xgrammar cache, and the tiny model.

The random tiny Llama (agent.brains.tiny, built in tmp) is the hardest case there is: it has learnt nothing,
so whatever it produces under constraints is the grammar's doing. With constraints every reply must be a
parseable call to a bound tool with device/interface/address arguments from the conversation; without
them the same model (same seeds) practically never produces a valid call.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.actions import ACTION_SCHEMAS, action_tools
from agent.brains import BrainError, BrainSpecError, load_chat_model, parse_brain_spec
from agent.brains.constrained import (
    ADDRESS,
    ADDRESS_OR_INTERFACE,
    DEVICE,
    INTERFACE,
    PREFIX,
    PROTOCOL,
    TEXT,
    GrammarCache,
    Limits,
    Spans,
    build_constraint,
    classify_field,
    device_reads,
    extract_spans,
    interface_aliases,
    tool_call_schema,
)
from agent.brains.hf import HFChatModel
from agent.brains.tiny import SAMPLE_TEXT, build_tiny_model
from tools.read_tools import read_tools

xgr = pytest.importorskip("xgrammar")
torch = pytest.importorskip("torch")

# Small bounds keep the random model's replies short (it runs every free string to its maximum length).
SMALL = Limits(text_chars=24, line_chars=24, items=2, line_items=2, max_calls=2)

INVENTORY = {"devices": [
    {"name": "R1", "hostname": "127.0.0.1", "port": 40001, "platform": "ios", "groups": [],
     "data": {"role": "access", "mgmt_interface": "GigabitEthernet0/7"}},
    {"name": "R2", "hostname": "127.0.0.1", "port": 40002, "platform": "ios", "groups": [], "data": {}},
    {"name": "R3", "hostname": "127.0.0.1", "port": 40003, "platform": "ios", "groups": [], "data": {}},
]}
INTERFACES_IP = {"GigabitEthernet0/0": {"ipv4": {"10.0.12.1": {"prefix_length": 30}}},
                 "GigabitEthernet0/2": {"ipv4": {"10.0.1.1": {"prefix_length": 24}}},
                 "Loopback0": {"ipv4": {"1.1.1.1": {"prefix_length": 32}}}}
RUNNING = ("hostname R2\ninterface GigabitEthernet0/1\n ip address 10.0.23.1 255.255.255.252\n"
           "router ospf 1\n network 10.0.23.0 0.0.0.3 area 0\nip route 0.0.0.0 0.0.0.0 10.0.12.1\n")


def _call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def conversation(prompt: str = "DIAGNOSE: h1 cannot reach 10.0.4.10; R1 Gi0/1 flaps") -> list:
    return [
        SystemMessage("You are twinops. Example: get_interfaces(device='PE9') on 172.31.0.1."),
        HumanMessage(prompt),
        _call("list_devices", {}, "c1"),
        ToolMessage(json.dumps(INVENTORY), tool_call_id="c1", name="list_devices"),
        _call("get_interfaces_ip", {"device": "R1"}, "c2"),
        ToolMessage(json.dumps(INTERFACES_IP), tool_call_id="c2", name="get_interfaces_ip"),
        _call("get_running_config", {"device": "R2"}, "c3"),
        ToolMessage(json.dumps({"device": "R2", "running": RUNNING}), tool_call_id="c3", name="get_running_config"),
    ]


def tools_for(kind: str = "diagnosis") -> list:
    return read_tools(None) + action_tools(kind)  # type: ignore[arg-type]  # the session is never used here


def openai_tools(kind: str = "diagnosis") -> list[dict[str, Any]]:
    return [convert_to_openai_tool(t) for t in tools_for(kind)]


# ---- spans ---------------------------------------------------------------------------------------------


def test_spans_from_messages() -> None:
    spans = extract_spans(conversation())
    assert spans.inventory and spans.devices == ("R1", "R2", "R3")  # the inventory wins over h1 / PE9
    assert {"GigabitEthernet0/0", "Gi0/0", "GigabitEthernet0/1", "Gi0/1", "GigabitEthernet0/7", "Gi0/7",
            "Loopback0", "Lo0"} <= set(spans.interfaces)
    assert {"10.0.4.10", "10.0.12.1", "10.0.1.1", "1.1.1.1", "10.0.23.1", "10.0.23.0"} <= set(spans.addresses)
    # masks, wildcards, 0.0.0.0, the 127.0.0.1 management hostnames and the system prompt's example are not
    for noise in ("255.255.255.252", "0.0.0.3", "0.0.0.0", "127.0.0.1", "172.31.0.1"):
        assert noise not in spans.addresses
    assert {"10.0.12.0/30", "10.0.1.0/24", "1.1.1.1/32", "10.0.23.0/30", "0.0.0.0/0"} <= set(spans.prefixes)
    assert "PE9" not in spans.devices  # system prompt ignored


def test_spans_before_the_inventory_and_from_chat_dicts() -> None:
    spans = extract_spans([HumanMessage("CHANGE: set the description of R1 GigabitEthernet0/0 to core-link-to-R2"),
                           ToolMessage('{"GigabitEthernet0/1": [{"port": "Gi0/0", "hostname": "R3"}]}',
                                       tool_call_id="x", name="get_lldp_neighbors")])
    assert not spans.inventory
    assert spans.devices == ("R1", "R2", "R3")  # prompt tokens + LLDP hostname; never "GigabitEthernet0"
    assert spans.addresses == () and spans.prefixes == ()
    chat = [{"role": "user", "content": "ping 10.0.3.10 from R6:Loopback0"},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "x", "arguments": {"device": "R9"}}}]}]
    spans = extract_spans(chat)
    assert spans.devices == ("R6",) and "Loopback0" in spans.interfaces and spans.addresses == ("10.0.3.10",)
    assert extract_spans([AIMessage("R7 has 10.9.9.9")]) == Spans()  # the model's own words are no evidence


def test_interface_aliases() -> None:
    assert interface_aliases("gi0/1") == {"GigabitEthernet0/1", "Gi0/1"}
    assert interface_aliases("Loopback0") == {"Loopback0", "Lo0"}
    assert interface_aliases("Port-channel2") == {"Port-channel2", "Po2"}
    assert interface_aliases("Gi0") == set() and interface_aliases("R1") == set()


# ---- the schema ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "schema", "kind"), [
    ("device", {"type": "string"}, DEVICE),
    ("interface", {"type": "string"}, INTERFACE),
    ("destination", {"type": "string", "description": "IP address or host name to ping from the device."}, ADDRESS),
    ("destination", {"type": "string", "description": "Prefix or address to look up"}, PREFIX),
    ("prefix", {"type": "string"}, PREFIX),
    ("neighbor", {"type": "string", "description": "Neighbour address."}, ADDRESS),
    ("source", {"type": "string", "description": "Device that pings."}, DEVICE),
    ("source", {"type": "string", "description": "Source address or interface (optional)."}, ADDRESS_OR_INTERFACE),
    ("source_ip", {"type": "string"}, ADDRESS),
    ("protocol", {"type": "string"}, PROTOCOL),
    ("root_cause", {"type": "string"}, TEXT),
    ("kind", {"type": "string", "const": "ping"}, None),
    ("component", {"type": "string", "enum": ["ospf", "bgp"]}, None),
])
def test_classify_field(name: str, schema: dict, kind: str | None) -> None:
    assert classify_field(name, schema) == kind


def _branch(schema: dict, name: str) -> dict:
    [branch] = [b for b in schema["anyOf"] if b["properties"]["name"]["const"] == name]
    return branch["properties"]["arguments"]


def test_schema_enums_per_tool_and_escape_hatch() -> None:
    spans = extract_spans(conversation())
    schema = tool_call_schema(openai_tools(), spans)
    names = [b["properties"]["name"]["const"] for b in schema["anyOf"]]
    assert names == [t.name for t in tools_for()]
    assert _branch(schema, "list_devices") == {"type": "object", "properties": {}, "additionalProperties": False}
    ping = _branch(schema, "ping")["properties"]
    assert ping["device"]["enum"] == ["R1", "R2", "R3"]
    assert ping["destination"]["enum"] == list(spans.addresses)  # addresses only: ping takes no prefix
    assert set(ping["source"]["enum"]) == {"", *spans.addresses, *spans.interfaces}  # optional: "" allowed
    assert ping["count"] == {"default": 5, "description": "Echo requests to send.", "maximum": 20, "minimum": 1,
                             "type": "integer"}
    route = _branch(schema, "get_route_to")["properties"]
    assert "10.0.1.0/24" in route["destination"]["enum"] and "10.0.12.1" in route["destination"]["enum"]
    assert route["protocol"]["enum"][:3] == ["ospf", "bgp", "static"] and "" in route["protocol"]["enum"]
    assert "pattern" in _branch(schema, "show")["properties"]["command"]  # free text, bounded
    # nothing observed yet: device names come from the prompt, addresses stay free strings
    early = tool_call_schema(openai_tools(), extract_spans(conversation("DIAGNOSE: R1 is slow")[:2]))
    ping = _branch(early, "ping")["properties"]
    assert ping["device"]["enum"] == ["R1"]
    assert "enum" not in ping["destination"] and "pattern" in ping["destination"]


def test_schema_nested_actions() -> None:
    spans = extract_spans(conversation())
    schema = tool_call_schema(openai_tools("change"), spans, SMALL)
    args = _branch(schema, "propose_change")
    change = args["properties"]["changes"]
    assert change["minItems"] == 1 and change["maxItems"] == SMALL.items
    item = change["items"]["properties"]
    assert item["device"]["enum"] == ["R1", "R2", "R3"]
    assert item["lines"]["maxItems"] == SMALL.line_items
    line = re.compile(item["lines"]["items"]["pattern"])  # IOS words + observed values (config_line_schema)
    assert line.fullmatch("interface GigabitEthernet0/1") and line.fullmatch(" ip ospf cost 50")
    assert line.fullmatch(" network 10.0.23.0 0.0.0.3 area 0") and line.fullmatch(" description to R2")
    assert not line.fullmatch("interface GigabitEthernet9/9")  # never observed: cannot be written
    assert not line.fullmatch("ip route 192.0.2.0 255.255.255.0 192.0.2.1") and not line.fullmatch('x"y')
    free = _branch(tool_call_schema(openai_tools("change"), spans, replace(SMALL, config_lines=False)),
                   "propose_change")["properties"]["changes"]["items"]["properties"]["lines"]["items"]
    assert free["pattern"] == "^[ !#-;=-\\[\\]-~]{0,24}$"  # printable, no " \ <
    checks = {b["properties"]["kind"]["const"]: b["properties"] for b in args["properties"]["checks"]["items"]["anyOf"]}
    assert checks["ping"]["source"]["enum"] == ["R1", "R2", "R3"]  # "Device that pings"
    assert checks["ping"]["destination"]["enum"] == list(spans.addresses)
    assert "" in checks["ping"]["source_ip"]["enum"]
    assert "10.0.23.0/30" in checks["route"]["prefix"]["enum"]
    assert checks["interface"]["interface"]["enum"] == list(spans.interfaces)
    assert checks["bgp_neighbor"]["neighbor"]["enum"] == list(spans.addresses)
    assert "pattern" in checks["config"]["line"]
    assert "discriminator" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    diag = _branch(tool_call_schema(openai_tools("diagnosis"), spans), "report_diagnosis")["properties"]
    assert diag["device"]["enum"] == ["R1", "R2", "R3"]
    assert diag["component"]["enum"] == ["link", "interface", "ospf", "bgp", "acl", "static", "unknown"]
    assert diag["remediation"]["items"]["properties"]["device"]["enum"] == ["R1", "R2", "R3"]
    refuse = _branch(tool_call_schema(openai_tools(), spans), "refuse")["properties"]["reason"]
    assert refuse["pattern"].endswith("{0,200}$")


def test_constraint_key_is_stable_and_changes_with_spans() -> None:
    tools = openai_tools()
    first = build_constraint(tools, conversation())
    assert first.key == build_constraint(tools, conversation()).key
    assert first.key != build_constraint(tools, conversation()[:4]).key
    assert first.tool_names[-2:] == ("report_diagnosis", "refuse")


# ---- xgrammar ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A tokenizer trained on the tool schemas too: prompts of ~1.4k tokens instead of ~5k keep this fast.
    corpus = [*SAMPLE_TEXT.splitlines(), *(json.dumps(t) for t in openai_tools("change") + openai_tools()),
              *(str(m.content) for m in conversation())]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-constrained"), vocab_size=1024, corpus=corpus)


@pytest.fixture(scope="module")
def brains(tiny_dir: Path) -> dict[str, HFChatModel]:
    on = load_chat_model(f"hf:{tiny_dir},constrained=on,temperature=1.0,max_new_tokens=700",
                         constraint_limits=SMALL)
    off = load_chat_model(f"hf:{tiny_dir},constrained=off,temperature=1.0,max_new_tokens=120")
    assert isinstance(on, HFChatModel) and isinstance(off, HFChatModel)
    return {"on": on, "off": off}


def test_grammar_accepts_what_the_template_writes(brains: dict[str, HFChatModel]) -> None:
    """The chat template's rendering of a call on observed values is a sentence of the grammar."""
    brain = brains["on"]
    constraint = build_constraint(openai_tools(), conversation())
    compiled = brain.grammar_cache().compile(constraint)
    chat = brain.tokenizer.apply_chat_template(
        [{"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "ping", "arguments": {"device": "R1", "destination": "10.0.12.1"}}},
            {"type": "function", "function": {"name": "get_interfaces", "arguments": {"device": "R3"}}}]}],
        tokenize=False)
    reply = chat.split("<|im_start|>assistant\n", 1)[1].split("<|im_end|>", 1)[0]
    matcher = xgr.GrammarMatcher(compiled)
    assert matcher.accept_string(reply) and matcher.is_completed()
    for bad in ('<tool_call>\n{"name": "ping", "arguments": {"device": "R9", "destination": "10.0.12.1"}}',
                '<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "R1", "extra": 1}}',
                '<tool_call>\n{"name": "reboot", "arguments": {}}', 'Sure! <tool_call>'):
        assert not xgr.GrammarMatcher(compiled).accept_string(bad), bad


def test_grammar_cache_hits(brains: dict[str, HFChatModel]) -> None:
    cache = GrammarCache(brains["on"].tokenizer, stop_token_ids=[2], max_entries=2)
    tools = openai_tools()
    a, b, c = (build_constraint(tools, conversation()[:n]) for n in (2, 4, 8))
    first = cache.compile(a)
    assert cache.stats.misses == 1 and cache.stats.hits == 0 and cache.stats.last_compile_seconds > 0
    assert cache.compile(build_constraint(tools, conversation()[:2])) is first  # same schema hash
    assert cache.stats.hits == 1
    cache.compile(b)
    cache.compile(c)  # LRU of 2: a is evicted
    assert len(cache) == 2
    cache.compile(a)
    assert cache.stats.misses == 4


PROMPTS = [
    "DIAGNOSE: h1 cannot reach 10.0.4.10; R1 Gi0/1 flaps",
    "CHANGE: shut down GigabitEthernet0/2 on R3",
    "DIAGNOSE: OSPF adjacency not FULL: R2 Gi0/1 - R3 (EXSTART)",
]


_SPAN_KEYS = {"device": "devices", "interface": "interfaces", "destination": "addresses", "neighbor": "addresses",
              "source_ip": "addresses", "prefix": "prefixes"}


def _valid(reply: AIMessage, spans: Spans, names: set[str]) -> bool:
    """A parseable call to a bound tool whose device/interface/address arguments are all observed values."""
    if not reply.tool_calls or reply.invalid_tool_calls:
        return False
    allowed = {"devices": set(spans.devices), "interfaces": set(spans.interfaces),
               "addresses": set(spans.addresses), "prefixes": {*spans.addresses, *spans.prefixes}}

    def ok(key: str, value: Any) -> bool:
        if isinstance(value, dict):
            return all(ok(k, v) for k, v in value.items())
        if isinstance(value, list):
            return all(ok(key, v) for v in value)
        if not isinstance(value, str) or value == "":  # "" = an optional field left empty
            return True
        if key == "source":  # the device that pings (checks) or an address/interface (ping, traceroute)
            return value in allowed["devices"] | allowed["addresses"] | allowed["interfaces"]
        return key not in _SPAN_KEYS or value in allowed[_SPAN_KEYS[key]]

    for call in reply.tool_calls:
        if call["name"] not in names or not ok("", call["args"]):
            return False
        if call["name"] in ACTION_SCHEMAS:
            ACTION_SCHEMAS[call["name"]].model_validate(call["args"])  # the graph will accept it
    return True


def test_random_tiny_model_valid_only_with_constraints(brains: dict[str, HFChatModel]) -> None:
    tools = tools_for()
    names = {t.name for t in tools}
    results: dict[str, list[bool]] = {"on": [], "off": []}
    for mode, brain in brains.items():
        bound = brain.bind_tools(tools)
        for i, prompt in enumerate(PROMPTS):
            messages = conversation(prompt)
            spans = extract_spans(messages)
            for seed in range(2):
                torch.manual_seed(seed)
                reply = bound.invoke(messages)
                assert reply.response_metadata["constrained"] is (mode == "on")
                valid = _valid(reply, spans, names)
                if mode == "on":
                    assert valid, (i, seed, reply.response_metadata["raw_text"], reply.invalid_tool_calls)
                    assert reply.response_metadata["finish_reason"] == "tool_calls"
                    assert reply.content == ""
                results[mode].append(valid)
    rate_on = sum(results["on"]) / len(results["on"])
    rate_off = sum(results["off"]) / len(results["off"])
    print(f"\nvalid tool calls from the random tiny model: constrained {rate_on:.0%}, free {rate_off:.0%}")
    assert rate_on == 1.0 and rate_off < 0.5
    assert brains["on"].grammar_cache().stats.hits >= 3  # one schema per prompt, reused across seeds


def test_greedy_and_terminal_actions_are_valid(brains: dict[str, HFChatModel]) -> None:
    """Greedy decoding too, with only the terminal actions bound: the nested schemas hold."""
    brain = brains["on"]
    for kind in ("change", "diagnosis"):
        tools = action_tools(kind)
        reply = brain.bind_tools(tools).invoke(conversation(), temperature=0.0)
        assert _valid(reply, extract_spans(conversation()), {t.name for t in tools}), reply.response_metadata


def test_tool_choice_none_and_no_tools_are_unconstrained(brains: dict[str, HFChatModel]) -> None:
    brain = brains["on"]
    reply = brain.bind_tools(tools_for(), tool_choice="none").invoke(conversation(), max_new_tokens=4)
    assert reply.response_metadata["constrained"] is False
    assert brain.invoke("hello", max_new_tokens=4).response_metadata["constrained"] is False


# ---- spec flag and the missing-package error ---------------------------------------------------------


def test_spec_flag() -> None:
    assert parse_brain_spec("hf:m").constrained is None  # auto
    assert parse_brain_spec("hf:m,constrained").constrained is True
    assert parse_brain_spec("hf:m,constrained=off").constrained is False
    assert parse_brain_spec("hf:m,constrained=auto").constrained is None
    assert str(parse_brain_spec("hf:m,constrained")) == "hf:m,constrained=on"
    assert str(parse_brain_spec("hf:m,constrained=no")) == "hf:m,constrained=off"
    assert parse_brain_spec(str(parse_brain_spec("hf:m,constrained=off"))).constrained is False
    with pytest.raises(BrainSpecError, match="needs on, off or auto"):
        parse_brain_spec("hf:m,constrained=maybe")
    with pytest.raises(BrainSpecError, match="unknown option 'constrained'"):
        parse_brain_spec("openai:http://h/v1,constrained=on")


def test_auto_follows_xgrammar(brains: dict[str, HFChatModel], monkeypatch: pytest.MonkeyPatch) -> None:
    auto = brains["off"].model_copy(update={"constrained": None})
    assert auto.constraint_active()
    monkeypatch.setitem(sys.modules, "xgrammar", None)  # import xgrammar -> ImportError
    assert not auto.constraint_active()
    assert brains["off"].bind_tools(tools_for()).invoke(conversation(), max_new_tokens=2)  # off needs nothing


def test_missing_xgrammar_is_a_clear_error(tiny_dir: Path, brains: dict[str, HFChatModel],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xgrammar", None)
    with pytest.raises(BrainError, match=r"pip install xgrammar\); or use 'constrained=off'"):
        load_chat_model(f"hf:{tiny_dir},constrained=on")
    forced = brains["off"].model_copy(update={"constrained": True})
    with pytest.raises(BrainError, match="xgrammar"):
        forced.bind_tools(tools_for()).invoke(conversation())
    with pytest.raises(BrainError, match="xgrammar"):
        GrammarCache(brains["off"].tokenizer)


def test_a_device_read_is_never_repeated_for_the_same_device() -> None:
    messages = conversation()  # list_devices, get_interfaces_ip R1 and get_running_config R2 already answered
    assert device_reads(messages) == {"list_devices": {""}, "get_interfaces_ip": {"R1"}, "get_running_config": {"R2"}}
    schema = build_constraint(openai_tools(), messages).schema
    assert _branch(schema, "get_interfaces_ip")["properties"]["device"]["enum"] == ["R2", "R3"]
    assert _branch(schema, "get_running_config")["properties"]["device"]["enum"] == ["R1", "R3"]
    assert _branch(schema, "get_interfaces")["properties"]["device"]["enum"] == ["R1", "R2", "R3"]
    everything = [*messages, *(_call("get_interfaces", {"device": d}, f"i{d}") for d in ("R1", "R2", "R3"))]
    names = [b["properties"]["name"]["const"] for b in build_constraint(openai_tools(), everything).schema["anyOf"]]
    assert "get_interfaces" not in names and "report_diagnosis" in names  # nothing new to read: no branch
    only = [t for t in openai_tools() if t["function"]["name"] == "get_interfaces"]
    assert _branch({"anyOf": [build_constraint(only, everything).schema]}, "get_interfaces")  # a repeat, not none
    allowed = build_constraint(openai_tools(), everything, limits=Limits(no_repeat_reads=False)).schema
    assert _branch(allowed, "get_interfaces")["properties"]["device"]["enum"] == ["R1", "R2", "R3"]


DRAFT = {"action": "propose_change", "reads": 12,
         "args": {"changes": [{"device": "R1", "lines": ["interface GigabitEthernet0/0", " ip ospf cost 50"]}],
                  "checks": [{"kind": "ospf_neighbor", "device": "R1", "neighbor": "10.0.12.2", "full": True}],
                  "summary": "raise the cost of R1 Gi0/0"}}


def _drafted(prompt: str = "CHANGE: shift traffic off R1 Gi0/0") -> list:
    return [*conversation(prompt), _call("draft_plan", {}, "d1"),
            ToolMessage(json.dumps(DRAFT), tool_call_id="d1", name="draft_plan")]


def test_after_a_draft_its_action_takes_exactly_the_drafted_arguments() -> None:
    schema = build_constraint(openai_tools("change"), _drafted()).schema
    assert _branch(schema, "propose_change") == {"const": DRAFT["args"]}
    assert "enum" in _branch(schema, "get_interfaces")["properties"]["device"]  # reading more stays possible
    assert _branch(schema, "refuse")["properties"]["reason"]["type"] == "string"  # and so does refusing
    free = build_constraint(openai_tools("change"), _drafted(), limits=Limits(adopt_draft=False)).schema
    assert "properties" in _branch(free, "propose_change")
    assert "properties" in _branch(build_constraint(openai_tools("change"), conversation()).schema, "propose_change")


def test_a_read_without_arguments_is_never_called_twice() -> None:
    """``draft_plan`` and ``list_devices`` answer the same every time: after one call only adopting,
    refusing or reading a device is left (a held-out run once spent its steps re-drafting)."""
    from agent.draft_tool import draft_tool

    tools = [*openai_tools("change"), convert_to_openai_tool(draft_tool(None, "change", ""))]  # type: ignore[arg-type]

    def names(messages: list, **limits: Any) -> list[str]:
        schema = build_constraint(tools, messages, limits=Limits(**limits)).schema
        return [b["properties"]["name"]["const"] for b in schema["anyOf"]]

    opening = conversation("CHANGE: shift traffic off R1 Gi0/0")[:2]
    assert {"draft_plan", "list_devices"} <= set(names(opening))
    listed = conversation("CHANGE: shift traffic off R1 Gi0/0")  # it starts with list_devices
    assert "list_devices" not in names(listed) and "draft_plan" in names(listed)
    assert device_reads(_drafted())["draft_plan"] == {""}
    after = names(_drafted())
    assert "draft_plan" not in after and {"propose_change", "refuse", "get_interfaces"} <= set(after)
    assert {"draft_plan", "list_devices"} <= set(names(_drafted(), no_repeat_reads=False))


def test_a_random_model_adopting_a_draft_copies_it_exactly(brains: dict[str, HFChatModel]) -> None:
    """Even an untrained model cannot get a drafted plan wrong: its only choice is which action to take."""
    tools = action_tools("change")
    adopted = 0
    for seed in range(4):
        torch.manual_seed(seed)
        reply = brains["on"].bind_tools(tools).invoke(_drafted(), max_new_tokens=64)
        assert len(reply.tool_calls) >= 1, reply.response_metadata["raw_text"]
        for call in reply.tool_calls:
            if call["name"] == "propose_change":
                adopted += 1
                assert call["args"] == DRAFT["args"]
            else:
                assert call["name"] == "refuse"
    print(f"\nrandom tiny model adopted the draft in {adopted} of its calls")
