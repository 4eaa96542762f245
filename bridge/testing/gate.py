"""A fake Gate.io spot v4 private WebSocket (VENUES.md §1).

It checks what the real server checks: every subscribe carries ``auth.KEY`` equal to the
configured key and ``auth.SIGN`` equal to the lowercase hex HMAC-SHA512 of
``channel=<c>&event=<e>&time=<t>``, with ``time`` within 60 s of now. Good requests are
acked; bad ones get an error frame with code 4 and a JSON ``message`` carrying a label,
as the current server sends. ``spot.ping`` gets ``spot.pong``.

It also serves the APIv4 REST endpoints reconciliation reads (``rest_url``, its own port
on loopback): ``/api/v4/spot/my_trades``, ``/spot/open_orders``, ``/spot/accounts`` and
``/wallet/deposits``, each checking the real REST signature (headers ``KEY``,
``Timestamp``, ``SIGN``). Tests put history in ``trades`` (e.g. :meth:`add_fill`, a fill
that lands only in REST history), ``accounts``, ``deposits`` and ``orders``; answer every
request with ``rest_status`` (e.g. 500) or reject every signature (``reject_signatures``);
and refuse new WebSocket connections while ``refuse_connects`` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, TypeVar

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers

from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.server import FakeVenueServer

REST_PREFIX = "/api/v4"
SelfGate = TypeVar("SelfGate", bound="GateSpotFake")


class GateSpotFake(FakeVenueServer):
    """Tests change ``api_key``/``api_secret`` to simulate a revoked or fixed key."""

    prefix = "spot"

    def __init__(self, api_key: str = "gate-key", api_secret: str = "gate-secret") -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.subscriptions: dict[ServerConnection, dict[str, list[str]]] = {}
        self.auth_failures = 0
        self.pings = 0
        #: REST history, in the REST item shapes (newest last)
        self.trades: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.deposits: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        #: answer every REST request with this HTTP status (None: answer normally)
        self.rest_status: int | None = None
        #: answer every REST request as if its signature were wrong
        self.reject_signatures = False
        #: refuse WebSocket upgrades (HTTP 503) while set
        self.refuse_connects = False
        self.rest_auth_failures = 0
        self.rest = HttpServer()
        self.rest.handle = self._rest  # type: ignore[method-assign]

    async def __aenter__(self: SelfGate) -> SelfGate:
        await self.rest.__aenter__()
        return await super().__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        await self.rest.__aexit__(*exc)

    @property
    def rest_url(self) -> str:
        """The http:// base URL to put in the venue's ``rest_url``."""
        return self.rest.url

    def check_handshake(self, path: str, headers: Headers) -> tuple[int, str] | None:
        if self.refuse_connects:
            return 503, "refusing connections (test)"
        return None

    def add_fill(self, item: dict[str, Any]) -> dict[str, Any]:
        """Put a ``spot.usertrades`` item into REST trade history (in the REST shape)."""
        trade = my_trade(item)
        self.trades.append(trade)
        self.changes.notify()
        return trade

    # ------------------------------------------------------------------ REST

    def expected_rest_sign(
        self, method: str, path: str, query: str, body: bytes, timestamp: str
    ) -> str:
        payload = hashlib.sha512(body).hexdigest()
        message = f"{method}\n{path}\n{query}\n{payload}\n{timestamp}".encode()
        return hmac.new(self.api_secret.encode(), message, hashlib.sha512).hexdigest()

    def _rest_auth_problem(self, request: Request) -> str | None:
        headers = request.headers
        if not {"key", "timestamp", "sign"} <= headers.keys():
            return "MISSING_REQUIRED_HEADER"
        if headers["key"] != self.api_key:
            return "INVALID_KEY"
        try:
            stamp = float(headers["timestamp"])
        except ValueError:
            return "INVALID_SIGNATURE"
        if abs(stamp - time.time()) > 60:
            return "REQUEST_EXPIRED"
        query = request.target.partition("?")[2]
        expected = self.expected_rest_sign(
            request.method, request.path, query, request.body, headers["timestamp"]
        )
        if self.reject_signatures or headers["sign"] != expected:
            return "INVALID_SIGNATURE"
        return None

    async def _rest(self, request: Request) -> Response:
        if self.rest_status is not None:
            return Response(self.rest_status, {"label": "SERVER_ERROR", "message": "test"})
        label = self._rest_auth_problem(request)
        if label is not None:
            self.rest_auth_failures += 1
            return Response(401, {"label": label, "message": "Signature mismatch"})
        query = {k: v[-1] for k, v in request.query.items()}
        path = request.path.removeprefix(REST_PREFIX)
        if request.method != "GET":
            return Response(405, {"label": "METHOD_NOT_ALLOWED", "message": request.method})
        if path == "/spot/my_trades":
            since = int(query.get("from", "0"))
            pair = query.get("currency_pair")
            found = [
                t
                for t in reversed(self.trades)  # newest first, as Gate lists them
                if int(t["create_time"]) >= since and pair in (None, t["currency_pair"])
            ]
            return Response(200, _page(found, query, 100))
        if path == "/spot/accounts":
            return Response(200, self.accounts)
        if path == "/spot/open_orders":
            pairs: dict[str, list[dict[str, Any]]] = {}
            for item in self.orders:
                pairs.setdefault(item["currency_pair"], []).append(item)
            return Response(
                200,
                [
                    {"currency_pair": p, "total": len(o), "orders": _page(o, query, 100)}
                    for p, o in pairs.items()
                ],
            )
        if path == "/wallet/deposits":
            since = int(query.get("from", "0"))
            found = [d for d in reversed(self.deposits) if int(d["timestamp"]) >= since]
            return Response(200, found[: int(query.get("limit", "100"))])
        return Response(404, {"label": "NOT_FOUND", "message": request.path})

    def expected_sign(self, channel: str, event: str, timestamp: int) -> str:
        message = f"channel={channel}&event={event}&time={timestamp}".encode()
        return hmac.new(self.api_secret.encode(), message, hashlib.sha512).hexdigest()

    async def on_frame(self, connection: ServerConnection, frame: Any) -> None:
        if not isinstance(frame, dict):
            await self._error(connection, {}, 1, "Invalid request body format")
            return
        now = time.time()
        channel = frame.get("channel")
        if channel == f"{self.prefix}.ping":
            self.pings += 1
            await self.push(
                {
                    "time": int(now),
                    "time_ms": int(now * 1000),
                    "channel": f"{self.prefix}.pong",
                    "event": "",
                    "error": None,
                    "result": None,
                },
                connection,
            )
            return
        event = frame.get("event")
        if event not in ("subscribe", "unsubscribe"):
            await self._error(connection, frame, 2, "Invalid argument provided")
            return
        label = self._auth_problem(frame, now)
        if label is not None:
            self.auth_failures += 1
            message = json.dumps({"label": label, "message": "Invalid key provided"}) + "\n"
            await self._error(connection, frame, 4, message)
            return
        subscribed = self.subscriptions.setdefault(connection, {})
        payload = frame.get("payload") or []
        if event == "subscribe":
            subscribed.setdefault(str(channel), []).extend(payload)
        else:
            subscribed.pop(str(channel), None)
        await self.push(
            {
                "time": int(now),
                "time_ms": int(now * 1000),
                "id": frame.get("id"),
                "channel": channel,
                "event": event,
                "error": None,
                "result": {"status": "success"},
            },
            connection,
        )

    def _auth_problem(self, frame: dict[str, Any], now: float) -> str | None:
        auth = frame.get("auth")
        if not isinstance(auth, dict) or auth.get("method") != "api_key":
            return "MISSING_REQUIRED_HEADER"
        if auth.get("KEY") != self.api_key:
            return "INVALID_KEY"
        timestamp = frame.get("time")
        if not isinstance(timestamp, int) or abs(timestamp - now) > 60:
            return "REQUEST_EXPIRED"
        if auth.get("SIGN") != self.expected_sign(
            str(frame["channel"]), str(frame["event"]), timestamp
        ):
            return "INVALID_SIGNATURE"
        return None

    async def _error(
        self, connection: ServerConnection, frame: dict[str, Any], code: int, message: str
    ) -> None:
        now = time.time()
        await self.push(
            {
                "time": int(now),
                "time_ms": int(now * 1000),
                "id": frame.get("id"),
                "channel": frame.get("channel"),
                "event": frame.get("event"),
                "error": {"code": code, "message": message},
                "result": None,
            },
            connection,
        )

    # ------------------------------------------------------------------ pushes

    def subscribed(self, channel: str, connection: ServerConnection | None = None) -> bool:
        """Whether the (newest) connection holds an accepted subscription to ``channel``."""
        return channel in self.subscriptions.get(connection or self.latest, {})

    async def update(
        self, channel: str, result: Any, connection: ServerConnection | None = None
    ) -> None:
        """Push an ``update`` frame with ``result`` (a list of items, or one object)."""
        now = time.time()
        await self.push(
            {
                "time": int(now),
                "time_ms": int(now * 1000),
                "channel": channel,
                "event": "update",
                "result": result,
            },
            connection,
        )


