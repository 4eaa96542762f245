"""The exception tree of alert-bridge.

    BridgeError                 anything alert-bridge raises on purpose
    ├── UserError               bad input from the operator: printed as one line, no traceback
    │   ├── ConfigError         an invalid configuration; carries every problem found
    │   ├── ConfigTextError     a config file that is not UTF-8 text at all (binary, latin-1)
    │   └── UsageError          a wrong command line or input file (not the config)
    │       └── EventDecodeError  a JSON event that is not a valid normalized event
    └── PluginError             a plugin that cannot be loaded or registers badly

Library errors are mapped to these at the boundary with ``raise ... from exc``.

The CLI's exit codes (docs/running.md) tell these cases apart for scripts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1  # the command could not do its job: a send failed, a port in use...
EXIT_INVALID_CONFIG = 2  # the config file is invalid (DESIGN §3: `check` exits 2)
EXIT_USAGE = 64  # the command line or an input file is wrong (sysexits' EX_USAGE)


class BridgeError(Exception):
    """Base class of every error alert-bridge raises on purpose."""


class UserError(BridgeError):
    """An error the operator can fix; the CLI prints it without a traceback."""

    exit_code = EXIT_FAILURE


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

    exit_code = EXIT_INVALID_CONFIG

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(p.render(source) for p in self.problems))


class ConfigTextError(UserError):
    """A config file that is not UTF-8 text: invalid like any bad config, in one line."""

    exit_code = EXIT_INVALID_CONFIG


class UsageError(UserError):
    """A wrong command line or input file: an unknown name, an unreadable events file."""

    exit_code = EXIT_USAGE


class EventDecodeError(UsageError):
    """A JSON document that does not decode into a normalized event."""


class PluginError(BridgeError):
    """A plugin failed to load or registered something invalid."""
