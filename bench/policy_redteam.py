"""Red-team benchmark for the policy engine: block rate on harmful requests, false-block rate on benign ones.

    python bench/policy_redteam.py [--data FILE ...] [--policy FILE] [--json] [--failures] [--cli N]

By default four sets run: ``tests/data/redteam.jsonl`` (written alongside the rules),
``tests/data/redteam_heldout.jsonl`` (written blind, from the issue text only, before the rules were
read), ``tests/data/redteam_blind2.jsonl`` (an outside evaluator's blind set; the rules were later
improved by category from its diagnosis) and ``tests/data/redteam_blind3.jsonl`` (40 items written
before those improvements and never tuned on) -- the blind3 figure is the honest generalisation one.

Block = ``deny`` or ``needs_approval`` for a harmful item; false block = anything but ``allow`` for a
benign item whose expected decision is ``allow``.  ``exact`` counts items whose decision equals the
expected one (``block`` in the held-out set accepts either deny or needs_approval).

Two row shapes are read: ``{"harmful": bool, "expected": DECISION}`` and
``{"expect": "deny" | "needs_approval" | "allow" | "block"}`` (harmful unless ``allow``).

``--cli N`` also runs N items of each set (spread evenly) through ``twinops policy check FILE --json`` in a
subprocess and reports whether decision and exit code agree with the in-process engine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.engine import evaluate  # noqa: E402
from policies.pack import default_pack, load_pack  # noqa: E402
from policies.request import parse_request  # noqa: E402

DATA = ROOT / "tests" / "data"
DEFAULT_SETS = tuple(DATA / f"redteam{suffix}.jsonl" for suffix in ("", "_heldout", "_blind2", "_blind3"))
EXIT = {"allow": 0, "needs_approval": 3, "deny": 4}


def load_rows(data: Path) -> list[dict]:
    """Rows of a red-team set, each with ``harmful`` (bool) and ``expected`` (a decision or ``block``)."""
    rows = []
    for line in data.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "expect" in row and "expected" not in row:
            row["expected"] = row["expect"]
        row.setdefault("harmful", row["expected"] != "allow")
        rows.append(row)
    return rows


def matches(decision: str, expected: str) -> bool:
    return decision != "allow" if expected == "block" else decision == expected


def run(data: Path, policy: Path | None = None) -> dict:
    pack = load_pack(policy) if policy else default_pack()
    rows = load_rows(data)
    per: dict[str, dict] = defaultdict(lambda: {"n": 0, "harmful": 0, "blocked": 0, "benign_allow": 0,
                                                "false_blocked": 0, "exact": 0})
    failures = []
    start = time.perf_counter()
    for row in rows:
        verdict = evaluate(parse_request(row["request"], row["id"]), pack)
        stats = per[row["category"]]
        stats["n"] += 1
        blocked = verdict.decision != "allow"
        exact = matches(verdict.decision, row["expected"])
        stats["exact"] += exact
        if row["harmful"]:
            stats["harmful"] += 1
            stats["blocked"] += blocked
        elif row["expected"] == "allow":
            stats["benign_allow"] += 1
            stats["false_blocked"] += blocked
        ok = blocked if row["harmful"] else exact
        if not ok or not exact:
            failures.append({"id": row["id"], "category": row["category"], "expected": row["expected"],
                             "got": verdict.decision, "intent": row["request"].get("intent", ""),
                             "rules": [r.id for r in verdict.rules], "counts": not ok})
    elapsed = time.perf_counter() - start
    harmful = sum(s["harmful"] for s in per.values())
    benign_allow = sum(s["benign_allow"] for s in per.values())
    blocked = sum(s["blocked"] for s in per.values())
    false_blocked = sum(s["false_blocked"] for s in per.values())
    categories = {}
    for name, stats in sorted(per.items()):
        entry: dict = {"n": stats["n"], "exact_rate": round(stats["exact"] / stats["n"], 3)}
        if stats["harmful"]:
            entry["block_rate"] = round(stats["blocked"] / stats["harmful"], 3)
        if stats["benign_allow"]:
            entry["false_block_rate"] = round(stats["false_blocked"] / stats["benign_allow"], 3)
        categories[name] = entry
    return {
        "data": str(data.relative_to(ROOT) if data.is_relative_to(ROOT) else data),
        "items": len(rows), "harmful": harmful, "benign": len(rows) - harmful,
        "block_rate": round(blocked / harmful, 3) if harmful else None,
        "false_block_rate": round(false_blocked / benign_allow, 3) if benign_allow else None,
        "exact_rate": round(sum(s["exact"] for s in per.values()) / len(rows), 3) if rows else None,
        "categories": categories, "ms_per_request": round(1000 * elapsed / max(len(rows), 1), 2),
        "failures": failures,
    }


def cli_agreement(data: Path, sample: int, policy: Path | None = None) -> dict:
    """Run ``sample`` items through the real CLI; count decision and exit-code agreement with the engine."""
    exe = shutil.which("twinops")
    command = [exe] if exe else [sys.executable, "-m", "policies.cli"]
    pack = load_pack(policy) if policy else default_pack()
    rows = load_rows(data)
    step = max(len(rows) // max(sample, 1), 1)
    chosen = rows[::step][:sample]
    agree, mismatches = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for row in chosen:
            path = Path(tmp) / f"{row['id']}.json"
            path.write_text(json.dumps(row["request"]))
            args = [*command, "policy", "check", str(path), "--json"]
            if policy:
                args += ["--policy", str(policy)]
            proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
            engine = evaluate(parse_request(row["request"], row["id"]), pack).decision
            try:
                got = json.loads(proc.stdout)["decision"]
            except (json.JSONDecodeError, KeyError, TypeError):
                got = f"unparsable (exit {proc.returncode})"
            if got == engine and proc.returncode == EXIT[engine]:
                agree += 1
            else:
                mismatches.append({"id": row["id"], "engine": engine, "cli": got, "exit": proc.returncode})
    return {"sampled": len(chosen), "agree": agree, "mismatches": mismatches}


def _print(result: dict) -> None:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    print(f"{result['data']}: {result['items']} items ({result['harmful']} harmful, {result['benign']} benign)")
    print(f"  block rate {pct(result['block_rate'])}   false-block rate {pct(result['false_block_rate'])}   "
          f"exact decision {pct(result['exact_rate'])}   {result['ms_per_request']} ms/request")
    for name, entry in result["categories"].items():
        rates = []
        if "block_rate" in entry:
            rates.append(f"block {entry['block_rate']:.1%}")
        if "false_block_rate" in entry:
            rates.append(f"false-block {entry['false_block_rate']:.1%}")
        print(f"    {name:<16} n={entry['n']:<3} {'  '.join(rates):<30} exact {entry['exact_rate']:.1%}")
    for failure in result["failures"]:
        print(f"    ! {failure['id']} [{failure['category']}] expected {failure['expected']} got {failure['got']} "
              f"{failure['rules']}: {failure['intent']}")
    if "cli" in result:
        cli = result["cli"]
        print(f"  CLI check: {cli['agree']}/{cli['sampled']} agree with the engine {cli['mismatches'] or ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, action="append", default=None,
                        help="a red-team JSONL set (repeatable; default: the four shipped sets)")
    parser.add_argument("--policy", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--failures", action="store_true", help="also list items whose decision is not exact")
    parser.add_argument("--cli", type=int, default=0, metavar="N",
                        help="also run N items per set through `twinops policy check` and compare")
    args = parser.parse_args(argv)
    results = {}
    for data in args.data or DEFAULT_SETS:
        result = run(data, args.policy)
        if not args.failures:
            result["failures"] = [f for f in result["failures"] if f["counts"]]
        if args.cli:
            result["cli"] = cli_agreement(data, args.cli, args.policy)
        results[data.stem] = result
    if args.json:
        print(json.dumps({"sets": results}, indent=2))
        return 0
    for result in results.values():
        _print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
