"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.lab_cli import inventory, write_inventory
from twin_lab.network import Network
from twin_lab.topology import load_preset


@pytest.fixture
def agent_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabThread, Path]]:
    monkeypatch.setenv("TWINOPS_STATE_DIR", str(tmp_path / "state"))
    credentials = Credentials("netops", "pw", "en")
    server = LabServer(Network(load_preset("small")), credentials=credentials)
    with LabThread(server) as running:
        hosts = tmp_path / "hosts.yaml"
        write_inventory(hosts, inventory(server.network, server, credentials, "127.0.0.1"))
        yield running, hosts
