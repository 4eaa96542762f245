"""``title``/``body`` templates: ``{field}`` placeholders that read event fields only.

Templates are parsed at config load. A placeholder is a bare field name, optionally with
a format spec (``{amount:.2f}``); attribute access, indexing and conversions are config
errors, so a template such as ``{raw.__class__}`` can never reach into Python objects.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bridge.codec import decimal_text, dumps
from bridge.events import Fee

MISSING = "-"  # how a field without a value renders
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and the fields to fill in, in order."""

    source: str
    parts: tuple[tuple[str, str | None, str], ...]  # (literal, field or None, format spec)

    @classmethod
    def parse(cls, source: str, allowed: Collection[str]) -> Template:
        """Parse and check ``source``; ValueError says what is wrong and how to fix it."""
        parts: list[tuple[str, str | None, str]] = []
        try:
            parsed = list(_FORMATTER.parse(source))
        except ValueError as exc:
            raise ValueError(
                f"invalid template {source!r}: {exc} (write {{{{ for a literal {{)"
            ) from None
        for literal, field, spec, conversion in parsed:
            if field is None:
                parts.append((literal, None, ""))
                continue
            if not field:
                raise ValueError("empty placeholder {}: name a field, e.g. {symbol}")
            if not field.isidentifier():
                raise ValueError(
                    f"placeholder {{{field}}}: templates read event fields only "
                    "(no attribute access or indexing)"
                )
            if conversion is not None:
                raise ValueError(
                    f"placeholder {{{field}!{conversion}}}: conversions are not allowed"
                )
            if spec and "{" in spec:
                raise ValueError(
                    f"placeholder {{{field}:{spec}}}: nested placeholders are not allowed"
                )
            if field not in allowed:
                from bridge.units import did_you_mean  # local: avoids a cycle at import

                raise ValueError(
                    f"placeholder {{{field}}}: no such field{did_you_mean(field, allowed)}"
                )
            parts.append((literal, field, spec or ""))
        return cls(source, tuple(parts))

    def render(self, lookup: Callable[[str], Any]) -> str:
        """Fill in the fields; ``lookup`` returns a field's value."""
        out = []
        for literal, field, spec in self.parts:
            out.append(literal)
            if field is not None:
                out.append(render_value(lookup(field), spec))
        return "".join(out)

    @property
    def fields(self) -> list[str]:
        return [f for _, f, _ in self.parts if f is not None]


def render_value(value: Any, spec: str = "") -> str:
    """A field value as text: Decimals without exponent, booleans lowercase, None as '-'.

    ``fees`` render as "0.1 USDT, 0.002 GT" (a format spec applies to each amount).
    """
    if value is None:
        return MISSING
    if isinstance(value, tuple):
        return ", ".join(_render_fee(fee, spec) for fee in value) or MISSING
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            pass  # a spec that does not fit this value: fall back to the plain rendering
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return dumps(value).decode()
    return str(value)


def _render_fee(fee: Any, spec: str) -> str:
    if not isinstance(fee, Fee):
        return render_value(fee, spec)
    amount = render_value(fee.amount, spec)
    return amount if fee.asset is None else f"{amount} {fee.asset}"
