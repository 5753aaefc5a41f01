"""``LabServer``: one asyncio process serving every device of a network over SSH.

One listener per device on 127.0.0.1 (``port_base + i``, or OS-assigned ports when
``port_base`` is 0); a connection finds its device by the local port it arrived on, so all
listeners share one set of SSH options and one host key (generated once per process).
Starting costs one ``bind`` per device and nothing else - per-device state is created at
first login - so 1000 devices are ready in well under the 2 s budget.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hmac
import logging
import socket
from dataclasses import dataclass

import asyncssh

from twin_lab.emulator.commands import CommandSet
from twin_lab.emulator.device import Credentials, LabState
from twin_lab.emulator.exec_commands import build_commands
from twin_lab.emulator.scp import ScpSession, is_scp_command
from twin_lab.emulator.shell import Shell
from twin_lab.network import Network

log = logging.getLogger(__name__)

SERVER_VERSION = "Cisco-1.25"  # what IOS announces in its SSH banner
_HOST_KEY: asyncssh.SSHKey | None = None


def host_key() -> asyncssh.SSHKey:
    """The lab's host key: Ed25519 (fast to make, accepted by paramiko), once per process."""
    global _HOST_KEY
    if _HOST_KEY is None:
        _HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
    return _HOST_KEY


@dataclass(frozen=True, slots=True)
class Endpoint:
    device: str
    host: str
    port: int


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class _QuickAckConnection(asyncssh.SSHServerConnection):
    """Acknowledge every segment at once (Linux ``TCP_QUICKACK``, re-armed on each receive).

    Clients such as paramiko leave Nagle on and send two small SSH packets back to back;
    with delayed ACKs the second one waits ~40 ms per round, more than the CLI work itself.
    """

    _sock: socket.socket | None = None

    def connection_made(self, transport) -> None:  # asyncio protocol callback
        sock = transport.get_extra_info("socket")
        if sock is not None and _QUICKACK is not None:
            self._sock = sock
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        super().connection_made(transport)

    def data_received(self, data: bytes, datatype=None) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        super().data_received(data, datatype)


class _DeviceSession(asyncssh.SSHServerSession):
    """One SSH channel: an interactive CLI (shell), a one-shot command, or an SCP transfer."""

    def __init__(self, server: LabServer, device: str, username: str, peer: str):
        self._server, self._device, self._username, self._peer = server, device, username, peer
        self._chan: asyncssh.SSHServerChannel | None = None
        self._command: str | None = None
        self._shell: Shell | None = None
        self._scp: ScpSession | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def connection_made(self, chan) -> None:
        self._chan = chan

    def pty_requested(self, term_type, term_size, term_modes) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        lab = self._server.lab
        if self._command is not None and is_scp_command(self._command):
            self._scp = ScpSession(lab, self._device, self._command, self._username, self._write_bytes, self._exit)
            self._scp.start()
            return
        self._shell = Shell(lab, self._device, self._server.commands, username=self._username,
                            write=self._write_text, close=self._close_shell, peer=self._peer)
        if self._command is None:
            self._shell.start()
            return
        output = self._shell.run_once(self._command)
        self._write_text(output.replace("\n", "\r\n"))
        self._exit(0)

    def data_received(self, data: bytes, datatype) -> None:
        if self._scp is not None:
            self._scp.feed(data)
        elif self._shell is not None:
            self._shell.feed(self._decoder.decode(data))

    def eof_received(self) -> bool:
        if self._scp is not None:
            self._scp.eof()
        return False

    def break_received(self, msec: int) -> bool:
        return True

    def _write_text(self, text: str) -> None:
        self._write_bytes(text.encode("utf-8"))

    def _write_bytes(self, data: bytes) -> None:
        chan = self._chan
        if chan is not None and not chan.is_closing():
            chan.write(data)

    def _exit(self, status: int) -> None:
        chan = self._chan
        if chan is not None and not chan.is_closing():
            chan.exit(status)

    def _close_shell(self) -> None:
        self._exit(0)


class _DeviceSSHServer(asyncssh.SSHServer):
    """Per-connection callbacks: device lookup by local port, password auth, TCP_NODELAY."""

    def __init__(self, server: LabServer):
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None
        self._device: str | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        sock = conn.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockname = conn.get_extra_info("sockname")
        self._device = self._server.device_at(sockname[1]) if sockname else None
        self._server._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._server._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        creds = self._server.lab.credentials
        return (self._device is not None
                and hmac.compare_digest(username.encode(), creds.username.encode())
                and hmac.compare_digest(password.encode(), creds.password.encode()))

    def session_requested(self):
        if self._device is None or self._conn is None:
            return False
        username = self._conn.get_extra_info("username") or ""
        peer = (self._conn.get_extra_info("peername") or ("127.0.0.1", 0))[0]
        return _DeviceSession(self._server, self._device, username, peer)


class LabServer:
    """Serve every device of ``network`` over SSH; ``await start()`` / ``await stop()``."""

    def __init__(self, network: Network, *, host: str = "127.0.0.1", port_base: int = 0,
                 credentials: Credentials | None = None, devices: list[str] | None = None):
        self.lab = LabState(network, credentials)
        self.host = host
        self.port_base = port_base
        self.devices = list(devices) if devices is not None else network.device_names()
        self.commands: CommandSet = build_commands()
        self.ports: dict[str, int] = {}
        self._by_port: dict[int, str] = {}
        self._listeners: list[asyncio.AbstractServer] = []
        self._connections: set[asyncssh.SSHServerConnection] = set()

    @property
    def network(self) -> Network:
        return self.lab.network

    def device_at(self, port: int) -> str | None:
        return self._by_port.get(port)

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint(name, self.host, port) for name, port in self.ports.items()]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        options = await asyncssh.SSHServerConnectionOptions.construct(
            server_host_keys=[host_key()],
            server_factory=lambda: _DeviceSSHServer(self),
            server_version=SERVER_VERSION,
            encoding=None,
            line_editor=False,
            allow_scp=False,
            login_timeout=30,
            keepalive_interval=0,
        )

        def conn_factory() -> asyncssh.SSHServerConnection:
            return _QuickAckConnection(loop, options, None, None)

        try:
            for index, name in enumerate(self.devices):
                port = self.port_base + index if self.port_base else 0
                listener = await loop.create_server(conn_factory, self.host, port, reuse_address=True, backlog=128)
                self._listeners.append(listener)
                bound = listener.sockets[0].getsockname()[1]
                self.ports[name] = bound
                self._by_port[bound] = name
        except BaseException:
            await self.stop()
            raise
        log.info("lab serving %d devices on %s", len(self.ports), self.host)

    async def stop(self) -> None:
        """Stop listening and close every session cleanly."""
        for listener in self._listeners:
            listener.close()
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        results = await asyncio.gather(*(asyncio.wait_for(conn.wait_closed(), 2) for conn in connections),
                                       return_exceptions=True)
        for conn, result in zip(connections, results, strict=True):
            if isinstance(result, BaseException):
                conn.abort()
        for listener in self._listeners:
            await listener.wait_closed()
        self._listeners.clear()
        self._connections.clear()
        self.ports.clear()
        self._by_port.clear()
