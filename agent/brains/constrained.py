"""Constrained decoding for the ``hf`` brain: every reply with tools bound is a well-formed tool call.

Small models trained from scratch learn the *shape* of a tool call quickly but copy argument values badly
(a device name, an interface, an address seen three turns earlier). Constrained decoding turns copying into
choosing: at each step the reply is restricted, token by token, to

    <tool_call>\\n{"name": <bound tool>, "arguments": <that tool's arguments>}\\n</tool_call>

(one to ``max_calls`` of them, separated by newlines, exactly as the chat template writes calls), where
string arguments that name a device, an interface or an IPv4 address/prefix may only take values seen so
far: the inventory (``list_devices`` output) and spans found in the user prompt and the tool results.

Pieces, usable on their own:

- :func:`extract_spans`: the device / interface / address / prefix values in a conversation.
- :func:`classify_field`: which kind of value a string field holds (by its name, then its description).
- :func:`tool_call_schema`: the JSON schema of one call (``anyOf`` over the tools, discriminated by
  ``name``) with those fields turned into enums; free text is bounded printable ASCII.
- :func:`build_constraint`: all of the above for one generation step -> a :class:`ToolCallConstraint`.
- :class:`GrammarCache`: compiles constraints with xgrammar for one tokenizer (LRU, keyed by the
  constraint's hash) and hands out a fresh transformers ``LogitsProcessor`` per ``generate()``.

Escape hatch: a field whose kind has no known values yet (no addresses observed, say) stays a free
(bounded) string rather than an empty enum, so the model can always make some call.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import ipaddress
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.actions import TERMINAL_ACTIONS
from agent.brains.compact import call_name_args
from agent.brains.spec import BrainError
from agent.draft_tool import DRAFT_PLAN

XGRAMMAR_HINT = "constrained decoding needs the 'xgrammar' package (pip install xgrammar)"

# ---- value kinds ---------------------------------------------------------------------------------------

DEVICE = "device"
INTERFACE = "interface"
ADDRESS = "address"  # an IPv4 host address
PREFIX = "prefix"  # an address or a prefix (a route lookup)
ADDRESS_OR_INTERFACE = "address_or_interface"  # ping/traceroute source
PROTOCOL = "protocol"
TEXT = "text"  # free, bounded, printable text

ROUTING_PROTOCOLS = ("ospf", "bgp", "static", "connected", "local", "rip", "eigrp", "isis")

_DEVICE_NAMES = {"device", "hostname", "router", "node", "switch", "host"}
_INTERFACE_NAMES = {"interface", "intf", "ifname", "port", "local_interface", "remote_interface"}
_ADDRESS_NAMES = {"destination", "source_ip", "neighbor", "neighbour", "address", "ip", "peer", "next_hop",
                  "nexthop", "gateway", "router_id", "target"}
_PREFIX_NAMES = {"prefix", "network", "subnet", "route"}
_LINE_NAMES = {"line", "lines", "command", "commands"}


@dataclass(frozen=True)
class Limits:
    """Bounds that keep every constrained reply finite (and the grammar small)."""

    text_chars: int = 200  # summary, root_cause, reason, evidence items, unknown strings
    line_chars: int = 120  # a config line / show command
    items: int = 8  # any array without its own maxItems
    line_items: int = 24  # config lines per device
    max_calls: int = 8  # tool calls per reply
    config_lines: bool = True  # config lines: IOS words + observed interfaces/addresses (False: free text)
    no_repeat_reads: bool = True  # a read cannot be called again for a device it has read (or at all, without arguments)
    adopt_draft: bool = True  # after draft_plan: its terminal action's arguments are the draft's, verbatim


DEFAULT_LIMITS = Limits()


# ---- spans: the values a conversation has shown --------------------------------------------------------


@dataclass(frozen=True)
class Spans:
    """Values seen so far, sorted. ``inventory`` is True when ``devices`` came from ``list_devices``."""

    devices: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    inventory: bool = False

    def values(self, kind: str) -> tuple[str, ...]:
        if kind == DEVICE:
            return self.devices
        if kind == INTERFACE:
            return self.interfaces
        if kind == ADDRESS:
            return self.addresses
        if kind == PREFIX:
            return tuple(sorted({*self.addresses, *self.prefixes}, key=_addr_key))
        if kind == ADDRESS_OR_INTERFACE:
            return (*self.addresses, *self.interfaces)
        if kind == PROTOCOL:
            return ROUTING_PROTOCOLS
        return ()


# Full IOS interface names -> their usual abbreviation (both are accepted by IOS, both appear in output).
INTERFACE_ABBREVIATIONS = {
    "GigabitEthernet": "Gi", "FastEthernet": "Fa", "TenGigabitEthernet": "Te", "TwentyFiveGigE": "Twe",
    "FortyGigabitEthernet": "Fo", "HundredGigE": "Hu", "Ethernet": "Et", "Loopback": "Lo", "Tunnel": "Tu",
    "Vlan": "Vl", "Serial": "Se", "Port-channel": "Po", "Management": "Ma",
}
_FULL_BY_LOWER = {full.lower(): full for full in INTERFACE_ABBREVIATIONS}
_FULL_BY_ABBR = {abbr.lower(): full for full, abbr in INTERFACE_ABBREVIATIONS.items()}
_FULL_BY_ABBR["eth"] = "Ethernet"
_NO_SLASH_OK = {"Loopback", "Tunnel", "Vlan", "Port-channel"}  # numbered without a slot/port
_IFACE_RE = re.compile(
    r"(?<![\w-])(" + "|".join(sorted([*INTERFACE_ABBREVIATIONS, *INTERFACE_ABBREVIATIONS.values(), "Eth"],
                                     key=len, reverse=True))
    + r")(\d+(?:/\d+){0,3}(?:\.\d+)?)(?![\w/])", re.IGNORECASE)
_IPV4_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?![\w/]|\.\d)")
_HOSTNAME_RE = re.compile(r"^\s*hostname\s+([A-Za-z][A-Za-z0-9_-]{0,62})", re.MULTILINE)
_DEVICE_TOKEN_RE = re.compile(r"(?<![\w.:/])([A-Za-z]{1,8}[_-]?\d{1,3})(?![\w/]|\.\d)")
_NOT_DEVICES = {"ipv4", "ipv6", "md5", "sha1", "sha256", "sha512", "ospfv2", "ospfv3", "bgp4", "snmpv2",
                "snmpv3", "v1", "v2", "v3", "dot1q", "ssh2", "http2", "utf8", "gre0"}
_NAME_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str | dict))
    return "" if content is None else json.dumps(content, default=str)


def _role_of(msg: Any) -> str:
    """'user' / 'tool' / 'system' / 'assistant' for LangChain messages and HF chat dicts alike."""
    if isinstance(msg, dict):
        return str(msg.get("role", ""))
    kind = getattr(msg, "type", "")
    if kind == "human":
        return "user"
    if kind == "ai":
        return "assistant"
    if kind == "chat":
        return str(getattr(msg, "role", ""))
    return str(kind)


def _addr_key(value: str) -> tuple[int, int]:
    address, _, length = value.partition("/")
    return int(ipaddress.IPv4Address(address)), int(length) if length else -1


def _usable_address(address: ipaddress.IPv4Address) -> bool:
    """Drop masks, wildcards and loopback/multicast noise that the IPv4 regex also matches."""
    first = int(address) >> 24
    return 0 < first < 224 and first != 127


def _mask_length(address: str, mask: str) -> int | None:
    """Prefix length of ``address MASK`` where MASK is a netmask or a wildcard (IOS uses both)."""
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        return None
    if value == 0:  # "ip route 0.0.0.0 0.0.0.0" is /0; "network 1.1.1.1 0.0.0.0 area 0" is a /32 wildcard
        return 0 if address == "0.0.0.0" else 32
    for bits in (value, value ^ 0xFFFFFFFF):  # netmask, then wildcard
        ones = bin(bits).count("1")
        if bits == (0xFFFFFFFF << (32 - ones)) & 0xFFFFFFFF and bits >> 31:
            return ones
    return None


def interface_aliases(name: str) -> set[str]:
    """``GigabitEthernet0/1`` -> {itself, ``Gi0/1``}; ``gi0/1`` -> the same two; {} when not an interface."""
    match = _IFACE_RE.fullmatch(name.strip())
    if not match:
        return set()
    base, number = match.group(1).lower(), match.group(2)
    full = _FULL_BY_LOWER.get(base) or _FULL_BY_ABBR.get(base)
    if full is None or ("/" not in number and full not in _NO_SLASH_OK and base not in _FULL_BY_LOWER):
        return set()  # "Gi0" alone is no interface name; "Loopback0" / "Lo0" / "Ethernet0" are
    return {full + number, INTERFACE_ABBREVIATIONS[full] + number}


def _json_names(value: Any, devices: set[str], inventory: set[str]) -> None:
    """Device names in decoded tool output: ``device``/``hostname`` values, ``devices[].name``."""
    if isinstance(value, dict):
        listed = value.get("devices")
        if isinstance(listed, list):
            for item in listed:
                if isinstance(item, dict) and isinstance(item.get("name"), str) and _NAME_OK.match(item["name"]):
                    inventory.add(item["name"])
        for key, item in value.items():
            if key in ("device", "hostname", "remote_system_name") and isinstance(item, str):
                if _NAME_OK.match(item) and not interface_aliases(item):
                    devices.add(item)
            elif isinstance(item, dict | list):
                _json_names(item, devices, inventory)
    elif isinstance(value, list):
        for item in value:
            _json_names(item, devices, inventory)


def _device_tokens(text: str) -> set[str]:
    found = set()
    text = _IFACE_RE.sub(" ", text)  # "Port-channel1" holds no device "channel1"
    for match in _DEVICE_TOKEN_RE.finditer(text):
        token = match.group(1)
        if token.lower() in _NOT_DEVICES or interface_aliases(token):
            continue
        found.add(token)
    return found


def _scan_addresses(text: str, addresses: set[str], prefixes: set[str]) -> None:
    hits = list(_IPV4_RE.finditer(text))
    for i, match in enumerate(hits):
        raw, length = match.group(1), match.group(2)
        try:
            address = ipaddress.IPv4Address(raw)
        except ValueError:
            continue
        if length is not None:
            with contextlib.suppress(ValueError):
                prefixes.add(str(ipaddress.IPv4Network(f"{raw}/{length}", strict=False)))
        elif i + 1 < len(hits) and hits[i + 1].group(2) is None and not text[match.end():hits[i + 1].start()].strip():
            bits = _mask_length(raw, hits[i + 1].group(1))  # "A.B.C.D MASK": an interface address or a network
            if bits is not None:
                prefixes.add(str(ipaddress.IPv4Network(f"{raw}/{bits}", strict=False)))
        if _usable_address(address):
            addresses.add(str(address))
    # get_interfaces_ip: {"10.0.12.1": {"prefix_length": 30}}
    for raw, length in re.findall(r'"(\d{1,3}(?:\.\d{1,3}){3})":\s*\{\s*"prefix_length":\s*(\d{1,2})', text):
        try:
            prefixes.add(str(ipaddress.IPv4Network(f"{raw}/{length}", strict=False)))
        except ValueError:
            continue


def extract_spans(messages: Sequence[Any], *, extra_text: Iterable[str] = ()) -> Spans:
    """The device / interface / address / prefix values shown so far in ``messages`` (and ``extra_text``,
    read like user text: e.g. an inventory the caller already knows).

    Sources: user turns (the task prompt, re-plan notes) and tool results; never the system prompt (it
    holds instructions, not observations) nor the model's own calls (a hallucinated name must not become
    allowed by being used). Devices: the ``list_devices`` inventory when it has been listed (then only
    those); before that, names found in tool JSON (``device``/``hostname`` keys, ``hostname X`` config
    lines) and device-like tokens in the user's text (``R1``, ``pe12``). Interfaces: full IOS names and
    abbreviations, each added in both forms. Addresses: IPv4 host addresses (masks, wildcards, 0/8, 127/8
    and multicast dropped); prefixes: ``A/len`` text, ``A MASK`` / ``A WILDCARD`` pairs, and
    ``get_interfaces_ip`` prefix lengths, as network prefixes. Accepts LangChain messages or HF chat dicts.
    """
    devices: set[str] = set()
    inventory: set[str] = set()
    interfaces: set[str] = set()
    addresses: set[str] = set()
    prefixes: set[str] = set()
    extra = [str(t) for t in extra_text]
    texts: list[str] = list(extra)
    for msg in messages:
        role = _role_of(msg)
        if role not in ("user", "tool"):
            continue
        text = _text_of(msg.get("content") if isinstance(msg, dict) else msg.content)
        texts.append(text)
        if role == "user":
            devices |= _device_tokens(text)
        else:
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            _json_names(decoded, devices, inventory)
            devices.update(_HOSTNAME_RE.findall(text.replace("\\n", "\n")))
    for text in texts:
        flat = text.replace("\\n", "\n")  # tool JSON keeps config text escaped
        for match in _IFACE_RE.finditer(flat):
            interfaces |= interface_aliases(match.group(0))
        _scan_addresses(flat, addresses, prefixes)
    for text in extra:
        devices |= _device_tokens(text)
    return Spans(devices=tuple(sorted(inventory or devices)), interfaces=tuple(sorted(interfaces)),
                 addresses=tuple(sorted(addresses, key=_addr_key)),
                 prefixes=tuple(sorted(prefixes, key=_addr_key)), inventory=bool(inventory))


NO_ARGUMENTS = ""  # the entry ``device_reads`` keeps for a call without arguments (list_devices, draft_plan)


def device_reads(messages: Sequence[Any]) -> dict[str, set[str]]:
    """Tool name -> devices it has been called for (calls whose only argument is ``device``), or
    ``{NO_ARGUMENTS}`` for a call without arguments. Reads have no side effects and nothing changes the
    network before the plan, so repeating one only wastes a step; small models otherwise loop on their
    favourite device, or call ``draft_plan`` again instead of adopting its draft."""
    done: dict[str, set[str]] = {}
    for msg in messages:
        calls = msg.get("tool_calls") if isinstance(msg, dict) else getattr(msg, "tool_calls", None)
        for call in calls or []:
            name, args = call_name_args(call)
            if isinstance(args, dict) and set(args) == {"device"} and isinstance(args["device"], str):
                done.setdefault(name, set()).add(args["device"])
            elif args == {}:
                done.setdefault(name, set()).add(NO_ARGUMENTS)
    return done



def draft_of(messages: Sequence[Any]) -> dict[str, Any] | None:
    """The last ``draft_plan`` result in a conversation (LangChain messages or chat dicts), when it drafts a
    terminal action with its arguments; else None."""
    for msg in reversed(messages):
        name = msg.get("name") if isinstance(msg, dict) else getattr(msg, "name", None)
        if _role_of(msg) != "tool" or name != DRAFT_PLAN:
            continue
        try:
            value = json.loads(_text_of(msg.get("content") if isinstance(msg, dict) else msg.content))
        except ValueError:
            return None
        usable = isinstance(value, dict) and value.get("action") in TERMINAL_ACTIONS and isinstance(value.get("args"), dict)
        return value if usable else None
    return None

# ---- the schema of a reply -------------------------------------------------------------------------------


def classify_field(name: str, schema: dict[str, Any]) -> str | None:
    """The kind of value a string property holds, or None when it is already closed (enum/const/pattern).

    By name first (``device``, ``interface``, ``destination``, ``neighbor``, ``prefix``...), then by its
    description where one name means two things (``source`` is "Device that pings" in a ping check but
    "Source address or interface" in the ping tool; a ``destination`` whose description mentions a prefix
    takes prefixes too). Anything else is bounded free text.
    """
    if any(k in schema for k in ("enum", "const", "pattern", "format")):
        return None
    key = name.lower()
    desc = str(schema.get("description", "")).lower()
    if key == "source":
        if desc.startswith("device") or "device name" in desc:
            return DEVICE
        return ADDRESS_OR_INTERFACE if "interface" in desc else ADDRESS
    if key in _DEVICE_NAMES or key.endswith("_device"):
        return DEVICE
    if key in _INTERFACE_NAMES or key.endswith("_interface"):
        return INTERFACE
    if key == "protocol":
        return PROTOCOL
    if key in _PREFIX_NAMES or (key in _ADDRESS_NAMES and "prefix" in desc):
        return PREFIX
    if key in _ADDRESS_NAMES or key.endswith("_ip") or key.endswith("_address"):
        return ADDRESS
    return TEXT


def _safe_text(max_chars: int, min_chars: int = 0) -> dict[str, Any]:
    """Printable ASCII, bounded, without ``"`` and ``\\`` (no JSON escapes, no control characters) and
    without ``<`` (no ``</tool_call>`` or other chat-template tag can appear inside a value)."""
    return {"type": "string", "pattern": f"^[ !#-;=-\\[\\]-~]{{{min_chars},{max_chars}}}$"}


_MASK_OCTET = "(255|254|252|248|240|224|192|128|0)"
_WILDCARD_OCTET = "(0|1|3|7|15|31|63|127|255)"
# A netmask or a wildcard, octet by octet (a few non-contiguous ones slip through; IOS rejects those).
_MASKS = f"{_MASK_OCTET}(\\.{_MASK_OCTET}){{3}}|{_WILDCARD_OCTET}(\\.{_WILDCARD_OCTET}){{3}}"
# A word of a config line that is not a value: a lowercase keyword (``ip``, ``remote-as``), a number
# (``area 0``, ``cost 50``, an ACL sequence), or a capitalised identifier (an ACL name, ``Null0``,
# a new ``Loopback5``). Dotted quads and slotted interface names can only come from the observed values.
_LINE_WORD = r"[a-z][a-z0-9-]{0,30}|[0-9]{1,10}|[A-Z][A-Za-z0-9_-]{0,40}"


def config_line_schema(spans: Spans, limits: Limits) -> dict[str, Any]:
    """One IOS config line whose addresses and interface names are values seen so far.

    A line is an optional leading space and space-separated words (see ``_LINE_WORD``), observed interface
    names (both forms), observed addresses and network addresses, or any netmask / wildcard; or a
    ``description`` with free text. This is what turns copying ``10.0.12.2`` or ``GigabitEthernet0/2``
    into choosing one, while the keywords stay the model's own. The word count is unbounded (``*``, not
    ``{0,N}``: xgrammar expands a bounded repeat into N copies of the alternation, 5x the compile time);
    ``max_new_tokens`` bounds the reply.
    """
    networks = {p.partition("/")[0] for p in spans.prefixes}
    quads = sorted({*spans.addresses, *networks}, key=lambda a: (len(a), a), reverse=True)
    names = sorted(spans.interfaces, key=len, reverse=True)
    word = "|".join([*(re.escape(n) for n in names), *(re.escape(q) for q in quads), _MASKS, _LINE_WORD])
    text = f"[ !#-;=-\\[\\]-~]{{1,{max(1, limits.line_chars - 13)}}}"
    pattern = f"^ ?(({word})( ({word}))*|description {text})$"
    return {"type": "string", "pattern": pattern}


def _deref(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """Inline ``$ref``s to ``#/$defs/...`` (tool schemas here are not recursive; depth-capped anyway)."""
    if depth > 32:
        raise BrainError("tool schema nests too deeply (recursive $ref?) for constrained decoding")
    if isinstance(schema, list):
        return [_deref(s, defs, depth + 1) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = str(schema["$ref"])
        target = defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/") else None
        if target is None:
            raise BrainError(f"cannot resolve {ref!r} in a tool schema for constrained decoding")
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _deref(merged, defs, depth + 1)
    return {k: _deref(v, defs, depth + 1) for k, v in schema.items()
            if k not in ("$defs", "definitions", "discriminator", "title")}


def _constrain(schema: dict[str, Any], spans: Spans, limits: Limits, name: str = "") -> dict[str, Any]:
    """A copy of a (dereferenced) argument schema with the span fields closed and free text bounded."""
    out = dict(schema)
    if "oneOf" in out and "anyOf" not in out:  # tool unions are discriminated (by a const "kind"): anyOf is exact
        out["anyOf"] = out.pop("oneOf")
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in out:
            out[combo] = [_constrain(s, spans, limits, name) for s in out[combo]]
    kind = out.get("type")
    if kind == "object" or "properties" in out:
        props = out.get("properties") or {}
        out["properties"] = {key: _constrain(sub, spans, limits, key) for key, sub in props.items()}
        extra = out.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = _constrain(extra, spans, limits, name)
        else:
            out.setdefault("additionalProperties", False)
    elif kind == "array":
        items = out.get("items") if isinstance(out.get("items"), dict) else {"type": "string"}
        is_lines = name.lower() in _LINE_NAMES
        out["items"] = _constrain(items, spans, limits, "line" if is_lines else name)
        cap = limits.line_items if is_lines else limits.items
        out["maxItems"] = min(int(out.get("maxItems", cap)), cap)
        if int(out.get("minItems", 0)) > out["maxItems"]:
            out["maxItems"] = int(out["minItems"])
    elif kind == "string":
        value_kind = classify_field(name, out)
        if value_kind is None:
            return out
        values = spans.values(value_kind) if value_kind != TEXT else ()
        default = out.get("default")
        keep = {k: v for k, v in out.items() if k in ("description", "default")}
        if values:
            enum = list(dict.fromkeys([*values, *([default] if default == "" else [])]))
            return {**keep, "type": "string", "enum": enum}
        if name.lower() == "line" and limits.config_lines:
            return {**keep, **config_line_schema(spans, limits)}
        chars = limits.line_chars if name.lower() in _LINE_NAMES else limits.text_chars
        if "maxLength" in out:
            chars = min(chars, int(out["maxLength"]))
        return {**keep, **_safe_text(chars, int(out.get("minLength", 0)))}
    return out


def tool_call_schema(tools: Sequence[dict[str, Any]], spans: Spans, limits: Limits = DEFAULT_LIMITS,
                     done: dict[str, set[str]] | None = None, draft: dict[str, Any] | None = None) -> dict[str, Any]:
    """JSON schema of one call: ``anyOf`` over ``{"name": const, "arguments": constrained parameters}``.

    ``tools`` are OpenAI-format tool dicts (what ``bind_tools`` stores). Every branch fixes ``name`` to
    one bound tool, so the name is an enum of the bound names and the arguments follow that tool's schema.
    ``draft`` (a ``draft_plan`` result): the branch of its action takes exactly the drafted arguments, so
    adopting a draft is one choice (the action's name), never a long copy.
    """
    branches = []
    for tool in tools:
        fn = tool.get("function", tool)
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BrainError(f"a bound tool has no name: {tool!r}")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        params = _deref(copy.deepcopy(params), params.get("$defs") or params.get("definitions") or {})
        params.setdefault("type", "object")
        args = _constrain(params, spans, limits)
        if draft is not None and draft.get("action") == name:
            args = {"const": draft["args"]}
        if done and NO_ARGUMENTS in done.get(name, ()) and not args.get("properties"):
            continue  # a read without arguments answers the same again
        if done and name in done and set(args.get("properties") or {}) == {"device"} \
                and "enum" in args["properties"]["device"]:
            left = [d for d in args["properties"]["device"].get("enum", []) if d not in done[name]]
            if not left:
                continue  # every device already read with this tool: nothing new to learn from it
            args["properties"]["device"] = {**args["properties"]["device"], "enum": left}
        branches.append({"type": "object", "properties": {"name": {"const": name}, "arguments": args},
                         "required": ["name", "arguments"], "additionalProperties": False})
    if not branches and done:  # every bound tool has read every device: a repeat beats no call at all
        return tool_call_schema(tools, spans, limits, draft=draft)
    if not branches:
        raise BrainError("constrained decoding needs at least one bound tool")
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


@dataclass(frozen=True)
class ToolCallConstraint:
    """What one generation step may produce: 1..max_calls ``<tool_call>`` blocks of ``schema``."""

    schema: dict[str, Any]
    spans: Spans
    tool_names: tuple[str, ...]
    max_calls: int = DEFAULT_LIMITS.max_calls
    min_new_tokens: int = 0  # after a draft_plan result: room to write the drafted arguments verbatim
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        canonical = json.dumps({"schema": self.schema, "max_calls": self.max_calls}, sort_keys=True)
        object.__setattr__(self, "key", hashlib.sha256(canonical.encode()).hexdigest())

    def ebnf(self) -> str:
        """The xgrammar EBNF: the JSON-schema grammar (compact, ``", "``/``": "`` like ``tojson``) wrapped."""
        import xgrammar as xgr

        body = xgr.Grammar.from_json_schema(json.dumps(self.schema), any_whitespace=False,
                                            separators=(", ", ": "), strict_mode=True)
        more = f' ("\\n" {_CALL_RULE}){{0,{self.max_calls - 1}}}' if self.max_calls > 1 else ""
        return (f"{body}\n{_CALL_RULE} ::= \"<tool_call>\\n\" root \"\\n</tool_call>\"\n"
                f"{_ROOT_RULE} ::= {_CALL_RULE}{more}\n")


_CALL_RULE = "twinops_tool_call"
_ROOT_RULE = "twinops_tool_calls"


def build_constraint(tools: Sequence[dict[str, Any]], messages: Sequence[Any], *,
                     limits: Limits = DEFAULT_LIMITS, extra_text: Iterable[str] = ()) -> ToolCallConstraint:
    """The constraint for one generation step: bound ``tools`` (OpenAI dicts) + spans of ``messages``."""
    spans = extract_spans(messages, extra_text=extra_text)
    names = tuple(t.get("function", t).get("name", "") for t in tools)
    done = device_reads(messages) if limits.no_repeat_reads else None
    draft = draft_of(messages)
    schema = tool_call_schema(tools, spans, limits, done, draft if limits.adopt_draft else None)
    room = len(json.dumps(draft["args"])) + 128 if draft is not None else 0  # a token is at least a character
    return ToolCallConstraint(schema=schema, spans=spans, tool_names=names, max_calls=max(1, limits.max_calls),
                              min_new_tokens=room)


# ---- xgrammar --------------------------------------------------------------------------------------------


def xgrammar_available() -> bool:
    try:
        import xgrammar  # noqa: F401
    except ImportError:
        return False
    return True


def xgrammar_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("xgrammar")
    except Exception:  # pragma: no cover - not installed
        return None


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    compile_seconds: float = 0.0  # total, over misses
    last_compile_seconds: float = 0.0


class GrammarCache:
    """Compiled grammars for one tokenizer, LRU by constraint hash, and the logits processors using them."""

    def __init__(self, tokenizer: Any, *, vocab_size: int | None = None, stop_token_ids: Iterable[int] = (),
                 max_entries: int = 64) -> None:
        try:
            import xgrammar as xgr
        except ImportError:
            raise BrainError(XGRAMMAR_HINT) from None
        stops = sorted({int(t) for t in stop_token_ids})
        size = max(int(vocab_size or 0), len(tokenizer))
        try:
            self.info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=size, stop_token_ids=stops or None)
        except Exception as exc:
            raise BrainError(f"xgrammar cannot read this tokenizer: {exc}") from exc
        self.compiler = xgr.GrammarCompiler(self.info, max_threads=1, cache_enabled=False)
        self.vocab_size = size
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._compiled: OrderedDict[str, Any] = OrderedDict()
        self.last_processor: Any = None  # the processor of the latest generate() (bench: mask time per step)
        self._lock = threading.Lock()

    def compile(self, constraint: ToolCallConstraint) -> Any:
        with self._lock:
            return self._compile(constraint)

    def _compile(self, constraint: ToolCallConstraint) -> Any:
        cached = self._compiled.get(constraint.key)
        if cached is not None:
            self._compiled.move_to_end(constraint.key)
            self.stats.hits += 1
            return cached
        start = time.perf_counter()
        try:
            compiled = self.compiler.compile_grammar(constraint.ebnf(), root_rule_name=_ROOT_RULE)
        except Exception as exc:  # a schema feature xgrammar rejects
            raise BrainError(f"xgrammar could not compile the tool-call grammar: {exc}") from exc
        elapsed = time.perf_counter() - start
        self.stats.misses += 1
        self.stats.compile_seconds += elapsed
        self.stats.last_compile_seconds = elapsed
        self._compiled[constraint.key] = compiled
        while len(self._compiled) > self.max_entries:
            self._compiled.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._compiled)

    def logits_processor(self, constraint: ToolCallConstraint) -> Any:
        """A fresh single-use processor for one ``generate()`` call (batch size 1)."""
        self.last_processor = _processor_class()(self.compile(constraint), self.vocab_size)
        return self.last_processor


