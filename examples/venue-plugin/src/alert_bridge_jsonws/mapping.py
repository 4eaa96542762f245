"""What a frame means: signal rules (ack, pong, auth failure...) and event mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge import EVENT_CLASSES, market_symbol
from bridge.plugin import (
    Classification,
    Event,
    FrameError,
    NormalizeContext,
    Signal,
    event_id,
    millis,
    notional,
    text,
)

from alert_bridge_jsonws.fields import KIND_FIELDS, MISSING, lookup

Path = tuple[str, ...]


@dataclass(frozen=True)
class SignalRule:
    """Frames matching ``when`` are not data: they mean ``signal``."""

    when: dict[Path, Any]
    signal: Signal
    detail: Path | None = None

    def classify(self, frame: Any) -> Classification:
        """The classification, with the frame's ``detail`` text (shortened) if any."""
        found = lookup(frame, self.detail) if self.detail else MISSING
        return Classification(self.signal, "" if found is MISSING else str(found)[:200])


@dataclass(frozen=True)
class EventMapping:
    """Frames matching ``when`` become events of ``kind``, one per item."""

    when: dict[Path, Any]
    kind: str
    id: tuple[Path, ...]
    fields: dict[str, Path]
    items: Path | None = None
    ts: Path | None = None
    ts_seconds: bool = False
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)

    def event(self, ctx: NormalizeContext, item: Any) -> Event:
        """The event one item describes; FrameError names the field that is off."""
        values = self._read(item)
        ts = None
        if self.ts is not None:
            found = lookup(item, self.ts)
            if found is not MISSING and found is not None:
                ts = millis(found, ".".join(self.ts), seconds=self.ts_seconds)
        if self.kind == "fill" and "notional" not in values:
            price, amount = values.get("price"), values.get("amount")
            if price is not None and amount is not None:
                values["notional"] = notional(price, amount)
        return ctx.event(
            EVENT_CLASSES[self.kind],
            id=event_id(ctx.venue, self.kind, *self._identity(item)),
            ts=ts,
            raw=item,
            **values,
        )

    def _identity(self, item: Any) -> list[str]:
        """The venue's own identity of the fact, never the clock: a re-pushed frame gives
        the same id, so the core drops it as already seen."""
        parts = []
        for path in self.id:
            where = ".".join(path)
            found = lookup(item, path)
            part = None if found is MISSING else text(found, where)
            if part is None:
                raise FrameError(f"{where}: missing (it is part of the event id)")
            parts.append(part)
        return parts

    def _read(self, item: Any) -> dict[str, Any]:
        converters = KIND_FIELDS[self.kind]
        values: dict[str, Any] = dict(self.constants)
        for name, path in self.fields.items():
            raw = lookup(item, path)
            if raw is MISSING or raw is None:
                continue
            table = self.values.get(name)
            if table is not None and isinstance(raw, (str, int)) and str(raw) in table:
                raw = table[str(raw)]
            values[name] = converters[name](raw, ".".join(path))
        _complete_symbol(values)
        return values


def _complete_symbol(values: dict[str, Any]) -> None:
    """``symbol`` as BASE/QUOTE: from base and quote, or split from ``"btc-usdt"``-like text."""
    symbol, base, quote = values.get("symbol"), values.get("base"), values.get("quote")
    if base and quote:
        values["symbol"] = market_symbol(base, quote)
    elif symbol is not None:
        base, quote = _split_symbol(symbol)
        values.update(base=base, quote=quote, symbol=market_symbol(base, quote))


def _split_symbol(symbol: str) -> tuple[str, str]:
    for separator in ("/", "-", "_", ":"):
        base, sep, quote = symbol.partition(separator)
        if sep and base and quote and separator not in quote:
            return base.upper(), quote.upper()
    raise FrameError(f"symbol: not BASE/QUOTE (or BASE-QUOTE, BASE_QUOTE): {symbol!r}")
