"""Guardrails as data: policy packs over change requests, the audit log, secret redaction."""

from policies.engine import Verdict, evaluate
from policies.pack import PolicyPack, default_pack, load_pack
from policies.request import ChangeRequest, load_request

__all__ = ["ChangeRequest", "PolicyPack", "Verdict", "default_pack", "evaluate", "load_pack", "load_request"]
