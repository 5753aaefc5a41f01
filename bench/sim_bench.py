"""Simulator benchmark: control-plane recompute at scale and the cost of one dry-run.

Prints one JSON object (``--json``) or a rich table. Figures, not assertions: targets on a
2-core machine are 1000 routers <= 1 s recompute and a 200-router dry-run <= 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from twin_lab.diff import diff, reachability_endpoints
from twin_lab.generator import generate_topology
from twin_lab.network import Network


def _median_time(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def recompute(size: int, repeat: int) -> dict:
    topology = generate_topology(size)
    network = Network(topology)

    def full() -> None:
        network.invalidate()
        _ = network.control_plane

    seconds = _median_time(full, repeat)
    cp = network.control_plane
    return {"seconds": seconds, "destinations": len(cp.ospf.dest_keys),
            "bgp_sessions": sum(len(s) for s in cp.bgp.sessions.values())}


def dryrun(size: int, repeat: int) -> dict:
    base = Network(generate_topology(size))
    _ = base.control_plane
    points, scope = reachability_endpoints(base)
    start = time.perf_counter()
    base.reachability(points)
    baseline_s = time.perf_counter() - start
    changes = [("R57", ["interface GigabitEthernet0/0", " ip ospf cost 50"]),
               ("R90", ["interface GigabitEthernet0/1", " shutdown"]),
               ("R3", ["ip route 192.0.2.0 255.255.255.0 Null0"])]
    per_change = {}
    for device, lines in changes:
        def run(device=device, lines=lines) -> None:
            candidate = base.fork()
            candidate.apply(device, lines)
            diff(base, candidate)
        per_change[f"{device}: {' / '.join(x.strip() for x in lines)}"] = _median_time(run, repeat)
    return {"seconds": max(per_change.values()), "per_change": per_change, "baseline_reachability_s": baseline_s,
            "reachability_scope": scope, "endpoints": len(points)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="100,500,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    details = {str(n): recompute(n, args.repeat) for n in sizes}
    dry = dryrun(200, args.repeat)
    result = {"recompute_s": {k: round(v["seconds"], 4) for k, v in details.items()},
              "dryrun_s": round(dry["seconds"], 4), "recompute_detail": details, "dryrun_detail": dry}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="twin_lab simulator benchmark")
    table.add_column("measure")
    table.add_column("seconds", justify="right")
    for size, seconds in result["recompute_s"].items():
        table.add_row(f"recompute {size} routers", f"{seconds:.3f}")
    for name, seconds in dry["per_change"].items():
        table.add_row(f"dry-run 200 routers — {name}", f"{seconds:.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
