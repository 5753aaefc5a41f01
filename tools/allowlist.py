"""The read-only ``show`` allow-list: which raw commands the ``show`` tool may send, expanded to full words.

A command passes only if it is ``show`` followed by an allowed keyword phrase (abbreviations resolved
the way IOS does, ambiguity refused), optional plain arguments, and optional output filters limited to
``include | exclude | begin | section | count``.  Anything else is refused with a reason: other exec
commands, ``redirect``/``tee``/``append`` filters (they write files), command separators and control
characters (``;``, newlines, ``&&``, backticks, ``$(...)``), redirection (``>``, ``<``), overlong input.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

MAX_LENGTH = 256
ALLOWED_PHRASES: tuple[str, ...] = (
    "version", "clock", "hosts", "inventory", "privilege", "users", "terminal", "history",
    "interfaces", "interfaces status", "interfaces description", "interfaces counters",
    "ip interface", "ip interface brief", "ipv6 interface", "ipv6 interface brief", "ipv6 route",
    "ipv6 neighbors", "ip route", "ip ospf", "ip ospf neighbor", "ip ospf interface", "ip ospf database",
    "ip bgp", "ip bgp summary", "ip bgp neighbors", "bgp", "ip protocols", "ip arp", "arp",
    "ip access-lists", "access-lists", "ip prefix-list", "route-map", "ip cef", "ip nat translations",
    "ip vrf", "vrf", "lldp", "lldp neighbors", "cdp", "cdp neighbors", "running-config", "startup-config",
    "logging", "ntp status", "ntp associations", "vlan", "vlan brief", "spanning-tree", "mac address-table",
    "etherchannel", "standby", "vrrp", "processes", "processes cpu", "processes memory", "memory statistics",
    "environment", "platform", "archive", "file systems", "flash:", "ip sla summary", "track",
    "policy-map", "class-map", "interfaces trunk", "ip dhcp binding", "ip ospf border-routers",
)
ALLOWED_FILTERS = ("include", "exclude", "begin", "section", "count")
WRITING_FILTERS = ("append", "format", "redirect", "tee")
ALL_FILTERS = (*ALLOWED_FILTERS, *WRITING_FILTERS)
_FORBIDDEN = [(re.compile(r"[\x00-\x1f\x7f]"), "control characters (newlines, tabs, NUL) are not allowed"),
              (re.compile(r";"), "';' command separators are not allowed"),
              (re.compile(r"&&|\|\||`|\$\("), "shell-style command chaining is not allowed"),
              (re.compile(r"[<>]"), "redirection ('>' or '<') is not allowed")]
_ARGUMENT = re.compile(r"^[A-Za-z0-9_.:/*+\-]+$")
_PHRASES = [tuple(p.split()) for p in ALLOWED_PHRASES]


class ShowCheck(BaseModel):
    allowed: bool
    command: str = ""  # the canonical (expanded) command that would be sent
    reason: str = ""


def _refuse(reason: str) -> ShowCheck:
    return ShowCheck(allowed=False, reason=reason)


def _match(word: str, keyword: str) -> bool:
    return keyword.startswith(word.lower())


def _resolve_phrase(words: list[str]) -> tuple[tuple[str, ...], list[str]] | str:
    """Expand the words after ``show`` to an allowed phrase; return (phrase, arguments) or a reason."""
    candidates = list(_PHRASES)
    chosen: list[str] = []
    complete: tuple[tuple[str, ...], int] | None = None
    for index, word in enumerate(words):
        if tuple(chosen) in _PHRASES:
            complete = (tuple(chosen), index)
        keywords = sorted({p[index] for p in candidates if len(p) > index})
        exact = [k for k in keywords if k == word.lower()]
        matches = exact or [k for k in keywords if _match(word, k)]
        if len(matches) == 1:
            chosen.append(matches[0])
            candidates = [p for p in candidates if len(p) > index and p[index] == matches[0]]
            continue
        if len(matches) > 1 and complete is None:
            return f"'{word}' is ambiguous here ({', '.join(matches)})"
        break
    else:
        index = len(words)
        if tuple(chosen) in _PHRASES:
            complete = (tuple(chosen), index)
    if complete is None:
        shown = " ".join(words[: len(chosen) + 1])
        return f"'show {shown}' is not an allowed read-only command"
    phrase, used = complete
    return phrase, words[used:]


def check_show_command(command: str) -> ShowCheck:
    """Is ``command`` an allowed read-only ``show``?  Returns the expanded command or the reason why not."""
    if not command or not command.strip():
        return _refuse("empty command")
    if len(command) > MAX_LENGTH:
        return _refuse(f"command longer than {MAX_LENGTH} characters")
    for pattern, reason in _FORBIDDEN:
        if pattern.search(command):
            return _refuse(reason)
    head, pipe, rest = command.partition("|")
    words = head.split()
    if not words or len(words[0]) < 2 or not _match(words[0], "show"):
        return _refuse(f"only 'show' commands may be sent; got {words[0] if words else command!r}")
    if len(words) == 1:
        return _refuse("incomplete command: 'show' needs a subject")
    resolved = _resolve_phrase(words[1:])
    if isinstance(resolved, str):
        return _refuse(resolved)
    phrase, arguments = resolved
    for argument in arguments:
        if not _ARGUMENT.match(argument):
            return _refuse(f"argument {argument!r} contains characters not allowed in a show command")
    parts = ["show", *phrase, *arguments]
    if not pipe:
        return ShowCheck(allowed=True, command=" ".join(parts))
    fwords = rest.split(None, 1)
    if not fwords:
        return _refuse("empty output filter after '|'")
    matches = [f for f in ALL_FILTERS if _match(fwords[0], f)]
    if len(matches) != 1:
        return _refuse(f"unknown or ambiguous output filter '| {fwords[0]}'")
    name = matches[0]
    if name not in ALLOWED_FILTERS:
        return _refuse(f"output filter '| {name}' is not allowed (only {', '.join(ALLOWED_FILTERS)})")
    pattern = fwords[1].strip() if len(fwords) > 1 else ""
    if not pattern and name != "count":
        return _refuse(f"'| {name}' needs a pattern")
    # A '|' inside the pattern is regex alternation on classic IOS but a further filter on IOS-XE:
    # refuse any segment that could start a file-writing filter.
    for segment in pattern.split("|")[1:]:
        first = segment.split()[0] if segment.split() else ""
        if first and any(_match(first, f) for f in WRITING_FILTERS):
            return _refuse(f"'| {first}' could be a file-writing output filter; not allowed")
    parts.append(f"| {name} {pattern}".rstrip())
    return ShowCheck(allowed=True, command=" ".join(parts))
