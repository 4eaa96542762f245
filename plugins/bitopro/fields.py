"""Readers for BitoPro's own field conventions (pairs, envelope, seconds timestamps)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import FrameError, dec, need_dec, obj, text
from bridge.plugin import millis as frame_millis

# A unix timestamp above this is already in milliseconds (1e11 s is the year 5138).
_MS_FLOOR = 100_000_000_000


def number(value: Any, what: str) -> Decimal | None:
    """An optional amount or price (bridge.frames bounds the magnitude)."""
    return dec(value, what)


def need_number(item: Any, key: str) -> Decimal:
    """A required amount or price."""
    return need_dec(item, key)


def millis(value: Any, what: str, *, seconds: bool = False) -> int:
    """Milliseconds from a timestamp in ms (or ``seconds``), FrameError unless plausible."""
    return frame_millis(value, what, seconds=seconds)


def split_pair(pair: str) -> tuple[str, str]:
    """``sol_usdt`` (or ``SOL_USDT``) -> (``SOL``, ``USDT``)."""
    base, sep, quote = pair.partition("_")
    if not sep or not base or not quote or "_" in quote:
        raise FrameError(f"pair: not base_quote: {pair!r}")
    return base.upper(), quote.upper()


def frame_ms(frame: dict[str, Any]) -> int | None:
    """The envelope's ``timestamp`` (ms), or None when absent."""
    value = frame.get("timestamp")
    return None if value is None else millis(value, "timestamp")


def seconds_ms(value: Any, what: str) -> int:
    """Milliseconds from a timestamp documented in seconds.

    USER_TRADE documents seconds; a value that is plainly milliseconds already is kept,
    so a server that switches units cannot move events 1000 years into the future.
    """
    number = millis(value, what)
    return number if number >= _MS_FLOOR else millis(value, what, seconds=True)


def upper(value: Any, what: str) -> str | None:
    """Optional text, upper-cased (BitoPro sends currencies in lower case)."""
    result = text(value, what)
    return result.upper() if result else None


def envelope(frame: Any) -> tuple[dict[str, Any], Any]:
    """(frame, data) of a private-stream push; FrameError without ``data``."""
    frame = obj(frame)
    if "data" not in frame or frame["data"] is None:
        raise FrameError("data: missing")
    return frame, frame["data"]
