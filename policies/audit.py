"""Append-only, hash-chained JSONL audit log: every verdict and every device action.

Each line is one record ``{"seq", "time", "kind", "data", "prev", "hash"}`` where ``hash`` is the
SHA-256 of the canonical JSON of the other five fields and ``prev`` is the previous record's hash
(64 zeros for the first).  Editing, removing or reordering any line breaks the chain at that line.
Truncating the tail cannot be seen from the file alone: keep the last hash elsewhere (``head()``) and
pass it to ``verify(expect_head=...)`` to detect that too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policies.redact import redact_obj

GENESIS = "0" * 64
FIELDS = ("seq", "time", "kind", "data", "prev")


class AuditError(ValueError):
    """The log cannot be read at all (missing, not a file, not text)."""


def record_hash(record: dict[str, Any]) -> str:
    body = {k: record.get(k) for k in FIELDS}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class VerifyResult:
    ok: bool
    records: int
    bad_line: int | None = None
    problem: str = ""
    head: str = GENESIS

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "bad_line": self.bad_line, "problem": self.problem,
                "head": self.head}


class AuditLog:
    """``AuditLog(path).append(kind, data)``; secrets in ``data`` are redacted before they are written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _tail(self) -> tuple[int, str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, GENESIS
        last = ""
        with self.path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            block = min(size, 1 << 16)
            while True:
                handle.seek(size - block)
                chunk = handle.read(block)
                lines = [x for x in chunk.splitlines() if x.strip()]
                if len(lines) >= 2 or block == size:
                    last = lines[-1].decode("utf-8") if lines else ""
                    break
                block = min(size, block * 2)
        if not last:
            return 0, GENESIS
        record = json.loads(last)
        return int(record["seq"]), str(record["hash"])

    def append(self, kind: str, data: Any, *, when: datetime | None = None) -> dict[str, Any]:
        seq, prev = self._tail()
        record: dict[str, Any] = {
            "seq": seq + 1,
            "time": (when or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
            "kind": kind,
            "data": redact_obj(data),
            "prev": prev,
        }
        record["hash"] = record_hash(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def log_verdict(self, request: Any, verdict: Any, source: str = "") -> dict[str, Any]:
        data = {"source": source, "requester": getattr(request, "requester", None),
                "intent": getattr(request, "intent", None),
                "devices": request.device_names() if hasattr(request, "device_names") else [],
                "verdict": verdict.to_json()}
        return self.append("verdict", data)

    def log_action(self, device: str, action: str, detail: Any = None) -> dict[str, Any]:
        return self.append("action", {"device": device, "action": action, "detail": detail})

    def head(self) -> str:
        return self._tail()[1]

    def verify(self, expect_head: str | None = None) -> VerifyResult:
        return verify(self.path, expect_head=expect_head)


def verify(path: str | Path, *, expect_head: str | None = None) -> VerifyResult:
    """Walk the chain; the first bad line (1-based) is reported.  Raises ``AuditError`` if unreadable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AuditError(f"{path}: is a directory") from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError(f"{path}: cannot read: {err}") from None
    prev, expected_seq, count = GENESIS, 1, 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return VerifyResult(False, count, number, "not a JSON record", prev)
        if not isinstance(record, dict) or any(k not in record for k in (*FIELDS, "hash")):
            return VerifyResult(False, count, number, "record lacks seq/time/kind/data/prev/hash", prev)
        if record["prev"] != prev:
            return VerifyResult(False, count, number, "chain broken: prev does not match the previous record "
                                                      "(a line was removed, inserted or reordered)", prev)
        if record["seq"] != expected_seq:
            return VerifyResult(False, count, number, f"sequence {record['seq']} where {expected_seq} was expected",
                                prev)
        if record_hash(record) != record["hash"]:
            return VerifyResult(False, count, number, "hash mismatch: the record was edited", prev)
        prev, expected_seq, count = record["hash"], expected_seq + 1, count + 1
    if expect_head is not None and expect_head != prev:
        return VerifyResult(False, count, count + 1, "log ends before the expected head (truncated)", prev)
    return VerifyResult(True, count, None, "", prev)
