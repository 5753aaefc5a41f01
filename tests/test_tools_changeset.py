"""ChangeSet model, its conversion to a policy ChangeRequest, and the SQLite change journal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tools.changeset import ChangeSet
from tools.journal import ChangeJournal, JournalConflict
from tools.transaction import TransactionResult


def test_changeset_shapes_and_key() -> None:
    a = ChangeSet(intent="cost", changes={"R1": "interface Gi0/1\n ip ospf cost 50\n\n", "R2": ["router ospf 1"]})
    b = ChangeSet(intent="other words", changes=[{"device": "R1", "lines": ["interface Gi0/1", " ip ospf cost 50"]},
                                                 {"device": "R2", "lines": ["router ospf 1"]}])
    assert a.lines_for("R1") == ["interface Gi0/1", " ip ospf cost 50"]
    assert a.device_names() == ["R1", "R2"] and a.line_count() == 3
    assert a.idempotency_key == b.idempotency_key  # same change, same default key
    assert a.id != b.id
    assert a.candidate("R1") == "interface Gi0/1\n ip ospf cost 50\n"
    c = ChangeSet(changes=[{"device": "R1", "lines": ["a"]}, {"device": "R1", "lines": ["b"]}])
    assert c.changes[0].lines == ["a", "b"] and len(c.changes) == 1
    assert ChangeSet(idempotency_key="mine", changes={"R1": ["x"]}).idempotency_key == "mine"
    with pytest.raises(ValueError):
        ChangeSet(changes=[])


def test_to_change_request() -> None:
    from tools.dryrun import DryRunResult
    from twin_lab.diff import AdjacencyChange

    change = ChangeSet(intent="shut R1-R2", changes={"R1": ["interface Gi0/0", " shutdown"]})
    dry = DryRunResult(devices_changed=["R1"], reachability_lost=[("h1", "h2")],
                       adjacencies_lost=[AdjacencyChange(protocol="ospf", a="R1:GigabitEthernet0/0",
                                                         b="R2:GigabitEthernet0/0")])
    request = change.to_change_request("agent", dry_run=dry, observations=["show ip ospf neighbor ..."])
    assert request.requester == "agent" and request.changes[0].lines == ["interface Gi0/0", " shutdown"]
    assert request.dry_run.reachability_lost == [["h1", "h2"]]
    assert request.dry_run.adjacencies_lost == [["R1", "R2"]] and request.dry_run.devices_changed == 1


def _result(change: ChangeSet, status: str) -> TransactionResult:
    return TransactionResult(change_id=change.id, idempotency_key=change.idempotency_key, status=status)


def test_journal_claims_replays_and_retries(tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "j.sqlite")
    change = ChangeSet(changes={"R1": ["interface Loopback1"]})
    assert journal.begin(change) == (1, None)
    journal.record_step(change.idempotency_key, 1, "load", "ok", device="R1", detail={"password": "x"})
    attempt, record = journal.begin(change)  # still running: in doubt, not run again
    assert attempt == 0 and record.status == "running"
    journal.finish(change.idempotency_key, "rolled_back", _result(change, "rolled_back"))
    assert journal.begin(change) == (2, None)  # nothing was left applied: may run again
    journal.finish(change.idempotency_key, "committed", _result(change, "committed"))
    attempt, record = journal.begin(change)
    assert attempt == 0 and record.status == "committed" and record.result["status"] == "committed"
    steps = journal.steps(change.idempotency_key)
    assert [(s.device, s.step, s.status) for s in steps] == [("R1", "load", "ok")]
    assert steps[0].detail == {"password": "<redacted>"}
    other = ChangeSet(idempotency_key=change.idempotency_key, changes={"R1": ["interface Loopback2"]})
    with pytest.raises(JournalConflict):
        journal.begin(other)


def test_journal_abandon_and_concurrent_claims(tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "j.sqlite")
    change = ChangeSet(changes={"R1": ["interface Loopback3"]})
    wins: list[int] = []

    def claim() -> None:
        attempt, _record = ChangeJournal(tmp_path / "j.sqlite").begin(change)
        if attempt:
            wins.append(attempt)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == [1]  # exactly one runner
    journal.abandon(change.idempotency_key)
    assert journal.begin(change) == (2, None)
