"""JSON encoding and decoding of normalized events.

The encoded shape is what webhooks carry in ``data`` and what ``alert-bridge test``
reads: every field by name, ``kind`` included, Decimals as strings (never floats).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson

from bridge.errors import EventDecodeError
from bridge.events import EVENT_CLASSES, FIELD_TYPES, Event, Fee, Fees, FieldType, event_id
from bridge.units import did_you_mean, parse_decimal

# Keys a webhook body adds next to the event fields; accepted and ignored on decode.
_ENVELOPE_KEYS = frozenset({"rule"})


def decimal_text(value: Decimal) -> str:
    """Plain notation, never an exponent: receivers parse "10000", not "1E+4"."""
    return format(value, "f") if value.is_finite() else str(value)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, Fee):
        return {"asset": value.asset, "amount": decimal_text(value.amount)}
    raise TypeError(f"cannot encode {type(value).__name__}")


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready dict (Decimals as strings)."""
    result: dict[str, Any] = {"kind": event.kind}
    for name, field_type in FIELD_TYPES[event.kind].items():
        if name == "kind":
            continue
        value = getattr(event, name)
        if isinstance(value, Decimal):
            value = decimal_text(value)
        elif field_type is FieldType.FEES and value is not None:
            value = fees_to_list(value)
        result[name] = value
    return result


def fees_to_list(fees: Fees) -> list[dict[str, Any]]:
    """``fees`` in their JSON shape: ``[{"asset": "GT", "amount": "0.01"}, ...]``."""
    return [{"asset": fee.asset, "amount": decimal_text(fee.amount)} for fee in fees]


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; Decimals become strings."""
    try:
        return orjson.dumps(value, default=_default)
    except TypeError:
        # orjson stops at 64-bit integers; a venue id can be bigger. The standard
        # library is slower but has no such limit, and the output is the same JSON.
        return json.dumps(
            value, default=_default, separators=(",", ":"), ensure_ascii=False
        ).encode()


def event_to_json(event: Event) -> bytes:
    return dumps(event_to_dict(event))


def _convert(name: str, kind_type: FieldType, value: Any) -> Any:
    if value is None or kind_type is FieldType.JSON:
        return value
    if kind_type is FieldType.FEES:
        return _fees(name, value)
    if kind_type is FieldType.TEXT:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return str(value)  # venue ids are often numbers; the model keeps them as text
        raise ValueError(f"{name}: expected text, got {value!r}")
    if kind_type is FieldType.DECIMAL:
        try:
            return parse_decimal(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if kind_type is FieldType.INTEGER:
        if isinstance(value, bool):
            raise ValueError(f"{name}: expected a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            number = parse_decimal(value)
        except ValueError:
            raise ValueError(f"{name}: expected a whole number, got {value!r}") from None
        if number != number.to_integral_value():
            raise ValueError(f"{name}: expected a whole number, got {value!r}")
        return int(number)
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def _fees(name: str, value: Any) -> Fees:
    shape = 'a list of {"asset": "GT", "amount": "0.01"}'
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected {shape}, got {value!r}")
    fees = []
    for index, entry in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object with asset and amount, got {entry!r}")
        unknown = sorted(set(entry) - {"asset", "amount"})
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: not a fee key (keys: asset, amount)")
        if entry.get("amount") is None:
            raise ValueError(f"{where}.amount: required")
        fees.append(
            Fee(
                _convert(f"{where}.asset", FieldType.TEXT, entry.get("asset")),
                _convert(f"{where}.amount", FieldType.DECIMAL, entry["amount"]),
            )
        )
    return tuple(fees)


def event_from_dict(data: Any, *, received_at: int | None = None) -> Event:
    """Build an event from its JSON shape; raises EventDecodeError naming the bad field.

    ``kind`` and ``venue`` are required. A missing ``id`` is derived from the content
    (so a hand-written sample still dedups consistently); a missing ``received_at``
    defaults to now and a missing ``ts`` to ``received_at``.
    """
    if not isinstance(data, dict):
        raise EventDecodeError(f"an event must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in EVENT_CLASSES:
        shown = f'"{kind}"' if isinstance(kind, str) else repr(kind)
        hint = did_you_mean(kind, EVENT_CLASSES) if isinstance(kind, str) else ""
        raise EventDecodeError(
            f"kind: {shown} is not an event kind{hint}; kinds: {', '.join(EVENT_CLASSES)}"
        )
    types_ = FIELD_TYPES[kind]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind" or key in _ENVELOPE_KEYS:
            continue
        if key not in types_:
            raise EventDecodeError(
                f"{key}: not a field of {kind} events{did_you_mean(key, types_)}"
            )
        try:
            values[key] = _convert(key, types_[key], value)
        except ValueError as exc:
            raise EventDecodeError(str(exc)) from None
    if not isinstance(values.get("venue"), str) or not values["venue"]:
        raise EventDecodeError('venue: required (the venue instance name, e.g. "gate-main")')
    if values.get("received_at") is None:
        values["received_at"] = int(time.time() * 1000) if received_at is None else received_at
    if values.get("ts") is None:
        values["ts"] = values["received_at"]
    if not values.get("id"):
        values["id"] = event_id(values["venue"], kind, dumps(data).decode())
    for name in ("plugin",):
        if values.get(name) is None:
            values[name] = ""
    for flag in ("derived", "recovered"):
        if values.get(flag) is None and flag in types_:
            values[flag] = False
    return EVENT_CLASSES[kind](**values)


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping numbers exact (floats become Decimal, never binary floats)."""
    return json.loads(text, parse_float=Decimal)


def read_events(text: str) -> Iterator[tuple[int, Event]]:
    """Events from a JSON document (one object or an array) or from JSON Lines.

    Yields ``(line_or_index, event)``; errors name the line (JSON Lines) or the index.
    """
    stripped = text.strip()
    if not stripped:
        raise EventDecodeError("no events: the file is empty")
    try:
        whole = loads_exact(stripped)
    except ValueError:
        whole = None
        many_lines = True
    else:
        many_lines = False
    if not many_lines:
        items = whole if isinstance(whole, list) else [whole]
        for index, item in enumerate(items, start=1):
            yield index, _decode_at(item, f"event {index}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = loads_exact(line)
        except ValueError as exc:
            raise EventDecodeError(f"line {number}: not valid JSON: {exc}") from None
        yield number, _decode_at(item, f"line {number}")


def _decode_at(item: Any, where: str) -> Event:
    try:
        return event_from_dict(item)
    except EventDecodeError as exc:
        raise EventDecodeError(f"{where}: {exc}") from None
