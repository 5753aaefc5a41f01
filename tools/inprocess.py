"""An in-process transport to the twin lab: the same read tools, byte-identical outputs, no sockets.

Over SSH, a tool call costs a Netmiko/NAPALM round trip through paramiko, asyncssh and the lab's event
loop.  For data generation (DigiTwin-style, thousands of runs) that dominates, so this module plugs the
emulator's ``Shell`` (the very CLI state machine the SSH server drives) straight into the clients:

- ``ShellChannel``: a Netmiko *channel* (``write_channel`` / ``read_channel``) that feeds one ``Shell``;
- ``InProcessIOS``: Netmiko's own ``CiscoIosSSH`` (unmodified send_command, prompt handling, echo and
  prompt stripping, session preparation) over a ``ShellChannel`` instead of paramiko;
- an unmodified NAPALM ``IOSDriver`` whose ``device`` is an ``InProcessIOS`` (no ``open()``): every
  getter calls ``self.device.send_command`` exactly as over SSH;
- ``InProcessPool`` / ``InProcessSession``: the ``ConnectionPool`` / ``ToolSession`` variants that hand
  these out, so ``tools.read_tools`` and ``tools.dryrun`` run unchanged.

Every shell of one lab shares one lock: the SSH lab serialises all sessions on its event-loop thread, so
the in-process lab does the same (the dry-run pulls devices on several threads).

``inprocess_transaction`` applies a ``ChangeSet`` directly to the twin network with the one config
applier (the lines a NAPALM merge would load), verifies with the hook, and puts every device back on a
failure.  It stands in for ``tools.transaction.run_transaction`` on an ``InProcessSession`` only (staging
files on flash over SCP is not modelled here); ``install_inprocess_apply()`` routes the agent graph's
apply step to it for in-process sessions and leaves every other session on the real transaction.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
from types import SimpleNamespace
from typing import Any

from netmiko.cisco.cisco_ios import CiscoIosSSH

from tools.changeset import ChangeSet
from tools.connections import ConnectionPool, ConnectionSettings
from tools.inventory import Host, build_inventory
from tools.session import ToolSession
from tools.transaction import DeviceOutcome, TransactionResult

DEFAULT_CREDENTIALS = ("twin", "twin-pw", "twin-en")
PORT_BASE = 10_000  # stable fake ports in the in-process inventory (nothing listens)


class ShellChannel:
    """A Netmiko channel onto one emulator ``Shell`` (what an SSH channel carries, without the socket)."""

    def __init__(self, lab: Any, device: str, commands: Any, username: str, lock: threading.RLock):
        from twin_lab.emulator.shell import Shell

        self._buffer: list[str] = []
        self._lock = lock
        self.closed = False
        self.shell = Shell(lab, device, commands, username=username, write=self._buffer.append,
                           close=self._on_close, peer="in-process")
        self.transport = SimpleNamespace(is_active=lambda: not self.closed)  # NAPALM's is_alive looks here
        with self._lock:
            self.shell.start()

    def _on_close(self) -> None:
        self.closed = True

    def write_channel(self, out_data: str) -> None:
        if self.closed:
            raise OSError("in-process session closed")
        with self._lock:
            self.shell.feed(out_data)

    def read_channel(self) -> str:
        text = "".join(self._buffer)
        self._buffer.clear()
        return text

    def close(self) -> None:
        self.closed = True


class InProcessIOS(CiscoIosSSH):
    """Netmiko's ``cisco_ios`` connection over a ``ShellChannel`` (Netmiko's processing, unchanged)."""

    def __init__(self, channel: ShellChannel, *, host: str, username: str, password: str, secret: str = "",
                 **kwargs: Any):
        kwargs.setdefault("global_delay_factor", 0.01)
        super().__init__(host=host, username=username, password=password, secret=secret, auto_connect=False,
                         **kwargs)
        self.channel = channel  # type: ignore[assignment]
        self.remote_conn = channel  # type: ignore[assignment]
        self._try_session_preparation()

    def is_alive(self) -> bool:
        return not self.channel.closed  # type: ignore[attr-defined]

    def clear_buffer(self, backoff: bool = True, backoff_max: float = 3.0, delay_factor: float | None = None) -> str:
        # the shell has written everything it will write: drain once, no polling sleeps
        return self.read_channel()

    def find_prompt(self, delay_factor: float = 1.0, pattern: str | None = None) -> str:
        """Netmiko's ``find_prompt`` (RETURN, read, last line) without its sleeps."""
        self.clear_buffer()
        self.write_channel(self.RETURN)
        output = self.read_channel()
        if pattern:
            deadline = time.monotonic() + 5.0
            while not re.search(pattern, output) and time.monotonic() < deadline:
                time.sleep(0.001)
                output += self.read_channel()
        prompt = output.strip().split(self.RESPONSE_RETURN)[-1].strip()
        self.clear_buffer()
        if not prompt:
            raise ValueError(f"Unable to find prompt: {prompt}")
        return prompt

    def _try_session_preparation(self, force_data: bool = True) -> None:
        # Netmiko's version sleeps 0.1 s after the first RETURN for data to arrive: here it is already there
        try:
            if force_data:
                self.write_channel(self.RETURN)
            self.session_preparation()
        except Exception:
            self.disconnect()
            raise

    def send_command(self, command_string: str, expect_string: str | None = None, read_timeout: float = 10.0,
                     delay_factor: float | None = None, max_loops: int | None = None,
                     auto_find_prompt: bool = True, strip_prompt: bool = True, strip_command: bool = True,
                     normalize: bool = True, use_textfsm: bool = False, textfsm_template: str | None = None,
                     use_ttp: bool = False, ttp_template: str | None = None, use_genie: bool = False,
                     cmd_verify: bool = True, raise_parsing_error: bool = False) -> Any:
        """Netmiko's ``send_command`` without its polling sleeps: the shell answers synchronously (echo,
        output and prompt in one write), so the same steps - prompt pattern, first-line repaint filter,
        echo and prompt stripping, structured parsing - run on the whole answer at once."""
        from netmiko.exceptions import ReadTimeout
        from netmiko.utilities import structured_data_converter

        search_pattern = expect_string if expect_string is not None else self._prompt_handler(auto_find_prompt)
        if normalize:
            command_string = self.normalize_cmd(command_string)
        self.write_channel(command_string)
        output = self.read_channel()
        deadline = time.monotonic() + min(read_timeout, 5.0)
        while not re.search(search_pattern, self._first_line_handler(output, search_pattern)[0]):
            if time.monotonic() > deadline:
                raise ReadTimeout(f"Pattern not detected: {search_pattern!r} in output.")
            time.sleep(0.001)
            output += self.read_channel()
        output, _ = self._first_line_handler(output, search_pattern)
        output = self._sanitize_output(output, strip_command=strip_command, command_string=command_string,
                                       strip_prompt=strip_prompt)
        return structured_data_converter(command=command_string, raw_data=output, platform=self.device_type,
                                         use_textfsm=use_textfsm, use_ttp=use_ttp, use_genie=use_genie,
                                         textfsm_template=textfsm_template, ttp_template=ttp_template,
                                         raise_parsing_error=raise_parsing_error)

    def disconnect(self) -> None:
        try:
            if not self.channel.closed:  # type: ignore[attr-defined]
                self.cleanup()
        except Exception:
            pass
        finally:
            self.channel.close()  # type: ignore[attr-defined]
            self.remote_conn = None


