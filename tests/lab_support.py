"""Shared test support: a lab from a topology preset, served over SSH on 127.0.0.1 for one test or module."""

from __future__ import annotations

import contextlib
import random
import socket
import time
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


def free_port_block(size: int, rng: random.Random | None = None) -> int:
    """A base whose ``size`` ports are free now, below the kernel's ephemeral range (32768+ here).

    Ports the kernel hands out for outgoing connections and ``bind(0)`` come from the ephemeral
    range, so a block below it only meets explicit binds; a block right above a free ephemeral
    port (the first version of the port-base test) raced other tests' SSH clients under xdist.
    """
    rng = rng or random.Random()
    while True:
        base = rng.randrange(20000, 32000 - size)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + size):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


def lab_sessions(lab: LabThread, device: str | None = None) -> int:
    """SSH sessions the lab's server holds now: on ``device``'s port, or on all of them."""
    port = lab.server.ports[device] if device is not None else None
    return lab.call(lambda: sum(1 for conn in lab.server._connections
                                if port is None or (conn.get_extra_info("sockname") or (None, None))[1] == port))


def settled_sessions(lab: LabThread, expected: int, device: str | None = None, timeout: float = 5.0) -> int:
    """``lab_sessions`` once it reaches ``expected`` or ``timeout`` passes: the server notices a client's
    logout (or a killed transport) on its own time."""
    deadline = time.monotonic() + timeout
    while (count := lab_sessions(lab, device)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count
