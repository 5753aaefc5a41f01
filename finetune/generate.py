"""``twinops data generate``: DigiTwin-style training data from the twin, at scale.

Each *shard* is one scenario task ``(family, seed)`` on a training seed (never a held-out one:
``check_training_coordinates`` is called and ``is_heldout_seed`` asserted for every task).  In a worker
process the task's starting network (baseline + faults) is served **in-process** (``tools.inprocess``:
the unmodified Netmiko/NAPALM clients driving the emulator's shell, byte-identical read-tool outputs, no
SSH); the agent graph runs with the expert brain, ``approve=auto`` and the benchmark's scripted reviewer
(``agent.bench.reviewer``).  The apply step does not run the SSH transaction: the ChangeSet's lines go to
the twin network through the same config applier (``tools.inprocess.inprocess_transaction``: all or
nothing, verification hook, rollback), then the twin judges the run (``twin_lab.scenarios.evaluate``).

Kept:

* SFT rows (TRL conversational ``messages`` + ``tools``) from runs the twin judged successful only;
* DPO pairs: prompt = the conversation up to the expert's terminal action, chosen = that action,
  rejected = a perturbation of it (wrong device, wrong interface, a missing line, a destructive extra
  line, an unrelated shutdown; on a refusal task, complying) that the twin (applied to the same starting
  state and judged) or the policy pack shows to be wrong, unsafe or denied; ``reason`` says which.

Rows are tagged with a use-case category (``finetune.categories``), deduplicated (``row_key``) and split by
seed (``seed % 10 == 0`` -> validation).  Layout written in ``DIR``::

    sft/train.jsonl  sft/validation.jsonl  dpo/train.jsonl  dpo/validation.jsonl  README.md
    train.jsonl validation.jsonl   (copies of sft/, the layout ``twinops finetune --data DIR`` reads)
    steps/                         one row per decision in the compact view (``finetune.steps``)
    .work/manifest.jsonl .work/rows.jsonl  (resume state: finished shards and their rows)

Resumable: a shard's rows are appended before its manifest line; a re-run drops rows of shards without
a manifest line and skips finished shards, so nothing is run or written twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

TERMINALS = ("propose_change", "report_diagnosis", "refuse")
WORK = ".work"
MANIFEST = "manifest.jsonl"
SETTINGS = "settings.json"
ROWS = "rows.jsonl"
VALIDATION_MODULUS = 10
CHUNK = 4  # shards per worker call


class GenerateError(ValueError):
    """Bad arguments (the CLI exits 2)."""


def split_of(seed: int) -> str:
    return "validation" if seed % VALIDATION_MODULUS == 0 else "train"


def coordinate(index: int, families: list[str], base_seed: int) -> tuple[str, int]:
    """The ``index``-th shard: families round-robin, one fresh seed per shard (``base_seed + index``), so
    the seed split (``seed % 10``) sends every tenth shard to validation whatever the family."""
    return families[index % len(families)], base_seed + index


# --- one shard, in a worker ------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(toolset: str | None = None) -> None:
    """Per process: the expert brain, the policy pack, the in-process apply, a scratch state dir, and the
    toolset the expert's runs are recorded with."""
    if _WORKER:
        if toolset is not None:  # in-process runs (workers=1) reuse the worker across calls
            _WORKER["toolset"] = toolset
        return
    from agent.brains import load_chat_model
    from policies.pack import default_pack
    from tools.inprocess import install_inprocess_apply

    install_inprocess_apply()
    folder = tempfile.mkdtemp(prefix="twinops-gen-")
    os.environ["TWINOPS_STATE_DIR"] = folder
    _WORKER.update(brain=load_chat_model("expert"), pack=default_pack(), folder=folder, toolset=toolset or "standard")


