"""Parsing of the value types config files use: durations, decimals, did-you-mean."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

# One or more "<number><unit>" parts, largest unit first: "250ms", "1h30m", "1d12h".
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_ORDER = ("d", "h", "m", "s", "ms")
_UNIT_SECONDS = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
}


def parse_duration(value: object) -> float:
    """Seconds from "250ms", "10s", "5m", "2h", "1d", compounds such as "1h30m" or
    "1d12h" (each unit once, largest first), or a bare number of seconds.

    Raises ValueError with a message fit to show the operator.
    """
    if isinstance(value, bool):
        raise ValueError(f'not a duration: {value!r} (write e.g. "250ms", "10s", "5m", "2h")')
    if isinstance(value, (int, Decimal, float)):
        seconds = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _PART.findall(text) if _DURATION.match(text) else []
        units = [unit for _, unit in parts]
        if not parts or units != sorted(set(units), key=_ORDER.index):
            raise ValueError(
                f'not a duration: "{value}" (write e.g. "250ms", "10s", "5m", "2h", "1h30m")'
            )
        seconds = sum((Decimal(number) * _UNIT_SECONDS[unit] for number, unit in parts), Decimal(0))
    else:
        raise ValueError(f'not a duration: {value!r} (write e.g. "250ms", "10s", "5m", "2h")')
    if not seconds.is_finite() or seconds < 0:
        raise ValueError(f"not a duration: {value!r} (must be zero or more)")
    return float(seconds)


def parse_decimal(value: object) -> Decimal:
    """A Decimal from a string or a number; never goes through float arithmetic.

    TOML floats arrive as Decimal already (the loader uses ``parse_float=Decimal``);
    a Python float is converted through its shortest repr, which is what was written.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float)):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f'not a number: "{value}"') from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def quote_list(names: Iterable[str]) -> str:
    """``"a", "b", "c"`` for error messages."""
    return ", ".join(f'"{n}"' for n in sorted(names))