def usertrade(
    trade_id: int,
    *,
    pair: str = "BTC_USDT",
    side: str = "buy",
    amount: str = "1",
    price: str = "30000",
    role: str = "taker",
    order_id: str = "30784428",
    fee: str = "0.002",
    fee_currency: str = "USDT",
) -> dict[str, Any]:
    """A ``spot.usertrades`` item in the documented shape."""
    now = time.time()
    return {
        "id": trade_id,
        "user_id": 1000001,
        "order_id": order_id,
        "currency_pair": pair,
        "create_time": int(now),
        "create_time_ms": f"{now * 1000:.3f}",
        "side": side,
        "amount": amount,
        "role": role,
        "price": price,
        "fee": fee,
        "fee_currency": fee_currency,
        "point_fee": "0",
        "gt_fee": "0",
        "text": "apiv4",
        "id_market": trade_id,
    }


def _page(found: list[Any], query: dict[str, str], default: int) -> list[Any]:
    limit = int(query.get("limit", default))
    page = int(query.get("page", "1"))
    return found[(page - 1) * limit : page * limit]


def my_trade(item: dict[str, Any]) -> dict[str, Any]:
    """The REST (``GET /spot/my_trades``) form of a ``spot.usertrades`` item."""
    return {
        "id": str(item["id"]),
        "create_time": str(item["create_time"]),
        "create_time_ms": str(item["create_time_ms"]),
        "currency_pair": item["currency_pair"],
        "side": item["side"],
        "role": item["role"],
        "amount": item["amount"],
        "price": item["price"],
        "order_id": item["order_id"],
        "fee": item["fee"],
        "fee_currency": item["fee_currency"],
        "point_fee": item.get("point_fee", "0"),
        "gt_fee": item.get("gt_fee", "0"),
        "amend_text": "-",
        "sequence_id": str(item.get("id_market", item["id"])),
        "text": item.get("text", ""),
    }


