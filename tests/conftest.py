"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_support import served_lab

from twin_lab.emulator import Credentials, LabThread
from twin_lab.lab_cli import inventory, write_inventory

# The labs here run in the test process or beside it on a loaded 2-core CI host, where an SSH
# handshake has once taken over the 10 s default; a device that never answers is tested with an
# explicit ConnectionSettings(timeout=...), so only the slack changes.
os.environ.setdefault("TWINOPS_CONNECT_TIMEOUT", "30")


@pytest.fixture
def agent_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabThread, Path]]:
    monkeypatch.setenv("TWINOPS_STATE_DIR", str(tmp_path / "state"))
    credentials = Credentials("netops", "pw", "en")
    with served_lab(credentials) as running:
        hosts = tmp_path / "hosts.yaml"
        write_inventory(hosts, inventory(running.server.network, running.server, credentials, "127.0.0.1"))
        yield running, hosts
