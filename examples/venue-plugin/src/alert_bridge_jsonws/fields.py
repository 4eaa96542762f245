"""Reading values out of a venue's JSON: dotted paths, matching, typed event fields."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any

from bridge import EVENT_CLASSES, Event
from bridge.plugin import Fee, FrameError, dec, flag, text

Converter = Callable[[Any, str], Any]

MISSING = object()
#: fields the core or the mapping itself fills: never read from a frame
RESERVED = frozenset(f.name for f in fields(Event))


def integer(value: Any, what: str) -> int | None:
    """A whole number sent as a number or as text."""
    number = dec(value, what)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise FrameError(f"{what}: expected a whole number, got {value!r}")
    return int(number)


def fee_list(value: Any, what: str) -> tuple[Fee, ...]:
    """``fees``: a list of ``{"asset": ..., "amount": ...}`` objects from the frame."""
    if not isinstance(value, list):
        raise FrameError(f"{what}: expected a list of {{asset, amount}}, got {value!r}")
    charges = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise FrameError(f"{what}.{index}: expected an object with asset and amount")
        amount = dec(entry.get("amount"), f"{what}.{index}.amount")
        if amount is None:
            raise FrameError(f"{what}.{index}.amount: missing")
        charges.append(Fee(text(entry.get("asset"), f"{what}.{index}.asset"), amount))
    return tuple(charges)


_BY_TYPE: dict[Any, Converter] = {
    str: text,
    Decimal: dec,
    int: integer,
    bool: flag,
    tuple[Fee, ...]: fee_list,
}


def _converter(annotation: Any) -> Converter:
    members = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return _BY_TYPE[members[0]]


def _kind_fields(kind: str) -> dict[str, Converter]:
    cls = EVENT_CLASSES[kind]
    hints = typing.get_type_hints(cls)
    return {f.name: _converter(hints[f.name]) for f in fields(cls) if f.name not in RESERVED}


#: kind -> event field -> how a frame value becomes that field's type
KIND_FIELDS: dict[str, dict[str, Converter]] = {
    kind: _kind_fields(kind) for kind in EVENT_CLASSES if kind != "connection"
}


def split_path(path: str) -> tuple[str, ...]:
    """``"fee.amount"`` -> ("fee", "amount"); digits index into arrays (``"fills.0.px"``)."""
    parts = tuple(path.split("."))
    if not path or not all(parts):
        raise ValueError(f'"{path}" is not a dotted path such as "data.price"')
    return parts


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or MISSING when any step is absent or of another shape."""
    for part in path:
        if isinstance(value, Mapping):
            value = value.get(part, MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def same(frame_value: Any, wanted: Any) -> bool:
    """Equality that keeps true apart from 1 (TOML and JSON both have booleans)."""
    if isinstance(frame_value, bool) or isinstance(wanted, bool):
        return frame_value is wanted
    return bool(frame_value == wanted)


def matches(frame: Any, when: Mapping[tuple[str, ...], Any]) -> bool:
    """Whether every ``path = value`` of ``when`` holds in ``frame``."""
    return all(same(lookup(frame, path), wanted) for path, wanted in when.items())
