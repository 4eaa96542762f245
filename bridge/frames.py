"""Small readers for venue frames that raise FrameError (never KeyError or TypeError).

Venues disagree with their own docs (numbers as strings or numbers, ids as ints or
strings, ``result`` as an object or an array); these helpers accept every documented
shape and turn anything else into a FrameError that names the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.events import Fee, Fees
from bridge.venue import FrameError

MAX_EXPONENT = 60  # decimal exponents beyond ±60 are garbage, not money
MAX_MILLIS = 10**14  # about the year 5138
MILLIS_DIGITS = len(str(MAX_MILLIS - 1))


def obj(value: Any, what: str = "frame") -> dict[str, Any]:
    """``value`` if it is a JSON object, else FrameError."""
    if not isinstance(value, dict):
        raise FrameError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def need(item: Any, key: str) -> Any:
    """``item[key]``, which must be present and not null."""
    try:
        value = item.get(key)
    except AttributeError:  # not a dict: cheaper to find out here than to check first
        raise FrameError(f"item: expected an object, got {type(item).__name__}") from None
    if value is None:
        raise FrameError(f"{key}: missing")
    return value


def items(value: Any, what: str = "result") -> list[Any]:
    """A list from a value that venues send either as an array or as one object."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise FrameError(f"{what}: expected an array or an object, got {type(value).__name__}")


def dec(value: Any, what: str) -> Decimal | None:
    """An exact Decimal from a string or number (floats through their shortest repr)."""
    kind = type(value)
    if kind is str:  # the common case first: venues send amounts as text
        if not value:
            return None
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise FrameError(f"{what}: expected a number, got {value!r}") from None
    elif value is None:
        return None
    elif kind is int or kind is float or kind is Decimal:
        result = Decimal(value) if kind is not float else Decimal(repr(value))
    else:  # bool, lists, objects: never a number
        raise FrameError(f"{what}: expected a number, got {value!r}")
    return _in_range(result, value, what)


def _in_range(result: Decimal, value: Any, what: str) -> Decimal:
    if result.is_finite() and -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
        return result  # nearly always: one test for the usual case, details below
    if not result.is_finite():
        raise FrameError(f"{what}: expected a finite number, got {value!r}")
    if result and not -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
        # No balance or price is 1e60; and int("1e999999") would stall the event loop.
        raise FrameError(f"{what}: out of range: {value!r}")
    return result


def need_dec(item: Any, key: str) -> Decimal:
    """A required decimal field (an empty string counts as missing)."""
    try:
        value = item.get(key)
    except AttributeError:
        value = need(item, key)  # raises the FrameError for a non-object
    if type(value) is str and value:
        # dec() inlined for the usual case: every fill and order reads two or three.
        try:
            return _in_range(Decimal(value), value, key)
        except InvalidOperation:
            raise FrameError(f"{key}: expected a number, got {value!r}") from None
    result = dec(value, key)
    if result is None:
        raise FrameError(f"{key}: missing")
    return result


def text(value: Any, what: str) -> str | None:
    """Text from a string or an integer id."""
    kind = type(value)
    if kind is str or value is None:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    raise FrameError(f"{what}: expected text, got {value!r}")


def need_text(item: Any, key: str) -> str:
    """A required text (or integer id) field."""
    result = text(need(item, key), key)
    assert result is not None
    return result


def millis(value: Any, what: str, *, seconds: bool = False) -> int:
    """A millisecond timestamp from a number or numeric string (``seconds``: scale it)."""
    if not seconds and type(value) is str:
        # The usual shape, "1605176741123" or "1605176741123.456", read without a
        # Decimal: the integer part is the answer (a fraction of a millisecond is dropped).
        whole, _, fraction = value.partition(".")
        if (
            len(whole) <= MILLIS_DIGITS  # int() of a long string is slow, or refused
            and value.isascii()  # isdigit() alone takes "²" and other digits Decimal refuses
            and whole.isdigit()
            and (fraction.isdigit() or not fraction)
        ):
            result = int(whole)
            if result < MAX_MILLIS:
                return result
    number = dec(value, what)
    if number is None:
        raise FrameError(f"{what}: missing")
    result = int(number * 1000) if seconds else int(number)
    if not 0 <= result < MAX_MILLIS:
        raise FrameError(f"{what}: not a plausible time: {value!r}")
    return result


def flag(value: Any, what: str) -> bool | None:
    """A boolean sent as true/false or as "true"/"false" text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FrameError(f"{what}: expected true or false, got {value!r}")


def notional(price: Decimal, amount: Decimal) -> Decimal:
    """price × amount without the trailing zeros two 8-decimal inputs leave behind."""
    product = price * amount
    return product.normalize() if product else Decimal(0)


def fee_fields(
    charges: Iterable[tuple[str | None, Decimal | None]],
) -> tuple[Fees | None, Decimal | None, str | None]:
    """``(fees, fee, fee_asset)`` of an event from the venue's charges, in its own order.

    ``charges`` are ``(asset, amount)`` pairs, the venue's main fee field first, then the
    others (GT, points...); a rebate is passed as a negative amount and an amount the venue
    left out as None. ``fees`` holds every charge that is not zero — or, when all are zero,
    the first one reported (a free fill still names its fee currency); None when the venue
    reported no fee at all. ``fee``/``fee_asset`` are the main charge: the first positive
    one, else the first one reported (docs/events.md).
    """
    reported = [(asset, amount) for asset, amount in charges if amount is not None]
    if not reported:
        return None, None, None
    listed = tuple(Fee(asset, amount) for asset, amount in reported if amount)
    if not listed:
        listed = (Fee(*reported[0]),)
    main = next((pair for pair in reported if pair[1] > 0), reported[0])
    return listed, main[1], main[0]
