"""A fake Gate.io spot v4 private WebSocket (VENUES.md §1).

It checks what the real server checks: every subscribe carries ``auth.KEY`` equal to the
configured key and ``auth.SIGN`` equal to the lowercase hex HMAC-SHA512 of
``channel=<c>&event=<e>&time=<t>``, with ``time`` within 60 s of now. Good requests are
acked; bad ones get an error frame with code 4 and a JSON ``message`` carrying a label,
as the current server sends. ``spot.ping`` gets ``spot.pong``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from websockets.asyncio.server import ServerConnection

from bridge.testing.server import FakeVenueServer


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
