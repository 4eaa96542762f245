"""Lenient readers for SkinShark's optional fields, and its ISO timestamps.

SkinShark's stream is best-effort and never replays a push, so an event dropped for one
odd optional field (an amount sent as ``"12,5"``) would be lost for good. Optional
fields are therefore read leniently: a bad value is left out of the event and reported
through ``ctx.problems`` (the core logs and counts it), and the event still goes out.
Required identities (a trade or deposit id) stay strict and raise FrameError.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from bridge.plugin import FrameError, NormalizeContext, dec, need_dec, obj, text

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: no money or count has more than this many digits either side of the point; beyond it
#: a value is garbage, and "1e999999" would cost seconds to print or turn into an int
DIGITS = 40
LATEST_MS = 10**15  # past the year 30000: not a time


def sized(value: Decimal | None, what: str) -> Decimal | None:
    """``value`` if its digits are within a sane range, else FrameError."""
    if value is None:
        return None
    exponent = value.as_tuple().exponent  # an int: dec() admits finite numbers only
    if not isinstance(exponent, int) or abs(exponent) > DIGITS or value.adjusted() > DIGITS:
        raise FrameError(f"{what}: out of range: {value:.3e}")
    return value


def need_number(item: Any, key: str) -> Decimal:
    """A required decimal field of a sane size."""
    value = sized(need_dec(item, key), key)
    assert value is not None
    return value


def push_millis(value: Any, what: str) -> int:
    """A millisecond time from a number or numeric string (bounded, unlike a bare int())."""
    number = sized(dec(value, what), what)
    if number is None or not 0 <= number < LATEST_MS:
        raise FrameError(f"{what}: expected milliseconds since the epoch, got {value!r}")
    return int(number)


class Fields:
    """Optional fields of one venue object; a bad value becomes None plus a reported problem."""

    def __init__(self, ctx: NormalizeContext, data: Any, where: str) -> None:
        self.ctx = ctx
        self.data = obj(data, where)
        self.where = where

    def _left_out(self, exc: FrameError) -> None:
        self.ctx.problems.append(f"{self.where}: {exc} (left out, event kept)")

    def decimal(self, key: str) -> Decimal | None:
        """A decimal from a number or numeric string; None when absent or bad."""
        try:
            return sized(dec(self.data.get(key), key), key)
        except FrameError as exc:
            self._left_out(exc)
            return None

    def cents(self, key: str) -> Decimal | None:
        """An amount in cents (integer or numeric string) as units: 1250 -> 12.50."""
        value = self.decimal(key)
        return None if value is None else value.scaleb(-2)

    def text(self, key: str) -> str | None:
        """Text (or an integer id as text); None when absent or bad."""
        try:
            return text(self.data.get(key), key)
        except FrameError as exc:
            self._left_out(exc)
            return None

    def integer(self, key: str) -> int | None:
        """A whole number from a number or numeric string; None when absent or bad."""
        value = self.decimal(key)
        if value is None:
            return None
        if value != value.to_integral_value():
            self._left_out(FrameError(f"{key}: expected a whole number, got {value}"))
            return None
        return int(value)

    def child(self, key: str) -> Fields | None:
        """The nested object at ``key``; None when absent or not an object."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._left_out(FrameError(f"{key}: expected an object"))
            return None
        return Fields(self.ctx, value, f"{self.where}.{key}")


def iso_millis(value: Any, what: str) -> int:
    """Milliseconds since the epoch from an ISO 8601 time such as ``2026-05-09T10:00:05Z``."""
    if not isinstance(value, str):
        raise FrameError(f"{what}: expected an ISO 8601 time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FrameError(f"{what}: expected an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise FrameError(f"{what}: time without a zone: {value!r}")
    since = moment - EPOCH  # exact, unlike float timestamp() * 1000
    return since.days * 86_400_000 + since.seconds * 1000 + since.microseconds // 1000
