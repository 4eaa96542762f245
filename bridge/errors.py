"""The exception tree of alert-bridge.

    BridgeError                 anything alert-bridge raises on purpose
    ├── UserError               bad input from the operator: printed as one line, no traceback
    │   ├── ConfigError         an invalid configuration; carries every problem found
    │   ├── ConfigTextError     a config file that is not UTF-8 text at all (binary, latin-1)
    │   └── EventDecodeError    a JSON event that is not a valid normalized event
    └── PluginError             a plugin that cannot be loaded or registers badly

Library errors are mapped to these at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class BridgeError(Exception):
    """Base class of every error alert-bridge raises on purpose."""


class UserError(BridgeError):
    """An error the operator can fix; the CLI prints it without a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration: where, and what."""

    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


class ConfigError(UserError):
    """An invalid configuration, with every problem found (not only the first)."""

    exit_code = 2

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(p.render(source) for p in self.problems))


class ConfigTextError(UserError):
    """A config file that is not UTF-8 text: invalid like any bad config, in one line."""

    exit_code = 2


class EventDecodeError(UserError):
    """A JSON document that does not decode into a normalized event."""


class PluginError(BridgeError):
    """A plugin failed to load or registered something invalid."""
