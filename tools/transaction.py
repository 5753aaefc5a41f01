"""Apply a ``ChangeSet`` as one transaction across devices, all or nothing.

Steps (each one runs on every device, in parallel up to ``TransactionOptions.parallel``):
``connect`` -> ``snapshot`` (running-config before) -> ``load`` (NAPALM ``load_merge_candidate``) ->
``compare`` (``compare_config``; a candidate the device cannot parse fails here) -> ``commit`` (devices
with a non-empty diff) -> ``verify`` (optional hook) -> ``cleanup``.

On any failure at any step on any device every touched device is put back: a loaded candidate is
discarded; a device whose commit started is rolled back (NAPALM ``rollback``; if its running-config still
differs from the snapshot, the snapshot is restored with ``load_replace_candidate`` + ``commit_config``),
over a fresh session when the old one died, and then compared with the snapshot again.

Side effects of NAPALM's ios driver are undone too: the ``file prompt quiet`` it adds for file
operations is removed (unless the device had it or the change adds it) and the startup-config is
saved again, so a rolled-back device reads back exactly as before (modulo ``!`` comment lines).

Every step goes to the journal (when given) and every device action to the audit log (when given).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from policies.audit import AuditLog
from policies.redact import redact
from tools.changeset import ChangeSet
from tools.connections import describe_error
from tools.errors import ToolError
from tools.journal import ChangeJournal
from tools.session import ToolSession, audit_lock

TransactionStatus = Literal["committed", "no_change", "failed", "rolled_back", "rollback_failed", "in_doubt"]
DeviceStatus = Literal["pending", "connected", "loaded", "unchanged", "committed", "failed", "discarded",
                       "rolled_back", "rollback_failed", "skipped"]
INVALID_DIFF_MARKER = "incremental-diff failed"
CONFIG_HEADERS = ("Building configuration", "Current configuration", "Using ", "! Last configuration change",
                  "! NVRAM config last updated")
_FPQ = re.compile(r"^\s*file\s+prompt\s+quiet\s*$", re.IGNORECASE | re.MULTILINE)


class DeviceOutcome(BaseModel):
    device: str
    status: DeviceStatus = "pending"
    diff: str = Field(default="", description="compare_config output (redacted).")
    error: str | None = None
    rolled_back: bool = False
    steps: list[str] = Field(default_factory=list, description="Steps done on this device, in order.")
    warnings: list[str] = Field(default_factory=list)


class TransactionResult(BaseModel):
    change_id: str
    idempotency_key: str
    intent: str = ""
    status: TransactionStatus
    failed_step: str | None = None
    failed_device: str | None = None
    error: str | None = None
    verified: bool | None = None
    devices: dict[str, DeviceOutcome] = Field(default_factory=dict)
    replayed: bool = False
    attempt: int = 1
    duration_s: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.status in ("committed", "no_change")

    def diffs(self) -> dict[str, str]:
        return {name: outcome.diff for name, outcome in self.devices.items() if outcome.diff}


class TransactionOptions(BaseModel):
    parallel: int = Field(default=8, ge=1, description="Devices worked on at once within a step.")
    abort_on_invalid_diff: bool = Field(default=True, description="Fail at compare when the device reports "
                                                                  "the candidate does not parse.")
    rollback_attempts: int = Field(default=3, ge=1, le=10, description="Tries per device to put it back.")


VerifyHook = Callable[[ToolSession, TransactionResult], bool]


def config_lines(text: str, *, ignore_fpq: bool = True) -> list[str]:
    """Config text reduced to what matters for equality: no ``!`` comments, headers or blank lines."""
    out = []
    for line in text.replace("\r", "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("!", *CONFIG_HEADERS)):
            continue
        if ignore_fpq and _FPQ.match(line):
            continue
        out.append(line.rstrip())
    return out


def same_config(a: str, b: str, *, ignore_fpq: bool = True) -> bool:
    return config_lines(a, ignore_fpq=ignore_fpq) == config_lines(b, ignore_fpq=ignore_fpq)


class _StepFailure(Exception):
    def __init__(self, step: str, device: str | None, message: str):
        super().__init__(message)
        self.step, self.device, self.message = step, device, message


@dataclass
class _Device:
    name: str
    outcome: DeviceOutcome
    pre_running: str = ""
    pre_fpq: bool = False
    adds_fpq: bool = False
    loaded: bool = False
    commit_started: bool = False
    saved: bool = False


class _Transaction:
    def __init__(self, session: ToolSession, changeset: ChangeSet, verify: VerifyHook | None,
                 journal: ChangeJournal | None, audit: AuditLog | None, options: TransactionOptions, attempt: int):
        self.session, self.changeset, self.verify = session, changeset, verify
        self.journal, self.audit, self.options, self.attempt = journal, audit, options, attempt
        names = changeset.device_names()
        self.devices = {n: _Device(n, DeviceOutcome(device=n),
                                   adds_fpq=any(_FPQ.match(line) for line in changeset.lines_for(n)))
                        for n in names}
        self.result = TransactionResult(change_id=changeset.id, idempotency_key=changeset.idempotency_key,
                                        intent=changeset.intent, status="failed", attempt=attempt,
                                        devices={n: d.outcome for n, d in self.devices.items()})

    # --- recording ------------------------------------------------------------------------------

    def _record(self, step: str, status: str, device: str | None, detail: Any = None) -> None:
        if self.journal is not None:
            self.journal.record_step(self.changeset.idempotency_key, self.attempt, step, status, device=device,
                                     detail=detail)
        if status != "start" and device is not None and self.audit is not None:
            with audit_lock(self.audit):
                self.audit.log_action(device, step, {"change_id": self.changeset.id, "status": status,
                                                     "key": self.changeset.idempotency_key, "detail": detail})

    def _act(self, dev: _Device, step: str, fn: Callable[[], Any], detail: Any = None) -> Any:
        """One device action, recorded before (journal) and after (journal + audit)."""
        self._record(step, "start", dev.name)
        try:
            with self.session.pool.lock(dev.name):  # read tools on other threads wait for this action
                value = fn()
        except Exception as err:
            self._record(step, "failed", dev.name, {"error": describe_error(err), **(detail or {})})
            raise
        self._record(step, "ok", dev.name, detail)
        dev.outcome.steps.append(step)
        return value

    # --- phases -----------------------------------------------------------------------------------

    def _phase(self, step: str, names: list[str], fn: Callable[[_Device], None], *, stop_early: bool = False
               ) -> None:
        failures: dict[str, str] = {}
        abort = threading.Event()

        def one(name: str) -> None:
            dev = self.devices[name]
            if stop_early and abort.is_set():
                dev.outcome.warnings.append(f"{step} not started: another device failed")
                return
            try:
                fn(dev)
            except Exception as err:
                abort.set()
                message = describe_error(err)
                failures[name] = message
                dev.outcome.status = "failed"
                dev.outcome.error = redact(f"{step}: {message}")

        workers = min(self.options.parallel, len(names))
        if workers <= 1:
            for name in names:
                one(name)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"twinops-{step}") as pool:
                list(pool.map(one, names))
        if failures:
            first = next(n for n in names if n in failures)
            raise _StepFailure(step, first, failures[first])

    def _connect(self, dev: _Device) -> None:
        self._act(dev, "connect", lambda: self.session.napalm(dev.name))
        dev.outcome.status = "connected"

    def _snapshot(self, dev: _Device) -> None:
        driver = self.session.napalm(dev.name)
        dev.pre_running = self._act(dev, "snapshot", lambda: driver.get_config(retrieve="running")["running"])
        if not dev.pre_running.strip():
            raise ToolError("get_config returned an empty running-config", device=dev.name)
        dev.pre_fpq = bool(_FPQ.search(dev.pre_running))
        if dev.pre_fpq and hasattr(driver, "prompt_quiet_configured"):
            driver.prompt_quiet_configured, driver.prompt_quiet_changed = True, False

    def _load(self, dev: _Device) -> None:
        driver = self.session.napalm(dev.name)
        dev.loaded = True
        candidate = self.changeset.candidate(dev.name)
        self._act(dev, "load", lambda: driver.load_merge_candidate(config=candidate),
                  {"lines": len(self.changeset.lines_for(dev.name))})
        dev.outcome.status = "loaded"

    def _compare(self, dev: _Device) -> None:
        driver = self.session.napalm(dev.name)
        diff = str(self._act(dev, "compare", driver.compare_config) or "")
        dev.outcome.diff = redact(diff)
        if self.options.abort_on_invalid_diff and INVALID_DIFF_MARKER in diff:
            raise ToolError("the device does not accept the candidate (incremental diff failed: a line is "
                            "invalid on this device)", device=dev.name, kind="invalid")
        if not diff.strip():
            dev.outcome.status = "unchanged"

    def _commit(self, dev: _Device) -> None:
        driver = self.session.napalm(dev.name)
        dev.commit_started = dev.saved = True
        self._act(dev, "commit", driver.commit_config)
        dev.outcome.status = "committed"

    def _verify(self) -> None:
        if self.verify is None:
            return
        self._record("verify", "start", None)
        try:
            self.result.status = "committed"
            ok = bool(self.verify(self.session, self.result))
        except Exception as err:
            self._record("verify", "failed", None, {"error": describe_error(err)})
            raise _StepFailure("verify", None, f"verification raised: {describe_error(err)}") from err
        self.result.verified = ok
        if not ok:
            self._record("verify", "failed", None)
            raise _StepFailure("verify", None, "verification failed")
        self._record("verify", "ok", None)

    # --- putting things back -------------------------------------------------------------------------

    def _running(self, dev: _Device, driver: Any) -> str:
        return self._act(dev, "read_running", lambda: driver.get_config(retrieve="running")["running"])

    def _cleanup(self, dev: _Device, driver: Any, running: str | None = None) -> None:
        """Undo NAPALM's ``file prompt quiet`` and re-save the startup-config if the commit saved it."""
        if not (dev.pre_fpq or dev.adds_fpq):
            changed_by_driver = bool(getattr(driver, "prompt_quiet_changed", False))
            present = changed_by_driver if running is None else bool(_FPQ.search(running))
            if present:
                self._act(dev, "cleanup_file_prompt",
                          lambda: driver.device.send_config_set(["no file prompt quiet"]))
                if hasattr(driver, "prompt_quiet_changed"):
                    driver.prompt_quiet_changed, driver.prompt_quiet_configured = False, False
        if dev.saved:
            self._act(dev, "save_config", driver.device.save_config)

    def _revert(self, dev: _Device, driver: Any) -> str:
        running = self._running(dev, driver)
        if same_config(running, dev.pre_running):
            return running
        try:
            self._act(dev, "rollback", driver.rollback)
        except Exception:
            if not self.session.pool.napalm_alive(driver):
                raise  # the session died: retry on a fresh one
        dev.saved = True
        running = self._running(dev, driver)
        if same_config(running, dev.pre_running):
            return running
        self._act(dev, "restore_snapshot", lambda: (driver.load_replace_candidate(config=dev.pre_running),
                                                    driver.commit_config()))
        running = self._running(dev, driver)
        if not same_config(running, dev.pre_running):
            raise ToolError("running-config still differs from the snapshot after rollback", device=dev.name)
        return running

    def _restore(self, dev: _Device) -> None:
        if not (dev.loaded or dev.commit_started):
            if dev.outcome.status in ("connected", "pending"):
                dev.outcome.status = "skipped"
            return
        last: Exception | None = None
        for attempt in range(self.options.rollback_attempts):
            try:
                driver = self.session.napalm(dev.name, fresh=attempt > 0)
                if dev.commit_started:
                    running = self._revert(dev, driver)
                else:
                    self._act(dev, "discard", driver.discard_config)
                    running = self._running(dev, driver)
                self._cleanup(dev, driver, running)
                final = self._running(dev, driver)
                if not same_config(final, dev.pre_running, ignore_fpq=dev.pre_fpq or dev.adds_fpq):
                    raise ToolError("running-config differs from the snapshot after cleanup", device=dev.name)
            except Exception as err:
                last = err
                continue
            dev.outcome.rolled_back = dev.commit_started
            dev.outcome.status = "rolled_back" if dev.commit_started else "discarded"
            return
        dev.outcome.status = "rollback_failed"
        dev.outcome.error = redact(f"{dev.outcome.error + '; ' if dev.outcome.error else ''}could not restore the "
                                   f"device: {describe_error(last) if last else 'unknown error'}")

    def _rollback_all(self, failure: _StepFailure) -> None:
        self.result.failed_step, self.result.failed_device = failure.step, failure.device
        self.result.error = redact(f"{failure.step} failed" + (f" on {failure.device}" if failure.device else "")
                                   + f": {failure.message}")
        names = [n for n, d in self.devices.items() if d.loaded or d.commit_started]
        for name, dev in self.devices.items():
            if name not in names and dev.outcome.status in ("connected", "pending"):
                dev.outcome.status = "skipped"
        workers = min(self.options.parallel, max(len(names), 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twinops-rollback") as pool:
            list(pool.map(lambda n: self._restore(self.devices[n]), names))
        if any(self.devices[n].outcome.status == "rollback_failed" for n in names):
            self.result.status = "rollback_failed"
        elif any(self.devices[n].commit_started for n in names):
            self.result.status = "rolled_back"
        else:
            self.result.status = "failed"

    # --- the whole thing ------------------------------------------------------------------------------

    def run(self) -> TransactionResult:
        start = time.perf_counter()
        names = list(self.devices)
        try:
            self._phase("connect", names, self._connect)
            self._phase("snapshot", names, self._snapshot)
            self._phase("load", names, self._load)
            self._phase("compare", names, self._compare)
            to_commit = [n for n in names if self.devices[n].outcome.diff.strip()]
            if not to_commit:
                self.result.status = "no_change"
            else:
                self._phase("commit", to_commit, self._commit, stop_early=True)
                self._verify()
                self.result.status = "committed"
                self._finish(to_commit)
        except _StepFailure as failure:
            self._rollback_all(failure)
        self.result.duration_s = round(time.perf_counter() - start, 3)
        return self.result

    def _finish(self, committed: list[str]) -> None:
        """After success: undo NAPALM's side effects on committed devices (failures here are warnings)."""
        def one(name: str) -> None:
            dev = self.devices[name]
            try:
                driver = self.session.napalm(name)
                self._cleanup(dev, driver, self._running(dev, driver))  # the session may be a new one
            except Exception as err:
                dev.outcome.warnings.append(redact(f"cleanup: {describe_error(err)}"))

        with ThreadPoolExecutor(max_workers=min(self.options.parallel, len(committed))) as pool:
            list(pool.map(one, committed))


def run_transaction(session: ToolSession, changeset: ChangeSet, *, verify: VerifyHook | None = None,
                    journal: ChangeJournal | None = None, audit: AuditLog | None = None,
                    options: TransactionOptions | None = None) -> TransactionResult:
    """Apply ``changeset`` on every device or on none.  With a journal, a key already applied returns the
    recorded result (``replayed=True``) and touches nothing."""
    audit = audit if audit is not None else session.audit
    attempt = 1
    if journal is not None:
        attempt, record = journal.begin(changeset)
        if record is not None:
            return _replayed(changeset, record, audit)
    missing = [n for n in changeset.device_names() if n not in session.inventory]
    if missing:
        result = TransactionResult(change_id=changeset.id, idempotency_key=changeset.idempotency_key,
                                   intent=changeset.intent, status="failed", failed_step="connect",
                                   failed_device=missing[0], attempt=attempt,
                                   error=f"unknown device(s) not in the inventory: {', '.join(missing)}")
    else:
        result = _Transaction(session, changeset, verify, journal, audit, options or TransactionOptions(),
                              attempt).run()
    if journal is not None:
        journal.finish(changeset.idempotency_key, result.status, result)
    return result


def _replayed(changeset: ChangeSet, record: Any, audit: AuditLog | None) -> TransactionResult:
    if record.result is not None and record.status not in ("running",):
        result = TransactionResult.model_validate({k: v for k, v in record.result.items() if k != "ok"})
        result.replayed = True
    else:
        result = TransactionResult(change_id=record.change_id, idempotency_key=record.key, intent=changeset.intent,
                                   status="in_doubt", replayed=True, attempt=record.attempts,
                                   error=f"a run with this key started at {record.created} and never finished; "
                                         "check the devices, then abandon the key in the journal to retry")
    if audit is not None:
        with audit_lock(audit):
            for device in changeset.device_names():
                audit.log_action(device, "replay_skipped", {"key": changeset.idempotency_key,
                                                            "recorded_status": result.status})
    return result
