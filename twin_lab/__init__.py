"""The digital twin: a config-driven IOS network simulator and its SSH emulator."""
