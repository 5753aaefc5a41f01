"""SQLite change journal: one row per idempotency key, one row per transaction step.

``begin`` claims a key atomically.  A key whose change was applied (``committed`` or ``no_change``) is
never applied again: ``begin`` hands back the recorded result.  A key whose last run failed cleanly
(``failed`` / ``rolled_back``: nothing left applied) may run again as a new attempt.  A key whose run never
finished (``running``, e.g. the process died) or could not be rolled back (``rollback_failed``) is
``in_doubt``: nothing runs until an operator checks the devices and calls ``abandon``.  The same key with
different changes is a ``JournalConflict``.  Details are redacted before they are stored.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from policies.redact import redact_obj
from tools.changeset import ChangeSet

APPLIED = ("committed", "no_change")
RETRYABLE = ("failed", "rolled_back", "abandoned")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    key TEXT PRIMARY KEY, change_id TEXT NOT NULL, fingerprint TEXT NOT NULL, intent TEXT,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, result TEXT, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, attempt INTEGER NOT NULL, time TEXT NOT NULL,
    device TEXT, step TEXT NOT NULL, status TEXT NOT NULL, detail TEXT);
CREATE INDEX IF NOT EXISTS steps_key ON steps (key, seq);
"""


class JournalConflict(ValueError):
    """The idempotency key was already used for a different change."""


class JournalStep(BaseModel):
    seq: int
    attempt: int
    time: str
    device: str | None
    step: str
    status: str
    detail: Any = None


class JournalRecord(BaseModel):
    key: str
    change_id: str
    fingerprint: str
    intent: str | None
    status: str
    attempts: int
    result: dict[str, Any] | None
    created: str
    updated: str


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class ChangeJournal:
    """``ChangeJournal("changes.sqlite")``; safe to share between threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    # --- claiming and finishing -------------------------------------------------------------------

    def begin(self, changeset: ChangeSet) -> tuple[int, JournalRecord | None]:
        """Claim ``changeset.idempotency_key``.  Returns ``(attempt, None)`` when the change may run now,
        or ``(0, record)`` when it must not (already applied, or in doubt)."""
        key, fingerprint = changeset.idempotency_key, changeset.fingerprint()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT fingerprint, status, attempts FROM changes WHERE key = ?", (key,)).fetchone()
                if row is None:
                    db.execute("INSERT INTO changes VALUES (?, ?, ?, ?, 'running', 1, NULL, ?, ?)",
                               (key, changeset.id, fingerprint, changeset.intent, _now(), _now()))
                    db.execute("COMMIT")
                    return 1, None
                if row[0] != fingerprint:
                    db.execute("ROLLBACK")
                    raise JournalConflict(f"idempotency key {key!r} was already used for a different change")
                if row[1] in RETRYABLE:
                    attempt = row[2] + 1
                    db.execute("UPDATE changes SET status = 'running', attempts = ?, change_id = ?, updated = ? "
                               "WHERE key = ?", (attempt, changeset.id, _now(), key))
                    db.execute("COMMIT")
                    return attempt, None
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return 0, self.get(key)

    def record_step(self, key: str, attempt: int, step: str, status: str, *, device: str | None = None,
                    detail: Any = None) -> None:
        text = json.dumps(redact_obj(detail), default=str) if detail is not None else None
        with closing(self._connect()) as db:
            db.execute("INSERT INTO steps (key, attempt, time, device, step, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key, attempt, _now(), device, step, status, text))

    def finish(self, key: str, status: str, result: BaseModel | dict[str, Any]) -> None:
        data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        with closing(self._connect()) as db:
            db.execute("UPDATE changes SET status = ?, result = ?, updated = ? WHERE key = ?",
                       (status, json.dumps(redact_obj(data), default=str), _now(), key))

    def abandon(self, key: str) -> None:
        """Mark an in-doubt key as checked by an operator, so the change may run again."""
        with closing(self._connect()) as db:
            db.execute("UPDATE changes SET status = 'abandoned', updated = ? WHERE key = ?", (_now(), key))

    # --- reading --------------------------------------------------------------------------------------

    def get(self, key: str) -> JournalRecord | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT key, change_id, fingerprint, intent, status, attempts, result, created, updated "
                             "FROM changes WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        fields = dict(zip(JournalRecord.model_fields, row, strict=True))
        fields["result"] = json.loads(fields["result"]) if fields["result"] else None
        return JournalRecord.model_validate(fields)

    def steps(self, key: str) -> list[JournalStep]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT seq, attempt, time, device, step, status, detail FROM steps WHERE key = ? "
                              "ORDER BY seq", (key,)).fetchall()
        return [JournalStep(seq=r[0], attempt=r[1], time=r[2], device=r[3], step=r[4], status=r[5],
                            detail=json.loads(r[6]) if r[6] else None) for r in rows]
