"""Data-generation throughput: ``twinops data generate`` on the in-process transport vs the SSH path.

    python bench/datagen_bench.py [--n 200] [--workers 2] [--ssh-tasks 6] [--json]

Generates ``--n`` verified SFT samples (plus their DPO pairs) with ``--workers`` processes into a temporary
folder and reports samples/s, the projected time for 100,000 samples and the wall per sample; then runs
the same first ``--ssh-tasks`` tasks one at a time both ways (``agent.bench.run_task``: a fresh SSH lab per
task, the real transaction; ``finetune.generate.run_shard``: in-process) for a per-task comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 100_000


def measure(n: int, workers: int, ssh_tasks: int, seed: int) -> dict:
    from finetune.generate import coordinate, generate, run_shard
    from twin_lab.scenarios import FAMILIES

    with tempfile.TemporaryDirectory(prefix="datagen-bench-") as folder:
        report = generate(n, Path(folder) / "data", workers=workers, seed=seed)
    sft_rate = report.sft_rows / report.wall_s
    all_rate = (report.sft_rows + report.dpo_rows) / report.wall_s
    out = {
        "n": n, "workers": workers, "wall_s": report.wall_s, "tasks_run": report.shards_run,
        "sft_rows": report.sft_rows, "dpo_rows": report.dpo_rows,
        "sft_samples_per_s": round(sft_rate, 3), "samples_per_s": round(all_rate, 3),
        "tasks_per_s": round(report.shards_run / report.wall_s, 3),
        "per_task_wall_s_mean": report.shard_wall_s_mean,
        "per_sample_wall_s": round(report.wall_s / max(1, report.sft_rows), 4),
        "projected_100k_sft_s": round(TARGET / sft_rate, 1),
        "projected_100k_samples_s": round(TARGET / all_rate, 1),
        "target_s": 1800, "failed_families": report.failed_families,
        "verified_rate": round(report.sft_rows / max(1, report.shards_run), 3),
    }
    out["meets_target_sft"] = out["projected_100k_sft_s"] <= 1800
    out["meets_target_samples"] = out["projected_100k_samples_s"] <= 1800
    if ssh_tasks:
        from agent.bench import run_task

        fams = list(FAMILIES)
        coords = [coordinate(i, fams, seed) for i in range(0, ssh_tasks * 7, 7)][:ssh_tasks]
        rows = []
        with tempfile.TemporaryDirectory(prefix="datagen-ssh-") as work:
            for family, s in coords:
                t = time.perf_counter()
                local = run_shard(family, s)
                t_local = time.perf_counter() - t
                t = time.perf_counter()
                remote = run_task({"family": family, "seed": s}, "expert", work)
                t_ssh = time.perf_counter() - t
                rows.append({"family": family, "seed": s, "inprocess_s": round(t_local, 3), "ssh_s": round(t_ssh, 3),
                             "inprocess_success": local["status"] == "verified", "ssh_success": remote["success"]})
        out["ssh_comparison"] = {
            "tasks": rows,
            "median_inprocess_s": round(statistics.median(r["inprocess_s"] for r in rows), 3),
            "median_ssh_s": round(statistics.median(r["ssh_s"] for r in rows), 3),
            "same_verdict": sum(r["inprocess_success"] == r["ssh_success"] for r in rows),
        }
        out["ssh_comparison"]["speedup"] = round(out["ssh_comparison"]["median_ssh_s"]
                                                 / max(1e-9, out["ssh_comparison"]["median_inprocess_s"]), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ssh-tasks", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.n < 1 or args.workers < 1 or args.ssh_tasks < 0:
        parser.error("--n and --workers must be >= 1, --ssh-tasks >= 0")
    result = measure(args.n, args.workers, args.ssh_tasks, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['sft_rows']} SFT + {result['dpo_rows']} DPO in {result['wall_s']:.1f} s with "
              f"{args.workers} workers: {result['sft_samples_per_s']:.2f} SFT/s, {result['samples_per_s']:.2f} "
              f"samples/s; 100k SFT in {result['projected_100k_sft_s'] / 3600:.2f} h")
        if "ssh_comparison" in result:
            c = result["ssh_comparison"]
            print(f"per task: in-process {c['median_inprocess_s']} s vs SSH {c['median_ssh_s']} s "
                  f"(x{c['speedup']}), same verdict {c['same_verdict']}/{len(c['tasks'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
