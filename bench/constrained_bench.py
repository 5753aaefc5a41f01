"""Constrained-decoding benchmark for the hf brain: grammar compile time, decode speed and call validity.

Builds random tiny Llama chat models in a temp dir (agent.brains.tiny; nothing is downloaded), binds the
agent's tools (read tools + the diagnosis actions) over a short diagnosis conversation, and measures

- compile: seconds to compile the per-step tool-call grammar with xgrammar as observations accumulate
  (schema size, enum sizes), and the cost of a cache hit;
- decode: tokens/s of a constrained reply and of a free reply of the same length from the same prompt and
  seed (same prefill, run back to back so background load hits both alike), the slowdown in %, and the
  logits-processor (bitmask) time per token;
- validity: the share of replies that are a parseable call to a bound tool (a random model under
  constraints should always manage; without them it practically never does).

Figures, not assertions. Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.actions import action_tools
from agent.brains.constrained import (
    DEFAULT_LIMITS,
    GrammarCache,
    Limits,
    build_constraint,
    xgrammar_version,
)
from agent.brains.hf import HFChatModel
from agent.brains.tiny import SAMPLE_TEXT, build_tiny_model
from tools.read_tools import read_tools

INVENTORY = {"devices": [{"name": f"R{i}", "hostname": "127.0.0.1", "port": 40000 + i, "platform": "ios",
                          "groups": [], "data": {"mgmt_interface": "GigabitEthernet0/7"}} for i in range(1, 7)]}
INTERFACES_IP = {"GigabitEthernet0/0": {"ipv4": {"10.0.12.1": {"prefix_length": 30}}},
                 "GigabitEthernet0/1": {"ipv4": {"10.0.13.1": {"prefix_length": 30}}},
                 "GigabitEthernet0/2": {"ipv4": {"10.0.1.1": {"prefix_length": 24}}},
                 "Loopback0": {"ipv4": {"1.1.1.1": {"prefix_length": 32}}}}
RUNNING = ("hostname R2\ninterface GigabitEthernet0/0\n ip address 10.0.12.2 255.255.255.252\n"
           "interface GigabitEthernet0/1\n ip address 10.0.23.1 255.255.255.252\n"
           "interface GigabitEthernet0/2\n ip address 10.0.25.1 255.255.255.252\n"
           "router ospf 1\n network 10.0.12.0 0.0.0.3 area 0\n network 10.0.23.0 0.0.0.3 area 0\n"
           "router bgp 65001\n neighbor 10.0.25.2 remote-as 65002\nip route 0.0.0.0 0.0.0.0 10.0.25.2\n")
PROMPTS = ["DIAGNOSE: h1 cannot reach 10.0.4.10; OSPF adjacency not FULL: R2 Gi0/1 - R3 (EXSTART)",
           "DIAGNOSE: BGP neighbor 10.0.25.2 on R2 is Idle",
           "CHANGE: shut down GigabitEthernet0/2 on R3"]


def conversation(prompt: str) -> list:
    def call(name: str, args: dict, call_id: str) -> AIMessage:
        return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])

    return [SystemMessage("You are twinops, a careful network operations agent."), HumanMessage(prompt),
            call("list_devices", {}, "c1"), ToolMessage(json.dumps(INVENTORY), tool_call_id="c1", name="list_devices"),
            call("get_interfaces_ip", {"device": "R1"}, "c2"),
            ToolMessage(json.dumps(INTERFACES_IP), tool_call_id="c2", name="get_interfaces_ip"),
            call("get_running_config", {"device": "R2"}, "c3"),
            ToolMessage(json.dumps({"device": "R2", "running": RUNNING}), tool_call_id="c3", name="get_running_config")]


def bound_tools() -> list:
    return read_tools(None) + action_tools("diagnosis")  # type: ignore[arg-type]  # never invoked here


def bench_compile(model: HFChatModel, repeat: int) -> list[dict[str, Any]]:
    """Cold compile per conversation stage (a fresh cache each time), and a cache hit."""
    tools = [convert_to_openai_tool(t) for t in bound_tools()]
    messages = conversation(PROMPTS[0])
    rows = []
    for n in (2, 4, 6, 8):
        constraint = build_constraint(tools, messages[:n])
        cold = []
        for _ in range(repeat):
            cache = GrammarCache(model.tokenizer, stop_token_ids=[model.tokenizer.eos_token_id])
            start = time.perf_counter()
            cache.compile(constraint)
            cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.compile(constraint)
        hit = time.perf_counter() - start
        spans = constraint.spans
        rows.append({"messages": n, "schema_chars": len(json.dumps(constraint.schema)),
                     "devices": len(spans.devices), "interfaces": len(spans.interfaces),
                     "addresses": len(spans.addresses), "prefixes": len(spans.prefixes),
                     "compile_s": statistics.median(cold), "cache_hit_s": hit})
    return rows


def bench_decode(models: dict[str, HFChatModel], seeds: int, max_new_tokens: int) -> dict[str, Any]:
    """Per prompt and seed: a constrained reply (N tokens), a free reply of the same N tokens (speed, same
    prefill), and a free reply with the full budget (validity). Wall times include the prefill."""
    import torch

    tools = bound_tools()
    names = {t.name for t in tools}
    on_model, off_model = models["on"], models["off"]
    on_bound, off_bound = on_model.bind_tools(tools), off_model.bind_tools(tools)
    row: dict[str, float] = {"runs": 0, "on_valid": 0, "off_valid": 0, "on_tokens": 0, "on_s": 0.0,
                             "off_tokens": 0, "off_s": 0.0, "mask_s": 0.0, "mask_steps": 0, "off_full_tokens": 0}

    def valid(reply: AIMessage) -> bool:
        return bool(reply.tool_calls) and not reply.invalid_tool_calls and all(c["name"] in names
                                                                              for c in reply.tool_calls)

    def out_tokens(reply: AIMessage) -> int:
        return reply.usage_metadata["output_tokens"] if reply.usage_metadata else 0

    for prompt in PROMPTS:
        messages = conversation(prompt)
        on_bound.invoke(messages, max_new_tokens=2)  # warm-up: compile (then cached), allocator
        off_bound.invoke(messages, max_new_tokens=2)
        for seed in range(seeds):
            torch.manual_seed(seed)
            start = time.perf_counter()
            on = on_bound.invoke(messages, max_new_tokens=max_new_tokens)
            on_s = time.perf_counter() - start
            n = max(out_tokens(on), 1)
            proc = on_model.grammar_cache().last_processor
            torch.manual_seed(seed)
            start = time.perf_counter()
            off = off_bound.invoke(messages, max_new_tokens=n)
            off_s = time.perf_counter() - start
            torch.manual_seed(seed)
            full = off_bound.invoke(messages, max_new_tokens=max_new_tokens)
            row["runs"] += 1
            row["on_valid"] += valid(on)
            row["off_valid"] += valid(full)
            row["off_full_tokens"] += out_tokens(full)
            row["on_tokens"] += out_tokens(on)
            row["on_s"] += on_s
            row["off_tokens"] += out_tokens(off)
            row["off_s"] += off_s
            row["mask_s"] += proc.mask_seconds
            row["mask_steps"] += proc.steps
    runs = max(row["runs"], 1)
    on_tps = row["on_tokens"] / row["on_s"]
    off_tps = row["off_tokens"] / row["off_s"]
    mask_ms = 1000 * row["mask_s"] / max(row["mask_steps"], 1)
    return {
        "on": {"runs": row["runs"], "valid_rate": row["on_valid"] / runs, "tokens_per_s": on_tps,
               "mean_tokens_per_reply": row["on_tokens"] / runs, "mask_ms_per_token": mask_ms},
        "off": {"runs": row["runs"], "valid_rate": row["off_valid"] / runs, "tokens_per_s": off_tps,
                "mean_tokens_per_reply": row["off_full_tokens"] / runs},
        "slowdown_pct": 100 * (off_tps - on_tps) / off_tps,
        "mask_share_of_free_token_pct": 100 * mask_ms / (1000 / off_tps),
    }


def run(sizes: list[tuple[int, int]], seeds: int, max_new_tokens: int, repeat: int, limits: Limits) -> dict:
    import torch

    report: dict[str, Any] = {"xgrammar": xgrammar_version(), "torch": torch.__version__,
                              "threads": torch.get_num_threads(), "max_new_tokens": max_new_tokens,
                              "limits": limits.__dict__, "models": []}
    corpus = [*SAMPLE_TEXT.splitlines(), *(json.dumps(convert_to_openai_tool(t)) for t in bound_tools()),
              *PROMPTS, json.dumps(INVENTORY), json.dumps(INTERFACES_IP), RUNNING]
    with tempfile.TemporaryDirectory() as tmp:
        for hidden, layers in sizes:
            path = build_tiny_model(Path(tmp) / f"h{hidden}l{layers}", hidden_size=hidden, layers=layers,
                                    heads=max(hidden // 32, 2), vocab_size=1024, corpus=corpus)
            models = {mode: HFChatModel.from_pretrained(path, constrained=(mode == "on"), temperature=1.0,
                                                        constraint_limits=limits, max_new_tokens=max_new_tokens)
                      for mode in ("on", "off")}
            params = sum(p.numel() for p in models["on"].hf_model.parameters())
            entry = {"hidden": hidden, "layers": layers, "params": params, "vocab": len(models["on"].tokenizer),
                     "compile": bench_compile(models["on"], repeat),
                     "decode": bench_decode(models, seeds, max_new_tokens)}
            report["models"].append(entry)
    return report


def _print(report: dict) -> None:
    print(f"xgrammar {report['xgrammar']}, torch {report['torch']} ({report['threads']} threads), "
          f"max_new_tokens {report['max_new_tokens']}")
    for entry in report["models"]:
        print(f"\nmodel hidden={entry['hidden']} layers={entry['layers']} params={entry['params']:,} "
              f"vocab={entry['vocab']}")
        print("  compile (tools: 11 read + report_diagnosis + refuse)")
        print("    msgs  schema  dev  intf  addr  pfx   compile s   cache hit s")
        for row in entry["compile"]:
            print(f"    {row['messages']:>4}  {row['schema_chars']:>6}  {row['devices']:>3}  {row['interfaces']:>4}  "
                  f"{row['addresses']:>4}  {row['prefixes']:>3}   {row['compile_s']:>9.4f}   {row['cache_hit_s']:>11.6f}")
        decode = entry["decode"]
        for mode in ("on", "off"):
            d = decode[mode]
            extra = f", mask {d['mask_ms_per_token']:.3f} ms/token" if "mask_ms_per_token" in d else ""
            print(f"  {'constrained' if mode == 'on' else 'free':>11}: {d['tokens_per_s']:7.1f} tokens/s, "
                  f"valid {d['valid_rate']:.0%} of {d['runs']}, {d['mean_tokens_per_reply']:.0f} tokens/reply{extra}")
        if "slowdown_pct" in decode:
            print(f"  slowdown {decode['slowdown_pct']:.1f}% (mask = {decode.get('mask_share_of_free_token_pct', 0):.1f}% "
                  "of a free token's time)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="64x2,256x4", help="HIDDENxLAYERS,... (default 64x2,256x4)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=3, help="compiles per stage (median)")
    parser.add_argument("--small-limits", action="store_true", help="short free strings (as in the tests)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    limits = Limits(text_chars=24, line_chars=24, items=2, line_items=2, max_calls=2) if args.small_limits \
        else DEFAULT_LIMITS
    report = run(sizes, args.seeds, args.max_new_tokens, args.repeat, limits)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
