"""Config text as a device shows it, and the IOS archive diffs NAPALM's ``compare_config`` parses.

The simulator renders a canonical body (``hostname ...`` to ``end``).  A real IOS box shows more:
a ``version`` line, service defaults and ``ip scp server enable`` (the lab serves SCP, and
NAPALM refuses to upload without seeing that line).  Those defaults are overlaid only where the
body does not already carry the command, so a ``get_config`` -> ``configure replace`` round
trip is stable.  Diffs compare overlaid canonical text on both sides, so they show what changes
on the device, never formatting noise.
"""

from __future__ import annotations

from datetime import datetime

# (prefix that means "already configured", default line shown when it is not)
HEADER_DEFAULTS = (
    ("version ", "version 15.9"),
    ("service timestamps debug", "service timestamps debug datetime msec"),
    ("service timestamps log", "service timestamps log datetime msec"),
    ("service password-encryption", "no service password-encryption"),
    ("no service password-encryption", None),
)
BODY_DEFAULTS = (("ip scp server", "ip scp server enable"),)
NOISE_PREFIXES = ("Building configuration", "Current configuration :", "Using ", "! Last configuration change",
                  "! NVRAM config last updated")


def ios_timestamp(when: datetime) -> str:
    """``10:15:32 UTC Mon Mar 4 2024`` as IOS prints it in config headers."""
    return f"{when:%H:%M:%S} UTC {when:%a %b} {when.day} {when:%Y}"


def display_config(body: str, last_change: datetime | None = None, by: str | None = None) -> str:
    """The running-config text IOS shows (no ``Building configuration`` header), ending in ``end``."""
    lines = body.replace("\r", "").splitlines()
    stripped = [line.strip() for line in lines]

    def configured(prefix: str) -> bool:
        return any(s.startswith(prefix) for s in stripped)

    out = ["!"]
    if last_change is not None:
        who = f" by {by}" if by else ""
        out += [f"! Last configuration change at {ios_timestamp(last_change)}{who}", "!"]
    skip_password = configured("service password-encryption") or configured("no service password-encryption")
    for prefix, default in HEADER_DEFAULTS:
        if default is None or configured(prefix):
            continue
        if "password-encryption" in default and skip_password:
            continue
        out.append(default)
    out.append("!")
    extra = [default for prefix, default in BODY_DEFAULTS if not configured(prefix)]
    for index, line in enumerate(lines):
        out.append(line)
        if extra and line.startswith("hostname "):
            if index + 1 < len(lines) and lines[index + 1].strip() == "!":
                out.append("!")
                out.extend(extra)
            else:
                out.extend(extra)
                out.append("!")
            extra = []
    if out[-1] != "end":
        out.append("end")
    return "\n".join(out) + "\n"


_OVERLAY_LINES = frozenset(d for _p, d in HEADER_DEFAULTS + BODY_DEFAULTS if d is not None)


def clean_config_text(text: str) -> str:
    """Config file text for the simulator: no ``show running-config`` headers (IOS ignores them
    on load) and no overlaid defaults, so a get_config -> replace round trip leaves the
    simulator's config exactly as it was."""
    keep = []
    for line in text.replace("\r", "").splitlines():
        if line.startswith(NOISE_PREFIXES) or line.rstrip() in _OVERLAY_LINES:
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"


def config_blocks(text: str) -> dict[str, list[str]]:
    """Top-level lines mapped to their indented children, in order (comments and ``end`` dropped)."""
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for raw in text.replace("\r", "").splitlines():
        line = raw.rstrip()
        body = line.strip()
        if not body or body.startswith("!") or line == "end":
            continue
        if line[0].isspace() and current is not None:
            blocks[current].append(line)
        else:
            current = line
            blocks.setdefault(line, [])
    return blocks


def contextual_diff(base: str, new: str) -> list[str]:
    """``show archive config differences`` body lines: what turns ``base`` into ``new``."""
    old_blocks, new_blocks = config_blocks(base), config_blocks(new)
    out: list[str] = []
    for header, children in old_blocks.items():
        if header not in new_blocks:
            out.append(f"-{header}")
            out.extend(_mark(child, "-") for child in children)
    for header, children in new_blocks.items():
        if header not in old_blocks:
            out.append(f"+{header}")
            out.extend(_mark(child, "+") for child in children)
            continue
        before = old_blocks[header]
        removed = [c for c in before if c not in children]
        added = [c for c in children if c not in before]
        if removed or added:
            out.append(header)
            out.extend(_mark(child, "-") for child in removed)
            out.extend(_mark(child, "+") for child in added)
    return out


def _mark(child: str, sign: str) -> str:
    indent = len(child) - len(child.lstrip())
    return f"{child[:indent]}{sign}{child[indent:]}"


def render_differences(base: str, new: str) -> str:
    lines = contextual_diff(base, new)
    if not lines:
        return "!Contextual Config Diffs:\n!No changes were found\n"
    return "!Contextual Config Diffs:\n" + "\n".join(lines) + "\n"


def incremental_commands(before: str, after: str) -> list[str]:
    """The commands a merge adds, as ``show archive config incremental-diffs`` lists them."""
    old_blocks, new_blocks = config_blocks(before), config_blocks(after)
    out: list[str] = []
    for header, children in new_blocks.items():
        if header not in old_blocks:
            out.append(header)
            out.extend(children)
            continue
        old = old_blocks[header]
        added = [c for c in children if c not in old]
        removed = [c for c in old if c not in children]
        if added or removed:
            out.append(header)
            out.extend(added)
            for child in removed:
                indent = len(child) - len(child.lstrip())
                out.append(f"{child[:indent]}no {child[indent:]}")
    for header in old_blocks:
        if header not in new_blocks:
            out.append(f"no {header}")
    return out


def merge_commands(before: str, candidate: str) -> list[str]:
    """``show archive config incremental-diffs``: the candidate's lines (as typed, in order) that the
    running config does not already have in the same context; a header is listed with any child that is."""
    def norm(line: str) -> str:
        return " ".join(line.split())

    running = {norm(h): {norm(c) for c in children} for h, children in config_blocks(before).items()}
    out: list[str] = []
    for header, children in config_blocks(candidate).items():
        have = running.get(norm(header))
        if have is None:
            out.append(header)
            out.extend(children)
            continue
        missing = [c for c in children if norm(c) not in have]
        if missing:
            out.append(header)
            out.extend(missing)
    return out
