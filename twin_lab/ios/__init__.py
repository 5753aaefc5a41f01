"""IOS configuration: typed model, the one config applier, and the canonical renderer."""

from twin_lab.ios.applier import ConfigError, ConfigSession, apply_lines, parse_config
from twin_lab.ios.model import DeviceConfig
from twin_lab.ios.render import render_config

__all__ = ["ConfigError", "ConfigSession", "DeviceConfig", "apply_lines", "parse_config", "render_config"]
