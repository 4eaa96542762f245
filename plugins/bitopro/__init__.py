"""BitoPro private streams: account balance, open orders, user trades (VENUES.md §4).

One WebSocket per stream at ``{url}/v1/pub/auth/<stream>``, authenticated by three
``X-BITOPRO-*`` headers on the upgrade, signed with a fresh nonce on every connect. The
streams are push-only: the client sends nothing, the server sends protocol pings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bridge.plugin import (
    DATA,
    NON_EMPTY_TEXT,
    Classification,
    Event,
    FrameError,
    NormalizeContext,
    Option,
    Session,
    Signal,
    Venue,
    choice_list,
    hookimpl,
)
from plugins.bitopro.balances import normalize_balances
from plugins.bitopro.orders import normalize_orders
from plugins.bitopro.signing import PAYLOAD_HEADER, SIGNATURE_HEADER, auth_headers
from plugins.bitopro.trades import normalize_trade

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads plugins, never httpx
    import httpx

STREAMS = ("account-balance", "orders", "user-trades")
EVENTS = ("ACCOUNT_BALANCE", "ACTIVE_ORDERS", "USER_TRADE")
_AUTH_WORDS = ("auth", "signature", "api key", "apikey", "identity", "401", "403")


class BitoPro(Venue):
    """BitoPro: one header-authenticated socket per stream."""

    kinds = ("order", "fill", "balance")
    order_state_prefixes = ("order:",)  # the last known figures of each open order
    default_url = "wss://stream.bitopro.com:443/ws"
    # A quiet account sends no frames for hours (no trades, no balance moves). Dead
    # sockets are found by WebSocket pings instead: the server pings every 20 s and the
    # client pings too.
    idle_timeout = None
    read_only = True  # push-only: nothing is ever sent besides protocol pongs
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="API key (read permission)"),
        Option("api_secret", NON_EMPTY_TEXT, secret=True, help="the key's secret"),
        Option("identity", NON_EMPTY_TEXT, help="the account e-mail"),
        Option("streams", choice_list(*STREAMS), default=list(STREAMS)),
    )

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self._last_nonce = 0
        # Streams whose next ACTIVE_ORDERS frame opens a connection, i.e. is a snapshot.
        self._snapshot_due: set[str] = set()

    def streams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.config["streams"]))

    def stream_url(self, stream: str) -> str:
        """The socket URL of one stream."""
        return f"{self.config['url'].rstrip('/')}/v1/pub/auth/{stream}"

    def next_nonce(self) -> int:
        """Milliseconds now, but strictly increasing: the streams connect at the same time."""
        self._last_nonce = max(int(time.time() * 1000), self._last_nonce + 1)
        return self._last_nonce

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        headers = auth_headers(
            self.config["api_key"],
            self.config["api_secret"],
            self.config["identity"],
            self.next_nonce(),
        )
        self._snapshot_due.add(stream)
        return Session(
            url=self.stream_url(stream),
            headers=headers,
            # the payload carries the account e-mail; the key and signature are credentials
            secrets=[self.config["api_key"], headers[PAYLOAD_HEADER], headers[SIGNATURE_HEADER]],
        )

    def classify(self, stream: str, frame: Any) -> Classification:
        if not isinstance(frame, dict) or frame.get("event") in EVENTS:
            return DATA  # (a non-object is reported as malformed by the normalizer)
        # Error frames are undocumented (auth is refused on the upgrade); if one comes,
        # make it visible rather than a malformed-data count.
        problem = frame.get("error")
        if problem is None and "event" not in frame:
            problem = frame.get("message")
        if problem:
            detail = str(problem)[:200]
            if any(word in detail.lower() for word in _AUTH_WORDS):
                return Classification(Signal.AUTH_FAILED, detail)
            return Classification(Signal.ERROR, detail)
        return DATA  # an unknown event: the normalizer names it

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        event = frame.get("event") if isinstance(frame, dict) else None
        if event == "USER_TRADE":
            return normalize_trade(ctx, frame)
        if event == "ACCOUNT_BALANCE":
            return normalize_balances(ctx, frame)
        if event == "ACTIVE_ORDERS":
            snapshot = stream in self._snapshot_due
            self._snapshot_due.discard(stream)
            return normalize_orders(
                ctx,
                frame,
                snapshot=snapshot,
                derive_fills="user-trades" not in self.config["streams"],
            )
        if not isinstance(frame, dict):
            raise FrameError(f"frame: expected an object, got {type(frame).__name__}")
        raise FrameError(f"event: unexpected {event!r}")


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("bitopro", BitoPro)
