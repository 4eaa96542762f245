"""Gate.io spot REST reconciliation (APIv4; docs/venues/gateio.md, DESIGN §9).

What a reconnect or a restart may have missed, fetched from the documented endpoints and
turned into events by the stream's own normalizers, so a fact has one id either way:

- ``GET /api/v4/spot/my_trades`` (``from``, ``limit``, ``page``): fills, through the
  ``spot.usertrades`` normalizer (the trade ``id`` is the identity on both sides);
- ``GET /api/v4/spot/open_orders``: open orders, through the ``spot.orders`` normalizer
  (an open order's item has no ``event``: ``put`` before any fill, ``update`` after);
- ``GET /api/v4/spot/accounts``: balances (``available`` + ``locked``), with ``change``
  against the last known total, which also seeds ``change`` for the stream;
- ``GET /api/v4/wallet/deposits`` (``from``, ``limit``): deposits by id and status.

Requests are signed as APIv4 documents: headers ``KEY``, ``Timestamp`` (seconds) and
``SIGN`` = hex HMAC-SHA512 of ``METHOD\\nPATH\\nQUERY\\nhex(SHA512(body))\\nTIMESTAMP``.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from bridge.plugin import (
    BalanceEvent,
    DepositEvent,
    Event,
    FrameError,
    NormalizeContext,
    ReconcileWindow,
    Recovered,
    RestRequest,
    dec,
    event_id,
    items,
    millis,
    need_text,
    obj,
    text,
)
from plugins.gateio.normalize import order, usertrade

PREFIX = "/api/v4"
TRADES = f"{PREFIX}/spot/my_trades"
OPEN_ORDERS = f"{PREFIX}/spot/open_orders"
ACCOUNTS = f"{PREFIX}/spot/accounts"
DEPOSITS = f"{PREFIX}/wallet/deposits"
#: documented maxima of ``limit``
TRADES_LIMIT = 1000
DEPOSITS_LIMIT = 500
ORDERS_LIMIT = 100
#: Gate allows 200 requests per 10 s per endpoint and account; stay at half of one of them
RATE = 10.0

#: state keys: the last known total of an asset; a completed deposit the stream reported
BALANCE = "balance:"
STREAM_DEPOSIT = "deposit-seen:"

# Gate's deposit statuses (wallet API) -> ours
_DEPOSIT_STATUS = {
    "DONE": "completed",
    "CANCEL": "canceled",
    "FAIL": "failed",
    "INVALID": "failed",
    "BCODE": "completed",  # credited by a gate code
}


def sign_request(secret: str, method: str, path: str, query: str, body: bytes, ts: int) -> str:
    """The APIv4 REST signature (lowercase hex HMAC-SHA512)."""
    payload = hashlib.sha512(body).hexdigest()
    message = f"{method}\n{path}\n{query}\n{payload}\n{ts}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def signed_headers(key: str, secret: str, request: RestRequest, now: float) -> dict[str, str]:
    ts = int(now)
    sign = sign_request(secret, request.method, request.path, request.query, request.body, ts)
    return {"KEY": key, "Timestamp": str(ts), "SIGN": sign, "Accept": "application/json"}


def requests(channels: list[str], symbols: list[str], window: ReconcileWindow) -> list[RestRequest]:
    """What one round fetches: only what the subscribed channels would have pushed."""
    pairs: list[str | None] = [None] if "!all" in symbols else list(symbols)
    wanted: list[RestRequest] = []
    if "spot.balances" in channels:
        wanted.append(RestRequest("GET", ACCOUNTS, cursor="accounts"))
    if "spot.usertrades" in channels:
        since = str(window.since("trades") // 1000)
        for pair in pairs:
            trades = [("from", since), ("limit", str(TRADES_LIMIT)), ("page", "1")]
            if pair is not None:
                trades.insert(0, ("currency_pair", pair))
            wanted.append(RestRequest("GET", TRADES, tuple(trades), cursor="trades"))
    if "spot.orders" in channels:
        orders = (("page", "1"), ("limit", str(ORDERS_LIMIT)))
        wanted.append(RestRequest("GET", OPEN_ORDERS, orders, cursor="orders"))
    if "spot.balances" in channels:  # the stream tells deposits by their balance change
        since = str(window.since("deposits") // 1000)
        deposits = (("from", since), ("limit", str(DEPOSITS_LIMIT)))
        wanted.append(RestRequest("GET", DEPOSITS, deposits, cursor="deposits"))
    return wanted


def response(
    request: RestRequest,
    payload: Any,
    window: ReconcileWindow,
    ctx: NormalizeContext,
    usertrades_subscribed: bool,
) -> Recovered:
    """Events from one answer, and the next page when this one was full."""
    if request.path == TRADES:
        return _paged(request, payload, TRADES_LIMIT, lambda item: usertrade(ctx, item), ctx)
    if request.path == OPEN_ORDERS:
        return _open_orders(request, payload, ctx, usertrades_subscribed)
    if request.path == ACCOUNTS:
        return Recovered(ctx.each(items(payload, "accounts"), lambda i: _account(ctx, i, window)))
    if request.path == DEPOSITS:
        _forget_old_deposit_marks(ctx, window.floor)
        result = _paged(request, payload, DEPOSITS_LIMIT, lambda item: _deposit(ctx, item), ctx)
        result.more = []  # `from` and `limit` only: the next round continues from `newest`
        return result
    raise FrameError(f"no reconciliation for {request.path}")


def _paged(
    request: RestRequest, payload: Any, limit: int, normalize: Any, ctx: NormalizeContext
) -> Recovered:
    found = items(payload, request.path)
    events: list[Event] = ctx.each(found, normalize)
    newest = max((e.ts for e in events), default=None)
    more: list[RestRequest] = []
    if len(found) >= limit:
        params = dict(request.params)
        params["page"] = str(int(params.get("page", "1")) + 1)
        more.append(
            RestRequest(request.method, request.path, tuple(params.items()), cursor=request.cursor)
        )
    return Recovered(events, more, newest)


def _open_orders(
    request: RestRequest, payload: Any, ctx: NormalizeContext, usertrades_subscribed: bool
) -> Recovered:
    events: list[Event] = []
    groups = items(payload, "open_orders")
    full = False
    for group in groups:
        orders = items(obj(group, "open_orders item").get("orders"), "orders")
        full = full or len(orders) >= ORDERS_LIMIT
        events += ctx.each(orders, lambda item: _open_order(ctx, item, usertrades_subscribed))
    more: list[RestRequest] = []
    if full:
        params = dict(request.params)
        params["page"] = str(int(params.get("page", "1")) + 1)
        more.append(RestRequest(request.method, request.path, tuple(params.items())))
    return Recovered(events, more)


def _open_order(ctx: NormalizeContext, item: Any, usertrades_subscribed: bool) -> list[Event]:
    item = dict(obj(item, "order"))
    if "event" not in item:
        # The stream pushes "put" when an order opens and "update" when it fills, with
        # the same update time and `left`: the same item reads the same either way.
        left, amount = dec(item.get("left"), "left"), dec(item.get("amount"), "amount")
        item["event"] = "put" if left is not None and left == amount else "update"
    return order(ctx, item, not usertrades_subscribed)


def _canonical(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _account(ctx: NormalizeContext, item: Any, window: ReconcileWindow) -> list[Event]:
    item = obj(item, "account")
    asset = need_text(item, "currency").upper()
    available = dec(item.get("available"), "available") or Decimal(0)
    locked = dec(item.get("locked"), "locked") or Decimal(0)
    total = available + locked
    key = BALANCE + asset
    known = ctx.state.get(key)
    prior = Decimal(known) if known is not None else None
    if prior == total or (prior is None and total == 0):
        return []
    ctx.state[key] = str(total)
    if window.seeding:
        return []  # first start: remember, alert nothing from the past
    change = total - (prior if prior is not None else Decimal(0))
    return [
        ctx.event(
            BalanceEvent,
            id=event_id(ctx.venue, "balance", asset, "accounts", item.get("update_id"), total),
            raw=item,
            asset=asset,
            total=total,
            available=available,
            locked=locked,
            change=change,
        )
    ]


def _deposit(ctx: NormalizeContext, item: Any) -> list[Event]:
    item = obj(item, "deposit")
    deposit_id = need_text(item, "id")
    asset = need_text(item, "currency").upper()
    amount = dec(item.get("amount"), "amount")
    raw_status = need_text(item, "status")
    status = _DEPOSIT_STATUS.get(raw_status, "pending")
    ts = millis(item.get("timestamp"), "timestamp", seconds=True)
    # The stream reports a credited deposit only as a balance change, with no id: one it
    # already reported (same asset and amount) is not a second deposit. The mark stays
    # until it leaves the window, so a later round skips it too.
    if (
        status == "completed"
        and amount is not None
        and STREAM_DEPOSIT + f"{asset}:{_canonical(amount)}" in ctx.state
    ):
        return []
    return [
        ctx.event(
            DepositEvent,
            id=event_id(ctx.venue, "deposit", deposit_id, status),
            raw=item,
            ts=ts,
            deposit_id=deposit_id,
            status=status,
            asset=asset,
            amount=amount,
            chain=text(item.get("chain"), "chain"),
            tx_hash=text(item.get("txid"), "txid"),
        )
    ]


def _forget_old_deposit_marks(ctx: NormalizeContext, floor: int) -> None:
    old = [
        key
        for key in ctx.state
        if key.startswith(STREAM_DEPOSIT) and int(ctx.state[key] or 0) < floor
    ]
    for key in old:
        del ctx.state[key]


def note_stream_events(ctx: NormalizeContext, events: list[Event]) -> None:
    """What reconciliation needs to know of the stream's events (cheap: balances only).

    A balance's total becomes the last known one (so a REST balance carries ``change``,
    and a stream balance without one gets it), and a completed deposit is remembered so
    REST does not report it again.
    """
    state = ctx.state
    for event in events:
        if isinstance(event, BalanceEvent) and event.asset and event.total is not None:
            key = BALANCE + event.asset
            if event.change is None and key in state:
                event.change = event.total - Decimal(state[key])
            state[key] = str(event.total)
        elif isinstance(event, DepositEvent) and event.amount is not None and event.asset:
            state[STREAM_DEPOSIT + f"{event.asset}:{_canonical(event.amount)}"] = event.ts
