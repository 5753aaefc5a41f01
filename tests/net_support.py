"""Shared test support for the simulated network: apply config that must be accepted, look up a route."""

from __future__ import annotations

import textwrap

from twin_lab.addressing import parse_prefix
from twin_lab.network import Network


def apply_ok(net: Network, device: str, lines: str) -> None:
    errors = net.apply(device, textwrap.dedent(lines).strip().splitlines())
    assert errors == [], [str(e) for e in errors]


def route(net: Network, device: str, prefix: str):
    key = parse_prefix(prefix)
    return next((r for r in net.routes(device) if (r.net, r.plen) == key), None)
