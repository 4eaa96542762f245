"""``${VAR}`` and ``${file:PATH}`` substitution in configuration strings.

A missing variable or file is an error that names it: an empty string in place of an
API secret would only fail later, at the venue, with a far less helpful message.

With :class:`Placeholders` (``--placeholders`` of ``check``, ``test`` and ``replay``) no
variable or file is read at all: every reference gets a harmless value that passes
validation, so a config can be tried without its secrets.
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

# Placeholder values. Hosts are under .invalid, a name reserved never to resolve (RFC 6761),
# so even a placeholder that reached a sender could not reach anyone.
PLACEHOLDER_TEXT = "placeholder"
PLACEHOLDER_APPRISE_URL = "json://placeholder.invalid/"
PLACEHOLDER_WEBSOCKET_URL = "wss://placeholder.invalid/"
PLACEHOLDER_HTTP_URL = "https://placeholder.invalid/"
# "whsec_" + base64 of the 24 bytes b"alert-bridge placeholder": a well-formed secret.
PLACEHOLDER_WEBHOOK_SECRET = "whsec_YWxlcnQtYnJpZGdlIHBsYWNlaG9sZGVy"  # noqa: S105 - public

# Values whose format is checked (config paths as Interpolator.resolve builds them): when
# any reference occurs in one, the whole value becomes a placeholder of the right form.
# Whole, so that a real host never meets a fake token.
_SHAPED_PLACEHOLDERS = (
    (re.compile(r"^notifiers\..+\.urls(\[\d+\])?$"), PLACEHOLDER_APPRISE_URL),
    (re.compile(r"^webhooks\..+\.secret(\[\d+\])?$"), PLACEHOLDER_WEBHOOK_SECRET),
    (re.compile(r"^venues\..+\.url$"), PLACEHOLDER_WEBSOCKET_URL),
    (re.compile(r"\.(url|[a-z0-9_]+_url)$"), PLACEHOLDER_HTTP_URL),
)


class Placeholders:
    """``--placeholders``: what to put in place of every reference, and which were filled.

    Every reference is filled, set or not: the outcome never depends on the shell it ran
    in, and no real secret is read by a command run to try a config.
    """

    def __init__(self) -> None:
        self.names: list[str] = []  # "VAR" or "file:PATH", in order of first appearance

    def fill(self, reference: str) -> str:
        if reference not in self.names:
            self.names.append(reference)
        return PLACEHOLDER_TEXT

    @staticmethod
    def shaped(path: str) -> str | None:
        """The placeholder for a whole value at ``path``, if its format is checked."""
        for pattern, value in _SHAPED_PLACEHOLDERS:
            if pattern.search(path):
                return value
        return None

    def report(self) -> str:
        """One line for stderr: what was filled. Names only: there are no values to hide."""
        if not self.names:
            return "--placeholders: the config has no ${VAR} or ${file:...} references"
        count = len(self.names)
        return (
            f"placeholders used for {count} variable{'s' if count != 1 else ''} "
            f"(no real value was read): {', '.join(self.names)}"
        )


class Interpolator:
    """Resolves references against an environment; remembers every value it produced."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, placeholders: Placeholders | None = None
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.placeholders = placeholders
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
        if self.placeholders is not None:
            return self._fill_placeholders(text, path, self.placeholders, problems)

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

    def _fill_placeholders(
        self, text: str, path: str, placeholders: Placeholders, problems: Problems
    ) -> str:
        filled = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal filled
            if match.group(0) == "$${":
                return "${"
            reference = match.group(1)
            if not (reference.startswith("file:") or _VARIABLE_NAME.match(reference)):
                problems.poison(path, self._syntax_error(reference))
                return ""
            filled = True
            return placeholders.fill(reference)

        result = _REFERENCE.sub(substitute, text)
        if filled:
            return placeholders.shaped(path) or result
        return result

    @staticmethod
    def _syntax_error(reference: str) -> str:
        return (
            f'"${{{reference}}}" is not a variable name; write ${{NAME}} or ${{file:PATH}}'
            " (use $${ for a literal ${)"
        )

    def _lookup(self, reference: str) -> str:
        if reference.startswith("file:"):
            return self._read_file(reference[len("file:") :])
        if not _VARIABLE_NAME.match(reference):
            raise LookupError(self._syntax_error(reference))
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
