"""ACTIVE_ORDERS -> order events (and derived fills when USER_TRADE is not streamed).

The open orders are re-pushed on every connect, so each order is an idempotent upsert:
an order whose ``(updatedTimestamp, status, executedAmount, total)`` equals the last
known one yields nothing.

State: ``order:<id>`` -> ``[updatedTimestamp, status, executedAmount, total]`` for open
orders only. It is deleted when an order reaches a terminal status and, because the
docs leave open whether ACTIVE_ORDERS pushes terminal states or silently drops the
order [ambiguous], also when a connect snapshot no longer lists the order.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bridge.plugin import (
    Event,
    Fee,
    FrameError,
    NormalizeContext,
    OrderEvent,
    event_id,
    fee_fields,
    need,
    need_text,
    notional,
    obj,
    text,
)
from plugins.bitopro.fields import envelope, millis, need_number, number, split_pair, upper

PREFIX = "order:"
# Set once the first ACTIVE_ORDERS frame ever was applied: orders first seen in that
# frame were (partly) filled before we were watching, so they yield no derived fills.
SEEDED = "seeded:orders"
_ZERO = Decimal(0)
BITO = "BITO"  # BitoPro's own token, in which an account may pay its fees

# BitoPro model.md codes. 3 is "Completed, partial deal": the order is closed with only
# part of it executed, i.e. the rest was canceled (CCXT says "closed"; our vocabulary
# needs the outcome, and Gate's plugin maps its IOC remainder the same way).
_STATUSES = {
    -1: "open",
    0: "open",
    1: "partially_filled",
    2: "filled",
    4: "canceled",
    6: "canceled",
}
TERMINAL = frozenset({2, 3, 4, 6})

Entry = tuple[str | None, Any]


def status_code(value: Any) -> int | None:
    """The integer status code (sent as a number, or as text); None when not a code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    raise FrameError(f"status: expected a code, got {value!r}")


def order_status(code: int | None, executed: Decimal, remaining: Decimal | None) -> str:
    """Our status for a BitoPro code; unknown codes are judged by the amounts."""
    if code == 3:
        return "filled" if remaining == 0 else "canceled"
    if code not in _STATUSES or code in (-1, 0):
        # 0 "in progress" with an execution, or a code no source documents (no 7 exists):
        # never guess a terminal outcome, say what the amounts show.
        if remaining == 0 and executed > 0:
            return "filled"
        return "partially_filled" if executed > 0 else "open"
    return _STATUSES[code]


def normalize_orders(
    ctx: NormalizeContext, frame: Any, *, snapshot: bool, derive_fills: bool
) -> list[Event]:
    """Events for the orders of one ACTIVE_ORDERS push that changed.

    ``snapshot``: this is the first frame of a connection, listing every open order, so
    state for orders it does not list is dropped.
    """
    frame, data = envelope(frame)
    entries = list(_entries(data))
    seeded = SEEDED in ctx.state
    events = ctx.each(entries, lambda entry: _order(ctx, entry, seeded, derive_fills))
    if snapshot:
        listed = {_listed_id(item) for _, item in entries}
        for key in [k for k in ctx.state if k.startswith(PREFIX)]:
            if key[len(PREFIX) :] not in listed:
                del ctx.state[key]  # closed while we were away (or dropped, not pushed)
    if not seeded:
        ctx.state[SEEDED] = True
    return events


def _entries(data: Any) -> Iterator[Entry]:
    # Documented: an object keyed by lower-case pair, each an array of orders. A single
    # order object per pair, or a bare array of orders, is accepted too.
    if isinstance(data, list):
        yield from ((None, item) for item in data)
        return
    if not isinstance(data, dict):
        raise FrameError(f"data: expected an object keyed by pair, got {type(data).__name__}")
    for pair, orders in data.items():
        if isinstance(orders, list):
            yield from ((pair, item) for item in orders)
        else:
            yield pair, orders  # an object is one order; anything else fails as an item


