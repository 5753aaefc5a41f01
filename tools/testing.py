"""Helpers for exercising the tools against the twin lab: an inventory for a running ``LabServer`` and a
session that injects faults into NAPALM calls (raise before/after a call, drop the SSH session).

Used by the acceptance tests and handy for robustness drills (``bench``); nothing here is needed in
production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tools.errors import ToolError
from tools.inventory import Inventory, build_inventory
from tools.session import ToolSession

FaultKind = Literal["raise_before", "raise_after", "kill_before", "kill_after", "drop_before"]
FAULT_KINDS: tuple[str, ...] = ("raise_before", "raise_after", "kill_before", "kill_after", "drop_before")


class InjectedFault(ConnectionError):
    """The error an injected fault raises (a lost reply, as a client would see it)."""


def lab_inventory(ports: Mapping[str, int], *, username: str, password: str, secret: str | None = None,
                  host: str = "127.0.0.1", overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Inventory:
    """An inventory for a lab's ``{device: port}`` (environment variables are not consulted)."""
    hosts = {name: {"hostname": host, "port": port, "platform": "ios", **dict((overrides or {}).get(name, {}))}
             for name, port in ports.items()}
    defaults = {"username": username, "password": password, "data": {"secret": secret or password}}
    return build_inventory(hosts, defaults=defaults, env={}, source="<lab>")


@dataclass
class Fault:
    """Fire once on ``device`` at the ``skip``-th call (0-based) of ``method`` (a NAPALM driver method, or
    ``connect`` for opening a session)."""

    device: str
    method: str
    kind: FaultKind = "raise_before"
    skip: int = 0
    fired: bool = False
    calls: int = 0


def kill_transport(driver: Any) -> None:
    """Drop a NAPALM/Netmiko driver's SSH connection from the client side."""
    conn = getattr(driver, "device", driver)
    for attr in ("remote_conn", "remote_conn_pre"):
        handle = getattr(conn, attr, None)
        if handle is None:
            continue
        try:
            transport = handle.get_transport() if hasattr(handle, "get_transport") else handle.transport
            transport.close()
            return
        except Exception:
            continue


class _FaultyDriver:
    """Delegates everything to the real driver; fires matching faults around method calls."""

    def __init__(self, inner: Any, session: FaultySession, device: str):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_device", device)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or name.startswith("_"):
            return value
        session, device, inner = self._session, self._device, self._inner

        def call(*args: Any, **kwargs: Any) -> Any:
            fault = session.take(device, name)
            if fault is None:
                return value(*args, **kwargs)
            if fault.kind == "raise_before":
                raise InjectedFault(f"injected: {name} on {device} failed before it ran")
            if fault.kind == "kill_before":
                kill_transport(inner)
                return value(*args, **kwargs)
            if fault.kind == "drop_before":
                session.drop_hook(device)
                return value(*args, **kwargs)
            result = value(*args, **kwargs)
            if fault.kind == "kill_after":
                kill_transport(inner)
                return result
            raise InjectedFault(f"injected: the reply to {name} on {device} was lost")

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


class FaultySession(ToolSession):
    """A ``ToolSession`` whose NAPALM drivers fire the given faults (each fires once).

    ``drop_hook(device)`` drops the device's sessions from the server side (``drop_before`` faults);
    tests pass one that closes the lab's SSH connections for that device.
    """

    def __init__(self, inventory: Inventory, faults: list[Fault] | None = None, *,
                 drop_hook: Callable[[str], None] | None = None, **kwargs: Any):
        super().__init__(inventory, **kwargs)
        self.faults = list(faults or [])
        self.drop_hook = drop_hook or (lambda device: kill_transport(self.pool.napalm(device)))
        self._lock = threading.Lock()

    def take(self, device: str, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.fired or fault.device != device or fault.method != method:
                    continue
                fault.calls += 1
                if fault.calls > fault.skip:
                    fault.fired = True
                    return fault
            return None

    def napalm(self, device: str, *, fresh: bool = False) -> Any:
        fault = self.take(device, "connect")
        if fault is not None:
            raise ToolError("injected: connection refused", device=device, kind="unreachable")
        driver = super().napalm(device, fresh=fresh)
        return _FaultyDriver(driver, self, device)
