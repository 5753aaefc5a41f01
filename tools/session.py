"""``ToolSession``: what the agent holds to touch a network - inventory, connection pool, audit log."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from policies.audit import AuditLog
from tools.connections import ConnectionPool, ConnectionSettings
from tools.errors import ToolError
from tools.inventory import Host, Inventory, load_inventory

_AUDIT_LOCKS: dict[str, threading.Lock] = {}
_AUDIT_GUARD = threading.Lock()


def audit_lock(log: AuditLog) -> threading.Lock:
    """One lock per audit file: the hash chain needs appends to be serialised across threads."""
    with _AUDIT_GUARD:
        return _AUDIT_LOCKS.setdefault(str(Path(log.path).resolve()), threading.Lock())


class ToolSession:
    """One inventory, one pool of sessions, an optional audit log (every device action is appended)."""

    def __init__(self, inventory: Inventory, *, settings: ConnectionSettings | None = None,
                 audit: AuditLog | str | Path | None = None):
        self.inventory = inventory
        self.pool = ConnectionPool(inventory, settings)
        self.audit = AuditLog(audit) if isinstance(audit, str | Path) else audit

    @classmethod
    def from_files(cls, hosts_file: str | Path, *, groups_file: str | Path | None = None,
                   defaults_file: str | Path | None = None, secrets_file: str | Path | None = None,
                   settings: ConnectionSettings | None = None, audit: AuditLog | str | Path | None = None
                   ) -> ToolSession:
        inventory = load_inventory(hosts_file, groups_file, defaults_file, secrets_file=secrets_file)
        return cls(inventory, settings=settings, audit=audit)

    @property
    def settings(self) -> ConnectionSettings:
        return self.pool.settings

    def devices(self) -> list[str]:
        return self.inventory.names()

    def host(self, device: str) -> Host:
        return self.pool.host(device)

    def check_device(self, device: str) -> str:
        """``device`` if the inventory has it, else a ``ToolError`` listing the known ones."""
        if device not in self.inventory:
            raise ToolError(f"unknown device {device!r}; known: {', '.join(self.inventory.names())}",
                            kind="inventory")
        return device

    def napalm(self, device: str, *, fresh: bool = False) -> Any:
        return self.pool.napalm(device, fresh=fresh)

    def netmiko(self, device: str, *, fresh: bool = False) -> Any:
        return self.pool.netmiko(device, fresh=fresh)

    def log_action(self, device: str, action: str, detail: Any = None) -> None:
        if self.audit is not None:
            with audit_lock(self.audit):
                self.audit.log_action(device, action, detail)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> ToolSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
