"""A pool of device connections: NAPALM drivers (getters, config sessions) and Netmiko sessions (raw show).

Every open is bounded: TCP connect, SSH banner and authentication share one deadline
(``ConnectionSettings.timeout``) across at most ``retries`` extra attempts, and the open itself runs
under a watchdog, so a device that never answers gives a ``ToolError`` instead of a hang.  Commands are
bounded by ``command_timeout`` (Netmiko's ``read_timeout_override``).  Authentication failures are not
retried.  Connections are reused while alive and reopened when a session has died.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from tools.errors import ToolError
from tools.inventory import Host, Inventory

T = TypeVar("T")

# Nornir / Netmiko platform names -> NAPALM driver names, and the reverse for Netmiko device types.
NAPALM_PLATFORMS = {"ios": "ios", "cisco_ios": "ios", "cisco_xe": "ios", "iosxe": "ios", "eos": "eos",
                    "arista_eos": "eos", "junos": "junos", "juniper_junos": "junos", "nxos": "nxos",
                    "cisco_nxos": "nxos", "nxos_ssh": "nxos_ssh", "iosxr": "iosxr", "cisco_xr": "iosxr"}
NETMIKO_DRIVEN = {"ios", "nxos_ssh"}  # NAPALM drivers whose ``.device`` is a Netmiko connection
NETMIKO_TYPES = {"ios": "cisco_ios", "eos": "arista_eos", "junos": "juniper_junos", "nxos": "cisco_nxos",
                 "nxos_ssh": "cisco_nxos", "iosxr": "cisco_xr"}


CONNECT_TIMEOUT_ENV = "TWINOPS_CONNECT_TIMEOUT"


def default_connect_timeout() -> float:
    """``$TWINOPS_CONNECT_TIMEOUT`` seconds, else 10: slow links and loaded CI hosts need more, and every
    command that opens sessions (run, diagnose, shell, bench, eval) reads it without a flag of its own."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "").strip()
    if not raw:
        return 10.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds above 0 (got {raw!r})")
    return value


class ConnectionSettings(BaseModel):
    timeout: float = Field(default_factory=default_connect_timeout, gt=0,
                           description=f"Seconds to open a session (all attempts together; ${CONNECT_TIMEOUT_ENV}).")
    command_timeout: float = Field(default=60.0, gt=0, description="Seconds any one command may take.")
    retries: int = Field(default=1, ge=0, le=5, description="Extra attempts after a failed open.")
    backoff: float = Field(default=0.2, ge=0, description="Pause before a retry.")
    dest_file_system: str = Field(default="flash:", description="Where NAPALM ios stages candidate configs.")


def _auth_error(err: BaseException) -> bool:
    from netmiko.exceptions import NetmikoAuthenticationException

    if isinstance(err, NetmikoAuthenticationException):
        return True
    text = str(err).lower()
    return "authentication" in text or "failed to enter enable mode" in text


