"""USER_TRADE -> one fill per trade, keyed by ``matchID``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    Event,
    Fee,
    FillEvent,
    FrameError,
    NormalizeContext,
    event_id,
    flag,
    items,
    need_text,
    notional,
    obj,
    text,
)
from plugins.bitopro.fields import envelope, frame_ms, need_number, number, seconds_ms, upper

_SIDES = {"ask": "sell", "bid": "buy", "sell": "sell", "buy": "buy"}


def fee_amount(
    fee: Decimal | None,
    fee_asset: str | None,
    base: str,
    quote: str,
    volume: Decimal,
    value: Decimal,
) -> Decimal | None:
    """The fee in ``fee_asset`` units, undoing BitoPro's 1e8 integer scaling when present.

    [ambiguous] The documented example has ``fee:"6407800"`` twd on a 32.039 twd trade:
    0.064078 × 1e8 (0.2%). A fee can never exceed what it is charged on, so an integer
    fee larger than the trade's value in the fee currency (the notional for the quote,
    the volume for the base) is read as scaled. Any real fee rate above 1e-8 scales past
    that ceiling, and a plain fee stays below it, so the two cases cannot be confused.

    A fee in a third currency (BITO, when the account pays fees in BITO) has no ceiling:
    what it is worth in the traded currencies is unknown. There the form decides: scaling
    writes a whole number of 1e-8 units, while a real BITO fee (a rate times the trade's
    value, converted at BITO's price) has decimals (REST: ``"129.5967742"`` BITO). So a
    third-currency fee written without a fractional part is read as scaled.
    """
    if not fee or fee_asset is None:
        return fee  # zero, or no currency to judge by: as sent
    if fee_asset in (base, quote):
        ceiling = value if fee_asset == quote else volume
        if fee > ceiling and fee == fee.to_integral_value():
            return fee.scaleb(-8)
        return fee
    exponent = fee.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:  # "2130000", never "0.0213" or "1.0"
        return fee.scaleb(-8)
    return fee


def normalize_trade(ctx: NormalizeContext, frame: Any) -> list[Event]:
    """The fill of one USER_TRADE push (``data`` is one trade; an array is accepted)."""
    frame, data = envelope(frame)
    fallback_ts = frame_ms(frame)
    return ctx.each(items(data, "data"), lambda item: _fill(ctx, item, fallback_ts))


def _trade_ms(item: dict[str, Any], fallback: int | None, received_at: int) -> int:
    for field in ("transactionTimestamp", "eventTimestamp"):
        if item.get(field) is not None:
            return seconds_ms(item[field], field)
    return received_at if fallback is None else fallback


def _maker(value: Any) -> bool | None:
    # Documented as text, sent as a boolean: accept both. An unreadable value loses only
    # the role, never the fill (a missed fill costs more than a missing label).
    try:
        return flag(value, "isMaker")
    except FrameError:
        return None


def _fill(ctx: NormalizeContext, item: Any, fallback_ts: int | None) -> list[Event]:
    item = obj(item, "trade")
    match_id = need_text(item, "matchID")
    base, quote = need_text(item, "base").upper(), need_text(item, "quote").upper()
    side_text = need_text(item, "side")
    side = _SIDES.get(side_text.lower())
    if side is None:
        raise FrameError(f"side: expected ask or bid, got {side_text!r}")
    price, volume = need_number(item, "price"), need_number(item, "volume")
    value = notional(price, volume)
    fee_asset = upper(item.get("feeCurrency"), "feeCurrency")
    fee = fee_amount(number(item.get("fee"), "fee"), fee_asset, base, quote, volume, value)
    maker = _maker(item.get("isMaker"))
    return [
        ctx.event(
            FillEvent,
            id=event_id(ctx.venue, "fill", match_id),
            ts=_trade_ms(item, fallback_ts, ctx.received_at),
            raw=item,
            trade_id=match_id,
            order_id=text(item.get("orderID"), "orderID"),
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            side=side,
            role=None if maker is None else "maker" if maker else "taker",
            price=price,
            amount=volume,
            notional=value,
            fee=fee,
            fee_asset=fee_asset,
            fees=None if fee is None else (Fee(fee_asset, fee),),
        )
    ]
