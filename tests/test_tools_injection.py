"""100 randomised failure injections into two-device transactions on one lab: every transaction ends
all-or-nothing - committed on both devices, or both devices exactly as before (0 devices left changed).

Faults: a random device, a random step (connect, snapshot, load, compare, commit, verify, a line the device
rejects) and a random kind (error before the call, reply lost after it, client drops the session, the
device hangs up); often a second fault strikes while rolling back.  Independent device pairs run in
parallel threads (the clients mostly wait on Netmiko's pacing, not on CPU)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lab_support import config_state, drop_server_sessions, served_lab

from tools.changeset import ChangeSet
from tools.connections import ConnectionSettings
from tools.journal import ChangeJournal
from tools.session import ToolSession
from tools.testing import FAULT_KINDS, Fault, FaultySession, lab_inventory
from tools.transaction import TransactionOptions, run_transaction
from twin_lab.emulator import Credentials, LabThread

USER, PASSWORD = "netops", "inject-pw"
INJECTIONS = 100
SETTINGS = ConnectionSettings(timeout=5, command_timeout=8, retries=1)
PRIMARY = ("connect", "get_config", "load_merge_candidate", "compare_config", "commit_config", "verify", "bad_line")
SECONDARY = ("rollback", "discard_config", "get_config", "connect", "commit_config")


@pytest.fixture(scope="module")
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD), "gen-12") as running:
        yield running


def plan(rng: random.Random, pair: tuple[str, str]) -> tuple[list[Fault], str | None, str, bool]:
    """(faults, device with a rejected line, verify outcome, abort_on_invalid_diff) for one iteration."""
    victim = rng.choice(pair)
    step = rng.choice(PRIMARY)
    faults: list[Fault] = []
    bad_on, verify = None, "pass"
    if step == "bad_line":
        bad_on = victim
    elif step == "verify":
        verify = rng.choice(["false", "raise"])
    else:
        skip = rng.randint(0, 3) if step == "connect" else 0
        faults.append(Fault(victim, step, rng.choice(FAULT_KINDS), skip=skip))
    if rng.random() < 0.4:  # and something else goes wrong while putting things back
        method = rng.choice(SECONDARY)
        faults.append(Fault(rng.choice(pair), method, rng.choice(FAULT_KINDS), skip=rng.randint(1, 4)))
    return faults, bad_on, verify, rng.random() < 0.5


@pytest.mark.slow
def test_randomised_failure_injection_leaves_nothing_half_done(lab: LabThread, tmp_path: Path) -> None:
    names = lab.server.devices
    pairs = [(names[i], names[i + 1]) for i in range(0, len(names) - 1, 2)]
    journal = ChangeJournal(tmp_path / "journal.sqlite")
    inventory = lab_inventory(lab.server.ports, username=USER, password=PASSWORD)
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    durations: list[float] = []

    def worker(index: int) -> None:
        pair = pairs[index]
        rng = random.Random(1000 + index)
        with ToolSession(inventory, settings=SETTINGS) as checker:
            for n in range(index, INJECTIONS, len(pairs)):
                faults, bad_on, verify, abort_early = plan(rng, pair)
                before = config_state(checker, pair)
                changes = {d: [f"interface Loopback{7000 + n}", f" description inject-{n}-{d}"] for d in pair}
                if bad_on:
                    changes[bad_on].append("frobnicate everything")
                change = ChangeSet(intent=f"injection {n}", changes=changes)

                def check(session, result, verify=verify) -> bool:
                    if verify == "raise":
                        raise RuntimeError("injected: verification crashed")
                    return verify == "pass"

                with FaultySession(inventory, faults, settings=SETTINGS,
                                   drop_hook=lambda device: drop_server_sessions(lab, device)) as session:
                    start = time.perf_counter()
                    result = run_transaction(session, change, verify=check, journal=journal,
                                             options=TransactionOptions(abort_on_invalid_diff=abort_early))
                    durations.append(time.perf_counter() - start)
                after = config_state(checker, pair)
                outcomes[result.status] += 1
                label = f"#{n} {pair} faults={faults} bad_on={bad_on} verify={verify}: {result.status}"
                if result.ok:
                    for device in pair:
                        running, startup = after[device]
                        if f" description inject-{n}-{device}" not in running or running != startup \
                                or "file prompt quiet" in running:
                            problems.append(f"{label}: {device} not cleanly committed")
                else:
                    changed = [d for d in pair if after[d] != before[d]]
                    if changed:
                        problems.append(f"{label}: left changed {changed}; {result.error}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        list(pool.map(worker, range(len(pairs))))
    elapsed = time.perf_counter() - start
    durations.sort()
    print(f"\n{INJECTIONS} injections in {elapsed:.1f} s ({len(pairs)} pairs in parallel); outcomes {dict(outcomes)}; "
          f"transaction median {durations[len(durations) // 2]:.2f} s, max {durations[-1]:.2f} s; "
          f"devices left changed: {len(problems)}")
    assert sum(outcomes.values()) == INJECTIONS
    assert not problems, "\n".join(problems)
    assert outcomes["rollback_failed"] == 0 and outcomes["rolled_back"] > 20
