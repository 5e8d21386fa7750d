"""The one error of the demonstrations package."""

from agent.config import ConfigError


class DemoError(ConfigError):
    """A dataset that cannot be written or read: the message names the path and what is wrong."""
