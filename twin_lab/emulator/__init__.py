"""SSH emulator: serves the simulator's devices with an IOS-like CLI that Netmiko and NAPALM drive."""

from twin_lab.emulator.device import Credentials, LabState
from twin_lab.emulator.runner import LabThread
from twin_lab.emulator.server import Endpoint, LabServer

__all__ = ["Credentials", "Endpoint", "LabServer", "LabState", "LabThread"]
