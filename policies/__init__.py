"""Guardrail policy packs, their engine and the audit log (later issue)."""
