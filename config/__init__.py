"""Configuration: typed settings validated once at startup."""

from config.groups import ConfigError, ModelAlias, VendorGroup
from config.settings import DEMO_MODEL, Settings, Size, demo_group, load_settings, parse_media_store, parse_size

__all__ = [
    "DEMO_MODEL",
    "ConfigError",
    "ModelAlias",
    "Settings",
    "Size",
    "VendorGroup",
    "demo_group",
    "load_settings",
    "parse_media_store",
    "parse_size",
]