def _tags(session: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in session.devices():
        data = session.host(name).data or {}
        tags = list(data.get("tags") or [])
        if data.get("role") and data["role"] not in tags:
            tags.append(data["role"])
        out[name] = {"tags": tags, "mgmt_interface": data.get("mgmt_interface")}
    return out


def run_shard(family: str, seed: int) -> dict[str, Any]:
    """Run one task and return ``{"family", "seed", "status", "sft": [...], "dpo": [...], ...}``; never raises."""
    started = time.perf_counter()
    out: dict[str, Any] = {"family": family, "seed": seed, "status": "error", "sft": [], "dpo": [],
                           "task_id": None, "error": None, "rejected_reasons": []}
    try:
        _init_worker()
        out.update(_run_shard(family, seed))
    except Exception as err:  # a task that cannot be generated or run: counted, never fatal
        out["error"] = f"{type(err).__name__}: {err}"[:500]
    out["wall_s"] = round(time.perf_counter() - started, 4)
    return out


def _run_shard(family: str, seed: int) -> dict[str, Any]:
    from agent.bench import reviewer, stopped_by
    from agent.runner import start_run
    from finetune.dataset import trajectory_to_sft_row
    from tools.inprocess import InProcessSession
    from tools.read_tools import get_running_config
    from twin_lab.faults.health import fork
    from twin_lab.scenarios import (
        RunFacts,
        check_training_coordinates,
        evaluate,
        generate_task,
        is_heldout_seed,
        prepare,
    )
    from twin_lab.scenarios.checks import config_lines

    check_training_coordinates(seed)
    task = generate_task(family, seed)
    check_training_coordinates(seed, task.topology)
    assert not is_heldout_seed(task.seed), f"held-out seed {task.seed} reached the generator"
    prepared = prepare(task)
    start = fork(prepared.network)
    session = InProcessSession(prepared.network)
    try:
        run = start_run(task.prompt, kind=task.agent_kind, inventory="<in-process>", brain="expert",
                        approve="auto", state_db=":memory:", trajectories=os.devnull,
                        task={"id": task.id, "family": task.family, "seed": task.seed},
                        approver=reviewer(task), session=session, brain_model=_WORKER["brain"],
                        pack=_WORKER["pack"], limits={"toolset": _WORKER.get("toolset", "standard")})
        state = run.state
        transaction = state.get("transaction") or None
        readback, mismatch = {}, []
        for device in sorted((transaction or {}).get("devices") or {}):
            text = get_running_config(session, device)["running"]
            readback[device] = text
            shown = session.lab.running_display(device, None, False)
            a, b = config_lines(text), config_lines(shown)
            if not (len(a) == len(b) and all(x == y or "<redacted>" in x for x, y in zip(a, b, strict=True))):
                mismatch.append(device)
        approvals, verdicts = list(state.get("approvals") or []), list(state.get("verdicts") or [])
        facts = RunFacts(status=run.outcome.get("status", "error"),
                         stopped_by=stopped_by(run.outcome, verdicts, approvals), diagnosis=state.get("diagnosis"),
                         verdicts=verdicts, transaction=transaction, approvals=approvals, readback=readback,
                         readback_mismatch=mismatch)
        judgement = evaluate(task, prepared, start, session.network, facts)
    finally:
        session.close()
    result: dict[str, Any] = {"task_id": task.id, "kind": task.kind, "topology": task.topology,
                              "status": "verified" if judgement.success else "failed",
                              "outcome": facts.status}
    if not judgement.success:
        failed = [c.detail if hasattr(c, "detail") else str(c) for c in judgement.checks if not c.ok][:3]
        result["error"] = "; ".join([*map(str, failed), *judgement.safety_violations])[:500] or facts.status
        return result
    record = run.trajectory or {}
    row = trajectory_to_sft_row(record)
    row["source"] = f"twinops-generate:{task.id}"  # deterministic (the run id holds a timestamp)
    result["sft"] = [row]
    pairs, reasons = preference_pairs(task, prepared, start, record, session, seed)
    result["dpo"] = pairs
    result["rejected_reasons"] = reasons
    return result


# --- preference pairs ------------------------------------------------------------------------------------


def _terminal_index(messages: list[dict[str, Any]]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        msg = messages[index]
        if msg.get("role") == "assistant" and any(c["function"]["name"] in TERMINALS
                                                  for c in msg.get("tool_calls") or []):
            return index
    return None


def _args(call: dict[str, Any]) -> dict[str, Any]:
    raw = call["function"].get("arguments")
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


def _interfaces(network: Any, device: str) -> list[str]:
    return re.findall(r"^interface (\S+)", network.running_config(device), re.MULTILINE)


def _pid(network: Any, device: str, protocol: str) -> str | None:
    match = re.search(rf"^router {protocol} (\d+)", network.running_config(device), re.MULTILINE)
    return match.group(1) if match else None


def perturbations(name: str, args: dict[str, Any], start: Any, rng: random.Random, prompt: str
                  ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(kind, description, perturbed terminal call (name, args))`` candidates, in a seeded order."""
    devices = start.device_names()
    changes = args.get("changes") if name == "propose_change" else args.get("remediation")
    found: list[tuple[str, str, dict[str, Any]]] = []
    if name == "refuse":
        found.extend(_comply(prompt, devices, start))
    elif changes:
        first = changes[0]
        device = first["device"]
        key = "changes" if name == "propose_change" else "remediation"

        def variant(new_changes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {**args, key: new_changes, **extra}

        others = [d for d in devices if d != device]
        if others:
            other = rng.choice(others)
            extra = {"device": other} if name == "report_diagnosis" and args.get("device") == device else {}
            found.append(("wrong_device", f"the change goes to {other} instead of {device}",
                          variant([{**first, "device": other}, *changes[1:]], **extra)))
        lines = list(first["lines"])
        itf_lines = [i for i, line in enumerate(lines) if line.startswith("interface ")]
        if itf_lines:
            current = lines[itf_lines[0]].split(None, 1)[1]
            choices = [i for i in _interfaces(start, device) if i != current and not i.lower().startswith("loop")]
            if choices:
                wrong = rng.choice(choices)
                new_lines = [*lines]
                new_lines[itf_lines[0]] = f"interface {wrong}"
                found.append(("wrong_interface", f"interface {wrong} instead of {current} on {device}",
                              variant([{**first, "lines": new_lines}, *changes[1:]])))
        body = [i for i, line in enumerate(lines) if not line.startswith(("interface ", "router ", "ip access-list"))]
        if len(lines) > 1 and body:
            drop = body[-1]
            found.append(("missing_line", f"the line {lines[drop]!r} is left out",
                          variant([{**first, "lines": lines[:drop] + lines[drop + 1:]}, *changes[1:]])))
        ospf, bgp = _pid(start, device, "ospf"), _pid(start, device, "bgp")
        destructive = f"no router ospf {ospf}" if ospf else f"no router bgp {bgp}" if bgp else "no ip routing"
        found.append(("destructive_line", f"adds the destructive line {destructive!r} on {device}",
                      variant([{**first, "lines": [*lines, destructive]}, *changes[1:]])))
        victims = [i for i in _interfaces(start, device) if not i.lower().startswith("loop")
                   and f"interface {i}" not in lines]
        if victims:
            victim = rng.choice(victims)
            found.append(("unrelated_shutdown", f"also shuts down {device} {victim}",
                          variant([*changes, {"device": device, "lines": [f"interface {victim}", "shutdown"]}])))
    rng.shuffle(found)
    for kind, why, new_args in found:
        out_name = "propose_change" if name == "refuse" else name
        yield kind, why, {"name": out_name, "args": new_args}


def _comply(prompt: str, devices: list[str], start: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """For a request that must be refused: a plan that carries it out (when it is a config change)."""
    text = prompt.lower()
    named = [d for d in devices if re.search(rf"\b{re.escape(d)}\b", prompt)]
    device = named[0] if named else devices[0]
    lines: list[str] = []
    if match := re.search(r"no router ospf (\d+)", text):
        lines = [f"no router ospf {match.group(1)}"]
    elif "logging" in text:
        lines = ["no logging on"]
    elif "archive" in text or "audit trail" in text:
        lines = ["no archive"]
    elif "all interfaces" in text:
        lines = [x for i in _interfaces(start, device) for x in (f"interface {i}", "shutdown")]
    elif match := re.search(r"management interface (\S+)", prompt):
        lines = [f"interface {match.group(1)}", "shutdown"]
    elif match := re.search(r"\b(\d+\.\d+\.\d+\.\d+)\b", prompt):
        address = match.group(1)
        lines = ["ip access-list extended TWINOPS-DEGRADE", f"deny ip host {address} any",
                 f"deny ip any host {address}", "permit ip any any"]
    if not lines:
        return []
    plan = {"summary": "carry out the request as asked", "changes": [{"device": device, "lines": lines}],
            "checks": []}
    return [("complied", f"carries out a request that must be refused ({lines[0]!r} on {device})", plan)]


def judge_plan(task: Any, prepared: Any, start: Any, name: str, args: dict[str, Any], session: Any
               ) -> str | None:
    """Why the terminal action ``name(args)`` is wrong, unsafe or denied for the starting state, or None
    when the twin and the policy accept it (then it is no rejected sample)."""
    from agent.actions import ACTION_SCHEMAS
    from tools.changeset import ChangeSet
    from twin_lab.faults.health import fork
    from twin_lab.scenarios import RunFacts, evaluate

    try:
        parsed = ACTION_SCHEMAS[name].model_validate(args).model_dump()
    except Exception as err:
        return f"invalid action: {str(err).splitlines()[0]}"
    changes = parsed.get("changes") if name == "propose_change" else parsed.get("remediation") or []
    reasons: list[str] = []
    verdict_json: dict[str, Any] | None = None
    network = fork(start)
    transaction = None
    if changes:
        from policies.engine import evaluate as policy_evaluate

        changeset = ChangeSet(intent=task.prompt, changes=[{"device": c["device"], "lines": c["lines"]}
                                                           for c in changes])
        request = changeset.to_change_request("twinops-agent", observations=[], inventory=_tags(session))
        verdict = policy_evaluate(request, _WORKER.get("pack"))
        verdict_json = verdict.to_json()
        rules = verdict_json.get("rules", [])
        denied = [r["id"] for r in rules if r.get("decision") == "deny"]
        asked = [r["id"] for r in rules if r.get("decision") == "needs_approval"
                 and r["id"] not in task.safety.approve_rules]
        if denied:
            reasons.append(f"policy denies: {', '.join(denied)}")
        elif asked:
            reasons.append(f"the reviewer would reject: {', '.join(asked)}")
        devices: dict[str, Any] = {}
        for change in changes:
            config = network.config_session(change["device"])
            for line in change["lines"]:
                error = config.apply(line)
                if error is not None:
                    reasons.append(f"the twin rejects {line!r} on {change['device']}: "
                                   f"{getattr(error, 'message', error)}")
                    break
            devices[change["device"]] = {"status": "committed"}
        transaction = {"status": "committed", "devices": devices}
    diagnosis = {k: parsed.get(k) for k in ("device", "component", "root_cause", "evidence")} \
        if name == "report_diagnosis" else None
    status = "refused" if name == "refuse" else "verified" if changes else "diagnosed"
    facts = RunFacts(status=status, stopped_by="agent" if name == "refuse" else "none", diagnosis=diagnosis,
                     verdicts=[{"stage": "guard", **verdict_json}] if verdict_json else [],
                     transaction=transaction)
    judgement = evaluate(task, prepared, start, network, facts)
    if not judgement.success:
        failed = [getattr(c, "detail", None) or getattr(c, "kind", "check") for c in judgement.checks if not c.ok]
        twin = "; ".join([*map(str, failed[:2]), *judgement.safety_violations[:2]])
        reasons.append(f"the twin judges it {'unsafe' if judgement.safety_violations else 'wrong'}: {twin}"[:400])
    return " | ".join(reasons) or None


def preference_pairs(task: Any, prepared: Any, start: Any, record: dict[str, Any], session: Any, seed: int,
                     limit: int = 2) -> tuple[list[dict[str, Any]], list[str]]:
    """Up to ``limit`` DPO rows for a verified run, each with a twin- or policy-shown reason."""
    from finetune.dataset import dpo_pair_row

    messages = record.get("messages") or []
    index = _terminal_index(messages)
    if index is None:
        return [], []
    chosen_msg = messages[index]
    call = next(c for c in chosen_msg["tool_calls"] if c["function"]["name"] in TERMINALS)
    name, args = call["function"]["name"], _args(call)
    rng = random.Random(f"dpo|{task.id}")
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []
    for kind, why, bad in perturbations(name, args, start, rng, task.prompt):
        reason = judge_plan(task, prepared, start, bad["name"], bad["args"], session)
        if reason is None:
            continue  # the twin and the policy accept this variant: not a rejected plan
        bad_call = {**call, "function": {**call["function"], "name": bad["name"],
                                         "arguments": json.dumps(bad["args"])}}
        rejected = {**chosen_msg, "tool_calls": [bad_call]}
        try:
            row = dpo_pair_row(messages[:index], [chosen_msg], [rejected], record.get("tools"),
                               kind=task.kind, family=task.family, seed=seed, task_id=task.id,
                               reason=f"{kind}: {why}. {reason}")
        except ValueError:
            continue
        row["perturbation"] = kind
        rows.append(row)
        kinds.append(kind)
        if len(rows) >= limit:
            break
    return rows, kinds


# --- the driver ---------------------------------------------------------------------------------------------


def _run_chunk(coords: list[tuple[int, str, int]]) -> list[dict[str, Any]]:
    return [{**run_shard(family, seed), "index": index} for index, family, seed in coords]


class GenerateReport(BaseModel):
    out: str
    target: int
    workers: int
    toolset: str = "standard"
    base_seed: int
    families: list[str]
    shards_run: int = 0
    shards_resumed: int = 0
    shards_verified: int = 0
    sft_rows: int = 0
    dpo_rows: int = 0
    duplicates_removed: int = 0
    splits: dict[str, dict[str, int]] = Field(default_factory=dict)
    per_family: dict[str, dict[str, int]] = Field(default_factory=dict)
    per_category: dict[str, dict[str, int]] = Field(default_factory=dict)
    perturbations: dict[str, int] = Field(default_factory=dict)
    failed_families: list[str] = Field(default_factory=list)
    errors: dict[str, int] = Field(default_factory=dict)
    wall_s: float = 0.0
    shard_wall_s_mean: float = 0.0
    step_rows: int = 0
    samples_per_s: float = 0.0
    sft_per_s: float = 0.0
    step_per_s: float = 0.0


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            if line.strip():
                out.append(json.loads(line))
    return out


def validate_args(n: int, workers: int, seed: int, families: list[str] | None = None) -> None:
    """``GenerateError`` (exit 2) for a bad target, worker count, seed or family list."""
    from twin_lab.scenarios import FAMILIES, check_training_coordinates, is_heldout_seed

    if n < 1:
        raise GenerateError("--n must be at least 1")
    if workers < 1:
        raise GenerateError("--workers must be at least 1")
    fams = list(families or FAMILIES)
    unknown = [f for f in fams if f not in FAMILIES]
    if unknown or not fams:
        raise GenerateError(f"unknown families: {', '.join(unknown) or '(none given)'}")
    try:
        check_training_coordinates(seed)
    except ValueError as err:
        raise GenerateError(str(err)) from None
    span = n * 4 + 100  # seeds the run may reach (verified yield is well above 1/4)
    if is_heldout_seed(seed + span):
        raise GenerateError(f"--seed {seed} runs into the held-out seeds; use a smaller seed")


def _check_toolset(work: Path, toolset: str) -> None:
    """A resumed dataset keeps the toolset it started with: rows of two toolsets teach two protocols."""
    path = work / SETTINGS
    if path.is_file():
        before = json.loads(path.read_text()).get("toolset", "standard")
        if before != toolset:
            raise GenerateError(f"{work.parent}: generated with --toolset {before}; resume with the same toolset "
                                f"or use another --out")
    else:
        path.write_text(json.dumps({"toolset": toolset}) + "\n")


def generate(n: int, out: str | Path, *, workers: int = 2, seed: int = 0, families: list[str] | None = None,
             toolset: str = "standard", progress: Callable[[int, int], None] | None = None, stop_after: int | None = None,
             on_shard: Callable[[dict[str, Any]], None] | None = None) -> GenerateReport:
    """Generate until ``n`` verified SFT rows exist in ``out`` (resuming what is there); write the files.

    ``stop_after`` (tests: simulated interruption) stops after that many new shards, before writing."""
    from agent.draft_tool import check_toolset
    from twin_lab.scenarios import FAMILIES, check_training_coordinates, is_heldout_seed

    fams = list(families or FAMILIES)
    validate_args(n, workers, seed, fams)
    try:
        check_toolset(toolset)
    except ValueError as err:
        raise GenerateError(str(err)) from None
    t0 = time.perf_counter()
    root = Path(out)
    work = root / WORK
    work.mkdir(parents=True, exist_ok=True)
    manifest_path, rows_path = work / MANIFEST, work / ROWS
    _check_toolset(work, toolset)
    manifest = {(m["family"], m["seed"]): m for m in _read_lines(manifest_path)}
    kept_rows = [r for r in _read_lines(rows_path) if (r["family"], r["seed"]) in manifest]
    with rows_path.open("w", encoding="utf-8") as handle:  # drop rows of shards that never finished
        for r in kept_rows:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    report = GenerateReport(out=str(root), target=n, workers=workers, toolset=toolset, base_seed=seed, families=fams,
                            shards_resumed=len(manifest))
    sft_count = sum(1 for r in kept_rows if r["type"] == "sft")
    walls: list[float] = []

    def pending() -> Iterator[tuple[int, str, int]]:
        index = 0
        while True:
            family, s = coordinate(index, fams, seed)
            check_training_coordinates(s)
            assert not is_heldout_seed(s)
            if (family, s) not in manifest:
                yield index, family, s
            index += 1

    def record(result: dict[str, Any]) -> None:
        nonlocal sft_count
        key = (result["family"], result["seed"])
        if key in manifest:
            return
        with rows_path.open("a", encoding="utf-8") as handle:
            for kind in ("sft", "dpo"):
                for row in result[kind]:
                    handle.write(json.dumps({"type": kind, "family": key[0], "seed": key[1],
                                             "index": result["index"], "row": row}, ensure_ascii=False) + "\n")
        entry = {k: result.get(k) for k in ("family", "seed", "index", "task_id", "status", "error", "wall_s")}
        entry.update(sft=len(result["sft"]), dpo=len(result["dpo"]), perturbations=result["rejected_reasons"])
        with manifest_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        manifest[key] = entry
        sft_count += len(result["sft"])
        walls.append(float(result.get("wall_s") or 0.0))
        report.shards_run += 1
        if on_shard is not None:
            on_shard(result)
        if progress is not None:
            progress(min(sft_count, n), n)

    source = pending()
    interrupted = False
    if progress is not None:
        progress(min(sft_count, n), n)
    if sft_count < n:
        if workers == 1:
            _init_worker(toolset)
            for index, family, s in source:
                record({**run_shard(family, s), "index": index})
                if stop_after is not None and report.shards_run >= stop_after:
                    interrupted = True
                    break
                if sft_count >= n:
                    break
        else:
            context = get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                     initargs=(toolset,)) as pool:
                inflight: set[Any] = set()
                while True:
                    stop = sft_count >= n or (stop_after is not None and report.shards_run >= stop_after)
                    while not stop and len(inflight) < 2 * workers:
                        chunk = [next(source) for _ in range(CHUNK)]
                        inflight.add(pool.submit(_run_chunk, chunk))
                    if not inflight:
                        break
                    done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                    for future in done:
                        for result in future.result():
                            record(result)
                    if stop_after is not None and report.shards_run >= stop_after:
                        interrupted = True
                        for future in inflight:
                            future.cancel()
                        break
    if interrupted:
        report.wall_s = round(time.perf_counter() - t0, 3)
        return report
    _finish(root, n, report)
    report.wall_s = round(time.perf_counter() - t0, 3)
    report.shard_wall_s_mean = round(sum(walls) / len(walls), 4) if walls else 0.0
    samples = report.sft_rows + report.dpo_rows
    report.samples_per_s = round(samples / report.wall_s, 3) if report.wall_s else 0.0
    report.sft_per_s = round(report.sft_rows / report.wall_s, 3) if report.wall_s else 0.0
    report.step_per_s = round(report.step_rows / report.wall_s, 3) if report.wall_s else 0.0
    (work / "report.json").write_text(report.model_dump_json(indent=2))
    return report


def _finish(root: Path, n: int, report: GenerateReport) -> None:
    """Deduplicate, keep the first ``n`` SFT rows in shard order (and those shards' pairs), split, write."""
    from finetune.categories import NOT_COVERED
    from finetune.dataset import row_key, write_jsonl

    work = root / WORK
    manifest = {(m["family"], m["seed"]): m for m in _read_lines(work / MANIFEST)}
    entries = sorted(_read_lines(work / ROWS), key=lambda r: (r["index"], r["type"] != "sft"))
    seen: set[str] = set()
    sft: list[dict[str, Any]] = []
    dpo: list[dict[str, Any]] = []
    kept_shards: set[tuple[str, int]] = set()
    for entry in entries:
        key = (entry["family"], entry["seed"])
        if entry["type"] == "sft" and len(sft) >= n:
            continue
        if entry["type"] == "dpo" and key not in kept_shards:
            continue
        digest = row_key(entry["row"])
        if digest in seen:
            report.duplicates_removed += 1
            continue
        seen.add(digest)
        if entry["type"] == "sft":
            sft.append(entry["row"])
            kept_shards.add(key)
        else:
            dpo.append(entry["row"])
    files: dict[str, list[dict[str, Any]]] = {}
    for kind, rows in (("sft", sft), ("dpo", dpo)):
        for split in ("train", "validation"):
            part = [r for r in rows if split_of(int(r["seed"])) == split]
            files[f"{kind}/{split}.jsonl"] = part
            write_jsonl(root / kind / f"{split}.jsonl", part)
            report.splits.setdefault(kind, {})[split] = len(part)
    for split in ("train", "validation"):  # the layout ``twinops finetune --data DIR`` reads
        write_jsonl(root / f"{split}.jsonl", files[f"sft/{split}.jsonl"])
    report.sft_rows, report.dpo_rows = len(sft), len(dpo)
    fam_stats: dict[str, Counter] = {}
    for m in manifest.values():
        stats = fam_stats.setdefault(m["family"], Counter())
        stats["shards"] += 1
        stats["verified"] += m["status"] == "verified"
        stats["errors"] += m["status"] == "error"
        if m["status"] != "verified":
            report.errors[m["family"]] = report.errors.get(m["family"], 0) + 1
    for row in sft:
        fam_stats.setdefault(row["family"], Counter())["sft"] += 1
    for row in dpo:
        fam_stats.setdefault(row["family"], Counter())["dpo"] += 1
        report.perturbations[row.get("perturbation", "?")] = report.perturbations.get(row.get("perturbation", "?"),
                                                                                      0) + 1
    report.per_family = {f: dict(c) for f, c in sorted(fam_stats.items())}
    report.failed_families = sorted(f for f, c in fam_stats.items() if c["shards"] and not c["verified"])
    cats: dict[str, Counter] = {}
    for kind, rows in (("sft", sft), ("dpo", dpo)):
        for row in rows:
            cats.setdefault(row["category"], Counter())[kind] += 1
    report.per_category = {c: dict(v) for c, v in sorted(cats.items())}
    from finetune.steps import write_step_dataset

    report.step_rows = sum(write_step_dataset(root, root / "steps").values())
    (root / "README.md").write_text(dataset_card(report, NOT_COVERED), encoding="utf-8")


def dataset_card(report: GenerateReport, not_covered: list[str]) -> str:
    lines = [
        "# twinops generated dataset", "",
        "Generated by `twinops data generate` from the twin lab's scenario families with the deterministic "
        "expert brain, on training seeds only (disjoint from the `heldout` suite: every seed is checked with "
        "`check_training_coordinates` / `is_heldout_seed`).", "",
        "How it was made:", "",
        "- each task ran through the LangGraph agent (observe -> plan -> guard -> dry-run -> approve -> apply "
        "-> verify) with `--approve auto` and the benchmark's scripted reviewer;",
        "- read tools ran on the **in-process transport** (`tools/inprocess.py`: unmodified Netmiko and NAPALM "
        "clients driving the emulator's shell without SSH; outputs are byte-identical to the SSH lab's);",
        "- the apply step did **not** run the SSH transaction: the ChangeSet's lines were applied directly to the "
        "twin network with the same config applier (all or nothing, verification checks, rollback on failure), "
        "then the twin judged the run (`twin_lab.scenarios.evaluate`);",
        "- SFT rows come only from runs the twin judged successful; DPO pairs use the expert's terminal action "
        "as `chosen` and a perturbation (wrong device / interface, missing line, destructive extra line, "
        "unrelated shutdown, or complying with a request that must be refused) that the twin or the policy pack "
        "shows to be wrong, unsafe or denied as `rejected`, with the reason in `reason`;",
        f"- split by seed: `seed % {VALIDATION_MODULUS} == 0` -> validation; rows deduplicated by content hash.", "",
        "Files: `sft/train.jsonl`, `sft/validation.jsonl` (TRL conversational `messages` + `tools`), "
        "`dpo/train.jsonl`, `dpo/validation.jsonl` (`prompt` / `chosen` / `rejected` + `tools`, `reason`); "
        "`train.jsonl` / `validation.jsonl` repeat `sft/` for `twinops finetune --data DIR`.", "",
        "## Counts", "",
        f"- SFT rows: {report.sft_rows} (train {report.splits.get('sft', {}).get('train', 0)}, validation "
        f"{report.splits.get('sft', {}).get('validation', 0)})",
        f"- DPO pairs: {report.dpo_rows} (train {report.splits.get('dpo', {}).get('train', 0)}, validation "
        f"{report.splits.get('dpo', {}).get('validation', 0)})",
        f"- step rows (one per decision, compact view, `steps/` for small models: `twinops finetune "
        f"--data DIR/steps`): {report.step_rows}",
        f"- duplicates removed: {report.duplicates_removed}", "",
        "## Per family", "", "| family | shards | verified | SFT | DPO |", "|---|---:|---:|---:|---:|",
    ]
    for family, stats in report.per_family.items():
        lines.append(f"| {family} | {stats.get('shards', 0)} | {stats.get('verified', 0)} | {stats.get('sft', 0)} "
                     f"| {stats.get('dpo', 0)} |")
    lines += ["", "## Per category (TSLAM-Mini's 20 use cases)", "", "| category | SFT | DPO |", "|---|---:|---:|"]
    for category, stats in report.per_category.items():
        lines.append(f"| {category} | {stats.get('sft', 0)} | {stats.get('dpo', 0)} |")
    lines += ["", "Not covered by the twin (no rows here; supply your own data): "
              + ", ".join(f"`{c}`" for c in not_covered) + "."]
    if report.failed_families:
        lines += ["", "Families where the expert produced no verified run (skipped): "
                  + ", ".join(f"`{f}`" for f in report.failed_families) + "."]
    if report.perturbations:
        lines += ["", "Rejected-plan perturbations: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(report.perturbations.items())) + "."]
    return "\n".join(lines) + "\n"
