"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests, scripted by a reply function.

The reply function gets each request as ``{"path", "body", "auth"}`` and returns the JSON payload to send
(status 200) or ``(status, payload)``; ``completion`` builds a ``chat.completion`` payload. Every request
is recorded in ``requests`` (``bodies``: just the JSON bodies).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

Reply = Callable[[dict[str, Any]], "dict[str, Any] | tuple[int, dict[str, Any]]"]


class OpenAIStub(ThreadingHTTPServer):
    def __init__(self, reply: Reply) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.requests: list[dict[str, Any]] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: OpenAIStub

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        answer = self.server.reply(self.server.requests[-1])
        status, payload = answer if isinstance(answer, tuple) else (200, answer)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def completion(body: dict[str, Any], message: dict[str, Any], *, finish_reason: str = "stop",
               usage: tuple[int, int] = (10, 5), id: str = "x") -> dict[str, Any]:
    """A ``chat.completion`` answering ``body`` with one choice, ``message``; usage (prompt, completion)."""
    return {"id": id, "object": "chat.completion", "created": 0, "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}


S = TypeVar("S", bound=OpenAIStub)


@contextmanager
def serving(stub: S, monkeypatch: pytest.MonkeyPatch) -> Iterator[S]:
    """Serve ``stub`` on a thread (proxies bypassed for 127.0.0.1) until the block ends."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join(timeout=5)
