"""Gate.io spot frames -> normalized events (VENUES.md §1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    BalanceEvent,
    DepositEvent,
    Event,
    FillEvent,
    FrameError,
    NormalizeContext,
    OrderEvent,
    dec,
    event_id,
    items,
    millis,
    need,
    need_dec,
    need_text,
    notional,
    obj,
    text,
)

# finish_as values that are not a cancellation of the remainder
_FINISHED_OPEN = {"open": "open", "filled": "filled"}


_PAIRS: dict[str, tuple[str, str, str]] = {}  # an account trades few pairs: remember them
_MAX_PAIRS = 4096


def split_pair(pair: str) -> tuple[str, str, str]:
    """``BTC_USDT`` -> (``BTC``, ``USDT``, ``BTC/USDT``)."""
    known = _PAIRS.get(pair)
    if known is not None:
        return known
    base, sep, quote = pair.partition("_")
    if not sep or not base or not quote:
        raise FrameError(f"currency_pair: not BASE_QUOTE: {pair!r}")
    base, quote = base.upper(), quote.upper()
    parts = (base, quote, f"{base}/{quote}")
    if len(_PAIRS) < _MAX_PAIRS:  # bounded: pairs come from the venue, not from us
        _PAIRS[pair] = parts
    return parts


def _time_ms(item: dict[str, Any], ms_key: str, s_key: str) -> int:
    ms = item.get(ms_key)
    if ms is not None and ms != "":
        return millis(ms, ms_key)  # may carry a fraction: "1605176741123.456"
    return millis(need(item, s_key), s_key, seconds=True)


def usertrade(ctx: NormalizeContext, item: Any) -> list[Event]:
    """One ``spot.usertrades`` item -> a fill."""
    item = obj(item, "trade")
    trade_id = need_text(item, "id")
    base, quote, symbol = split_pair(need_text(item, "currency_pair"))
    price, amount = need_dec(item, "price"), need_dec(item, "amount")
    venue = ctx.venue
    # Built directly rather than through ctx.event: this is the hottest path of the venue.
    return [
        FillEvent(
            id=event_id(venue, "fill", trade_id),
            venue=venue,
            plugin=ctx.plugin,
            received_at=ctx.received_at,
            raw=item,
            ts=_time_ms(item, "create_time_ms", "create_time"),
            trade_id=trade_id,
            order_id=text(item.get("order_id"), "order_id"),
            symbol=symbol,
            base=base,
            quote=quote,
            side=text(item.get("side"), "side"),
            role=text(item.get("role"), "role"),
            price=price,
            amount=amount,
            notional=notional(price, amount),
            fee=dec(item.get("fee"), "fee"),
            fee_asset=text(item.get("fee_currency"), "fee_currency"),
        )
    ]


def order_status(event: str, finish_as: str | None, left: Decimal, filled: Decimal) -> str:
    """Our status from Gate's item ``event`` (put/update/finish) and ``finish_as``."""
    if event != "finish":
        return "partially_filled" if filled > 0 else "open"
    if finish_as in _FINISHED_OPEN and finish_as != "open":
        return _FINISHED_OPEN[finish_as]
    # ioc, stp, poc, fok, cancelled, small...: the remainder was canceled, unless none was left
    return "filled" if left == 0 else "canceled"


def order(ctx: NormalizeContext, item: Any, derive_fills: bool) -> list[Event]:
    """One ``spot.orders`` item -> an order event, plus a derived fill when asked."""
    item = obj(item, "order")
    order_id = need_text(item, "id")
    base, quote, _ = split_pair(need_text(item, "currency_pair"))
    amount, left = need_dec(item, "amount"), need_dec(item, "left")
    filled = dec(item.get("filled_amount"), "filled_amount")
    if filled is None:  # servers before 2025-04 lack filled_amount
        filled = amount - left
    item_event = need_text(item, "event")
    finish_as = text(item.get("finish_as"), "finish_as")
    ts = _time_ms(item, "update_time_ms", "update_time")
    events: list[Event] = [
        ctx.event(
            OrderEvent,
            id=event_id(ctx.venue, "order", order_id, ts, item_event, left),
            raw=item,
            ts=ts,
            order_id=order_id,
            client_id=text(item.get("text"), "text"),
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            side=text(item.get("side"), "side"),
            type=text(item.get("type"), "type"),
            status=order_status(item_event, finish_as, left, filled),
            status_raw=f"{item_event}:{finish_as}" if finish_as else item_event,
            price=dec(item.get("price"), "price"),
            amount=amount,
            filled=filled,
            remaining=left,
            avg_price=dec(item.get("avg_deal_price"), "avg_deal_price"),
            fee=dec(item.get("fee"), "fee"),
            fee_asset=text(item.get("fee_currency"), "fee_currency"),
        )
    ]
    if derive_fills:
        events.extend(
            _derived_fill(
                ctx, item, order_id, base, quote, filled, ts, finished=item_event == "finish"
            )
        )
    return events


