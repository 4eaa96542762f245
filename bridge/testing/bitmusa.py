"""A fake Bitmusa spot user data stream: listenKey REST plus the WebSocket (VENUES.md §3).

What it enforces, as documented (MUSA-DOC ``_spot-user-websocket.md``, ``_error.md``):

- REST ``POST|PUT|DELETE /api/v1/spot/userDataStream`` needs ``Authorization: Bearer
  <auth_key>`` and ``x-api-key``; errors are ``{"code": N, "message": ...}`` envelopes
  (1003 EMPTY API KEY, 1001 API KEY NOT FOUND, 1002 NOT ALLOWED IP, 1005 NOT ALLOWED
  PRIVILEGE, 1011 TOO MANY REQUESTS past 8 requests a second or 200 a minute).
- One active listenKey per account: a second POST returns the active key (and, in our
  pessimistic reading, does not extend it). It expires ``key_lifetime`` seconds after
  creation or the last PUT; DELETE invalidates it. Either way its sockets are closed.
- The socket lives at ``/ws/spot/<listenKey>`` (MUSA-DOC) or ``/ws/spot/wallet/<listenKey>``
  (MUSA-SDK); an unknown, expired or deleted key is refused at the upgrade. A connection
  is cut after ``connection_lifetime`` (24 hours in production), or when a test calls
  :meth:`BitmusaFake.cut`.

Not documented, so chosen here: PUT or DELETE with no active key answers 3022 EMPTY
LISTEN KEY; a refused upgrade is HTTP 404 (unknown path) or 400 (bad key); sockets of an
expired or deleted key close with 1000 and a reason saying why.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers

from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.server import FakeVenueServer

PATH = "/api/v1/spot/userDataStream"
MESSAGES = {
    999: "INTERNAL SERVER ERROR",
    1001: "API KEY NOT FOUND",
    1002: "NOT ALLOWED IP",
    1003: "EMPTY API KEY",
    1005: "NOT ALLOWED PRIVILEGE",
    1011: "TOO MANY REQUESTS",
    3022: "EMPTY LISTEN KEY",
}


def envelope(code: int, message: str | None = None, data: Any = None) -> dict[str, Any]:
    """A Bitmusa REST reply body."""
    body: dict[str, Any] = {"code": code, "message": message or MESSAGES.get(code, "success")}
    if data is not None:
        body = {"data": data, **body}
    return body


class BitmusaFake(FakeVenueServer):
    """One Bitmusa account: its REST listenKey endpoints and its user-stream sockets.

    ``async with BitmusaFake() as fake``; point ``rest_url`` at :attr:`rest_url` and
    ``url`` at :attr:`url`. Tests change ``api_key``/``auth_key`` to revoke credentials,
    set ``ip_allowed``/``privileged`` to False, and queue replies with :meth:`script`.
    """

    def __init__(
        self,
        api_key: str = "musa-api-key",
        auth_key: str = "musa-auth-key",
        *,
        key_lifetime: float = 3600.0,
        connection_lifetime: float = 86400.0,
        paths: Sequence[str] = ("spot", "wallet"),
        error_status: int = 200,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.auth_key = auth_key
        self.key_lifetime = key_lifetime
        self.connection_lifetime = connection_lifetime
        #: accepted socket paths: "spot" = /ws/spot/<key>, "wallet" = /ws/spot/wallet/<key>
        self.paths = set(paths)
        #: the HTTP status error envelopes come with (undocumented: 200 or a 4xx)
        self.error_status = error_status
        self.ip_allowed = True
        self.privileged = True
        #: (requests, per seconds): 8 a second and 200 a minute, as documented
        self.rate_limits: tuple[tuple[int, float], ...] = ((8, 1.0), (200, 60.0))
        self.rest = HttpServer()
        self.active_key: str | None = None
        self.issued: list[str] = []  # every key created, in order
        self.expired: list[str] = []  # keys that lapsed without a keep-alive
        self.deleted: list[str] = []  # keys a DELETE invalidated
        self.keep_alives = 0  # successful PUTs
        self.key_of: dict[ServerConnection, str] = {}  # the listenKey each socket opened with
        self._expires_at = 0.0
        self._expiry: asyncio.TimerHandle | None = None
        self._scripted: dict[str, deque[Response]] = {}
        self._recent: deque[float] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        for method in ("POST", "PUT", "DELETE"):
            self.rest.route(method, PATH, self._rest)

    async def __aenter__(self) -> BitmusaFake:
        await self.rest.__aenter__()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for timer in [self._expiry, *self._timers]:
            if timer is not None:
                timer.cancel()
        await super().__aexit__(*exc)
        await self.rest.__aexit__(*exc)
        for task in list(self._tasks):
            task.cancel()

    @property
    def rest_url(self) -> str:
        """The http:// base URL to put in the venue's ``rest_url``."""
        return self.rest.url

    def requests(self, method: str | None = None) -> list[Request]:
        """REST requests received (of one method), in order."""
        return [r for r in self.rest.requests if method is None or r.method == method]

    def script(self, method: str, *replies: Response) -> None:
        """Answer the next ``method`` requests with ``replies`` (after the header checks)."""
        self._scripted.setdefault(method.upper(), deque()).extend(replies)

    # ------------------------------------------------------------------ REST

    def _rest(self, request: Request) -> Response:
        try:
            return self._answer(request)
        finally:
            self.changes.notify()  # after the answer's effects, so waiters see them

    def _answer(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return self._error(refusal)
        scripted = self._scripted.get(request.method)
        if scripted:
            return scripted.popleft()
        now = time.monotonic()
        self._lapse_if_due(now)
        if request.method == "POST":
            if self.active_key is None:
                self.active_key = secrets.token_urlsafe(33)[:44]
                self.issued.append(self.active_key)
                self._extend(now)
            return Response(200, envelope(0, data={"listenKey": self.active_key}))
        if self.active_key is None:
            return self._error(3022)
        if request.method == "PUT":
            self.keep_alives += 1
            self._extend(now)
        else:
            self.deleted.append(self.active_key)
            self._invalidate("listenKey deleted")
        return Response(200, envelope(0))

    def _refusal(self, request: Request) -> int | None:
        """The error code for a request the venue would refuse, or None."""
        api_key = request.headers.get("x-api-key", "")
        authorization = request.headers.get("authorization", "")
        if not api_key or not authorization:
            return 1003
        if api_key != self.api_key or authorization != f"Bearer {self.auth_key}":
            return 1001
        if not self.ip_allowed:
            return 1002
        if not self.privileged:
            return 1005
        now = time.monotonic()
        self._recent.append(now)
        window = max((seconds for _, seconds in self.rate_limits), default=0.0)
        while self._recent and self._recent[0] < now - window:
            self._recent.popleft()
        for limit, seconds in self.rate_limits:
            if sum(1 for t in self._recent if t >= now - seconds) > limit:
                return 1011
        return None

    def _error(self, code: int) -> Response:
        return Response(self.error_status, envelope(code))

    # ------------------------------------------------------------------ key lifecycle

    def _extend(self, now: float) -> None:
        self._expires_at = now + self.key_lifetime
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().call_later(self.key_lifetime, self._on_expiry)

    def _on_expiry(self) -> None:
        # The timer is re-armed by every keep-alive: firing means none came in time. (The
        # loop may run it a hair early, so the time is not compared again here.)
        self._expiry = None
        self._lapse()

    def _lapse_if_due(self, now: float) -> None:
        if self.active_key is not None and now >= self._expires_at:
            self._lapse()

    def _lapse(self) -> None:
        if self.active_key is not None:
            self.expired.append(self.active_key)
            self._invalidate("listenKey expired")

    def expire(self) -> None:
        """Let the active key lapse now, as if no keep-alive had come in time."""
        self._expires_at = time.monotonic()
        self._lapse_if_due(self._expires_at)

    def _invalidate(self, reason: str) -> None:
        key, self.active_key = self.active_key, None
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for connection in self.open_connections:
            if self.key_of.get(connection) == key:
                self._spawn(connection.close(1000, reason))
        self.changes.notify()

    def _spawn(self, job: Any) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ WebSocket

    def check_handshake(self, path: str, headers: Headers) -> tuple[int, str] | None:
        """Refuse unknown paths (404) and unknown, expired or deleted keys (400)."""
        route, key = _split_stream_path(path)
        if route is None or route not in self.paths:
            return 404, f"no such stream path: {route or path.split('?')[0]}"
        self._lapse_if_due(time.monotonic())
        if key != self.active_key:
            return 400, "invalid listenKey"
        return None

    async def on_connect(self, connection: ServerConnection) -> None:
        _, key = _split_stream_path(connection.request.path if connection.request else "")
        self.key_of[connection] = key or ""
        self._timers.append(
            asyncio.get_running_loop().call_later(
                self.connection_lifetime,
                lambda: self._spawn(connection.close(1000, "connection lifetime exceeded")),
            )
        )

    async def cut(self) -> None:
        """Close every open socket as the 24-hour limit does (the key stays valid)."""
        for connection in self.open_connections:
            await connection.close(1000, "connection lifetime exceeded")


def _split_stream_path(path: str) -> tuple[str | None, str | None]:
    """``/ws/spot/<key>`` -> ("spot", key); ``/ws/spot/wallet/<key>`` -> ("wallet", key)."""
    parts = path.split("?")[0].strip("/").split("/")
    if len(parts) == 3 and parts[:2] == ["ws", "spot"] and parts[2]:
        return "spot", parts[2]
    if len(parts) == 4 and parts[:3] == ["ws", "spot", "wallet"] and parts[3]:
        return "wallet", parts[3]
    return None, None


# ---------------------------------------------------------------------- frames


def wallet_frame(
    asset: str, free: str, locked: str, *, event_time: int | None = None
) -> dict[str, Any]:
    """A ``spot_wallet`` push in the documented shape (free/locked as strings)."""
    return {
        "data": {"asset": asset, "free": free, "locked": locked},
        "stream": "spot_wallet",
        "eventTime": event_time if event_time is not None else int(time.time() * 1000),
    }


def order_frame(
    order_id: str,
    *,
    symbol: str = "BTC/USDT",
    direction: str = "BUY",
    order_type: str = "LIMIT_PRICE",
    price: float = 0,
    amount: float = 0,
    traded: float = 0,
    value: float = 0,
    status: str = "TRADING",
    event_time: int | None = None,
) -> dict[str, Any]:
    """A ``spot_order`` push in the documented shape (numbers as JSON numbers)."""
    now = int(time.time() * 1000)
    closed_at = event_time or now
    return {
        "data": {
            "orderId": order_id,
            "symbol": symbol,
            "direction": direction,
            "type": order_type,
            "price": price,
            "amount": amount,
            "tradedAmount": traded,
            "value": value,
            "status": status,
            "createdTime": now,
            "canceledTime": closed_at if status in ("CANCELED", "OVERTIMED") else None,
            "completedTime": closed_at if status == "COMPLETED" else None,
        },
        "stream": "spot_order",
        "eventTime": event_time if event_time is not None else now,
    }
