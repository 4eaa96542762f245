"""A fake SkinShark (VENUES.md §5): the ws-token REST step and the read-only ``/ws`` stream.

REST, on :class:`HttpServer` (``rest_url``): ``POST /auth/ws-token`` wants the lowercase
``api-key`` header (``X-API-Key`` alone is ``MISSING_API_KEY``), a known and unrevoked
key, an allowed IP (``ip_denied`` gives code 1305) and ``On-Behalf-Of`` (the openapi
says required). It mints opaque tokens bound to that sub-user, valid ``token_ttl``
seconds, and answers with the documented envelope (``expiresIn`` = :attr:`expires_in`).

WebSocket (``url`` + ``/ws``): the token rides in the ``bearer.<token>`` subprotocol
(echoed, unless ``echo_subprotocol`` is off) or in ``?token=``. No token: close 4001
"Missing token"; unknown or expired: 4001 "Invalid token". Accepted sockets first get
``{"event":"connected","data":{"userId":...},"ts":...}``. Any client data frame: close
4002 "Read-only" (WebSocket pings are answered by the protocol layer, as they should).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from secrets import token_urlsafe
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers

from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.server import FakeVenueServer


@dataclass
class Ticket:
    token: str
    sub_user: str  # as sent in On-Behalf-Of (UUID or externalId)
    user_id: str  # the sub-user's UUID
    expires_at: float


def _error(status: int, key: str, message: str, code: int | None = None) -> Response:
    return Response(
        status,
        {
            "requestId": str(uuid.uuid4()),
            "success": False,
            "error": {"code": code if code is not None else status, "key": key, "message": message},
        },
    )


class SkinSharkFake(FakeVenueServer):
    """Tests flip ``revoked``, ``ip_denied``, ``outage``, ``token_ttl``, ``expires_in``."""

    def __init__(
        self, api_key: str = "sk_live_fake", *, sub_users: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.api_key = api_key
        #: On-Behalf-Of value -> user UUID; None accepts any sub-user (bench, simple tests)
        self.sub_users = dict(sub_users) if sub_users is not None else None
        self.revoked: set[str] = set()
        self.ip_denied = False
        self.outage: int | None = None  # answer ws-token with this HTTP status (e.g. 503)
        self.token_ttl = 3600.0  # how long a minted token really lasts
        self.expires_in: Any = "1h"  # what the envelope says it lasts
        self.echo_subprotocol = True
        self.tickets: dict[str, Ticket] = {}
        self.minted = 0
        self.accepted: list[ServerConnection] = []  # sockets that got `connected`
        self.sessions: dict[ServerConnection, Ticket] = {}
        self.token_via: list[str] = []  # "subprotocol" or "query", per accepted socket
        self.closes: list[tuple[int, str]] = []  # closes the fake initiated
        self.rest = HttpServer()
        self.rest.route("POST", "/auth/ws-token", self._ws_token)

    async def __aenter__(self) -> SkinSharkFake:
        await self.rest.__aenter__()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            await self.rest.__aexit__(*exc)

    @property
    def rest_url(self) -> str:
        """The http:// base URL to put in a venue's ``rest_url``."""
        return self.rest.url

    @property
    def ws_url(self) -> str:
        """The ws:// URL of the event stream, for a venue's ``url``."""
        return f"{self.url}/ws"

    # ------------------------------------------------------------------ REST

    def _ws_token(self, request: Request) -> Response:
        key = request.headers.get("api-key")
        if key is None:
            hint = " (X-API-Key is not accepted)" if "x-api-key" in request.headers else ""
            return _error(401, "MISSING_API_KEY", f"Missing api-key header{hint}")
        if key in self.revoked:
            return _error(401, "API_KEY_REVOKED", "API key has been revoked")
        if key != self.api_key:
            return _error(401, "INVALID_API_KEY", "Invalid API key")
        if self.ip_denied:
            return _error(403, "API_KEY_IP_DENIED", "IP not allowed for this key", 1305)
        if self.outage is not None:
            return _error(self.outage, "SERVICE_UNAVAILABLE", "Try again later")
        sub_user = request.headers.get("on-behalf-of")
        if not sub_user:
            return _error(400, "ON_BEHALF_OF_REQUIRED", "On-Behalf-Of is required")
        user_id = self.user_id(sub_user)
        if user_id is None:
            return _error(404, "USER_NOT_FOUND", "No such sub-user")
        token = token_urlsafe(24)
        self.tickets[token] = Ticket(token, sub_user, user_id, time.time() + self.token_ttl)
        self.minted += 1
        self.changes.notify()
        return Response(
            200,
            {
                "requestId": str(uuid.uuid4()),
                "success": True,
                "data": {"token": token, "expiresIn": self.expires_in},
            },
        )

    def user_id(self, sub_user: str) -> str | None:
        """The UUID a sub-user (UUID or externalId) stands for; None if unknown."""
        if self.sub_users is None:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, sub_user))
        return self.sub_users.get(sub_user)

    def expire_tokens(self) -> None:
        """Make every token minted so far invalid (as if an hour had passed)."""
        for ticket in self.tickets.values():
            ticket.expires_at = time.time() - 1

    # ------------------------------------------------------------------ WebSocket

    def check_handshake(self, path: str, headers: Headers) -> tuple[int, str] | None:
        if urlsplit(path).path != "/ws":
            return 404, f"no WebSocket at {urlsplit(path).path}"
        return None

    def choose_subprotocol(self, offered: Sequence[str]) -> str | None:
        if not self.echo_subprotocol:
            return None
        return next((p for p in offered if p.startswith("bearer.")), None)

    async def on_connect(self, connection: ServerConnection) -> None:
        token, via = _token_of(connection)
        if token is None:
            await self._close(connection, 4001, "Missing token")
            return
        ticket = self.tickets.get(token)
        if ticket is None or ticket.expires_at <= time.time():
            await self._close(connection, 4001, "Invalid token")
            return
        self.sessions[connection] = ticket
        self.token_via.append(via)
        await self.push(
            {"event": "connected", "data": {"userId": ticket.user_id}, "ts": _now_ms()},
            connection,
        )
        self.accepted.append(connection)
        self.changes.notify()

    async def on_frame(self, connection: ServerConnection, frame: Any) -> None:
        await self._close(connection, 4002, "Read-only")

    async def _close(self, connection: ServerConnection, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        self.changes.notify()
        await connection.close(code, reason)

    # ------------------------------------------------------------------ controls

    async def wait_for_sessions(self, count: int, timeout: float = 10.0) -> ServerConnection:
        """Wait until ``count`` sockets in total got ``connected``; return the newest."""
        await self.changes.wait_for(lambda: len(self.accepted) >= count, timeout)
        return self.accepted[count - 1]

    def live_session(self, sub_user: str | None = None) -> ServerConnection:
        """The newest open accepted socket (of ``sub_user``, if given)."""
        live = [
            c
            for c in self.accepted
            if c.state.name == "OPEN"
            and (sub_user is None or self.sessions[c].sub_user == sub_user)
        ]
        assert live, "no open session"
        return live[-1]

    async def send(
        self,
        event: str,
        data: Any,
        *,
        sub_user: str | None = None,
        ts: int | None = None,
    ) -> None:
        """Push ``{event, data, ts}`` to the newest session (of ``sub_user``, if given)."""
        frame = {"event": event, "data": data, "ts": _now_ms() if ts is None else ts}
        await self.push(frame, self.live_session(sub_user))


def _token_of(connection: ServerConnection) -> tuple[str | None, str]:
    """The token a client offered: ``bearer.<token>`` subprotocol first, then ``?token=``."""
    request = connection.request
    assert request is not None
    for header in request.headers.get_all("Sec-WebSocket-Protocol"):
        for offered in header.split(","):
            offered = offered.strip()
            if offered.startswith("bearer.") and len(offered) > len("bearer."):
                return offered[len("bearer.") :], "subprotocol"
    tokens = parse_qs(urlsplit(request.path).query).get("token")
    return (tokens[0], "query") if tokens else (None, "")


def _now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------- payloads


def trade(
    status: str,
    trade_id: str = "6f1c2b7e-0000-4000-8000-000000000001",
    *,
    side: str = "buy",
    items: list[dict[str, Any]] | None = None,
    total_price: float = 12.5,
    currency: str = "USD",
    updated_at: str = "2026-05-09T10:00:05Z",
) -> dict[str, Any]:
    """A ``Trade`` in the documented shape (one AK-47 by default)."""
    items = items if items is not None else [item("it_1", 12.5, status)]
    done = sum(1 for i in items if i.get("status") in ("hold", "completed"))
    return {
        "id": trade_id,
        "type": side,
        "userId": "a1b2c3d4-0000-4000-8000-000000000000",
        "steamId": "76561198000000000",
        "tradeUrl": "https://steamcommunity.com/tradeoffer/new/?partner=1&token=x",
        "externalId": "order-981",
        "status": status,
        "game": "730",
        "items": items,
        "summary": {
            "total": len(items),
            "delivered": done,
            "completed": sum(1 for i in items if i.get("status") == "completed"),
            "failed": sum(1 for i in items if i.get("status") == "failed"),
        },
        "totalPrice": total_price,
        "currency": currency,
        "createdAt": "2026-05-01T10:00:00Z",
        "updatedAt": updated_at,
    }


def item(item_id: str, price: float, status: str) -> dict[str, Any]:
    """A ``TradeItem`` in the documented shape."""
    return {
        "id": item_id,
        "name": "AK-47 | Redline",
        "marketHashName": "AK-47 | Redline (Field-Tested)",
        "type": "Rifle",
        "iconUrl": "https://example.invalid/ak.png",
        "price": price,
        "status": status,
        "tradable": True,
    }


def gateway_deposit_failed(
    funding_id: str, status: str = "expired", reason: str = "payment window elapsed"
) -> dict[str, Any]:
    """``deposit.failed`` data of a gateway (Gate Pay / on-ramp) deposit."""
    return {"fundingId": funding_id, "status": status, "reason": reason}


def crypto_deposit_completed(
    deposit_id: str, *, usd_cents: str = "125000", wei: str = "1250000000"
) -> dict[str, Any]:
    """``deposit.completed`` data of a self-hosted EVM crypto deposit (cents as a string)."""
    return {
        "depositId": deposit_id,
        "chain": "ethereum",
        "token": "USDT",
        "txHash": "0x" + "ab" * 32,
        "amountWei": wei,
        "amountUsdCents": usd_cents,
        "confirmations": 12,
        "completedAt": "2026-05-09T10:00:00Z",
    }
