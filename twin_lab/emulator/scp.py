"""The SCP protocol (``scp -t`` sink / ``scp -f`` source) over an exec channel, onto device flash.

NAPALM's ``load_*_candidate`` uploads through Netmiko's ``FileTransfer``, i.e. the ``scp`` Python
package sending ``scp -t flash:/merge_config.txt``.  Speaking the small SCP wire protocol
directly (rather than asyncssh's SFTP-backed SCP server) keeps IOS paths like ``flash:/x``
as they are and writes straight into the in-memory flash.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from twin_lab.emulator.device import LabState
from twin_lab.emulator.flash import FilePath, parse_path

OK = b"\x00"


def _error(message: str) -> bytes:
    return b"\x01scp: " + message.encode() + b"\n"


def is_scp_command(command: str) -> bool:
    return command.lstrip().startswith("scp ")


class ScpSession:
    """One ``scp -t``/``scp -f`` run; ``feed`` the channel bytes, it answers through ``write``."""

    def __init__(self, lab: LabState, device: str, command: str, user: str,
                 write: Callable[[bytes], None], finish: Callable[[int], None]):
        self.lab, self.device, self.user = lab, device, user
        self._write, self._finish = write, finish
        self._buffer = b""
        self._expect: tuple[str, int, str] | None = None  # (kind, size, name) while receiving data
        self._acks = 0
        self._outgoing = b""
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        flags = {w for w in words[1:] if w.startswith("-")}
        paths = [w for w in words[1:] if not w.startswith("-")]
        self.sink = any("t" in f for f in flags)
        self.source = any("f" in f for f in flags)
        self.target: FilePath | None = parse_path(paths[-1]) if paths else None

    def start(self) -> None:
        if self.target is None or not (self.sink or self.source):
            self._write(_error("invalid scp command"))
            self._finish(1)
        elif self.sink:
            self._write(OK)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if self.sink:
            self._sink()
        else:
            self._source()

    def eof(self) -> None:
        self._finish(0)

    # --- upload (client -> device) ------------------------------------------------------------

    def _sink(self) -> None:
        while True:
            if self._expect is not None:
                _kind, size, name = self._expect
                if len(self._buffer) < size + 1:
                    return
                data, self._buffer = self._buffer[:size], self._buffer[size + 1:]
                self._expect = None
                message = self._store(name, data)
                self._write(OK if message is None else _error(message))
                continue
            newline = self._buffer.find(b"\n")
            if newline < 0:
                return
            header, self._buffer = self._buffer[:newline].decode("utf-8", "replace"), self._buffer[newline + 1:]
            if header.startswith("C"):
                parts = header[1:].split(" ", 2)
                if len(parts) != 3 or not parts[1].isdigit():
                    self._write(_error("protocol error"))
                    self._finish(1)
                    return
                self._expect = ("C", int(parts[1]), parts[2])
                self._write(OK)
            elif header.startswith("T") or header.startswith("E"):
                self._write(OK)
            else:
                self._write(_error("directories are not supported"))
                self._finish(1)
                return

    def _store(self, sent_name: str, data: bytes) -> str | None:
        target = self.target
        assert target is not None
        state = self.lab.device(self.device)
        if target.is_flash:
            state.flash.write(target.name or sent_name, data)
            return None
        text = data.decode("utf-8", "replace")
        if target.fs == "nvram:":
            state.startup = text
            return None
        if target.fs == "system:":
            session = self.lab.network.config_session(self.device)
            for line in text.splitlines():
                session.apply(line)
                if session.ended:
                    break
            self.lab.touch(self.device, self.user)
            return None
        return f"{target.display()}: operation not supported"

    # --- download (device -> client) ----------------------------------------------------------

    def _source(self) -> None:
        # The client sends one NUL to start, then acks our header and our data with a NUL each.
        while self._buffer:
            if not self._buffer.startswith(OK):
                self._finish(1)
                return
            self._buffer = self._buffer[1:]
            self._acks += 1
            if self._acks == 1:
                data = self._read()
                if data is None:
                    self._write(_error(f"{self.target.display()}: No such file or directory"))
                    self._finish(1)
                    return
                self._outgoing = data
                self._write(f"C0644 {len(data)} {self.target.name or 'file'}\n".encode())
            elif self._acks == 2:
                self._write(self._outgoing + OK)
            else:
                self._finish(0)
                return

    def _read(self) -> bytes | None:
        target = self.target
        state = self.lab.device(self.device)
        if target.is_flash:
            return state.flash.read(target.name)
        if target.fs == "nvram:":
            return state.startup.encode() if state.startup is not None else None
        if target.fs == "system:":
            return self.lab.running_display(self.device).encode()
        return None
