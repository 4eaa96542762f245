"""Bitmusa spot user data stream (listenKey over REST, then one socket)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bridge.plugin import (
    DATA,
    DURATION,
    IGNORE,
    NON_EMPTY_TEXT,
    Classification,
    Duty,
    Event,
    NormalizeContext,
    Option,
    Session,
    Signal,
    Venue,
    hookimpl,
)
from plugins.bitmusa.keepalive import KEY_LIFETIME, keep_alive, mark_extended
from plugins.bitmusa.normalize import normalize_frame
from plugins.bitmusa.rest import AUTH_CODES, ListenKeyApi, envelope_code
from plugins.bitmusa.stream_url import stream_prefixes

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads plugins, never httpx
    import httpx

log = logging.getLogger("alert_bridge.venue.bitmusa")


def keepalive_interval(value: Any) -> float:
    """A keep-alive interval: more than zero, and short enough to beat the key's expiry."""
    seconds = DURATION(value)
    if not 0 < seconds < KEY_LIFETIME:
        raise ValueError(
            f"must be more than 0s and less than 60m (a listenKey lives 60m), got {value!r}"
        )
    return float(seconds)


class Bitmusa(Venue):
    """Bitmusa spot: spot_wallet balances and spot_order updates."""

    kinds = ("order", "fill", "balance")
    order_state_prefixes = ("order:",)  # cumulative tradedAmount per open order
    default_url = "wss://websocket.bitmusa.com:60002"
    default_rest_url = "https://openapi.bitmusa.com"
    # No heartbeat is documented and an account can be quiet for hours, so there is no
    # idle watchdog: the core's WebSocket pings find dead sockets.
    idle_timeout = None
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="sent as x-api-key"),
        Option("auth_key", NON_EMPTY_TEXT, secret=True, help="sent as Authorization: Bearer"),
        Option(
            "keepalive", keepalive_interval, default=1800.0, help="listenKey keep-alive interval"
        ),
    )

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.api = ListenKeyApi(
            self.config["rest_url"], self.config["api_key"], self.config["auth_key"]
        )
        #: seconds a listenKey lives after creation or a keep-alive (MUSA-DOC: 60 minutes)
        self.key_lifetime = KEY_LIFETIME
        self.clock: Callable[[], float] = time.time
        self._prefixes = stream_prefixes(self.config["url"])
        self._prefix = 0
        self._unopened = False  # the last session never reached on_open (socket refused?)
        self._listen_key = ""

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        """POST for the listenKey, extend it, and point the socket at it."""
        if self._unopened and len(self._prefixes) > 1:
            self._prefix = (self._prefix + 1) % len(self._prefixes)
            log.info("%s: the last socket never opened; trying the other stream path", self.name)
        self._unopened = False
        key = await self.api.create(http)
        # POST hands back the account's active key as it is, maybe minutes from expiry
        # (after a restart or the 24-hour cut): extend it now, so the keep-alive schedule
        # counts from a known 60 minutes.
        await self.api.keep_alive(http)
        self._listen_key = key
        session = Session(url=self._prefixes[self._prefix] + key, secrets=[key])
        mark_extended(session, self.clock(), self.key_lifetime)
        self._unopened = True
        return session

    def on_open(self, stream: str, session: Session, now: float) -> list[Any]:
        """Nothing to send (the URL selects the stream); note that the socket opened."""
        self._unopened = False
        return []

    def duties(self, stream: str) -> list[Duty]:
        """The listenKey keep-alive PUT, every ``keepalive``."""
        return [Duty("keepalive", self.config["keepalive"], self._keep_alive)]

    async def _keep_alive(self, session: Session, http: httpx.AsyncClient) -> None:
        await keep_alive(
            self.api,
            http,
            session,
            interval=self.config["keepalive"],
            lifetime=self.key_lifetime,
            label=self.name,
            clock=self.clock,
        )

    def classify(self, stream: str, frame: Any) -> Classification:
        """Stream frames are data; a REST-style ``{"code", "message"}`` frame is an error."""
        if not isinstance(frame, dict) or "stream" in frame or "code" not in frame:
            return DATA  # the normalizer reports anything it does not know
        # No WS error frame is documented; should the REST envelope show up, read it so.
        code = envelope_code(frame["code"])
        if code == 0:
            return IGNORE
        message = str(frame.get("message", "")).strip()[:200]
        if self._listen_key:
            message = message.replace(self._listen_key, "***")
        detail = f"code {frame['code']}: {message or '(no message)'}"
        if code in AUTH_CODES:
            return Classification(Signal.AUTH_FAILED, detail)
        return Classification(Signal.ERROR, detail)

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        """Balance, order and derived fill events from one frame."""
        return normalize_frame(ctx, frame)

    async def close(self, stream: str, session: Session, http: httpx.AsyncClient) -> None:
        """DELETE the listenKey at shutdown, so the venue closes the stream."""
        await self.api.delete(http)
        log.info("%s: listenKey deleted", self.name)


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("bitmusa", Bitmusa)