def _derived_fill(
    ctx: NormalizeContext,
    item: dict[str, Any],
    order_id: str,
    base: str,
    quote: str,
    filled: Decimal,
    ts: int,
    *,
    finished: bool,
) -> list[Event]:
    """A fill from the growth of cumulative ``filled_amount`` since the last known value."""
    key = f"filled:{order_id}"
    prior_base, prior_quote = (Decimal(v) for v in ctx.state.get(key, ("0", "0")))
    total_quote = dec(item.get("filled_total"), "filled_total")
    events: list[Event] = []
    delta = filled - prior_base
    if delta > 0:
        if total_quote is not None and total_quote > prior_quote:
            price = (total_quote - prior_quote) / delta
        else:
            price = (
                dec(item.get("avg_deal_price"), "avg_deal_price")
                or dec(item.get("price"), "price")
                or Decimal(0)
            )
        events.append(
            ctx.derived_fill(
                order_id=order_id,
                cumulative=filled,
                base=base,
                quote=quote,
                side=text(item.get("side"), "side"),
                price=price,
                amount=delta,
                notional=notional(price, delta),
                ts=ts,
                raw=item,
            )
        )
    if finished:
        ctx.state.pop(key, None)  # the order is closed: nothing more will fill
    elif delta > 0:
        ctx.state[key] = [str(filled), str(total_quote if total_quote is not None else 0)]
    return events


def balance(ctx: NormalizeContext, item: Any) -> list[Event]:
    """One ``spot.balances`` item -> a balance event (and a deposit when it was one)."""
    item = obj(item, "balance")
    asset = need_text(item, "currency").upper()
    ts = _time_ms(item, "timestamp_ms", "timestamp")
    total, change = need_dec(item, "total"), dec(item.get("change"), "change")
    change_type = text(item.get("change_type"), "change_type")
    # Balances carry no id: the documented dedup key is currency, time, change and total.
    identity = (asset, ts, change, change_type, total)
    events: list[Event] = [
        ctx.event(
            BalanceEvent,
            id=event_id(ctx.venue, "balance", *identity),
            raw=item,
            ts=ts,
            asset=asset,
            total=total,
            available=dec(item.get("available"), "available"),
            locked=dec(item.get("freeze"), "freeze"),
            change=change,
            change_type=change_type,
        )
    ]
    if change_type == "deposit" and change is not None and change > 0:
        # Gate's stream reports deposits only as balance changes (no id, no tx hash).
        events.append(
            ctx.event(
                DepositEvent,
                id=event_id(ctx.venue, "deposit", *identity),
                raw=item,
                ts=ts,
                status="completed",
                asset=asset,
                amount=change,
            )
        )
    return events


def normalize_frame(ctx: NormalizeContext, frame: Any, usertrades_subscribed: bool) -> list[Event]:
    """Every event in one ``update`` push; a bad item is skipped, the others kept."""
    frame = obj(frame)
    channel = frame.get("channel")
    result = items(frame.get("result"))
    if channel == "spot.usertrades":
        return ctx.each(result, lambda item: usertrade(ctx, item))
    if channel == "spot.orders":
        return ctx.each(result, lambda item: order(ctx, item, not usertrades_subscribed))
    if channel == "spot.balances":
        return ctx.each(result, lambda item: balance(ctx, item))
    raise FrameError(f"channel: unexpected {channel!r}")
