"""``${VAR}`` and ``${file:PATH}`` substitution in configuration strings.

A missing variable or file is an error that names it: an empty string in place of an
API secret would only fail later, at the venue, with a far less helpful message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.schema import Problems

# ``$${`` escapes a literal ``${``.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Interpolator:
    """Resolves references against an environment; remembers every value it produced."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        # Values that came from the environment or files: treated as secrets by the logger.
        self.resolved: set[str] = set()
        self.origins: list[tuple[str, str]] = []  # (config path, value) of each of them

    def resolve(self, value: Any, path: str, problems: Problems) -> Any:
        """Return ``value`` with every reference in every nested string replaced."""
        if isinstance(value, str):
            return self._resolve_text(value, path, problems)
        if isinstance(value, list):
            return [self.resolve(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {
                k: self.resolve(v, f"{path}.{k}" if path else k, problems) for k, v in value.items()
            }
        return value

    def _resolve_text(self, text: str, path: str, problems: Problems) -> str:
        if "$" not in text:
            return text

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            reference = match.group(1)
            try:
                replacement = self._lookup(reference)
            except LookupError as exc:
                problems.poison(path, str(exc))
                return ""
            if replacement:
                self.resolved.add(replacement)
                self.origins.append((path, replacement))
            return replacement

        return _REFERENCE.sub(substitute, text)

    def _lookup(self, reference: str) -> str:
        if reference.startswith("file:"):
            return self._read_file(reference[len("file:") :])
        if not _VARIABLE_NAME.match(reference):
            raise LookupError(
                f'"${{{reference}}}" is not a variable name; write ${{NAME}} or ${{file:PATH}}'
                " (use $${ for a literal ${)"
            )
        if reference not in self.environ:
            raise LookupError(
                f"environment variable {reference} is not set "
                "(export it, or put the value in a file and write ${file:PATH})"
            )
        return self.environ[reference]

    def _read_file(self, name: str) -> str:
        if not name:
            raise LookupError("${file:} needs a path")
        path = Path(name)
        if not path.is_absolute():
            directory = self.environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise LookupError(
                    f"${{file:{name}}}: a relative path needs $CREDENTIALS_DIRECTORY "
                    "(set by systemd's LoadCredential=); use an absolute path otherwise"
                )
            path = Path(directory) / path
        try:
            # A trailing newline is an artefact of `echo secret > file`, never part of a key.
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise LookupError(f"${{file:{name}}}: cannot read {path}: {exc.strerror}") from None
