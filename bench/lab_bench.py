"""Emulator benchmark: lab boot time and memory, Netmiko round trips, a NAPALM change cycle at scale.

Every lab runs as ``twinops lab serve`` in its own process (so RSS is the lab's alone and the
clients do not share its interpreter).  Prints one JSON object (``--json``) or a short report.
Figures, not assertions; targets on a 2-core machine: 1000 devices up <= 2 s within <= 300 MiB,
Netmiko connect + ``show version`` median <= 0.15 s, NAPALM cycle on 100 devices / 16 threads <= 8 s.

Keys:
  boot_s[N]         lab process start of work -> every device listening (topology load, simulator
                    state, one listener per device), as the ready line reports it
  boot_wall_s[N]    the same from ``exec`` (adds interpreter start and imports)
  rss_mib[N]        resident memory of the lab process once ready (rss_peak_mib: high-water mark)
  netmiko_show_version_s   median of ConnectHandler(...) + send_command("show version"), stock settings
  netmiko_breakdown        where that time goes (Netmiko's own fixed sleeps dominate; see README)
  napalm_cycle_100_devices_16_threads_s   open + get_facts + get_interfaces + load_merge_candidate (SCP)
                    + compare_config + commit_config + close on 100 devices, 16 threads
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


class Lab:
    """``twinops lab serve`` in a subprocess; ``with Lab("gen-100", tmp) as lab: lab.hosts[...]``."""

    def __init__(self, preset: str, workdir: Path, lean: bool = False):
        self.preset = preset
        self.entry = ["twin_lab.lab_cli"] if lean else ["agent.cli", "lab"]
        self.inventory = workdir / f"hosts-{preset}.yaml"
        self.process: subprocess.Popen | None = None
        self.ready_line = ""
        self.wall_s = 0.0
        self.hosts: dict = {}

    def __enter__(self) -> Lab:
        start = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.entry, "serve", "--preset", self.preset,
             "--inventory-out", str(self.inventory)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if selector.select(timeout=0.05):
                line = self.process.stdout.readline()
                if line.startswith("lab ready:"):
                    self.ready_line = line.strip()
                    break
                if not line and self.process.poll() is not None:
                    break
        if not self.ready_line:
            self.process.kill()
            raise RuntimeError(f"lab {self.preset} did not start: {self.process.communicate()[1]}")
        self.wall_s = time.perf_counter() - start
        self.hosts = yaml.safe_load(self.inventory.read_text())
        return self

    @property
    def boot_s(self) -> float:
        match = re.search(r" in ([\d.]+) s;", self.ready_line)
        return float(match.group(1)) if match else self.wall_s

    def memory_mib(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the lab process in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in status.splitlines())
                  if k in ("VmRSS", "VmHWM")}
        return values["VmRSS"], values["VmHWM"]

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process is not None:
            self.process.communicate()


def boot(sizes: list[int], workdir: Path) -> dict:
    from netmiko import ConnectHandler

    result: dict = {"boot_s": {}, "boot_wall_s": {}, "rss_mib": {}, "rss_peak_mib": {}}
    for size in sizes:
        with Lab(f"gen-{size}", workdir) as lab:
            rss, peak = lab.memory_mib()
            name, host = list(lab.hosts.items())[-1]  # the lab answers as soon as it says it is ready
            with ConnectHandler(device_type="cisco_ios", host=host["hostname"], port=host["port"],
                                username=host["username"], password=host["password"]) as conn:
                assert conn.find_prompt().startswith(name)
            key = str(size)
            result["boot_s"][key] = round(lab.boot_s, 3)
            result["boot_wall_s"][key] = round(lab.wall_s, 3)
            result["rss_mib"][key] = round(rss, 1)
            result["rss_peak_mib"][key] = round(peak, 1)
    # The same lab without the agent's imports (``python -m twin_lab.lab_cli serve``): the emulator's own cost.
    size = max(sizes)
    with Lab(f"gen-{size}", workdir, lean=True) as lab:
        rss, _peak = lab.memory_mib()
        result["lean_entry"] = {"size": size, "boot_s": round(lab.boot_s, 3), "boot_wall_s": round(lab.wall_s, 3),
                                "rss_mib": round(rss, 1)}
    return result


def netmiko_round_trips(workdir: Path, runs: int) -> dict:
    import paramiko
    from netmiko import ConnectHandler

    with Lab("small", workdir) as lab:
        host = lab.hosts["R1"]
        args = {"device_type": "cisco_ios", "host": host["hostname"], "port": host["port"],
                "username": host["username"], "password": host["password"]}
        stock, connect, show, tuned, handshake, server_show = [], [], [], [], [], []
        for _ in range(runs):
            start = time.perf_counter()
            conn = ConnectHandler(**args)
            middle = time.perf_counter()
            assert "R1 uptime is" in conn.send_command("show version")
            end = time.perf_counter()
            stock.append(end - start)
            connect.append(middle - start)
            show.append(end - middle)
            start = time.perf_counter()
            conn.send_command("show version", expect_string=r"R1#")
            server_show.append(time.perf_counter() - start)
            conn.disconnect()

            start = time.perf_counter()
            with ConnectHandler(**args, global_delay_factor=0.01) as fast:
                fast.send_command("show version", expect_string=r"R1#")
            tuned.append(time.perf_counter() - start)

            start = time.perf_counter()
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect(host["hostname"], port=host["port"], username=host["username"],
                           password=host["password"], look_for_keys=False, allow_agent=False)
            handshake.append(time.perf_counter() - start)
            client.close()
    med = statistics.median
    return {
        "netmiko_show_version_s": round(med(stock), 4),
        "netmiko_breakdown": {
            "connect_s": round(med(connect), 4),
            "show_version_s": round(med(show), 4),
            "show_version_with_expect_string_s": round(med(server_show), 4),
            "ssh_handshake_and_auth_s": round(med(handshake), 4),
            "connect_plus_show_global_delay_factor_0.01_s": round(med(tuned), 4),
            "runs": runs,
        },
    }


def napalm_cycle(workdir: Path, devices: int, threads: int, extra_args: dict | None = None) -> tuple[float, float]:
    """(wall seconds for all devices, median seconds per device)."""
    from napalm import get_network_driver

    driver_class = get_network_driver("ios")
    with Lab(f"gen-{devices}", workdir) as lab:
        names = list(lab.hosts)[:devices]

        def cycle(name: str) -> float:
            host = lab.hosts[name]
            started = time.perf_counter()
            driver = driver_class(hostname=host["hostname"], username=host["username"], password=host["password"],
                                  optional_args={"port": host["port"], "dest_file_system": "flash:",
                                                 "secret": host["data"]["secret"], **(extra_args or {})})
            driver.open()
            try:
                facts = driver.get_facts()
                assert facts["hostname"] and facts["interface_list"]
                assert driver.get_interfaces()
                driver.load_merge_candidate(config="interface Loopback99\n description lab bench\n")
                assert "+interface Loopback99" in driver.compare_config()
                driver.commit_config()
            finally:
                driver.close()
            return time.perf_counter() - started

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            per_device = list(pool.map(cycle, names))
        total = time.perf_counter() - start
    assert len(per_device) == len(names)
    return total, statistics.median(per_device)


def napalm_cycles(workdir: Path, devices: int, threads: int) -> dict:
    stock, stock_each = napalm_cycle(workdir, devices, threads)
    tuned, tuned_each = napalm_cycle(workdir, devices, threads, {"global_delay_factor": 0.01})
    key = f"napalm_cycle_{devices}_devices_{threads}_threads_s"
    return {key: round(stock, 3),
            "napalm_cycle_breakdown": {"per_device_median_s": round(stock_each, 3),
                                       "with_global_delay_factor_0.01_s": round(tuned, 3),
                                       "with_global_delay_factor_0.01_per_device_median_s": round(tuned_each, 3)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="100,1000", help="lab sizes to boot (comma separated)")
    parser.add_argument("--netmiko-runs", type=int, default=15)
    parser.add_argument("--napalm-devices", type=int, default=100)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        workdir = Path(tmp)
        result = {**boot(sizes, workdir), **netmiko_round_trips(workdir, args.netmiko_runs),
                  **napalm_cycles(workdir, args.napalm_devices, args.threads)}
    result["machine_cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:<45} {value}")


if __name__ == "__main__":
    main()
