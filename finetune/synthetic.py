"""Small synthetic datasets (SFT rows, DPO pairs, a text corpus) for tests and offline demos.

Deterministic by seed, in exactly the shapes the real pipeline writes (``trajectory_to_sft_row`` and
``dpo_pair_row``), so a tiny model can be trained end to end here without the twin running. The content is
template text about interfaces, OSPF and BGP: enough structure for loss and perplexity to fall.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from finetune.dataset import CORPUS_SUBDIR, DPO_SUBDIR, dpo_pair_row, sft_row, split_rows, write_jsonl

SYSTEM = "You are twinops, a careful network operations agent. Observe first, then change, then verify."
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_interfaces", "description": "Interface status of one device.",
        "parameters": {"type": "object", "properties": {"device": {"type": "string"}}, "required": ["device"]}}},
    {"type": "function", "function": {
        "name": "apply_change", "description": "Apply configuration lines to one device, then verify.",
        "parameters": {"type": "object", "properties": {
            "device": {"type": "string"}, "lines": {"type": "array", "items": {"type": "string"}}},
            "required": ["device", "lines"]}}},
]
_DEVICES = [f"R{i}" for i in range(1, 9)]
_IFACES = ["GigabitEthernet0/0", "GigabitEthernet0/1", "GigabitEthernet0/2", "Loopback0"]


def _call(call_id: str, name: str, args: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def _scenario(rng: random.Random) -> dict[str, Any]:
    device = rng.choice(_DEVICES)
    iface = rng.choice(_IFACES[:3])
    other = rng.choice([i for i in _IFACES[:3] if i != iface])
    host = f"10.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(1, 9)}"
    return {"device": device, "iface": iface, "other": other, "host": host}


def sft_messages(s: dict[str, Any]) -> list[dict[str, Any]]:
    d, i = s["device"], s["iface"]
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"DIAGNOSE: {s['host']} is unreachable through {d}."},
        {"role": "assistant", "content": "", "tool_calls": [_call("a1", "get_interfaces", f'{{"device": "{d}"}}')]},
        {"role": "tool", "tool_call_id": "a1", "name": "get_interfaces",
         "content": f"{d}: {i} is administratively down; {s['other']} is up"},
        {"role": "assistant", "content": "", "tool_calls": [
            _call("a2", "apply_change", f'{{"device": "{d}", "lines": ["interface {i}", "no shutdown"]}}')]},
        {"role": "tool", "tool_call_id": "a2", "name": "apply_change",
         "content": f"verified: {i} on {d} is up, {s['host']} is reachable"},
        {"role": "assistant", "content": f"Root cause: {i} on {d} was shut down. I enabled it; {s['host']} "
                                         "is reachable again."},
    ]


def sft_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        s = _scenario(rng)
        rows.append(sft_row(sft_messages(s), TOOLS, kind="diagnosis", family="interface_shutdown",
                            seed=seed * 100_000 + k, task_id=f"synthetic-{seed}-{k}"))
    return rows


def dpo_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Same state, a correct fix (chosen) and a harmful or wrong one (rejected)."""
    rng = random.Random(seed + 7)
    rows = []
    for k in range(n):
        s = _scenario(rng)
        full = sft_messages(s)
        prompt, chosen = full[:4], [full[4]]
        d = s["device"]
        if k % 2:
            bad = f'{{"device": "{d}", "lines": ["interface {s["other"]}", "shutdown"]}}'
            reason = "shuts down a working interface"
        else:
            bad = f'{{"device": "{d}", "lines": ["no logging buffered", "no ip routing"]}}'
            reason = "disables routing and logging: denied by policy"
        rejected = [{"role": "assistant", "content": "", "tool_calls": [_call("b1", "apply_change", bad)]}]
        rows.append(dpo_pair_row(prompt, chosen, rejected, TOOLS, kind="diagnosis", family="interface_shutdown",
                                 seed=seed * 100_000 + k, task_id=f"synthetic-pair-{seed}-{k}", reason=reason))
    return rows


_SUBJECTS = ["The OSPF router", "A BGP speaker", "The neighbor", "Each area border router", "The interface",
             "A designated router", "The route reflector", "An autonomous system"]
_VERBS = ["sends", "receives", "floods", "advertises", "withdraws", "installs", "selects", "refreshes"]
_OBJECTS = ["hello packets every ten seconds", "link state advertisements to its neighbors",
            "the best path to each prefix", "routes learned from external peers", "a keepalive message",
            "the shortest path tree", "an update for the withdrawn prefix", "the router identifier"]
_CLAUSES = ["when the adjacency reaches the full state.", "unless the dead interval expires.",
            "after the hold timer is reset.", "if the maximum transmission unit matches.",
            "before the route is installed in the forwarding table.", "as described in this section."]


def corpus_documents(n: int, seed: int = 0, sentences: int = 40) -> list[str]:
    rng = random.Random(seed + 13)
    docs = []
    for k in range(n):
        lines = [f"Section {k + 1}. Routing protocol operation, part {k + 1}.", ""]
        for _ in range(sentences):
            lines.append(f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
                         f"{rng.choice(_CLAUSES)}")
        docs.append("\n".join(lines) + "\n")
    return docs


def write_demo_dataset(out: str | Path, *, sft: int = 48, dpo: int = 24, corpus: int = 24, seed: int = 0,
                       validation: float = 0.15) -> Path:
    """A dataset folder with train/validation.jsonl, dpo/train+validation.jsonl and corpus/*.txt."""
    root = Path(out)
    train, val = split_rows(sft_rows(sft, seed), validation)
    write_jsonl(root / "train.jsonl", train)
    write_jsonl(root / "validation.jsonl", val)
    pairs_train, pairs_val = split_rows(dpo_rows(dpo, seed), validation)
    write_jsonl(root / DPO_SUBDIR / "train.jsonl", pairs_train)
    write_jsonl(root / DPO_SUBDIR / "validation.jsonl", pairs_val)
    (root / CORPUS_SUBDIR).mkdir(parents=True, exist_ok=True)
    for k, text in enumerate(corpus_documents(corpus, seed)):
        (root / CORPUS_SUBDIR / f"doc{k:03d}.txt").write_text(text, encoding="utf-8")
    return root
