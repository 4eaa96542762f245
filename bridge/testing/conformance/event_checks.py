"""The checks on each event a venue gives: identity, field types, completeness, values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from typing import Any

from bridge.codec import dumps
from bridge.events import EVENT_CLASSES, FIELD_TYPES, ORDER_STATUSES, Event, Fee, FieldType
from bridge.venue import Venue

#: fields a conformant event of each kind always has (besides id, venue, plugin, ts)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("order_id", "status"),
    "fill": ("price", "amount"),
    "balance": ("asset", "total"),
    "deposit": ("status",),
    "account": (),
    "notice": ("message",),
}
MIN_MS, MAX_MS = 10**11, 10**14  # 1973..5138: seconds or microseconds fall outside


def event_breaches(
    label: str,
    event: Any,
    cls: type[Venue],
    plugin: str,
    venue_name: str,
    received_at: int,
    *,
    strict: bool,
) -> Iterator[str]:
    """Identity and field types; with ``strict`` (recorded frames) also completeness."""
    if not isinstance(event, Event) or type(event).kind not in EVENT_CLASSES:
        yield f"{label}: {event!r} is not an event of a known kind"
        return
    kind = event.kind
    if kind not in cls.kinds or kind == "connection":
        yield (
            f"{label}: kind {kind!r} is not in {cls.__name__}.kinds "
            f"{cls.kinds!r} (connection events are the core's)"
        )
    if not isinstance(event.id, str) or not event.id:
        yield f"{label}: {kind}.id must be non-empty text, got {event.id!r}"
    if event.venue != venue_name:
        yield f"{label}: {kind}.venue is {event.venue!r}, not the instance name"
    if event.plugin != plugin:
        yield f"{label}: {kind}.plugin is {event.plugin!r}, not {plugin!r}"
    if event.received_at != received_at:
        yield f"{label}: {kind}.received_at is not ctx.received_at"
    for spec in fields(event):
        problem = _type_problem(FIELD_TYPES[kind][spec.name], getattr(event, spec.name))
        if problem:
            yield f"{label}: {kind}.{spec.name} {problem}"
    try:
        dumps(event.raw)
    except TypeError as exc:
        yield f"{label}: {kind}.raw cannot be encoded as JSON: {exc}"
    if not strict:
        return  # a mangled frame may give odd values, as long as they are typed
    if not isinstance(event.ts, int) or not MIN_MS <= event.ts < MAX_MS:
        yield f"{label}: {kind}.ts must be milliseconds since 1970, got {event.ts!r}"
    if event.raw is None:
        yield f"{label}: {kind}.raw must hold the venue item the event came from"
    for name in REQUIRED_FIELDS.get(kind, ()):
        if getattr(event, name) is None:
            yield f"{label}: {kind}.{name} is required, got None"
    for problem in _value_problems(event):
        yield f"{label}: {kind}.{problem}"


def _type_problem(kind: FieldType, value: Any) -> str:
    """Why ``value`` does not fit a field of type ``kind`` ("" if it does)."""
    if value is None or kind is FieldType.JSON:
        return ""
    if kind is FieldType.FEES:
        return _fees_problem(value)
    fits = {
        FieldType.TEXT: isinstance(value, str),
        FieldType.DECIMAL: isinstance(value, Decimal) and value.is_finite(),
        FieldType.INTEGER: isinstance(value, int) and not isinstance(value, bool),
        FieldType.BOOLEAN: isinstance(value, bool),
    }[kind]
    wanted = {FieldType.DECIMAL: "a finite Decimal"}.get(kind, kind.value)
    return "" if fits else f"must be {wanted}, got {type(value).__name__} {value!r:.40}"


def _fees_problem(value: Any) -> str:
    """Why ``value`` is not a tuple of Fee(asset: text or None, amount: finite Decimal)."""
    if not isinstance(value, tuple):
        return f"must be a tuple of bridge.plugin.Fee, got {type(value).__name__} {value!r:.40}"
    for fee in value:
        if not isinstance(fee, Fee):
            return f"must hold bridge.plugin.Fee items, got {type(fee).__name__} {fee!r:.40}"
        if not (isinstance(fee.amount, Decimal) and fee.amount.is_finite()):
            return f"has a fee amount that is not a finite Decimal: {fee.amount!r:.40}"
        if fee.asset is not None and not isinstance(fee.asset, str):
            return f"has a fee asset that is not text: {fee.asset!r:.40}"
    return ""


def _value_problems(event: Any) -> Iterator[str]:
    """The documented vocabularies and relations of docs/events.md."""
    side = getattr(event, "side", None)
    if side is not None and side not in ("buy", "sell"):
        yield f"side must be buy or sell, got {side!r}"
    if event.kind == "order" and event.status is not None and event.status not in ORDER_STATUSES:
        yield f"status must be one of {', '.join(ORDER_STATUSES)}, got {event.status!r}"
    if event.kind == "fill":
        if event.role not in (None, "maker", "taker"):
            yield f"role must be maker, taker or None, got {event.role!r}"
        price, amount, notional = event.price, event.amount, event.notional
        numbers = all(isinstance(v, Decimal) for v in (price, amount, notional))
        if numbers and notional != price * amount:
            yield f"notional {notional} is not price × amount ({price} × {amount})"
    symbol, base, quote = (getattr(event, f, None) for f in ("symbol", "base", "quote"))
    if None not in (symbol, base, quote) and symbol != f"{base}/{quote}":
        yield f'symbol {symbol!r} is not "{base}/{quote}" (BASE/QUOTE)'
