"""Transactional changes against the emulated lab: commit + verify, all-or-nothing on failure, replay."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_support import config_state, drop_server_sessions, served_lab

from policies.audit import AuditLog
from tools.changeset import ChangeSet
from tools.connections import ConnectionSettings
from tools.journal import ChangeJournal
from tools.session import ToolSession
from tools.testing import Fault, FaultySession, lab_inventory
from tools.transaction import TransactionOptions, TransactionResult, run_transaction
from twin_lab.emulator import Credentials, LabThread

USER, PASSWORD, SECRET = "netops", "tx-pw", "tx-en"
SETTINGS = ConnectionSettings(timeout=5, command_timeout=10)


@pytest.fixture(scope="module")
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        yield running


def inventory(lab: LabThread, **overrides):
    return lab_inventory(lab.server.ports, username=USER, password=PASSWORD, secret=SECRET, overrides=overrides)


@pytest.fixture(scope="module")
def checker(lab: LabThread) -> Iterator[ToolSession]:
    """A plain session that reads device state back (get_config: running and startup)."""
    with ToolSession(inventory(lab), settings=SETTINGS) as session:
        yield session


@pytest.fixture
def session(lab: LabThread, tmp_path: Path) -> Iterator[ToolSession]:
    with ToolSession(inventory(lab), settings=SETTINGS, audit=tmp_path / "audit.jsonl") as running:
        yield running


def loopback_change(number: int, *devices: str, bad_on: str | None = None) -> ChangeSet:
    changes = {}
    for device in devices:
        lines = [f"interface Loopback{number}", f" description tx-{number}-{device}",
                 f" ip address 10.{number}.{devices.index(device)}.1 255.255.255.255"]
        if device == bad_on:
            lines.append("frobnicate the network")
        changes[device] = lines
    return ChangeSet(intent=f"loopback {number}", changes=changes)


def assert_unchanged(result: TransactionResult, before: dict, after: dict) -> None:
    assert after == before, f"devices changed by a failed transaction: {result.model_dump_json(indent=1)}"
    assert result.status in ("failed", "rolled_back") and not result.ok


def test_multi_device_commit_verified(lab: LabThread, session: ToolSession, checker: ToolSession,
                                      tmp_path: Path) -> None:
    change = loopback_change(101, "R1", "R3")
    journal = ChangeJournal(tmp_path / "journal.sqlite")
    seen = {}

    def verify(current: ToolSession, result: TransactionResult) -> bool:
        seen["diffs"] = result.diffs()
        running = {d: current.napalm(d).get_config(retrieve="running")["running"] for d in ("R1", "R3")}
        return all(f"description tx-101-{d}" in text for d, text in running.items())

    result = run_transaction(session, change, verify=verify, journal=journal)
    assert result.status == "committed" and result.ok and result.verified
    assert set(seen["diffs"]) == {"R1", "R3"} and "+interface Loopback101" in seen["diffs"]["R1"]
    for device in ("R1", "R3"):
        outcome = result.devices[device]
        assert outcome.status == "committed" and not outcome.rolled_back and not outcome.warnings
        running, startup = config_state(checker, [device])[device]
        assert f" description tx-101-{device}" in running
        assert "file prompt quiet" not in running  # NAPALM's side effect undone
        assert startup == running                   # and saved
    steps = [(s.device, s.step, s.status) for s in journal.steps(change.idempotency_key)]
    assert ("R1", "commit", "ok") in steps and ("R3", "commit", "ok") in steps and (None, "verify", "ok") in steps
    audit = session.audit
    assert audit.verify().ok
    records = [json.loads(line) for line in audit.path.read_text().splitlines()]
    actions = [(r["data"]["device"], r["data"]["action"]) for r in records]
    for device in ("R1", "R3"):
        for step in ("connect", "snapshot", "load", "compare", "commit"):
            assert (device, step) in actions


def test_second_device_rejects_a_line_at_commit(session: ToolSession, checker: ToolSession) -> None:
    before = config_state(checker, ["R1", "R2"])
    change = loopback_change(102, "R1", "R2", bad_on="R2")
    result = run_transaction(session, change, options=TransactionOptions(abort_on_invalid_diff=False))
    assert (result.failed_step, result.failed_device, result.status) == ("commit", "R2", "rolled_back")
    assert result.devices["R1"].rolled_back and result.devices["R1"].status == "rolled_back"
    assert "Invalid input" in result.error
    assert_unchanged(result, before, config_state(checker, ["R1", "R2"]))


def test_invalid_line_is_caught_before_any_commit(session: ToolSession, checker: ToolSession) -> None:
    before = config_state(checker, ["R1", "R2"])
    result = run_transaction(session, loopback_change(103, "R1", "R2", bad_on="R2"))
    assert (result.failed_step, result.failed_device, result.status) == ("compare", "R2", "failed")
    assert {d: o.status for d, o in result.devices.items()} == {"R1": "discarded", "R2": "discarded"}
    assert_unchanged(result, before, config_state(checker, ["R1", "R2"]))


@pytest.mark.parametrize(("fault", "step"), [
    (Fault("R2", "commit_config", "kill_before"), "commit"),          # client loses the session mid-change
    (Fault("R2", "commit_config", "drop_before"), "commit"),          # the device hangs up
    (Fault("R2", "commit_config", "raise_after"), "commit"),          # applied, but the reply was lost
    (Fault("R2", "load_merge_candidate", "kill_before"), "load"),
    (Fault("R2", "compare_config", "raise_before"), "compare"),
])
def test_second_device_fails_both_left_as_before(lab: LabThread, checker: ToolSession, tmp_path: Path,
                                                 fault: Fault, step: str) -> None:
    before = config_state(checker, ["R1", "R2"])
    with FaultySession(inventory(lab), [fault], drop_hook=lambda device: drop_server_sessions(lab, device),
                       settings=SETTINGS, audit=tmp_path / "audit.jsonl") as session:
        result = run_transaction(session, loopback_change(104, "R1", "R2"))
    assert fault.fired and result.failed_step == step and result.failed_device == "R2"
    assert all(o.status in ("rolled_back", "discarded") for o in result.devices.values())
    assert_unchanged(result, before, config_state(checker, ["R1", "R2"]))
    assert AuditLog(tmp_path / "audit.jsonl").verify().ok


def test_wrong_password_on_second_device(lab: LabThread, checker: ToolSession) -> None:
    before = config_state(checker, ["R1", "R2"])
    with ToolSession(inventory(lab, R2={"password": "not-the-password"}), settings=SETTINGS) as session:
        result = run_transaction(session, loopback_change(105, "R1", "R2"))
    assert (result.failed_step, result.failed_device, result.status) == ("connect", "R2", "failed")
    assert "authentication failed" in result.error and "not-the-password" not in result.model_dump_json()
    assert result.devices["R1"].status == "skipped"
    assert_unchanged(result, before, config_state(checker, ["R1", "R2"]))


def test_failed_verification_rolls_back(session: ToolSession, checker: ToolSession) -> None:
    before = config_state(checker, ["R3", "R4"])
    result = run_transaction(session, loopback_change(106, "R3", "R4"), verify=lambda s, r: False)
    assert (result.failed_step, result.status, result.verified) == ("verify", "rolled_back", False)
    assert_unchanged(result, before, config_state(checker, ["R3", "R4"]))


def test_replay_with_same_key_applies_nothing(lab: LabThread, session: ToolSession, checker: ToolSession,
                                              tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "journal.sqlite")
    first = run_transaction(session, loopback_change(107, "R5", "R6"), journal=journal)
    assert first.status == "committed" and not first.replayed
    after_first = config_state(checker, ["R5", "R6"])
    stamp = lab.call(lambda: lab.server.lab.device("R5").last_change)
    # The same change again (a new ChangeSet object, same content, so the same key), through a session
    # whose devices are unreachable: a replay must not even connect.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    unreachable = lab_inventory({"R5": dead, "R6": dead}, username=USER, password=PASSWORD)
    with ToolSession(unreachable, settings=ConnectionSettings(timeout=1), audit=session.audit) as nowhere:
        again = run_transaction(nowhere, loopback_change(107, "R5", "R6"), journal=journal)
    assert again.replayed and again.status == "committed" and again.change_id == first.change_id
    assert again.devices["R5"].diff == first.devices["R5"].diff
    assert config_state(checker, ["R5", "R6"]) == after_first
    assert lab.call(lambda: lab.server.lab.device("R5").last_change) == stamp
    commits = [line for line in session.audit.path.read_text().splitlines() if '"action": "commit"' in line]
    assert len(commits) == 2  # R5 and R6, once each
    assert '"replay_skipped"' in session.audit.path.read_text()


def test_change_already_in_place_is_no_change(session: ToolSession, checker: ToolSession) -> None:
    before = config_state(checker, ["R1"])
    change = ChangeSet(changes={"R1": ["interface Loopback0", " ip address 1.1.1.1 255.255.255.255"]})
    result = run_transaction(session, change)
    assert result.status == "no_change" and result.ok and result.devices["R1"].status == "unchanged"
    assert config_state(checker, ["R1"]) == before


def test_unknown_device(session: ToolSession) -> None:
    result = run_transaction(session, ChangeSet(changes={"R42": ["interface Loopback1"]}))
    assert result.status == "failed" and "R42" in result.error
