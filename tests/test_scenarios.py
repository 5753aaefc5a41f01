"""Scenario generation: deterministic, every family valid (its reference solution passes, doing nothing
fails), suite files, and the held-out split."""

from __future__ import annotations

import re

import pytest

from twin_lab.addressing import short_interface
from twin_lab.faults import InjectedFault
from twin_lab.faults.health import fork
from twin_lab.scenarios import (
    FAMILIES,
    HELDOUT_TOPOLOGIES,
    RunFacts,
    ScenarioError,
    Task,
    check_training_coordinates,
    evaluate,
    family_names,
    generate_task,
    is_heldout_seed,
    is_heldout_topology,
    load_suite,
    match_families,
    prepare,
    suite_names,
)
from twin_lab.scenarios.checks import changed_devices
from twin_lab.scenarios.reference import apply_reference, reference_facts


def solve_and_idle(task: Task):
    """(judgement of the reference solution, judgement of doing nothing)."""
    prepared = prepare(task)
    start = fork(prepared.network)
    solved = fork(prepared.network)
    apply_reference(task, prepared, solved)
    good = evaluate(task, prepared, start, solved, reference_facts(task, prepared, changed_devices(start, solved)))
    status = "refused" if task.kind == "refusal" else "verified"
    idle = evaluate(task, prepared, start, fork(prepared.network), RunFacts(status=status, stopped_by="agent"))
    return good, idle


def test_generation_is_deterministic() -> None:
    for family in ("change.static_route", "change.acl_block", "diag.ospf_mtu_mismatch", "diag.double",
                   "refuse.degradation"):
        for seed in (0, 7):
            a, b = generate_task(family, seed), generate_task(family, seed)
            assert a.model_dump() == b.model_dump()
            assert a.id == f"{family}/{a.topology}/{seed}"
    prompts = {generate_task("change.description", seed).prompt for seed in range(6)}
    assert len(prompts) > 3  # the seed varies targets and phrasings


def test_families_cover_the_brief() -> None:
    change = [f for f in FAMILIES if f.startswith("change.")]
    assert len(change) >= 8
    from twin_lab.faults import list_kinds

    assert {f"diag.{k}" for k in list_kinds()} <= set(FAMILIES)
    assert "diag.double" in FAMILIES
    assert {"refuse.destructive", "refuse.out_of_scope", "refuse.degradation"} <= set(FAMILIES)
    assert match_families("refuse") == ["refuse.destructive", "refuse.out_of_scope", "refuse.degradation"]
    assert match_families("change.static_route") == ["change.static_route"]
    assert match_families("nope") == []


@pytest.mark.parametrize("family", family_names())
def test_every_family_is_valid_on_small(family: str) -> None:
    task = generate_task(family, 2, "small")
    assert task.prompt and task.success
    good, idle = solve_and_idle(task)
    assert good.success, (task.prompt, [c for c in good.checks if not c.ok], good.safety_violations)
    if task.kind != "refusal":
        assert not idle.intent_ok, (task.prompt, "already satisfied before the agent does anything")


@pytest.mark.parametrize("family", [f for f in family_names() if f.startswith(("change.", "refuse."))]
                         + ["diag.ospf_area_mismatch", "diag.acl_missing_permit", "diag.double"])
def test_families_on_generated_topologies(family: str) -> None:
    for topology in ("gen-12", "gen-9"):
        task = generate_task(family, 5, topology)
        assert task.topology == topology
        good, idle = solve_and_idle(task)
        assert good.success, (task.id, task.prompt, [c for c in good.checks if not c.ok], good.safety_violations)
        if task.kind != "refusal":
            assert not idle.intent_ok, task.id


def _ticket_names(prompt: str, fault: InjectedFault) -> bool:
    """Whether the operator's ticket names at least one effect of ``fault`` (before any "(and N more)")."""
    text = re.sub(r" \(\d+(?:\.\d+){3}\)", "", prompt)  # "h1 (10.0.1.10)" -> "h1"

    def named(item: str) -> bool:
        return re.search(rf"(?<![\w:]){re.escape(item)}(?![\w:/])", text) is not None

    own = fault.symptom
    return (any(named(f"{f.src} -> {f.dst}") for f in own.unreachable)
            or any(named(f"{a.device} {short_interface(a.interface)} - {a.neighbor}") for a in own.ospf_down)
            or any(named(f"{s.device} -> {s.peer_ip}") for s in own.bgp_down)
            or any(named(f"{i.device} {short_interface(i.interface)}") for i in own.interfaces_down))


