"""SkinShark ``trade.<status>`` -> order events, plus one fill per delivered item.

A SkinShark trade is a basket of skins bought or sold at once, so it maps to our
``order``: ``order_id`` is the trade id, ``price`` the trade's ``totalPrice`` in
``currency`` (the quote), ``amount`` the item count, ``filled`` the items delivered.
Each item that reaches ``hold`` or ``completed`` is a ``fill`` of one item at its own
price (VENUES.md §5 note (b)); ``base`` is the item's market name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    Event,
    FillEvent,
    NormalizeContext,
    OrderEvent,
    event_id,
    need_text,
    obj,
    text,
)
from plugins.skinshark.fields import Fields, need_number

#: SkinShark trade status -> our order status (status_raw keeps SkinShark's word)
ORDER_STATUSES = {
    "initiated": "open",
    "pending": "open",
    "active": "open",
    "hold": "open",  # delivered but inside Steam's trade protection: it can still be reverted
    "completed": "filled",
    "failed": "rejected",
    "declined": "rejected",
    "canceled": "canceled",
    "cancelled": "canceled",
    "reverted": "canceled",  # undone after delivery (see revertedBy); match status_raw for it
}
FINAL = frozenset({"filled", "rejected", "canceled"})
#: webhook-only follow-ups of a completed trade (fees, per-item refunds): no order change
FOLLOW_UPS = frozenset({"settled", "refunded"})
#: item statuses that mean the item was delivered: a fill
DELIVERED = frozenset({"hold", "completed"})


def trade_events(ctx: NormalizeContext, suffix: str, payload: Any, ts: int) -> list[Event]:
    """One ``trade.<suffix>`` push (the full Trade) -> an order event and item fills."""
    trade = Fields(ctx, payload, "data")
    trade_id = need_text(trade.data, "id")
    if suffix in FOLLOW_UPS:
        return []
    # The event name is the documented discriminator; data.status is the fallback for an
    # event name that is not a status.
    status_raw = suffix if suffix in ORDER_STATUSES else (trade.text("status") or suffix)
    status = ORDER_STATUSES.get(status_raw)  # None for an undocumented status
    side = trade.text("type")
    side = side if side in ("buy", "sell") else None
    currency = trade.text("currency")
    items = trade.data.get("items")
    items = items if isinstance(items, list) else []
    events: list[Event] = []
    # Whether pushes come per item or per trade transition is not documented: a push that
    # repeats the trade's last status is no new order event (its items may still fill).
    state_key = f"trade:{trade_id}"
    if ctx.state.get(state_key) != status_raw:
        events.append(_order(ctx, trade, trade_id, status, status_raw, side, currency, items, ts))
    if status in FINAL:
        ctx.state.pop(state_key, None)  # nothing follows but a revert, which differs anyway
    elif ctx.state.get(state_key) != status_raw:
        ctx.state[state_key] = status_raw
    if status in (None, "open", "filled"):
        events += ctx.each(
            items, lambda item: _fill(ctx, item, trade_id, status_raw, side, currency, ts)
        )
    return events


def _name(item: Any) -> str | None:
    """An item's market name (a label only: an odd one is left out, never fatal)."""
    if not isinstance(item, dict):
        return None
    for key in ("marketHashName", "name"):
        if isinstance(item.get(key), str) and item[key]:
            return str(item[key])
    return None


def _count(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _order(
    ctx: NormalizeContext,
    trade: Fields,
    trade_id: str,
    status: str | None,
    status_raw: str,
    side: str | None,
    currency: str | None,
    items: list[Any],
    ts: int,
) -> OrderEvent:
    summary = trade.child("summary")
    total = summary.integer("total") if summary else None
    if total is None and items:
        total = len(items)
    counts = [summary.integer(k) for k in ("delivered", "completed")] if summary else []
    delivered = max((c for c in counts if c is not None), default=None)
    failed = summary.integer("failed") if summary else None
    remaining = None
    if total is not None and delivered is not None:
        remaining = max(total - delivered - (failed or 0), 0)
    base = _name(items[0]) if len(items) == 1 else None  # a basket has no single base
    return ctx.event(
        OrderEvent,
        id=event_id(ctx.venue, "order", trade_id, status_raw, trade.data.get("updatedAt")),
        ts=ts,
        raw=trade.data,
        order_id=trade_id,
        client_id=trade.text("externalId"),
        symbol=f"{base}/{currency}" if base and currency else None,
        base=base,
        quote=currency,
        side=side,
        status=status,
        status_raw=status_raw,
        price=trade.decimal("totalPrice"),
        amount=_count(total),
        filled=_count(delivered),
        remaining=_count(remaining),
    )


def _fill(
    ctx: NormalizeContext,
    item: Any,
    trade_id: str,
    trade_status: str,
    side: str | None,
    currency: str | None,
    ts: int,
) -> list[Event]:
    item = obj(item, "item")
    item_status = text(item.get("status"), "status") or trade_status
    if item_status not in DELIVERED:
        return []
    item_id = need_text(item, "id")
    price = need_number(item, "price")
    base = _name(item)
    return [
        ctx.event(
            FillEvent,
            # one fill per item, whichever push (hold, then completed) reports it first
            id=event_id(ctx.venue, "fill", trade_id, item_id),
            ts=ts,
            raw=item,
            trade_id=item_id,
            order_id=trade_id,
            symbol=f"{base}/{currency}" if base and currency else None,
            base=base,
            quote=currency,
            side=side,
            price=price,
            amount=Decimal(1),
            notional=price,
        )
    ]