def _chain(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = err
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return chain


def describe_error(err: BaseException) -> str:
    """One line: the error, plus its root cause when that says more (client exception chains are noisy)."""
    text = " ".join(str(err).split()) or type(err).__name__
    root = _chain(err)[-1]
    if root is not err:
        cause = " ".join(str(root).split()) or type(root).__name__
        if cause not in text:
            text = f"{text} ({cause})"
    return text[:300]


class ConnectionPool:
    """``pool.napalm("R1")`` -> an open NAPALM driver; ``pool.netmiko("R1")`` -> a Netmiko session."""

    def __init__(self, inventory: Inventory, settings: ConnectionSettings | None = None):
        self.inventory = inventory
        self.settings = settings or ConnectionSettings()
        self._napalm: dict[str, Any] = {}
        self._netmiko: dict[str, Any] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    # --- public -----------------------------------------------------------------------------------

    def host(self, device: str) -> Host:
        try:
            return self.inventory.get(device)
        except KeyError as err:
            raise ToolError(str(err.args[0]), kind="inventory") from None

    def lock(self, device: str) -> threading.RLock:
        """Per-device lock: hold it while using a device's connections from several threads."""
        with self._guard:
            return self._locks.setdefault(device, threading.RLock())

    def napalm(self, device: str, *, fresh: bool = False) -> Any:
        """An open NAPALM driver for ``device`` (reused if alive; ``fresh`` forces a new session)."""
        host = self.host(device)
        _driver_class(host.platform)  # the first import takes ~1 s: not part of any connect deadline
        with self.lock(device):
            driver = self._napalm.get(device)
            if driver is not None and not fresh and self.napalm_alive(driver):
                return driver
            if driver is not None:
                self._napalm.pop(device, None)
                self._quiet_close(driver)
            driver = self._open(host, self._open_napalm)
            self._napalm[device] = driver
            return driver

    def netmiko(self, device: str, *, fresh: bool = False) -> Any:
        """An open Netmiko session for ``device`` (for raw ``show`` commands).

        Where the NAPALM driver itself runs over Netmiko (ios, nxos_ssh), that is the driver's own
        session: one SSH login (one vty line, one handshake) per device instead of two.  The device lock
        already serialises every use of a device's sessions."""
        host = self.host(device)
        if NAPALM_PLATFORMS.get(host.platform.lower(), host.platform.lower()) in NETMIKO_DRIVEN:
            return self.napalm(device, fresh=fresh).device
        _netmiko_parameters()  # imports Netmiko outside any connect deadline
        with self.lock(device):
            conn = self._netmiko.get(device)
            if conn is not None and not fresh and self.netmiko_alive(conn):
                return conn
            if conn is not None:
                self._netmiko.pop(device, None)
                self._quiet_disconnect(conn)
            conn = self._open(host, self._open_netmiko)
            self._netmiko[device] = conn
            return conn

    def drop(self, device: str) -> None:
        """Close and forget ``device``'s sessions (the next use reconnects)."""
        with self.lock(device):
            driver = self._napalm.pop(device, None)
            conn = self._netmiko.pop(device, None)
        if driver is not None:
            self._quiet_close(driver)
        if conn is not None:
            self._quiet_disconnect(conn)

    def close(self) -> None:
        for device in list({*self._napalm, *self._netmiko}):
            self.drop(device)

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- opening ------------------------------------------------------------------------------------

    def _timeouts(self, budget: float) -> dict[str, Any]:
        budget = max(budget, 0.5)
        return {"conn_timeout": budget, "banner_timeout": budget, "auth_timeout": budget,
                "read_timeout_override": self.settings.command_timeout}

    def _open_napalm(self, host: Host, budget: float) -> Any:
        platform = NAPALM_PLATFORMS.get(host.platform.lower(), host.platform.lower())
        optional: dict[str, Any] = {"port": host.port or 22, "secret": host.enable_secret, **self._timeouts(budget)}
        if platform == "ios":
            optional["dest_file_system"] = self.settings.dest_file_system
        optional.update(host.netmiko_args)  # NAPALM hands Netmiko arguments on to Netmiko
        optional.update(host.optional_args)
        driver = _driver_class(host.platform)(
            hostname=host.hostname, username=host.username or "",
            password=host.password.get_secret_value() if host.password else "",
            timeout=max(1, int(self.settings.command_timeout)), optional_args=optional)
        driver.open()
        return driver

    def _open_netmiko(self, host: Host, budget: float) -> Any:
        from netmiko import ConnectHandler

        platform = NAPALM_PLATFORMS.get(host.platform.lower(), host.platform.lower())
        device_type = NETMIKO_TYPES.get(platform, host.platform)
        accepted = _netmiko_parameters()
        extra = {k: v for k, v in {**host.optional_args, **host.netmiko_args}.items() if k in accepted}
        conn = ConnectHandler(device_type=device_type, host=host.hostname, port=host.port or 22,
                              username=host.username or "",
                              password=host.password.get_secret_value() if host.password else "",
                              secret=host.enable_secret, **{**self._timeouts(budget), **extra})
        with contextlib.suppress(Exception):
            if not conn.check_enable_mode():
                conn.enable()
        return conn

    def _open(self, host: Host, opener: Callable[[Host, float], T]) -> T:
        settings = self.settings
        deadline = time.monotonic() + settings.timeout
        where = f"{host.hostname}:{host.port or 22}"
        attempt = 0
        while True:
            attempt += 1
            budget = deadline - time.monotonic()
            try:
                return _run_with_deadline(lambda b=budget: opener(host, b), max(budget, 0.2), _close_any)
            except TimeoutError:
                raise ToolError(f"no answer from {where} within {settings.timeout:g} s (the device accepts "
                                f"no session)", device=host.name, kind="timeout") from None
            except Exception as err:
                if _auth_error(err):
                    raise ToolError(f"authentication failed at {where} as {host.username!r}",
                                    device=host.name, kind="auth") from None
                remaining = deadline - time.monotonic()
                if attempt > settings.retries or remaining < settings.backoff + 0.3:
                    kind = "timeout" if _is_timeout(err) else "unreachable"
                    raise ToolError(f"cannot connect to {where} after {attempt} attempt(s): {describe_error(err)}",
                                    device=host.name, kind=kind) from None
                time.sleep(settings.backoff)

    # --- liveness and closing ------------------------------------------------------------------------

    @staticmethod
    def napalm_alive(driver: Any) -> bool:
        try:
            return bool(driver.is_alive().get("is_alive"))
        except Exception:
            return False

    @staticmethod
    def netmiko_alive(conn: Any) -> bool:
        try:
            return bool(conn.is_alive())
        except Exception:
            return False

    @staticmethod
    def _quiet_close(driver: Any) -> None:
        with contextlib.suppress(Exception):
            driver.close()

    @staticmethod
    def _quiet_disconnect(conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.disconnect()


# First imports of netmiko/napalm from several threads at once (the agent reads devices in parallel) can
# see a partially initialised module: the client libraries are imported under one lock.
_IMPORT_LOCK = threading.Lock()


@functools.cache
def _driver_class(platform: str) -> Any:
    with _IMPORT_LOCK:
        import netmiko  # noqa: F401  (napalm's drivers import it lazily on open)
        from napalm import get_network_driver

        return get_network_driver(NAPALM_PLATFORMS.get(platform.lower(), platform.lower()))


@functools.cache
def _netmiko_parameters() -> frozenset[str]:
    with _IMPORT_LOCK:
        from netmiko.base_connection import BaseConnection

    names = inspect.signature(BaseConnection.__init__).parameters
    return frozenset(names) - {"self", "device_type", "host", "ip", "username", "password", "secret"}


def _is_timeout(err: BaseException) -> bool:
    """True when the chain says "timed out" and not "refused" (Netmiko reports both as timeouts)."""
    chain = _chain(err)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "unable to connect" in text \
            or "refused" in text:
        return False
    return any(isinstance(e, TimeoutError | socket.timeout) for e in chain) or "timed out" in text \
        or "timeout" in text


def _close_any(conn: Any) -> None:
    for name in ("close", "disconnect"):
        method = getattr(conn, name, None)
        if method is not None:
            with contextlib.suppress(Exception):
                method()
            return


def _run_with_deadline(fn: Callable[[], T], seconds: float, discard: Callable[[T], None]) -> T:
    """Run ``fn`` on a worker thread; raise ``TimeoutError`` if it has not returned after ``seconds``.
    A result that arrives later is passed to ``discard`` (e.g. closed)."""
    box: dict[str, Any] = {}
    done = threading.Event()
    lock = threading.Lock()

    def work() -> None:
        try:
            result = fn()
        except BaseException as err:
            box["error"] = err
        else:
            with lock:
                if box.get("abandoned"):
                    discard(result)
                    return
                box["result"] = result
        done.set()

    worker = threading.Thread(target=work, name="twinops-connect", daemon=True)
    worker.start()
    if not done.wait(seconds):
        with lock:
            if "result" not in box and "error" not in box:
                box["abandoned"] = True
                raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["result"]


@contextlib.contextmanager
def device_errors(device: str, action: str) -> Iterator[None]:
    """Turn any client exception inside the block into a ``ToolError`` naming the device and action."""
    try:
        yield
    except ToolError:
        raise
    except Exception as err:
        kind = "timeout" if _is_timeout(err) else "device"
        raise ToolError(f"{action} failed: {describe_error(err)}", device=device, kind=kind) from err
