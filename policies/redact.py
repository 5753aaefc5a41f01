"""Redact secrets from config text and free text; a ``logging.Filter`` that does it for every record.

``redact("username x password 0 abc")`` → ``"username x password 0 <redacted>"``: the keyword and the
encryption type stay (they help a reader), the secret goes.  Covers passwords, enable secrets, SNMP
communities and v3 keys, TACACS/RADIUS keys, key-chain strings, BGP/OSPF/NTP keys, IKE pre-shared keys,
``$1$``-style hashes, and ``password: x`` / ``token=x`` in free text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "<redacted>"
_ENC = r"(?:[0-9]\s+)?"  # IOS encryption type (0 clear, 5/8/9 hash, 6/7 reversible)
_KEY_NOT_SECRET = r"(?!(?:chain|generate|zeroize|config-key|decrypt|import|export|storage|pubkey-chain|rsa|ec|" \
                  r"string|id|exchange|ring|keyring)\b)"

_PATTERNS: list[re.Pattern[str]] = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in (
    # free text: password: x, pwd=x, token=..., api_key: ...
    r"(\b(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|community(?:\s+string)?)"
    r"\s*(?:is|was|=|:)\s*)([^\s,;'\"]+)",
    # snmp-server community NAME ... / snmp-server host H [traps|informs] [version 2c] COMMUNITY
    r"(\bsnmp-server\s+community\s+)(\S+)",
    r"(\bsnmp-server\s+host\s+\S+\s+(?:(?:traps|informs)\s+)?(?:version\s+(?:1|2c)\s+)?)(?!version\b)([^\s]+)",
    r"(\bsnmp-server\s+user\s+\S+\s+\S+\s+(?:v3\s+)?(?:encrypted\s+)?auth\s+\S+\s+)(\S+)",
    r"(\bpriv\s+(?:des|3des|aes(?:\s+\d+)?)\s+)(\S+)",
    # password / secret with optional encryption type (username, enable, line, neighbor, radius ...)
    r"(\b(?:password|secret|passwd)\s+" + _ENC + r")(?!(?:level|is|was|<redacted>)(?:\s|$))(?![=:])(\S+)",
    # key strings: tacacs/radius key, key 7 ..., key-string, authentication-key, md5 keys, isakmp key
    r"(\bkey-string\s+" + _ENC + r")(\S+)",
    r"(\bauthentication-key\s+(?:\d+\s+md5\s+)?" + _ENC + r")(\S+)",
    r"(\bmessage-digest-key\s+\d+\s+md5\s+" + _ENC + r")(\S+)",
    r"(\bpre-shared-key\s+(?:address\s+\S+\s+(?:\S+\s+)?)?(?:key\s+)?" + _ENC + r")(\S+)",
    r"(\bcrypto\s+isakmp\s+key\s+" + _ENC + r")(\S+)",
    r"(\b(?:tacacs-server|radius-server)\s+(?:host\s+\S+\s+(?:.*?\s)?)?key\s+" + _ENC + r")(\S+)",
    r"((?<![\w-])key\s+[0-9]\s+)(?!md5\b)(\S+)",
    r"(^\s*key\s+" + _KEY_NOT_SECRET + r")(?!\d+\s*$)(?![0-9]\s)(?!<redacted>)(\S+)",
)]
# Password hashes wherever they appear ($1$salt$hash, $8$..., $9$...).
_HASH = re.compile(r"\$(?:1|5|6|8|9|14)\$[^\s]+")


def redact(text: str) -> str:
    """Return ``text`` with every secret value replaced by ``<redacted>``."""
    if not text:
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + (MASK if m.group(2) != MASK else m.group(2)), text)
    return _HASH.sub(MASK, text)


def redact_obj(value: Any) -> Any:
    """Redact every string inside dicts/lists (keys named like secrets are masked whole)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and re.search(r"pass(word)?|secret|token|api[_-]?key|community", key, re.I) \
                    and isinstance(item, str | int):
                out[key] = MASK
            else:
                out[key] = redact_obj(item)
        return out
    if isinstance(value, list | tuple):
        return [redact_obj(v) for v in value]
    if hasattr(value, "model_dump"):
        return redact_obj(value.model_dump(mode="json"))
    return value


class RedactingFilter(logging.Filter):
    """Attach to a handler or logger: rewrites each record's message with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
