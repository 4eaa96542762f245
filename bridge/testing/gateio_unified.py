"""A fake Gate.io Unified private WebSocket (VENUES.md §2), built on the spot fake.

It checks what the real server checks: requests name a Unified channel, carry a payload
of the documented shape (``unified.asset_detail``: currency names, or ``["!all"]``
alone), and carry ``auth.KEY``/``auth.SIGN`` signed like spot (HMAC-SHA512 of
``channel=<c>&event=<e>&time=<t>``, ``time`` within 60 s). Malformed requests get the
documented codes (1 ``invalid argument struct``, 2 ``invalid argument``); rejected
credentials get code 4 with a label, as on spot (the Unified doc lists no auth code).
``unified.ping`` gets ``unified.pong``; the websockets server sends protocol pings and
drops a client that does not answer them.

The fake keeps an account book: :meth:`set_account` and :meth:`set_balance` change it
and push the change, as ``update`` frames, to the connections subscribed to it (only the
currencies each subscribed to). ``snapshot_on_subscribe`` pushes the whole book after
each accepted subscribe, like a server that re-pushes state on connect (undocumented,
but a client must survive it); ``full_details`` sends every subscribed currency in
each ``dts`` instead of only the changed one (the doc does not say which it does).
"""

from __future__ import annotations

import time
from typing import Any

from websockets.asyncio.server import ServerConnection

from bridge.testing.gate import GateSpotFake

CHANNELS = ("unified.assets", "unified.asset_detail")
ALL = "!all"


class GateUnifiedFake(GateSpotFake):
    """Tests change ``api_key``/``api_secret`` to simulate a revoked or fixed key."""

    prefix = "unified"

    def __init__(
        self,
        api_key: str = "unified-key",
        api_secret: str = "unified-secret",
        *,
        user: int = 11027732,
        snapshot_on_subscribe: bool = False,
        full_details: bool = False,
        array_results: bool = False,
    ) -> None:
        super().__init__(api_key, api_secret)
        self.user = user
        self.snapshot_on_subscribe = snapshot_on_subscribe
        self.full_details = full_details
        self.array_results = array_results  # send ``result`` as a one-item array
        self.account: dict[str, str] = {}  # short key (e, b, a, l, r, R, T) -> value
        self.details: dict[str, dict[str, str]] = {}  # currency -> {a, f, e, tl, b}
        self.request_errors: list[tuple[int, str]] = []  # non-auth errors sent

    async def on_frame(self, connection: ServerConnection, frame: Any) -> None:
        if isinstance(frame, dict) and frame.get("channel") == f"{self.prefix}.ping":
            await super().on_frame(connection, frame)  # the pong
            return
        if not isinstance(frame, dict) or frame.get("event") not in ("subscribe", "unsubscribe"):
            await self._reject(connection, frame, 1, "invalid argument struct")
            return
        channel, payload = frame.get("channel"), frame.get("payload", [])
        if channel not in CHANNELS:
            await self._reject(connection, frame, 2, "invalid argument")
            return
        if not isinstance(payload, list) or not all(isinstance(p, str) for p in payload):
            await self._reject(connection, frame, 1, "invalid argument struct")
            return
        if channel == "unified.asset_detail" and (
            not payload or (ALL in payload and len(payload) > 1)
        ):
            await self._reject(connection, frame, 2, "invalid argument")
            return
        # Credentials are checked (and acked) by the spot fake: same signing, same code 4.
        await super().on_frame(connection, frame)
        accepted = self.subscribed(str(channel), connection) and frame["event"] == "subscribe"
        if accepted and self.snapshot_on_subscribe:
            await self._push_book(connection, str(channel))

    async def _reject(
        self, connection: ServerConnection, frame: Any, code: int, message: str
    ) -> None:
        self.request_errors.append((code, message))
        await self._error(connection, frame if isinstance(frame, dict) else {}, code, message)

    # ------------------------------------------------------------------ account book

    def currencies(self, connection: ServerConnection) -> list[str] | None:
        """The currencies a connection subscribed to (None: ``!all``)."""
        payload = self.subscriptions.get(connection, {}).get("unified.asset_detail", [])
        return None if ALL in payload else payload

    def _subscribers(self, channel: str) -> list[ServerConnection]:
        return [
            c
            for c in self.open_connections
            if self.subscribed(channel, c) and c not in self.silenced
        ]

    async def set_account(self, **figures: str) -> None:
        """Change account figures (short keys: e, b, a, l, r, R, T) and push them."""
        self.account.update(figures)
        for connection in self._subscribers("unified.assets"):
            await self._push_assets(connection)

    async def set_balance(
        self, currency: str, balance: str, *, available: str | None = None, freeze: str = "0"
    ) -> None:
        """Change one currency's balance and push it to the connections that watch it."""
        self.details[currency] = {
            "a": available if available is not None else balance,
            "f": freeze,
            "e": balance,
            "tl": "0.00",
            "b": balance,
        }
        for connection in self._subscribers("unified.asset_detail"):
            watched = self.currencies(connection)
            if watched is not None and currency not in watched:
                continue
            await self._push_details(connection, None if self.full_details else [currency])

    async def _push_book(self, connection: ServerConnection, channel: str) -> None:
        if channel == "unified.assets" and self.account:
            await self._push_assets(connection)
        elif channel == "unified.asset_detail" and self.details:
            await self._push_details(connection, None)

    async def _push_assets(self, connection: ServerConnection) -> None:
        result = {"u": self.user, "t": int(time.time()), **self.account}
        await self.update("unified.assets", self._shape(result), connection)

    async def _push_details(self, connection: ServerConnection, only: list[str] | None) -> None:
        watched = self.currencies(connection)
        names = [
            c
            for c in self.details
            if (only is None or c in only) and (watched is None or c in watched)
        ]
        if not names:
            return
        dts = {c: dict(self.details[c]) for c in names}
        result = {"u": self.user, "t": int(time.time()), "dts": dts}
        await self.update("unified.asset_detail", self._shape(result), connection)

    def _shape(self, result: dict[str, Any]) -> Any:
        return [result] if self.array_results else result
