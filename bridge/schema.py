"""A small declarative schema for TOML tables, with path-style errors.

The config sections and every venue plugin's options are described with :class:`Option`
so that all errors read the same way: the path, the value, and how to fix it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bridge.errors import Problem
from bridge.units import did_you_mean, parse_decimal, parse_duration

Converter = Callable[[Any], Any]


class Problems:
    """Collects every problem found while validating, so all are reported at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        # Paths whose value is already known bad (e.g. an unresolved ${VAR}): later checks
        # of the same value would only add noise, so they are dropped.
        self.poisoned: set[str] = set()

    def add(self, path: str, message: str) -> None:
        if not self._poisoned(path):
            self.items.append(Problem(path, message))

    def _poisoned(self, path: str) -> bool:
        # A bad value poisons its own path and the paths of what contains it
        # (``urls[0]`` poisons ``urls``): their checks would only report the same fault.
        return any(within(path, p) for p in self.poisoned)

    def poison(self, path: str, message: str) -> None:
        """Report ``message`` at ``path`` and ignore any further problem there."""
        self.add(path, message)
        self.poisoned.add(path)

    def __bool__(self) -> bool:
        return bool(self.items)


def within(path: str, outer: str) -> bool:
    """Whether ``path`` is ``outer`` or inside it (``urls[0]`` or ``headers.X`` of ``urls``)."""
    return path == outer or path.startswith((f"{outer}[", f"{outer}."))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected text, got {_describe(value)}")


def _non_empty_text(value: Any) -> str:
    text = _text(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {_describe(value)}")
    return value


def _positive_integer(value: Any) -> int:
    number = _integer(value)
    if number < 1:
        raise ValueError(f"must be 1 or more, got {number}")
    return number


def _non_negative_integer(value: Any) -> int:
    number = _integer(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {number}")
    return number


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_describe(value)}")
    return value


def _text_list(value: Any) -> list[str]:
    """A list of strings; a single string is accepted as a list of one."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of text values, got {_describe(value)}")
    return list(value)


def _text_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"expected a table of text values, got {_describe(value)}")
    return dict(value)


def _duration_list(value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a non-empty list of durations, got {_describe(value)}")
    return [parse_duration(v) for v in value]


def _decimal(value: Any) -> Decimal:
    return parse_decimal(value)


def _describe(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "a number",
        Decimal: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, (dict, list)) else ""
    return f"{kind} {shown}".rstrip() if shown else kind


def one_of(*choices: str) -> Converter:
    """A converter accepting exactly one of the given words."""

    def convert(value: Any) -> str:
        text = _text(value)
        if text not in choices:
            raise ValueError(
                f'"{text}" is not one of {", ".join(choices)}{did_you_mean(text, choices)}'
            )
        return text

    return convert


def url_with_scheme(*schemes: str) -> Converter:
    """A converter for a URL whose scheme must be one of ``schemes``."""

    def convert(value: Any) -> str:
        text = _non_empty_text(value)
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme not in schemes:
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL")
        return text

    return convert


def choice_list(*choices: str) -> Converter:
    """A converter for a non-empty list whose items are each one of ``choices``."""

    def convert(value: Any) -> list[str]:
        items = _text_list(value)
        if not items:
            raise ValueError(f"must not be empty; choose from {', '.join(choices)}")
        for item in items:
            if item not in choices:
                raise ValueError(
                    f'"{item}" is not one of {", ".join(choices)}{did_you_mean(item, choices)}'
                )
        return items

    return convert


def non_empty_list(value: Any) -> list[str]:
    """A non-empty list of non-empty strings (a single string counts as a list of one)."""
    items = _text_list(value)
    if not items or not all(i.strip() for i in items):
        raise ValueError("must be a non-empty list of non-empty text values")
    return items


TEXT: Converter = _text
NON_EMPTY_TEXT: Converter = _non_empty_text
INTEGER: Converter = _integer
POSITIVE_INTEGER: Converter = _positive_integer
NON_NEGATIVE_INTEGER: Converter = _non_negative_integer
BOOLEAN: Converter = _boolean
TEXT_LIST: Converter = _text_list
TEXT_TABLE: Converter = _text_table
DURATION: Converter = parse_duration
DURATION_LIST: Converter = _duration_list
DECIMAL: Converter = _decimal

_REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One key of a table: how to convert it, its default, whether it is a secret.

    ``secret=True``: a credential, masked in logs however it was written. ``secret=False``:
    never a secret (an identifier, a path, a name), not even when it came from ``${VAR}``
    or ``${file:...}``. Unset: masked when it came from one of those, as the operator kept
    it out of the file; a key that holds an identifier should say ``secret=False``.
    """

    name: str
    convert: Converter
    default: Any = _REQUIRED
    secret: bool | None = None
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class Schema:
    """The keys a table may hold."""

    options: tuple[Option, ...] = field(default_factory=tuple)

    def names(self) -> list[str]:
        return [o.name for o in self.options]

    def validate(self, table: Mapping[str, Any], path: str, problems: Problems) -> dict[str, Any]:
        """Convert ``table``; report unknown, missing and invalid keys under ``path``."""
        known = {o.name: o for o in self.options}
        result: dict[str, Any] = {}
        for key in table:
            if key not in known:
                problems.add(
                    f"{path}.{key}",
                    f"unknown key{did_you_mean(key, known)}; "
                    f"allowed keys: {', '.join(known) or '(none)'}",
                )
        for option in self.options:
            if option.name not in table:
                if option.required:
                    problems.add(f"{path}.{option.name}", "required key is missing")
                else:
                    result[option.name] = copy.copy(option.default)
                continue
            try:
                result[option.name] = option.convert(table[option.name])
            except ValueError as exc:
                problems.add(f"{path}.{option.name}", str(exc))
                # Keep going with the default so later checks still run; the problem is
                # reported, so the result is never used as a valid config.
                result[option.name] = None if option.required else copy.copy(option.default)
        return result

    def secret_keys(self) -> list[str]:
        return [o.name for o in self.options if o.secret]

    def public_keys(self) -> list[str]:
        """The keys declared never secret (``secret=False``)."""
        return [o.name for o in self.options if o.secret is False]


class Secrets:
    """The config values logs must never show, gathered as tables are validated.

    A value is secret when a ``secret=True`` key holds it, or when it came from
    ``${VAR}`` / ``${file:...}`` anywhere but under a ``secret=False`` key.
    """

    def __init__(self, interpolated: Iterable[tuple[str, str]] = ()) -> None:
        self._interpolated = list(interpolated)  # (path, value) of every substitution
        self._declared: set[str] = set()
        self._public: list[str] = []

    def collect(self, schema: Schema, path: str, options: Mapping[str, Any]) -> None:
        """Take note of the table at ``path`` that ``schema`` validated into ``options``."""
        for key in schema.secret_keys():
            value = options.get(key)
            items = value if isinstance(value, list) else [value]
            self._declared.update(str(item) for item in items if item)
        self._public.extend(f"{path}.{key}" for key in schema.public_keys())

    def values(self) -> frozenset[str]:
        hidden = {
            value
            for path, value in self._interpolated
            if not any(within(path, public) for public in self._public)
        }
        return frozenset(v for v in self._declared | hidden if v)
