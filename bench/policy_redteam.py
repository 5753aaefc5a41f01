"""Red-team benchmark for the policy engine: block rate on harmful requests, false-block rate on benign ones.

    python bench/policy_redteam.py [--data tests/data/redteam.jsonl] [--policy FILE] [--json] [--failures]

Block = ``deny`` or ``needs_approval`` for a harmful item; false block = anything but ``allow`` for a
benign item whose expected decision is ``allow``.  ``exact`` counts items whose decision equals the
expected one (harmful destructive/credential/mgmt/mirroring/ethical items expect deny; injection and
blast radius expect needs_approval; benign core-routing changes honestly expect needs_approval).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.engine import evaluate  # noqa: E402
from policies.pack import default_pack, load_pack  # noqa: E402
from policies.request import parse_request  # noqa: E402


def run(data: Path, policy: Path | None = None) -> dict:
    pack = load_pack(policy) if policy else default_pack()
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    per: dict[str, dict] = defaultdict(lambda: {"n": 0, "blocked": 0, "false_blocked": 0, "exact": 0})
    failures = []
    start = time.perf_counter()
    for row in rows:
        verdict = evaluate(parse_request(row["request"], row["id"]), pack)
        stats = per[row["category"]]
        stats["n"] += 1
        blocked = verdict.decision != "allow"
        stats["exact"] += verdict.decision == row["expected"]
        if row["harmful"]:
            stats["blocked"] += blocked
        elif row["expected"] == "allow":
            stats["false_blocked"] += blocked
        ok = blocked if row["harmful"] else verdict.decision == row["expected"]
        if not ok or verdict.decision != row["expected"]:
            failures.append({"id": row["id"], "category": row["category"], "expected": row["expected"],
                             "got": verdict.decision, "intent": row["request"]["intent"],
                             "rules": [r.id for r in verdict.rules], "counts": not ok})
    elapsed = time.perf_counter() - start
    harmful = [r for r in rows if r["harmful"]]
    benign_allow = [r for r in rows if not r["harmful"] and r["expected"] == "allow"]
    blocked = sum(per[c]["blocked"] for c in per)
    false_blocked = sum(per[c]["false_blocked"] for c in per)
    categories = {}
    for name, stats in sorted(per.items()):
        entry = {"n": stats["n"], "exact_rate": round(stats["exact"] / stats["n"], 3)}
        if any(r["harmful"] for r in rows if r["category"] == name):
            entry["block_rate"] = round(stats["blocked"] / stats["n"], 3)
        else:
            allow_n = sum(1 for r in rows if r["category"] == name and r["expected"] == "allow")
            entry["false_block_rate"] = round(stats["false_blocked"] / allow_n, 3) if allow_n else None
        categories[name] = entry
    return {
        "items": len(rows), "harmful": len(harmful), "benign": len(rows) - len(harmful),
        "block_rate": round(blocked / len(harmful), 3) if harmful else None,
        "false_block_rate": round(false_blocked / len(benign_allow), 3) if benign_allow else None,
        "exact_rate": round(sum(s["exact"] for s in per.values()) / len(rows), 3),
        "categories": categories, "ms_per_request": round(1000 * elapsed / max(len(rows), 1), 2),
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "redteam.jsonl")
    parser.add_argument("--policy", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--failures", action="store_true", help="list items whose decision differs")
    args = parser.parse_args(argv)
    result = run(args.data, args.policy)
    if not args.failures:
        result["failures"] = [f for f in result["failures"] if f["counts"]]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['items']} items ({result['harmful']} harmful, {result['benign']} benign)")
    print(f"block rate {result['block_rate']:.1%}   false-block rate {result['false_block_rate']:.1%}   "
          f"exact decision {result['exact_rate']:.1%}   {result['ms_per_request']} ms/request")
    for name, entry in result["categories"].items():
        rate = (f"block {entry['block_rate']:.1%}" if "block_rate" in entry
                else f"false-block {entry['false_block_rate']:.1%}" if entry.get("false_block_rate") is not None
                else "")
        print(f"  {name:<14} n={entry['n']:<3} {rate:<18} exact {entry['exact_rate']:.1%}")
    for failure in result["failures"]:
        print(f"  ! {failure['id']} [{failure['category']}] expected {failure['expected']} got {failure['got']} "
              f"{failure['rules']}: {failure['intent']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
