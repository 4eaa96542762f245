"""A fake BitoPro private WebSocket (VENUES.md §4), enforcing what the venue documents.

- Paths ``/ws/v1/pub/auth/<stream>`` (account-balance, orders, orders/histories,
  user-trades); anything else is refused with HTTP 404.
- Header auth on the upgrade: ``X-BITOPRO-APIKEY`` must be the key;
  ``X-BITOPRO-SIGNATURE`` must be the hex HMAC-SHA384 of ``X-BITOPRO-PAYLOAD`` *exactly as
  received*; the payload must decode (standard or URL-safe base64, as different official
  clients send it) to JSON whose ``identity`` is the account e-mail. Failures get HTTP
  401 (undocumented for WS; 401 is what BitoPro's REST API answers).
- The nonce must be within ``nonce_window`` seconds of now and never reused: a stale or
  replayed nonce gets HTTP 409, BitoPro's REST "time mismatch".
- On every connect the full state is re-pushed: all balances on account-balance, all
  open orders on orders, as the docs say ("we'll always push the latest data").
- The server pings every ``ping_interval`` s and closes (1011) a connection that does
  not pong within ``pong_timeout`` s; clients send nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from bridge.testing.server import FakeVenueServer

PATH_PREFIX = "/ws/v1/pub/auth/"
STREAMS = ("account-balance", "orders", "orders/histories", "user-trades")
TERMINAL_STATUSES = (2, 3, 4, 6)


def decode_payload(text: str) -> Any:
    """The JSON inside a payload header, from either base64 alphabet (padding optional)."""
    padded = text + "=" * (-len(text) % 4)
    standard = padded.replace("-", "+").replace("_", "/")
    try:
        return json.loads(base64.b64decode(standard, validate=True))
    except (binascii.Error, ValueError):
        return None


class BitoProFake(FakeVenueServer):
    """Tests change ``api_secret`` to simulate a wrong or rotated secret."""

    def __init__(
        self,
        api_key: str = "bito-key",
        api_secret: str = "bito-secret",
        identity: str = "trader@example.com",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.identity = identity
        self.clock = clock
        self.nonce_window = 60.0
        self.ping_interval = 20.0
        self.pong_timeout = 5.0
        self.balances: dict[str, dict[str, Any]] = {}  # currency -> entry
        self.orders: dict[str, dict[str, Any]] = {}  # open orders by id
        #: [ambiguous] push an order's terminal status before dropping it (False: drop it)
        self.push_terminal_orders = True
        self.nonces: list[int] = []  # accepted, in order
        self.auth_failures = 0
        self.pongs = 0
        self.stream_of: dict[ServerConnection, str] = {}
        self._heartbeats: set[asyncio.Task[None]] = set()

    async def __aexit__(self, *exc: object) -> None:
        heartbeats = list(self._heartbeats)
        for task in heartbeats:
            task.cancel()
        await asyncio.gather(*heartbeats, return_exceptions=True)
        await super().__aexit__(*exc)

    # ------------------------------------------------------------------ handshake

    def expected_signature(self, payload: str) -> str:
        return hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha384).hexdigest()

    def check_handshake(self, path: str, headers: Headers) -> tuple[int, str] | None:
        if not path.startswith(PATH_PREFIX) or path[len(PATH_PREFIX) :] not in STREAMS:
            return 404, "no such stream"
        problem = self._auth_problem(headers)
        if problem is not None:
            self.auth_failures += problem[0] == 401
        return problem

    def _auth_problem(self, headers: Headers) -> tuple[int, str] | None:
        if headers.get("X-BITOPRO-APIKEY") != self.api_key:
            return 401, "unauthorized api key"
        payload = headers.get("X-BITOPRO-PAYLOAD", "")
        signature = headers.get("X-BITOPRO-SIGNATURE", "")
        if not hmac.compare_digest(signature, self.expected_signature(payload)):
            return 401, "invalid signature"
        body = decode_payload(payload)
        if not isinstance(body, dict) or body.get("identity") != self.identity:
            return 401, "invalid identity"
        nonce = body.get("nonce")
        if isinstance(nonce, bool) or not isinstance(nonce, int):
            return 401, "invalid nonce"
        if abs(nonce / 1000 - self.clock()) > self.nonce_window:
            return 409, "nonce outside the time window"
        if nonce in self.nonces:
            return 409, "nonce already used"
        self.nonces.append(nonce)
        return None

    # ------------------------------------------------------------------ lifecycle

    async def on_connect(self, connection: ServerConnection) -> None:
        stream = connection.request.path[len(PATH_PREFIX) :] if connection.request else ""
        self.stream_of[connection] = stream
        task = asyncio.create_task(self._heartbeat(connection))
        self._heartbeats.add(task)
        task.add_done_callback(self._heartbeats.discard)
        if stream == "account-balance":
            await self.push(self.envelope("ACCOUNT_BALANCE", dict(self.balances)), connection)
        elif stream == "orders":
            await self.push(self.envelope("ACTIVE_ORDERS", self._by_pair(self.orders)), connection)
        self.changes.notify()

    async def _heartbeat(self, connection: ServerConnection) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                pong = await connection.ping()
                try:
                    await asyncio.wait_for(pong, self.pong_timeout)
                except TimeoutError:
                    await connection.close(1011, "pong timeout")
                    return
                self.pongs += 1
                self.changes.notify()
        except ConnectionClosed:
            pass

    # ------------------------------------------------------------------ state and pushes

    def envelope(self, event: str, data: Any) -> dict[str, Any]:
        """A private-stream frame: event, eventID, timestamp (ms), datetime, data."""
        now = self.clock()
        stamp = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")
        return {
            "event": event,
            "eventID": str(uuid.uuid4()),
            "timestamp": int(now * 1000),
            "datetime": stamp.replace("+00:00", "Z"),
            "data": data,
        }

    def on(self, stream: str) -> list[ServerConnection]:
        """The open connections of one stream."""
        return [c for c in self.open_connections if self.stream_of.get(c) == stream]

    async def wait_for_streams(self, *streams: str, count: int = 1) -> None:
        """Wait until each of ``streams`` has had ``count`` connections, the last one open."""

        def ready() -> bool:
            for stream in streams:
                mine = [c for c in self.connections if self.stream_of.get(c) == stream]
                if len(mine) < count or mine[count - 1].state.name != "OPEN":
                    return False
            return True

        await self.changes.wait_for(ready)

    async def _broadcast(self, stream: str, frame: dict[str, Any]) -> None:
        for connection in self.on(stream):
            await self.push(frame, connection)

    async def set_balance(
        self, currency: str, amount: str, *, available: str | None = None, stake: str = "0"
    ) -> None:
        """Change one currency and push it (alone, as later pushes do) to balance streams."""
        entry = balance_entry(currency, amount, available=available, stake=stake)
        self.balances[entry["currency"]] = entry
        await self._broadcast(
            "account-balance", self.envelope("ACCOUNT_BALANCE", {currency: entry})
        )

    async def put_order(self, order: dict[str, Any]) -> None:
        """Create or update an order and push it to the orders streams.

        A terminal status drops it from the open orders (re-pushed on connect); the update
        itself is pushed only while ``push_terminal_orders`` holds.
        """
        terminal = order["status"] in TERMINAL_STATUSES
        if terminal:
            self.orders.pop(str(order["id"]), None)
        else:
            self.orders[str(order["id"])] = order
        if not terminal or self.push_terminal_orders:
            await self._broadcast(
                "orders", self.envelope("ACTIVE_ORDERS", {order["pair"]: [order]})
            )

    async def trade(self, trade: dict[str, Any]) -> None:
        """Push one USER_TRADE to the user-trades streams."""
        await self._broadcast("user-trades", self.envelope("USER_TRADE", trade))

    @staticmethod
    def _by_pair(orders: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for order in orders.values():
            grouped.setdefault(order["pair"], []).append(order)
        return grouped


def balance_entry(
    currency: str, amount: str, *, available: str | None = None, stake: str = "0"
) -> dict[str, Any]:
    """An ACCOUNT_BALANCE entry in the documented shape."""
    return {
        "currency": currency.upper(),
        "amount": amount,
        "available": amount if available is None else available,
        "stake": stake,
        "tradable": True,
    }


def order(
    order_id: str,
    *,
    pair: str = "btc_usdt",
    action: str = "BUY",
    price: str = "30000",
    amount: str = "1",
    executed: str = "0",
    total: str = "0",
    status: int = 0,
    updated: int | None = None,
) -> dict[str, Any]:
    """An ACTIVE_ORDERS order in the documented shape (``total``: quote executed)."""
    now = updated if updated is not None else int(time.time() * 1000)
    remaining = str(Decimal(amount) - Decimal(executed))
    return {
        "id": order_id,
        "pair": pair,
        "price": price,
        "avgExecutionPrice": "0",
        "action": action,
        "type": "LIMIT",
        "timestamp": now,
        "updatedTimestamp": now,
        "createdTimestamp": now,
        "status": status,
        "originalAmount": amount,
        "remainingAmount": remaining,
        "executedAmount": executed,
        "fee": "0",
        "feeSymbol": pair.split("_")[1],
        "bitoFee": "0",
        "total": total,
        "seq": f"{pair.replace('_', '').upper()}{order_id}",
        "timeInForce": "GTC",
        "clientID": 123,
    }


def user_trade(
    match_id: str,
    *,
    base: str = "btc",
    quote: str = "usdt",
    side: str = "bid",
    price: str = "30000",
    volume: str = "1",
    fee: str = "0",
    order_id: int = 390733918,
    maker: bool = False,
) -> dict[str, Any]:
    """A USER_TRADE ``data`` object in the documented shape (timestamps in seconds)."""
    now = int(time.time())
    return {
        "base": base,
        "quote": quote,
        "side": side,
        "price": price,
        "volume": volume,
        "fee": fee,
        "feeCurrency": quote,
        "transactionTimestamp": now,
        "eventTimestamp": now,
        "orderID": order_id,
        "orderType": "LIMIT",
        "matchID": match_id,
        "isMarket": False,
        "isMaker": maker,
    }