def account(currency: str, available: str, locked: str = "0", update_id: int = 1) -> dict[str, Any]:
    """A ``GET /spot/accounts`` item."""
    return {
        "currency": currency,
        "available": available,
        "locked": locked,
        "update_id": update_id,
    }


def deposit(
    deposit_id: str,
    currency: str,
    amount: str,
    *,
    status: str = "DONE",
    timestamp: int | None = None,
    chain: str = "TRX",
) -> dict[str, Any]:
    """A ``GET /wallet/deposits`` item."""
    return {
        "id": deposit_id,
        "txid": f"tx-{deposit_id}",
        "withdraw_order_id": "",
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "amount": amount,
        "currency": currency,
        "address": "TXaddress",
        "memo": "",
        "status": status,
        "chain": chain,
    }


def balance(
    currency: str,
    total: str,
    *,
    change: str = "0",
    available: str | None = None,
    freeze: str = "0",
    change_type: str = "order-match",
) -> dict[str, Any]:
    """A ``spot.balances`` item in the documented shape."""
    now = time.time()
    return {
        "timestamp": str(int(now)),
        "timestamp_ms": str(int(now * 1000)),
        "user": "1000001",
        "currency": currency,
        "change": change,
        "total": total,
        "available": available if available is not None else total,
        "freeze": freeze,
        "freeze_change": "0",
        "change_type": change_type,
    }
