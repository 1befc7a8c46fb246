"""The one typed settings model of Moorage."""

from moorage.config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