def _napalm_driver(conn: InProcessIOS, host: Host, timeout: int) -> Any:
    from napalm.ios.ios import IOSDriver

    optional = {"secret": host.enable_secret, "dest_file_system": "flash:", **host.optional_args}
    driver = IOSDriver(hostname=host.hostname, username=host.username or "",
                       password=host.password.get_secret_value() if host.password else "",
                       timeout=timeout, optional_args=optional)
    driver.device = conn
    driver._netmiko_device = conn
    return driver


class InProcessPool(ConnectionPool):
    """A ``ConnectionPool`` whose sessions are in-process shells on ``lab`` (a ``LabState``)."""

    def __init__(self, inventory: Any, lab: Any, commands: Any, settings: ConnectionSettings | None = None):
        super().__init__(inventory, settings)
        self.lab = lab
        self.commands = commands
        self.lab_lock = threading.RLock()

    def _channel(self, host: Host) -> ShellChannel:
        return ShellChannel(self.lab, host.name, self.commands, host.username or "twin", self.lab_lock)

    def _connection(self, host: Host) -> InProcessIOS:
        conn = InProcessIOS(self._channel(host), host=host.hostname, username=host.username or "",
                            password=host.password.get_secret_value() if host.password else "",
                            secret=host.enable_secret or "")
        if not conn.check_enable_mode():
            conn.enable()
        return conn

    def _open(self, host: Host, opener: Any) -> Any:  # no sockets, no deadline thread
        return opener(host, self.settings.timeout)

    def _open_napalm(self, host: Host, budget: float) -> Any:
        return _napalm_driver(self._connection(host), host, max(1, int(self.settings.command_timeout)))

    def _open_netmiko(self, host: Host, budget: float) -> Any:
        return self._connection(host)


def inprocess_hosts(network: Any, credentials: Any, address: str = "127.0.0.1") -> dict[str, Any]:
    """A Nornir-shaped hosts mapping for ``network`` (like ``twinops lab serve`` writes, fake ports)."""
    hosts = {}
    for index, name in enumerate(network.device_names()):
        spec = network.topology.specs.get(name)
        hosts[name] = {"hostname": address, "port": PORT_BASE + index, "platform": "ios",
                       "username": credentials.username, "password": credentials.password,
                       "data": {"role": getattr(spec, "role", None), "tags": list(getattr(spec, "tags", None) or []),
                                "mgmt_interface": getattr(spec, "mgmt_interface", None),
                                "secret": credentials.secret},
                       "connection_options": {"napalm": {"extras": {"optional_args": {"secret": credentials.secret}}},
                                              "netmiko": {"extras": {"secret": credentials.secret}}}}
    return hosts


