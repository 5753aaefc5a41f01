"""The topology file contract: devices (IOS config text), links, end hosts.

Loading validates everything and raises ``TopologyError`` naming the file and the problem,
so the CLI can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin_lab.addressing import AddressError, canonical_interface, ip_to_int, parse_interface_address
from twin_lab.ios import DeviceConfig, parse_config

PRESET_DIR = Path(__file__).parent / "presets"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


class TopologyError(ValueError):
    """A topology file that cannot be used; the message names the file and the problem."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class DeviceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Literal["ios"] = "ios"
    config: str = ""
    role: str | None = None
    tags: list[str] = Field(default_factory=list)
    mgmt_interface: str | None = None


class HostSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ip: str
    gateway: str | None = None
    attach: str

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        parse_interface_address(value)
        return value

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str | None) -> str | None:
        if value is not None:
            ip_to_int(value)
        return value


class TopologySpec(BaseModel):
    """The YAML file as written by users."""

    model_config = ConfigDict(extra="forbid")
    name: str = "lab"
    devices: dict[str, DeviceSpec]
    links: list[tuple[str, str]] = Field(default_factory=list)
    hosts: dict[str, HostSpec] = Field(default_factory=dict)


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    device: str
    interface: str

    def __str__(self) -> str:
        return f"{self.device}:{self.interface}"


class Host(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    ip: int
    plen: int
    gateway: int | None
    attach: Endpoint


class Topology(BaseModel):
    """A validated topology: parsed device configs plus the physical wiring."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    source: str = "<memory>"
    specs: dict[str, DeviceSpec]
    configs: dict[str, DeviceConfig]
    links: list[tuple[Endpoint, Endpoint]]
    hosts: dict[str, Host]

    @property
    def device_names(self) -> list[str]:
        return list(self.configs)

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "<memory>") -> Topology:
        try:
            data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise TopologyError(source, f"invalid YAML{where}: {getattr(err, 'problem', err)}") from None
        if not isinstance(data, dict):
            raise TopologyError(source, "expected a mapping with 'devices', 'links' and 'hosts'")
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<memory>") -> Topology:
        try:
            spec = TopologySpec.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            location = ".".join(str(x) for x in first["loc"])
            raise TopologyError(source, f"{location}: {first['msg']}") from None
        return cls.from_spec(spec, source)

    @classmethod
    def from_spec(cls, spec: TopologySpec, source: str = "<memory>") -> Topology:
        if not spec.devices:
            raise TopologyError(source, "no devices")
        configs: dict[str, DeviceConfig] = {}
        for name, device in spec.devices.items():
            config, errors = parse_config(device.config)
            if errors:
                raise TopologyError(source, f"devices.{name}.config {errors[0]}")
            if config.hostname == "Router":
                config.hostname = name
            configs[name] = config
        used: dict[Endpoint, str] = {}

        def endpoint(text: str, where: str) -> Endpoint:
            device, sep, interface = str(text).partition(":")
            if not sep or not interface:
                raise TopologyError(source, f"{where}: expected DEVICE:INTERFACE, got {text!r}")
            if device not in configs:
                raise TopologyError(source, f"{where}: unknown device {device!r} in {text!r}")
            try:
                ifname = canonical_interface(interface)
            except AddressError:
                raise TopologyError(source, f"{where}: unknown interface {interface!r} in {text!r}") from None
            point = Endpoint(device=device, interface=ifname)
            if point in used:
                raise TopologyError(source, f"{where}: {point} is already used by {used[point]}")
            used[point] = where
            configs[device].interface(ifname)  # exists even when the config does not mention it
            return point

        links = []
        for index, (a, b) in enumerate(spec.links):
            links.append((endpoint(a, f"links[{index}]"), endpoint(b, f"links[{index}]")))
        hosts = {}
        for name, host in spec.hosts.items():
            if name in configs:
                raise TopologyError(source, f"hosts.{name}: name clashes with a device")
            ip, plen = parse_interface_address(host.ip)
            gateway = ip_to_int(host.gateway) if host.gateway else None
            hosts[name] = Host(name=name, ip=ip, plen=plen, gateway=gateway,
                               attach=endpoint(host.attach, f"hosts.{name}.attach"))
        for name, device in spec.devices.items():
            if device.mgmt_interface:
                try:
                    device.mgmt_interface = canonical_interface(device.mgmt_interface)
                except AddressError:
                    raise TopologyError(source, f"devices.{name}.mgmt_interface: invalid interface name") from None
        return cls(name=spec.name, source=source, specs=dict(spec.devices), configs=configs, links=links,
                   hosts=hosts)

    def to_spec(self, configs: dict[str, str] | None = None) -> TopologySpec:
        """The file form, with each device's config as given (e.g. the current running-configs)."""
        from twin_lab.ios import render_config

        devices = {}
        for name, spec in self.specs.items():
            text = configs[name] if configs else render_config(self.configs[name])
            devices[name] = spec.model_copy(update={"config": text})
        return TopologySpec(
            name=self.name,
            devices=devices,
            links=[(str(a), str(b)) for a, b in self.links],
            hosts={n: HostSpec(ip=_host_ip(h), gateway=_ip_or_none(h.gateway), attach=str(h.attach))
                   for n, h in self.hosts.items()},
        )


def _host_ip(host: Host) -> str:
    from twin_lab.addressing import int_to_ip

    return f"{int_to_ip(host.ip)}/{host.plen}"


def _ip_or_none(value: int | None) -> str | None:
    from twin_lab.addressing import int_to_ip

    return None if value is None else int_to_ip(value)


def load_topology(path: str | Path) -> Topology:
    """Load a topology YAML file; every problem becomes a ``TopologyError``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise TopologyError(str(path), f"cannot read: {err.strerror}") from None
    return Topology.from_yaml_text(text, str(path))


def preset_names() -> list[str]:
    from twin_lab.generator import GENERATED_PREFIX

    return [*sorted(p.stem for p in PRESET_DIR.glob("*.yaml")), f"{GENERATED_PREFIX}N"]


def load_preset(name: str) -> Topology:
    """A shipped preset (``small``, ...) or a generated one (``gen-200``)."""
    from twin_lab.generator import GENERATED_PREFIX, generate_topology

    if name.startswith(GENERATED_PREFIX):
        size = name[len(GENERATED_PREFIX):]
        if not size.isdigit() or not 2 <= int(size) <= 5000:
            raise TopologyError(name, "generated presets are gen-N with 2 <= N <= 5000")
        return generate_topology(int(size))
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise TopologyError(name, f"unknown preset; choose one of {', '.join(preset_names())}")
    return load_topology(path)