def _listed_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _order(ctx: NormalizeContext, entry: Entry, seeded: bool, derive_fills: bool) -> list[Event]:
    pair_key, item = entry
    item = obj(item, "order")
    order_id = need_text(item, "id")
    pair = text(item.get("pair"), "pair") or pair_key
    if not pair:
        raise FrameError("pair: missing")
    base, quote = split_pair(pair)
    raw_status = need(item, "status")
    code = status_code(raw_status)
    executed = need_number(item, "executedAmount")
    amount = number(item.get("originalAmount"), "originalAmount")
    remaining = number(item.get("remainingAmount"), "remainingAmount")
    if remaining is None and amount is not None:
        remaining = amount - executed
    total = number(item.get("total"), "total") or _ZERO
    updated = _updated_ms(item)
    status_raw = str(raw_status)
    charges, fee, fee_asset = order_fees(item)
    key = PREFIX + order_id
    known = ctx.state.get(key)
    fingerprint = [updated, status_raw, str(executed), str(total)]
    if known == fingerprint:
        return []  # re-pushed unchanged (every connect re-sends the open orders)
    if known is not None and updated < known[0]:
        return []  # older than what we already applied: a late duplicate
    events: list[Event] = [
        ctx.event(
            OrderEvent,
            id=event_id(ctx.venue, "order", order_id, updated, executed, status_raw),
            ts=updated,
            raw=item,
            order_id=order_id,
            client_id=text(item.get("clientID"), "clientID"),
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            side=_lower(item.get("action"), "action"),
            type=_lower(item.get("type"), "type"),
            status=order_status(code, executed, remaining),
            status_raw=status_raw,
            price=number(item.get("price"), "price"),
            amount=amount,
            filled=executed,
            remaining=remaining,
            avg_price=number(item.get("avgExecutionPrice"), "avgExecutionPrice"),
            fee=fee,
            fee_asset=fee_asset,
            fees=charges,
        )
    ]
    # An order first seen in the very first frame was filled before we watched: no fill.
    if derive_fills and (known is not None or seeded):
        prior = (Decimal(known[2]), Decimal(known[3])) if known is not None else (_ZERO, _ZERO)
        events.extend(
            _derived_fill(ctx, item, order_id, (base, quote), updated, (executed, total), prior)
        )
    if code in TERMINAL:
        ctx.state.pop(key, None)  # closed: nothing more will change, keep state bounded
    else:
        ctx.state[key] = fingerprint
    return events


def order_fees(item: dict[str, Any]) -> tuple[tuple[Fee, ...] | None, Decimal | None, str | None]:
    """``(fees, fee, fee_asset)``: ``fee`` in ``feeSymbol``, then ``bitoFee`` in BITO.

    The model says ``fee`` is the fee paid (in ``feeSymbol``) and ``bitoFee`` the fee paid
    in BITO. When ``feeSymbol`` is BITO itself the two describe one charge, listed once.
    Both are kept as sent (order fees show no sign of USER_TRADE's 1e8 scaling).
    """
    fee, symbol = number(item.get("fee"), "fee"), upper(item.get("feeSymbol"), "feeSymbol")
    bito = number(item.get("bitoFee"), "bitoFee")
    if symbol == BITO:
        return fee_fields(((symbol, fee if fee is not None else bito),))
    return fee_fields(((symbol, fee), (BITO, bito)))


def _updated_ms(item: dict[str, Any]) -> int:
    for field in ("updatedTimestamp", "timestamp", "createdTimestamp"):
        if item.get(field) is not None:
            return millis(item[field], field)
    raise FrameError("updatedTimestamp: missing")


def _lower(value: Any, what: str) -> str | None:
    result = text(value, what)
    return result.lower() if result else None


def _derived_fill(
    ctx: NormalizeContext,
    item: dict[str, Any],
    order_id: str,
    market: tuple[str, str],
    ts: int,
    now: tuple[Decimal, Decimal],
    prior: tuple[Decimal, Decimal],
) -> list[Event]:
    """A fill from the growth of cumulative ``executedAmount`` (and ``total``, in quote).

    ``now`` and ``prior``: (executedAmount, total) of this push and of the last known one.
    """
    (base, quote), (executed, total) = market, now
    amount = executed - prior[0]
    if amount <= 0:
        return []
    quote_amount: Decimal | None = total - prior[1]
    if quote_amount is not None and quote_amount > 0:
        price: Decimal | None = quote_amount / amount
    else:  # no quote total moved: fall back to the average, then the limit price
        price = number(item.get("avgExecutionPrice"), "avgExecutionPrice") or number(
            item.get("price"), "price"
        )
        quote_amount = None if price is None else notional(price, amount)
    return [
        ctx.derived_fill(
            order_id=order_id,
            cumulative=executed,
            base=base,
            quote=quote,
            side=_lower(item.get("action"), "action"),
            price=price,
            amount=amount,
            notional=None if quote_amount is None else notional(quote_amount, Decimal(1)),
            ts=ts,
            raw=item,
        )
    ]
