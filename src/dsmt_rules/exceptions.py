"""The exception tree. Findings are data; exceptions are for misuse, configuration and unreadable input.

Every message says what to do, and none contains PHI.
"""

from __future__ import annotations

__all__ = ["AdapterError", "ConfigError", "DsmtRulesError", "UnknownRuleError"]


class DsmtRulesError(Exception):
    """Root of every exception this library raises on purpose."""


class ConfigError(DsmtRulesError, ValueError):
    """A profile, option or rule selection is not valid."""


class UnknownRuleError(ConfigError):
    """A rule code or prefix matches no rule in the catalog."""


class AdapterError(DsmtRulesError):
    """An input could not be read at all (as opposed to a record that gets a DS001 finding)."""
