"""Shared test support: a lab from a topology preset, served over SSH on 127.0.0.1 for one test or module."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from tools.session import ToolSession
from tools.transaction import config_lines
from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import load_preset


@contextmanager
def served_lab(credentials: Credentials, preset: str = "small") -> Iterator[LabThread]:
    """The preset's network on a ``LabServer`` (one port per device), running on its thread."""
    server = LabServer(Network(load_preset(preset)), credentials=credentials)
    with LabThread(server) as running:
        yield running


def drop_server_sessions(lab: LabThread, device: str) -> None:
    """The lab side hangs up every SSH session of ``device`` (as a box that drops a session)."""
    port = lab.server.ports[device]

    def close() -> None:
        for conn in list(lab.server._connections):
            sockname = conn.get_extra_info("sockname")
            if sockname and sockname[1] == port:
                conn.close()

    lab.call(close)


def config_state(checker: ToolSession, devices: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Running and startup config per device, as get_config returns them (``!`` comments aside)."""
    out = {}
    for device in devices:
        config = checker.napalm(device).get_config()
        out[device] = (config_lines(config["running"], ignore_fpq=False),
                       config_lines(config["startup"], ignore_fpq=False))
    return out
