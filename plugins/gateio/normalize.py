"""Gate.io spot frames -> normalized events (VENUES.md §1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    BalanceEvent,
    DepositEvent,
    Event,
    Fee,
    FillEvent,
    FrameError,
    NormalizeContext,
    OrderEvent,
    dec,
    event_id,
    fee_fields,
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
# An order without the item ``event`` (seed 000's spot.orders example, REST orders) has
# a ``status``: open, closed (filled) or cancelled. It is read as the event Gate would
# have pushed for that state, with the finish_as its status implies.
_STATUS_FINISH = {"closed": "filled", "cancelled": "cancelled"}
# Gate's own names for the assets of the other fee fields.
GT, POINT = "GT", "POINT"
_MS_FLOOR = 100_000_000_000  # a "seconds" field above this (1e11 s, year 5138) is already ms


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
    value = need(item, s_key)
    as_sent = millis(value, s_key)
    # Seconds as documented, but seed 000's spot.balances example puts milliseconds
    # ("1234567890123") in `timestamp`: a value that is plainly milliseconds stays so.
    return as_sent if as_sent >= _MS_FLOOR else millis(value, s_key, seconds=True)


def fees(
    item: dict[str, Any], fee: Decimal | None, fee_asset: str | None
) -> tuple[tuple[Fee, ...] | None, Decimal | None, str | None]:
    """``(fees, fee, fee_asset)``: ``fee`` in ``fee_currency``, then GT, points, the rebate.

    Gate deducts a fee in GT (``gt_fee``) or point cards (``point_fee``) instead of the
    fee currency when the account enables it, and then reports ``fee`` as 0; a rebate
    (``rebated_fee``, in ``rebated_fee_currency``) is money back, so it is negative.
    """
    rebated = dec(item.get("rebated_fee"), "rebated_fee")
    return fee_fields(
        (
            (fee_asset, fee),
            (GT, dec(item.get("gt_fee"), "gt_fee")),
            (POINT, dec(item.get("point_fee"), "point_fee")),
            (
                text(item.get("rebated_fee_currency"), "rebated_fee_currency"),
                None if rebated is None else -rebated,
            ),
        )
    )


def usertrade(ctx: NormalizeContext, item: Any) -> list[Event]:
    """One ``spot.usertrades`` item -> a fill."""
    item = obj(item, "trade")
    trade_id = need_text(item, "id")
    base, quote, symbol = split_pair(need_text(item, "currency_pair"))
    price, amount = need_dec(item, "price"), need_dec(item, "amount")
    fee = dec(item.get("fee"), "fee")
    fee_asset = text(item.get("fee_currency"), "fee_currency")
    gt, point = item.get("gt_fee"), item.get("point_fee")
    charges: tuple[Fee, ...] | None
    if (gt == "0" or gt is None) and (point == "0" or point is None) and "rebated_fee" not in item:
        # The usual trade, no GT, points or rebate: one charge, built here (the hot path).
        charges = None if fee is None else (Fee(fee_asset, fee),)
    else:
        charges, fee, fee_asset = fees(item, fee, fee_asset)
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
            fee=fee,
            fee_asset=fee_asset,
            fees=charges,
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


def quote_sized(side: str | None, order_type: str | None) -> bool:
    """A market buy: Gate sizes it in the quote currency (``amount`` and ``left``)."""
    return side == "buy" and order_type is not None and order_type.startswith("market")


def order(ctx: NormalizeContext, item: Any, derive_fills: bool) -> list[Event]:
    """One ``spot.orders`` item -> an order event, plus a derived fill when asked.

    ``amount``, ``filled`` and ``remaining`` are base units. A market buy is sized in the
    quote currency (Gate's ``amount`` and ``left`` are what it may still spend), so its
    events carry no ``amount`` or ``remaining``; ``filled`` is Gate's ``filled_amount``.
    """
    item = obj(item, "order")
    order_id = need_text(item, "id")
    base, quote, _ = split_pair(need_text(item, "currency_pair"))
    side, order_type = text(item.get("side"), "side"), text(item.get("type"), "type")
    by_quote = quote_sized(side, order_type)
    amount = need_dec(item, "amount")
    filled = dec(item.get("filled_amount"), "filled_amount")
    spent = dec(item.get("filled_total"), "filled_total")
    average = dec(item.get("avg_deal_price"), "avg_deal_price")
    if average is None:  # seed 000 names the average fill price `filled_price`
        average = dec(item.get("filled_price"), "filled_price")
    left = _left(item, amount, spent if by_quote else filled)
    if filled is None:  # servers before 2025-04 lack filled_amount
        filled = _filled_base(amount, left, spent, average) if by_quote else amount - left
    item_event, finish_as, said = _order_event(item, filled)
    ts = _time_ms(item, "update_time_ms", "update_time")
    charges, fee, fee_asset = fees(
        item, dec(item.get("fee"), "fee"), text(item.get("fee_currency"), "fee_currency")
    )
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
            side=side,
            type=order_type,
            status=order_status(item_event, finish_as, left, filled or Decimal(0)),
            status_raw=said,
            price=dec(item.get("price"), "price"),
            amount=None if by_quote else amount,
            filled=filled,
            remaining=None if by_quote else left,
            avg_price=average,
            fee=fee,
            fee_asset=fee_asset,
            fees=charges,
        )
    ]
    if derive_fills and filled is not None:
        events.extend(
            _derived_fill(
                ctx, item, order_id, base, quote, filled, ts, finished=item_event == "finish"
            )
        )
    return events


def _left(item: dict[str, Any], amount: Decimal, done: Decimal | None) -> Decimal:
    """Gate's ``left``, in the order's own units; seed 000's example has none: amount - done."""
    left = dec(item.get("left"), "left")
    if left is not None:
        return left
    if done is None:
        raise FrameError("left: missing (and no filled amount to compute it from)")
    return amount - done


def _filled_base(
    amount: Decimal, left: Decimal, spent: Decimal | None, average: Decimal | None
) -> Decimal | None:
    """Base filled of a market buy without ``filled_amount``: quote spent / average price."""
    if spent is not None and average:
        return spent / average
    return Decimal(0) if spent == 0 or left == amount else None


def _order_event(item: dict[str, Any], filled: Decimal | None) -> tuple[str, str | None, str]:
    """(item event, finish_as, ``status_raw``: the venue's own words) of an order item.

    Pushes carry ``event`` (put/update/finish). An item with only a ``status`` (seed 000,
    REST) is read as the push Gate would have sent for that state: open → put, or update
    once anything filled; closed → finish as filled; cancelled → finish as cancelled.
    """
    finish_as = text(item.get("finish_as"), "finish_as")
    event = text(item.get("event"), "event")
    status = event if event is not None else need_text(item, "status")
    said = f"{status}:{finish_as}" if finish_as else status
    if event is not None:
        return event, finish_as, said
    if status == "open":
        return ("update" if filled else "put"), finish_as, said
    if status in _STATUS_FINISH:
        return "finish", finish_as or _STATUS_FINISH[status], said
    raise FrameError(f"status: expected open, closed or cancelled, got {status!r}")


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
                or dec(item.get("filled_price"), "filled_price")
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
    available = dec(item.get("available"), "available")
    # `freeze` in the channel docs; seed 000's example calls it `locked` and has no total.
    held = "freeze" if item.get("freeze") is not None else "locked"
    locked = dec(item.get(held), held)
    total = dec(item.get("total"), "total")
    if total is None:
        if available is None or locked is None:
            raise FrameError("total: missing (and no available + freeze to compute it from)")
        total = available + locked
    change = dec(item.get("change"), "change")
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
            available=available,
            locked=locked,
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
