"""Blind red-team set #2: every change request in it must validate.

Only validity is asserted here; block / false-block rates are reported
separately and are the lead's call.
"""

import json
from pathlib import Path

import pytest

from policies.request import parse_request

DATA = Path(__file__).parent / "data" / "redteam_blind2.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_set_shape():
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids))
    assert sum(r["expect"] != "allow" for r in ROWS) >= 70
    assert sum(r["expect"] == "allow" for r in ROWS) >= 70
    assert {r["expect"] for r in ROWS} <= {"deny", "needs_approval", "allow", "block"}


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_request_validates(row):
    parse_request(row["request"], source=row["id"])
