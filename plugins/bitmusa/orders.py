"""``spot_order`` items -> order events, and fills derived from ``tradedAmount`` growth.

There are no per-fill frames: a fill is the growth of the cumulative ``tradedAmount``
(base units) since the last value we know, kept in ``ctx.state`` under
``order:<orderId>`` as [tradedAmount, value, eventTime]. The entry goes when the order
closes; the core bounds the rest (``order_state_max``, ``order_state_max_age``: orders
whose close we missed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    Event,
    FillEvent,
    FrameError,
    NormalizeContext,
    OrderEvent,
    event_id,
    market_symbol,
    need_text,
    notional,
    obj,
    text,
)
from plugins.bitmusa.fields import key_text, need_quantity, quantity, split_symbol

# COMPLETED/CANCELED close the order. OVERTIMED is not explained; we read it as expiry
# (the remainder lapsed), which like a cancel closes the order [inferred, VENUES.md].
CLOSED_STATUSES = {"COMPLETED": "filled", "CANCELED": "canceled", "OVERTIMED": "expired"}
ORDER_TYPES = {"LIMIT_PRICE": "limit", "MARKET_PRICE": "market"}
SIDES = {"BUY": "buy", "SELL": "sell"}


def order_status(status_raw: str, traded: Decimal, item: dict[str, Any]) -> str:
    """Our status from Bitmusa's, its close times, and whether anything traded."""
    status = status_raw.upper()
    if status in CLOSED_STATUSES:
        return CLOSED_STATUSES[status]
    if status != "TRADING":  # undocumented: trust the close times if the venue set them
        if item.get("completedTime"):
            return "filled"
        if item.get("canceledTime"):
            return "canceled"
    return "partially_filled" if traded > 0 else "open"


def order(ctx: NormalizeContext, item: Any, ts: int) -> list[Event]:
    """One ``spot_order`` item -> an order event, plus a fill derived from its growth."""
    item = obj(item, "data")
    order_id = need_text(item, "orderId")
    base, quote = split_symbol(need_text(item, "symbol"))
    direction = need_text(item, "direction")
    side = SIDES.get(direction.upper())
    if side is None:
        raise FrameError(f"direction: expected BUY or SELL, got {direction!r}")
    type_raw = text(item.get("type"), "type")
    order_type = ORDER_TYPES.get(type_raw.upper(), type_raw.lower()) if type_raw else None
    status_raw = need_text(item, "status")
    traded = need_quantity(item, "tradedAmount")  # base units, whatever the order type
    value = quantity(item, "value", required=False)
    price = quantity(item, "price", required=False)
    limit_price = price if price is not None and price > 0 else None  # market orders: 0
    status = order_status(status_raw, traded, item)
    # A market BUY's `amount` is its budget in the quote currency (REST: amountSymbol
    # USDT), so neither the base size nor what remains of it is known.
    if order_type == "market" and side == "buy":
        amount = remaining = None
    else:
        amount = quantity(item, "amount", required=False)
        remaining = None if amount is None else max(amount - traded, Decimal(0))
    average = value / traded if value is not None and value > 0 and traded > 0 else None
    update = ctx.event(
        OrderEvent,
        id=event_id(ctx.venue, "order", order_id, status_raw, key_text(traded)),
        raw=item,
        ts=ts,
        order_id=order_id,
        symbol=market_symbol(base, quote),
        base=base,
        quote=quote,
        side=side,
        type=order_type,
        status=status,
        status_raw=status_raw,
        price=limit_price,
        amount=amount,
        filled=traded,
        remaining=remaining,
        avg_price=average,
    )
    fill = _derived_fill(ctx, update, traded, value)
    return [update] if fill is None else [update, fill]


def _derived_fill(
    ctx: NormalizeContext, update: OrderEvent, traded: Decimal, value: Decimal | None
) -> FillEvent | None:
    """A fill from the growth of ``tradedAmount`` since the last known value (if any)."""
    key = f"order:{update.order_id}"
    prior = ctx.state.get(key)
    prior_traded, prior_value = Decimal(0), Decimal(0)
    if isinstance(prior, list) and len(prior) == 3:
        prior_traded, prior_value = Decimal(prior[0]), Decimal(prior[1])
    delta = traded - prior_traded
    fill = None
    if delta > 0:
        # `value` is read as cumulative quote turnover [inferred: it is 0 on an untraded
        # order]; when it did not grow with the fill, fall back to the limit price.
        if value is not None and value > prior_value:
            price: Decimal | None = (value - prior_value) / delta
        else:
            price = update.price
        fill = ctx.derived_fill(
            order_id=str(update.order_id),
            cumulative=key_text(traded),
            base=update.base,
            quote=update.quote,
            side=update.side,
            price=price,
            amount=delta,
            notional=None if price is None else notional(price, delta),
            ts=update.ts,
            raw=update.raw,
            symbol=update.symbol,
        )
    if update.status in ("filled", "canceled", "expired"):
        ctx.state.pop(key, None)  # nothing more will fill: keep the state bounded
        return fill
    # Never step back: a late, older frame must not make the next one look like a new fill.
    entry = [
        key_text(max(traded, prior_traded)),
        key_text(max(value or Decimal(0), prior_value)),
        update.ts,
    ]
    known = prior[:2] if isinstance(prior, list) else ["0", "0"]
    if entry[:2] != known:  # untraded orders with no value cost no state
        ctx.state[key] = entry
    return fill