_PROCESSOR: Any = None


def _processor_class() -> Any:
    """transformers' LogitsProcessor subclass, defined on first use (keeps this module import-light)."""
    global _PROCESSOR
    if _PROCESSOR is not None:
        return _PROCESSOR
    import torch
    import xgrammar as xgr
    from transformers import LogitsProcessor

    class XGrammarLogitsProcessor(LogitsProcessor):
        """Masks every token the grammar cannot take next; accepts the previous step's token first."""

        def __init__(self, compiled: Any, vocab_size: int) -> None:
            self.matcher = xgr.GrammarMatcher(compiled)
            self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)
            self.vocab_size = vocab_size
            self.prompt_len: int | None = None
            self.steps = 0
            self.mask_seconds = 0.0

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            start = time.perf_counter()
            if input_ids.shape[0] != 1:
                raise BrainError("constrained decoding supports batch size 1 only")
            if self.prompt_len is None:
                self.prompt_len = int(input_ids.shape[1])
            elif not self.matcher.is_terminated():
                token = int(input_ids[0, -1])
                if not self.matcher.accept_token(token):  # pragma: no cover - only if masking failed
                    raise BrainError(f"constrained decoding: token {token} was not allowed by the grammar")
            self.matcher.fill_next_token_bitmask(self.bitmask)
            mask = self.bitmask if scores.device.type == "cpu" else self.bitmask.to(scores.device)
            if scores.shape[-1] > self.vocab_size:  # padded lm head: the rows past the tokenizer never win
                scores[:, self.vocab_size:] = -float("inf")
            xgr.apply_token_bitmask_inplace(scores, mask, vocab_size=min(self.vocab_size, scores.shape[-1]))
            self.steps += 1
            self.mask_seconds += time.perf_counter() - start
            return scores

    _PROCESSOR = XGrammarLogitsProcessor
    return _PROCESSOR
