"""Lab-wide and per-device emulator state that the simulator does not model.

The simulator owns configuration and forwarding; the emulator adds what a box has besides:
flash, the saved startup-config, uptime, serial number, the last-change stamp.  Device state
is created on first use, so starting a 1000-device lab costs nothing per device.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from twin_lab.emulator.configs import display_config
from twin_lab.emulator.flash import Flash
from twin_lab.network import Network


@dataclass(frozen=True, slots=True)
class Credentials:
    """Login for every device; ``enable_secret`` defaults to the password."""

    username: str = "admin"
    password: str = "admin"
    enable_secret: str | None = None

    @property
    def secret(self) -> str:
        return self.enable_secret if self.enable_secret is not None else self.password


@dataclass
class DeviceState:
    name: str
    booted: float
    flash: Flash = field(default_factory=Flash)
    startup: str | None = None  # saved config text; None after "erase startup-config"
    startup_saved: datetime | None = None
    last_change: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_change_by: str | None = None

    @property
    def serial(self) -> str:
        digest = hashlib.sha256(self.name.encode()).hexdigest().upper()
        return "9" + "".join(c for c in digest if c.isalnum())[:19]

    def uptime(self) -> float:
        return time.time() - self.booted


class LabState:
    """What every session of the lab shares: the network, credentials and per-device state."""

    def __init__(self, network: Network, credentials: Credentials | None = None):
        self.network = network
        self.credentials = credentials or Credentials()
        self.booted = time.time()
        self._devices: dict[str, DeviceState] = {}

    def device(self, name: str) -> DeviceState:
        state = self._devices.get(name)
        if state is None:
            state = DeviceState(name, self.booted)
            state.startup = self.running_display(name, state)
            state.startup_saved = datetime.now(UTC)
            self._devices[name] = state
        return state

    def running_display(self, name: str, state: DeviceState | None = None, stamp: bool = True) -> str:
        """The device's running-config as IOS shows it (no ``Building configuration`` header)."""
        body = self.network.running_config(name)
        if not stamp:
            return display_config(body)
        state = state or self.device(name)
        return display_config(body, state.last_change, state.last_change_by)

    def hostname(self, name: str) -> str:
        return self.network.config(name).hostname

    def touch(self, name: str, user: str | None) -> None:
        """Record a configuration change (``! Last configuration change at ...``)."""
        state = self.device(name)
        state.last_change = datetime.now(UTC)
        state.last_change_by = user

    def file_prompt_quiet(self, name: str) -> bool:
        return any(block.header.strip().lower() == "file prompt quiet" for block in self.network.config(name).extra)