class InProcessSession(ToolSession):
    """A ``ToolSession`` on a twin ``Network`` served in-process (no SSH).  ``session.network`` is live."""

    def __init__(self, network: Any, *, credentials: Any = None, audit: Any = None,
                 settings: ConnectionSettings | None = None, hosts: dict[str, Any] | None = None):
        from twin_lab.emulator import Credentials, LabState
        from twin_lab.emulator.exec_commands import build_commands

        credentials = credentials or Credentials(*DEFAULT_CREDENTIALS)
        self.lab = LabState(network, credentials)
        inventory = build_inventory(hosts or inprocess_hosts(network, credentials), source="<in-process>")
        super().__init__(inventory, settings=settings, audit=audit)
        self.pool = InProcessPool(inventory, self.lab, _commands(build_commands), settings)

    @property
    def network(self) -> Any:
        return self.lab.network


_COMMANDS: dict[str, Any] = {}


def _commands(build: Any) -> Any:
    """The emulator's command tree is immutable and shared by every session: build it once per process."""
    if "tree" not in _COMMANDS:
        _COMMANDS["tree"] = build()
    return _COMMANDS["tree"]


# --- applying a ChangeSet in-process ------------------------------------------------------------------


def _unified(before: str, after: str, device: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), f"{device} (running)",
                                 f"{device} (candidate)", lineterm="", n=1)
    return "\n".join(lines)


def inprocess_transaction(session: InProcessSession, changeset: ChangeSet, *, verify: Any = None,
                          journal: Any = None, audit: Any = None, options: Any = None) -> TransactionResult:
    """Apply ``changeset`` to the twin behind ``session`` with the config applier; all or nothing.

    A line the twin rejects fails the change (``compare`` step, like a candidate the device cannot
    parse); a failed verification rolls every device back (the network is restored from a fork taken
    before).  The result has ``run_transaction``'s shape."""
    from policies.redact import redact
    from twin_lab.faults.health import fork

    started = time.perf_counter()
    names = changeset.device_names()
    outcomes = {n: DeviceOutcome(device=n) for n in names}
    result = TransactionResult(change_id=changeset.id, idempotency_key=changeset.idempotency_key,
                               intent=changeset.intent, status="failed", devices=outcomes)
    with session.pool.lab_lock:
        snapshot = fork(session.network)
        network = session.network
        before = {n: network.running_config(n) for n in names}
        failure: tuple[str, str, str] | None = None
        for name in names:
            config = network.config_session(name)
            outcomes[name].steps += ["connect", "snapshot", "load"]
            for line in changeset.lines_for(name):
                error = config.apply(line)
                if error is not None:
                    failure = ("compare", name, f"{line!r}: {getattr(error, 'message', error)}")
                    break
            if failure:
                break
            after = network.running_config(name)
            outcomes[name].diff = redact(_unified(before[name], after, name))
            outcomes[name].steps.append("compare")
            outcomes[name].status = "committed" if after != before[name] else "unchanged"
            if after != before[name]:
                outcomes[name].steps.append("commit")
        if failure:
            session.lab.network = snapshot
            result.failed_step, result.failed_device, result.error = failure
            for outcome in outcomes.values():
                outcome.status = "discarded" if outcome.status == "pending" or outcome.device == failure[1] \
                    else "rolled_back"
                outcome.rolled_back = outcome.status == "rolled_back"
            outcomes[failure[1]].error = failure[2]
            result.status = "rolled_back"
        else:
            for name in names:
                session.lab.touch(name, "twinops-agent")
    if not failure:
        changed = [n for n in names if outcomes[n].status == "committed"]
        result.status = "committed" if changed else "no_change"
        if verify is not None:
            ok = bool(verify(session, result))
            result.verified = ok
            if not ok:
                with session.pool.lab_lock:
                    session.lab.network = snapshot
                for outcome in outcomes.values():
                    if outcome.status == "committed":
                        outcome.status, outcome.rolled_back = "rolled_back", True
                result.status, result.failed_step, result.error = "rolled_back", "verify", "verification failed"
    result.duration_s = round(time.perf_counter() - started, 4)
    if session.audit is not None:
        session.log_action(",".join(names), "inprocess_apply", {"status": result.status})
    return result


_INSTALLED: dict[str, Any] = {}


def install_inprocess_apply() -> None:
    """Route the agent graph's apply step to ``inprocess_transaction`` for ``InProcessSession``s (any
    other session keeps the real SSH transaction).  Idempotent."""
    import agent.graph as graph

    if "original" in _INSTALLED:
        return
    original = graph.run_transaction
    _INSTALLED["original"] = original

    def dispatch(session: Any, changeset: ChangeSet, **kwargs: Any) -> TransactionResult:
        if isinstance(session, InProcessSession):
            return inprocess_transaction(session, changeset, **kwargs)
        return original(session, changeset, **kwargs)

    graph.run_transaction = dispatch
