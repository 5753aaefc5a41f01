"""Benchmark scenarios: families of tasks generated from (family, seed, topology), judged by the twin.

    >>> from twin_lab.scenarios import generate_task, prepare, evaluate
    >>> task = generate_task("change.static_route", 3)        # deterministic
    >>> prepared = prepare(task)                              # baseline + starting network (+ faults)
    >>> ... run an agent against prepared.network ...
    >>> evaluate(task, prepared, start, prepared.network, facts).success

Pure: no I/O besides reading the suite files shipped in ``suites/``.
"""

from twin_lab.scenarios.checks import config_has, config_lines, evaluate, start_configs
from twin_lab.scenarios.families import CHANGE_FAMILIES, DIAG_FAMILIES, FAMILIES, REFUSAL_FAMILIES
from twin_lab.scenarios.generate import (
    HELDOUT_SEEDS,
    HELDOUT_TOPOLOGIES,
    STANDARD_TOPOLOGIES,
    TRAIN_SEEDS,
    check_training_coordinates,
    family_names,
    generate_task,
    is_heldout_seed,
    is_heldout_topology,
    match_families,
)
from twin_lab.scenarios.model import (
    ROUTINE_APPROVALS,
    Check,
    CheckResult,
    Judgement,
    RunFacts,
    Safety,
    Setup,
    Task,
)
from twin_lab.scenarios.prepare import Prepared, ScenarioError, prepare
from twin_lab.scenarios.suites import Suite, SuiteEntry, load_suite, suite_names, suite_tasks

__all__ = [
    "CHANGE_FAMILIES", "DIAG_FAMILIES", "FAMILIES", "HELDOUT_SEEDS", "HELDOUT_TOPOLOGIES", "REFUSAL_FAMILIES",
    "ROUTINE_APPROVALS", "STANDARD_TOPOLOGIES", "TRAIN_SEEDS", "Check", "CheckResult", "Judgement", "Prepared",
    "RunFacts", "Safety", "ScenarioError", "Setup", "Suite", "SuiteEntry", "Task", "check_training_coordinates",
    "config_has", "config_lines", "evaluate", "family_names", "generate_task", "is_heldout_seed",
    "is_heldout_topology", "load_suite", "match_families", "prepare", "start_configs", "suite_names", "suite_tasks",
]
