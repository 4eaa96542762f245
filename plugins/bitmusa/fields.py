"""Readers for Bitmusa's fields: exact, bounded decimals and canonical texts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import FrameError, dec, need

# No real price or size is beyond 1e30 or finer than 1e-30; past that, Decimal arithmetic
# could overflow, so such values are malformed rather than a crash.
MAGNITUDE = 30


def key_text(value: Decimal) -> str:
    """A canonical text for a Decimal (2, 2.0 and 2.00 agree), for ids and state."""
    return format(value.normalize(), "f") if value else "0"


def quantity(item: dict[str, Any], key: str, *, required: bool = True) -> Decimal | None:
    """A non-negative, plausibly sized number (text or JSON number); FrameError if not."""
    # not need_dec: it asserts on "" (bridge.frames), where a FrameError is wanted
    value = dec(need(item, key) if required else item.get(key), key)
    if value is None:
        if required:
            raise FrameError(f"{key}: missing")
        return None
    if not value:
        return value
    if value < 0:
        raise FrameError(f"{key}: must not be negative, got {value}")
    if not -MAGNITUDE <= value.adjusted() <= MAGNITUDE:
        raise FrameError(f"{key}: out of range: {value}")
    return value


def need_quantity(item: dict[str, Any], key: str) -> Decimal:
    """A required :func:`quantity`."""
    value = quantity(item, key)
    if value is None:  # unreachable: quantity() raised for a missing required value
        raise FrameError(f"{key}: missing")
    return value


def split_symbol(symbol: str) -> tuple[str, str]:
    """``XRP/USDT`` -> (``XRP``, ``USDT``); ``XRP_USDT`` is accepted too."""
    for separator in ("/", "_"):
        base, sep, quote = symbol.partition(separator)
        if sep and base and quote:
            return base.upper(), quote.upper()
    raise FrameError(f"symbol: not BASE/QUOTE: {symbol!r}")
