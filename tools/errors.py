"""The one error type tools raise: a clear, redacted, one-line message an agent or operator can act on."""

from __future__ import annotations

from policies.redact import redact


class ToolError(RuntimeError):
    """A device or tool problem (unreachable, refused command, failed getter); the message is redacted.

    ``kind`` groups causes for callers: ``unreachable``, ``auth``, ``timeout``, ``refused``, ``device``,
    ``inventory``, ``invalid``.
    """

    def __init__(self, message: str, *, device: str | None = None, kind: str = "device"):
        self.device = device
        self.kind = kind
        prefix = f"{device}: " if device and not message.startswith(f"{device}:") else ""
        super().__init__(redact(prefix + message))

    def to_dict(self) -> dict[str, str | None]:
        return {"error": str(self), "kind": self.kind, "device": self.device}
