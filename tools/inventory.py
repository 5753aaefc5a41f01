"""Inventory in Nornir's SimpleInventory shape (``hosts.yaml``, optional ``groups.yaml`` / ``defaults.yaml``).

Each host resolves ``hostname``, ``port``, ``username``, ``password``, ``platform`` and ``data`` from
itself, then its groups (in order, depth first through each group's own groups), then the defaults.
``data`` is merged the same way (host keys win).

Credentials (``username``, ``password``, ``secret`` = the enable secret) resolve, first hit wins, from:

1. ``TWINOPS_<HOST>_USERNAME`` / ``TWINOPS_<HOST>_PASSWORD`` / ``TWINOPS_<HOST>_SECRET``, where
   ``<HOST>`` is the inventory name upper-cased with every other character than A-Z/0-9 turned into ``_``
   (``core-r1`` -> ``TWINOPS_CORE_R1_PASSWORD``);
2. ``TWINOPS_USERNAME`` / ``TWINOPS_PASSWORD`` / ``TWINOPS_SECRET``;
3. a secrets file (YAML; path given, or ``TWINOPS_SECRETS_FILE``) shaped
   ``{hosts: {R1: {password: ...}}, groups: {core: {...}}, defaults: {username: ..., password: ...}}``,
   resolved host -> groups -> defaults;
4. the inventory itself: ``username`` / ``password`` fields, the enable secret from ``data.secret``
   or ``connection_options.{napalm,netmiko}.extras[.optional_args].secret``.

Without an enable secret, the password is used (``Host.enable_secret``).  Credentials are ``SecretStr``:
they never show in ``repr``, logs or ``Host.public()``; credential-like keys are moved out of ``data``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from policies.redact import redact_obj

ENV_PREFIX = "TWINOPS"
SECRETS_FILE_ENV = "TWINOPS_SECRETS_FILE"
CREDENTIAL_FIELDS = ("username", "password", "secret")
_SECRET_DATA_KEYS = ("secret", "enable_secret", "enable_password", "password")
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|community|psk|private", re.IGNORECASE)


class InventoryError(ValueError):
    """An inventory (or secrets file) that cannot be used; the message names the file and the problem."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class _Entry(BaseModel):
    """One host, group or the defaults, as written in the YAML file."""

    model_config = ConfigDict(extra="forbid")
    hostname: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    platform: str | None = None
    groups: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    connection_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("groups", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("data", "connection_options", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("hostname", "username", "password", "platform", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Host(BaseModel):
    """A resolved host: everything a connection needs; credentials are secret."""

    model_config = ConfigDict(frozen=True)
    name: str
    hostname: str
    port: int | None = None
    username: str | None = None
    password: SecretStr | None = None
    secret: SecretStr | None = None
    platform: str = "ios"
    groups: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    optional_args: dict[str, Any] = Field(default_factory=dict, description="NAPALM optional_args (no secrets).")
    netmiko_args: dict[str, Any] = Field(default_factory=dict, description="Netmiko extras (no secrets).")

    @property
    def enable_secret(self) -> str:
        """The enable secret, or the password when none is set ('' when neither is)."""
        for value in (self.secret, self.password):
            if value is not None:
                return value.get_secret_value()
        return ""

    def public(self) -> dict[str, Any]:
        """What a tool result may show: no credentials, data redacted."""
        data = self.model_dump(mode="json", include={"data"})["data"]
        return {"name": self.name, "hostname": self.hostname, "port": self.port, "platform": self.platform,
                "groups": list(self.groups), "data": redact_obj(data)}


class Inventory(BaseModel):
    model_config = ConfigDict(frozen=True)
    source: str = "<memory>"
    hosts: dict[str, Host]

    def names(self) -> list[str]:
        return list(self.hosts)

    def get(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            known = ", ".join(self.hosts) or "none"
            raise KeyError(f"unknown device {name!r} (inventory has: {known})")
        return host

    def __contains__(self, name: object) -> bool:
        return name in self.hosts

    def __len__(self) -> int:
        return len(self.hosts)


# --- loading ------------------------------------------------------------------------------------

def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(str(path), "no such file") from None
    except IsADirectoryError:
        raise InventoryError(str(path), "is a directory, not a YAML file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InventoryError(str(path), f"cannot read: {err}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InventoryError(str(path), f"invalid YAML{where}: {getattr(err, 'problem', None) or err}") from None


def _entries(data: Any, source: str, what: str) -> dict[str, _Entry]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError(source, f"expected a mapping of {what} names to settings, got {type(data).__name__}")
    out = {}
    for name, raw in data.items():
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InventoryError(source, f"{name}: expected a mapping, got {type(raw).__name__}")
        try:
            out[str(name)] = _Entry.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InventoryError(source, f"{name}.{where}: {first['msg']}") from None
    return out


def _defaults_entry(data: Any, source: str) -> _Entry:
    if data is None:
        return _Entry()
    if not isinstance(data, dict):
        raise InventoryError(source, f"expected a mapping, got {type(data).__name__}")
    try:
        return _Entry.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise InventoryError(source, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def _group_chain(name: str, groups: Mapping[str, _Entry], direct: list[str], source: str) -> list[str]:
    """Groups in lookup order: each group, then its own groups, depth first; cycles are errors."""
    order: list[str] = []

    def visit(group: str, path: tuple[str, ...]) -> None:
        if group in path:
            raise InventoryError(source, f"group cycle: {' -> '.join((*path, group))}")
        if group not in groups:
            raise InventoryError(source, f"{path[-1] if path else name}: unknown group {group!r}")
        if group not in order:
            order.append(group)
        for parent in groups[group].groups:
            visit(parent, (*path, group))

    for group in direct:
        visit(group, (name,))
    return order


def _extras(entry: _Entry) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(NAPALM optional_args, Netmiko extras, enable secret) from ``connection_options``; credentials are
    taken out of the arguments."""
    netmiko = dict((entry.connection_options.get("netmiko") or {}).get("extras") or {})
    napalm = dict(((entry.connection_options.get("napalm") or {}).get("extras") or {}).get("optional_args") or {})
    secret = None
    for args in (netmiko, napalm):
        if args.get("secret") is not None:
            secret = str(args["secret"])
        for key in ("secret", "password", "username"):
            args.pop(key, None)
    return napalm, netmiko, secret


def env_name(host: str, field: str) -> str:
    """The per-host environment variable for a credential: ``TWINOPS_<HOST>_<FIELD>``."""
    return f"{ENV_PREFIX}_{re.sub(r'[^A-Z0-9]', '_', host.upper())}_{field.upper()}"


def _load_secrets(path: str | Path | None) -> tuple[dict[str, dict], dict[str, dict], dict, str]:
    if path is None:
        return {}, {}, {}, ""
    source = str(path)
    data = _read_yaml(Path(path))
    if data is None:
        return {}, {}, {}, source
    if not isinstance(data, dict) or not set(data) <= {"hosts", "groups", "defaults"}:
        raise InventoryError(source, "a secrets file is a mapping with 'hosts', 'groups' and/or 'defaults'")

    def section(key: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise InventoryError(source, f"{key}: expected a mapping")
        return value

    hosts, groups, defaults = section("hosts"), section("groups"), section("defaults")
    for where, block in [*(("hosts." + k, v) for k, v in hosts.items()),
                         *(("groups." + k, v) for k, v in groups.items()), ("defaults", defaults)]:
        if not isinstance(block, dict) or not set(block) <= set(CREDENTIAL_FIELDS):
            raise InventoryError(source, f"{where}: only {', '.join(CREDENTIAL_FIELDS)} may be set")
    return hosts, groups, defaults, source


def build_inventory(hosts: Any, groups: Any = None, defaults: Any = None, *,
                    secrets_file: str | Path | None = None, env: Mapping[str, str] | None = None,
                    source: str = "<memory>", groups_source: str | None = None,
                    defaults_source: str | None = None) -> Inventory:
    """Resolve an inventory from already-parsed hosts/groups/defaults mappings."""
    env = os.environ if env is None else env
    host_entries = _entries(hosts, source, "host")
    if not host_entries:
        raise InventoryError(source, "no hosts")
    group_entries = _entries(groups, groups_source or source, "group")
    default_entry = _defaults_entry(defaults, defaults_source or source)
    if secrets_file is None and env.get(SECRETS_FILE_ENV):
        secrets_file = env[SECRETS_FILE_ENV]
    sec_hosts, sec_groups, sec_defaults, _sec_source = _load_secrets(secrets_file)

    resolved = {}
    for name, entry in host_entries.items():
        chain_names = _group_chain(name, group_entries, entry.groups, groups_source or source)
        chain = [entry, *(group_entries[g] for g in chain_names), default_entry]

        def first(attr: str, chain=chain) -> Any:
            return next((getattr(e, attr) for e in chain if getattr(e, attr) is not None), None)

        data: dict[str, Any] = {}
        optional: dict[str, Any] = {}
        netmiko: dict[str, Any] = {}
        inv_secret = None
        for item in reversed(chain):
            data.update(item.data)
            napalm_args, netmiko_args, found = _extras(item)
            optional.update(napalm_args)
            netmiko.update(netmiko_args)
            inv_secret = found if found is not None else inv_secret
        for key in _SECRET_DATA_KEYS:
            value = data.pop(key, None)
            if key in ("secret", "enable_secret", "enable_password") and value is not None:
                inv_secret = value
        for key, value in list(data.items()):
            if _SECRET_KEY.search(str(key)) and isinstance(value, str | int | float):
                data[key] = SecretStr(str(value))  # kept (a tool may need it), never shown
        inventory_values = {"username": first("username"), "password": first("password"), "secret": inv_secret}

        creds: dict[str, str | None] = {}
        for field in CREDENTIAL_FIELDS:
            value = env.get(env_name(name, field)) or env.get(f"{ENV_PREFIX}_{field.upper()}")
            if value is None:
                for block in (sec_hosts.get(name) or {}, *(sec_groups.get(g) or {} for g in chain_names),
                              sec_defaults):
                    if block.get(field) is not None:
                        value = str(block[field])
                        break
            if value is None and inventory_values[field] is not None:
                value = str(inventory_values[field])
            creds[field] = value
        hostname = first("hostname") or name
        resolved[name] = Host(
            name=name, hostname=hostname, port=first("port"), platform=first("platform") or "ios",
            username=creds["username"],
            password=SecretStr(creds["password"]) if creds["password"] is not None else None,
            secret=SecretStr(creds["secret"]) if creds["secret"] is not None else None,
            groups=chain_names, data=data, optional_args=optional, netmiko_args=netmiko)
    return Inventory(source=source, hosts=resolved)


def load_inventory(hosts_file: str | Path, groups_file: str | Path | None = None,
                   defaults_file: str | Path | None = None, *, secrets_file: str | Path | None = None,
                   env: Mapping[str, str] | None = None) -> Inventory:
    """Load a SimpleInventory.  ``hosts_file`` may be a directory holding ``hosts.yaml``; ``groups.yaml``
    and ``defaults.yaml`` next to the hosts file are used when no other path is given."""
    hosts_path = Path(hosts_file)
    if hosts_path.is_dir():
        hosts_path = hosts_path / "hosts.yaml"
    folder = hosts_path.parent
    groups_path = Path(groups_file) if groups_file else (folder / "groups.yaml")
    defaults_path = Path(defaults_file) if defaults_file else (folder / "defaults.yaml")
    hosts = _read_yaml(hosts_path)
    groups = _read_yaml(groups_path) if groups_file or groups_path.exists() else None
    defaults = _read_yaml(defaults_path) if defaults_file or defaults_path.exists() else None
    return build_inventory(hosts, groups, defaults, secrets_file=secrets_file, env=env, source=str(hosts_path),
                           groups_source=str(groups_path), defaults_source=str(defaults_path))