def test_double_fault_ticket_names_both_faults() -> None:
    """A double-fault ticket lists 6 lost flows, then "(and N more)": the cut must never hide one fault
    entirely (diag.double/gen-8/5 hid a Null0 static route whose only effect, R5:Lo0 <-> R7:Lo0, fell in
    the tail: no operator - and no agent - could know the second fault was there)."""
    for seed in range(12):
        task = generate_task("diag.double", seed)
        prepared = prepare(task)
        assert len(prepared.faults) == 2
        for fault in prepared.faults:
            assert _ticket_names(task.prompt, fault), (task.id, fault.kind, fault.symptom.summary, task.prompt)
    task = generate_task("diag.double", 5, "gen-8")
    assert "R5:Loopback0 -> R7:Loopback0" in task.prompt and "(and 10 more)" in task.prompt


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["smoke", "standard", "heldout"])
def test_every_suite_task_is_valid(suite: str) -> None:
    for entry in load_suite(suite).expand():
        task = entry.task()
        good, idle = solve_and_idle(task)
        assert good.success, (task.id, [c for c in good.checks if not c.ok], good.safety_violations)
        assert task.kind == "refusal" or not idle.intent_ok, task.id


def test_unknown_family_and_topology() -> None:
    with pytest.raises(ScenarioError, match="unknown family"):
        generate_task("change.nope", 1)
    with pytest.raises(ScenarioError, match="unknown topology"):
        generate_task("change.static_route", 1, "tiny")
    with pytest.raises(ScenarioError, match="not applicable"):
        generate_task("diag.bgp_missing_update_source", 1, "gen-8")  # no iBGP on generated topologies
    # without an explicit topology it falls back to one where the family applies
    assert generate_task("diag.bgp_missing_update_source", 1).topology == "small"


def test_suites_load_with_the_expected_sizes() -> None:
    assert set(suite_names()) >= {"smoke", "standard", "heldout"}
    smoke, standard, heldout = (load_suite(n) for n in ("smoke", "standard", "heldout"))
    assert all(s.version >= 1 for s in (smoke, standard, heldout))
    assert 15 <= len(smoke.expand()) <= 25
    entries = standard.expand()
    assert len(entries) >= 150
    assert {e.family for e in entries} == set(FAMILIES)  # every family
    assert {e.family for e in heldout.expand()} == set(FAMILIES)


def test_heldout_is_disjoint_from_training_by_construction() -> None:
    assert not is_heldout_seed(0) and not is_heldout_seed(10**9 - 1)
    assert is_heldout_seed(10**9) and is_heldout_seed(2 * 10**9 - 1) and not is_heldout_seed(2 * 10**9)
    assert all(is_heldout_topology(t) for t in HELDOUT_TOPOLOGIES)
    assert not is_heldout_topology("small") and not is_heldout_topology("gen-12")
    heldout = load_suite("heldout").expand()
    assert all(is_heldout_seed(e.seed) for e in heldout)
    for name in ("smoke", "standard"):
        assert not any(is_heldout_seed(e.seed) for e in load_suite(name).expand())
    for entry in heldout[::9]:  # generated tasks land on held-out topologies (small only as a fallback)
        task = entry.task()
        assert is_heldout_topology(task.topology) or task.topology == "small", task.id
    with pytest.raises(ValueError, match="not a training seed"):
        check_training_coordinates(10**9 + 5)
    with pytest.raises(ValueError, match="held out"):
        check_training_coordinates(5, "gen-15")
    check_training_coordinates(5, "gen-16")


def test_suite_file_errors(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="unknown suite"):
        load_suite("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\nentries:\n  - {family: change.nope, seed: 1}\n")
    with pytest.raises(ScenarioError, match="unknown family"):
        load_suite(bad)
    leak = tmp_path / "leak.yaml"
    leak.write_text("name: leak\nversion: 1\nheldout: true\nrules:\n  - {families: refuse, seeds: [3]}\n")
    with pytest.raises(ScenarioError, match="not a held-out seed"):
        load_suite(leak)
    unversioned = tmp_path / "unversioned.yaml"
    unversioned.write_text("name: x\nentries: []\n")
    with pytest.raises(ScenarioError, match="version"):
        load_suite(unversioned)
    custom = tmp_path / "custom.yaml"
    custom.write_text("name: custom\nversion: 2\nrules:\n  - {families: [change.shutdown, refuse], seeds: "
                      "{start: 4, count: 2}, topologies: [small, gen-8]}\n")
    entries = load_suite(custom).expand()
    assert len(entries) == 8 and entries[0].topology == "small" and entries[1].topology == "gen-8"
