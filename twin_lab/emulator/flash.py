"""Per-device in-memory flash file system.

NAPALM stages candidate configs on ``flash:`` (SCP upload, ``copy``, ``verify /md5``, ``dir``),
so the emulator needs a file system whose listings and checksums match what IOS prints and
what Netmiko's ``FileTransfer`` and NAPALM's ``_check_file_exists`` parse.  Files live in
memory only: a lab restart is a device reload with a freshly formatted flash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

TOTAL_BYTES = 2_142_715_904  # what an IOSv "dir flash0:" reports
BASE_USED = 104_857_600  # the (imaginary) IOS image and friends

# File systems IOS users type for the one flash device; all map to the same files.
FLASH_ALIASES = ("flash:", "flash0:", "bootflash:", "disk0:")
OTHER_FILE_SYSTEMS = ("nvram:", "system:", "null:", "tftp:", "ftp:", "scp:", "http:", "https:")


@dataclass(frozen=True, slots=True)
class FilePath:
    """A parsed IOS path: ``fs`` keeps the spelling the user typed (``flash:``), ``name`` has no slash."""

    fs: str
    name: str

    @property
    def is_flash(self) -> bool:
        return self.fs in FLASH_ALIASES

    def display(self) -> str:
        """How IOS echoes the path back (``flash:/merge_config.txt``)."""
        if self.fs in FLASH_ALIASES:
            return f"{self.fs}/{self.name}"
        return f"{self.fs}{self.name}"


def parse_path(text: str) -> FilePath | None:
    """Parse ``flash:/x``, ``flash:x``, ``running-config``, ``nvram:startup-config``; None if not a path."""
    lowered = text.lower()
    if lowered in ("running-config", "system:running-config", "system:/running-config"):
        return FilePath("system:", "running-config")
    if lowered in ("startup-config", "nvram:startup-config", "nvram:/startup-config"):
        return FilePath("nvram:", "startup-config")
    fs, sep, rest = text.partition(":")
    if not sep:
        return None
    fs = fs.lower() + ":"
    if fs not in FLASH_ALIASES and fs not in OTHER_FILE_SYSTEMS:
        return None
    return FilePath(fs, rest.lstrip("/"))


@dataclass(slots=True)
class FlashFile:
    index: int
    data: bytes
    mtime: datetime


def _ios_datetime(when: datetime) -> str:
    return f"{when:%b} {when.day} {when:%Y %H:%M:%S} +00:00"


class Flash:
    """The files of one device's ``flash:``."""

    def __init__(self) -> None:
        self.files: dict[str, FlashFile] = {}
        self._next_index = 1

    def read(self, name: str) -> bytes | None:
        entry = self.files.get(name)
        return entry.data if entry is not None else None

    def write(self, name: str, data: bytes) -> None:
        entry = self.files.get(name)
        now = datetime.now(UTC)
        if entry is None:
            self.files[name] = FlashFile(self._next_index, data, now)
            self._next_index += 1
        else:
            entry.data, entry.mtime = data, now

    def delete(self, name: str) -> bool:
        return self.files.pop(name, None) is not None

    def exists(self, name: str) -> bool:
        return name in self.files

    def md5(self, name: str) -> str | None:
        data = self.read(name)
        return hashlib.md5(data, usedforsecurity=False).hexdigest() if data is not None else None

    def free_bytes(self) -> int:
        return TOTAL_BYTES - BASE_USED - sum(len(f.data) for f in self.files.values())

    def render_dir(self, path: FilePath) -> str | None:
        """``dir`` output; None when a named file does not exist (the caller prints the IOS error)."""
        if path.name:
            entry = self.files.get(path.name)
            if entry is None:
                return None
            entries = [(path.name, entry)]
        else:
            entries = sorted(self.files.items(), key=lambda item: item[1].index)
        lines = [f"Directory of {path.fs}/{path.name}", ""]
        if not entries:
            lines.append("No files in directory")
        for name, entry in entries:
            lines.append(f"{entry.index:>5}  -rw-  {len(entry.data):>10}  {_ios_datetime(entry.mtime)}  {name}")
        lines += ["", f"{TOTAL_BYTES} bytes total ({self.free_bytes()} bytes free)"]
        return "\n".join(lines)


def error_opening(path: FilePath) -> str:
    """The IOS message for a missing file (NAPALM looks for ``Error opening``)."""
    return f"%Error opening {path.display()} (No such file or directory)"
