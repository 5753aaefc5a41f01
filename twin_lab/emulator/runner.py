"""Run a ``LabServer`` on a private event-loop thread, for synchronous callers (tests, CLI, agent).

The simulator ``Network`` is not thread-safe and the emulator mutates it from its loop, so
code on other threads reads or changes the network through ``call()``, which runs on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from twin_lab.emulator.server import LabServer

T = TypeVar("T")


class LabThread:
    """``with LabThread(LabServer(net)) as lab: lab.server.ports[...]``."""

    def __init__(self, server: LabServer):
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> LabThread:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as err:  # surface start errors (port in use) to the caller
                failure.append(err)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="twin-lab-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("emulator did not start in time")
        if failure:
            raise failure[0]
        return self

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the emulator's loop thread and return its result."""
        assert self._loop is not None

        async def invoke() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> LabThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
