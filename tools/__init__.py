"""Device tools: inventory, pooled NAPALM/Netmiko connections, read tools (LangChain), transactional
changes with a journal, and dry-run in the twin.

The agent-facing API::

    from tools import ToolSession, ChangeSet, read_tools, run_transaction, dry_run
    session = ToolSession.from_files("hosts.yaml")          # credentials from env / secrets file
    tools = read_tools(session)                              # LangChain StructuredTools
    change = ChangeSet(intent="...", changes={"R1": ["interface Gi0/1", " ip ospf cost 50"]})
    predicted = dry_run(session, change)                     # DryRunResult (state diff + config diffs)
    result = run_transaction(session, change, journal=ChangeJournal("changes.sqlite"))
"""

from importlib import import_module
from typing import Any

# Exports resolve lazily: importing tools.inventory alone must not pull in LangChain or the simulator.
_EXPORTS = {
    "ChangeSet": "changeset", "DeviceChange": "changeset",
    "ConnectionPool": "connections", "ConnectionSettings": "connections",
    "DryRunResult": "dryrun", "NetworkSnapshot": "dryrun", "build_network": "dryrun",
    "compare_snapshots": "dryrun", "dry_run": "dryrun", "pull_snapshot": "dryrun",
    "ToolError": "errors",
    "Host": "inventory", "Inventory": "inventory", "InventoryError": "inventory",
    "build_inventory": "inventory", "load_inventory": "inventory",
    "ChangeJournal": "journal", "JournalConflict": "journal",
    "read_tools": "read_tools",
    "ToolSession": "session",
    "TransactionOptions": "transaction", "TransactionResult": "transaction", "run_transaction": "transaction",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tools' has no attribute {name!r}")
    value = getattr(import_module(f"tools.{module}"), name)
    globals()[name] = value
    return value
