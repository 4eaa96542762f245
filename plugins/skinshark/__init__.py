"""SkinShark sub-user event stream (ws-token over REST, read-only socket).

One venue instance watches one sub-user: a ticket is bound to the ``On-Behalf-Of``
sub-user it was minted for, and a socket carries only that user's events. To watch many
sub-users, configure one ``[venues.NAME]`` table per sub-user (docs/venues/skinshark.md).
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
    NormalizeContext,
    Option,
    Session,
    Signal,
    Venue,
    hookimpl,
    one_of,
)
from plugins.skinshark.normalize import normalize_frame
from plugins.skinshark.ticket import mint, with_token_query

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads plugins, never httpx
    import httpx

#: close codes after which the ticket is not reused: 4001 = missing/invalid/expired
#: token; 4002 = read-only violation, for which the venue's guide also says mint afresh
FRESH_TICKET_CODES = frozenset({4001, 4002})
#: a ticket this close to its expiry is not reused (the connect itself takes time)
REUSE_MARGIN = 60.0


class SkinShark(Venue):
    """SkinShark: deposits, trades and notices of one sub-user."""

    kinds = ("deposit", "order", "fill", "notice")
    order_state_prefixes = ("trade:",)  # the last status of each unfinished trade
    default_url = "wss://api.skinshark.gg/ws"
    default_rest_url = "https://api.skinshark.gg"
    # Pushes come only when something happens (hours may pass): liveness rests on
    # WebSocket pings, which the socket answers, not on a frame watchdog.
    idle_timeout = None
    read_only = True  # any client data frame gets close 4002
    ready_when = "signal"  # up once the `connected` frame arrives
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="sent as the api-key header"),
        # An identifier, not a credential (the api_key is): logs may name it.
        Option(
            "sub_user",
            NON_EMPTY_TEXT,
            secret=False,
            help="sub-user UUID or externalId (On-Behalf-Of)",
        ),
        Option("token_in", one_of("subprotocol", "query"), default="subprotocol"),
    )

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.clock: Callable[[], float] = time.time  # tests move it to expire tickets

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        """Mint a ticket for the sub-user, then connect with it (subprotocol or query)."""
        ticket = await mint(
            http,
            self.config["rest_url"],
            self.config["api_key"],
            self.config["sub_user"],
            self.clock(),
        )
        url = self.config["url"]
        session = Session(url=url, secrets=[ticket.token], data={"expires_at": ticket.expires_at})
        if self.config.get("token_in", "subprotocol") == "query":
            # the fallback: query strings end up in proxy logs, so it is not the default
            session.url = with_token_query(url, ticket.token)
        else:
            session.subprotocols = [f"bearer.{ticket.token}"]
        return session

    def classify(self, stream: str, frame: Any) -> Classification:
        """``connected`` marks the session up; everything else is data."""
        if isinstance(frame, dict) and frame.get("event") == "connected":
            return Classification(Signal.READY, "connected")
        return DATA  # the normalizer reports unknown or malformed pushes

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        """Events from one push (trade.*, deposit.*, system.notice)."""
        return normalize_frame(ctx, frame)

    def reuse_session(self, stream: str, session: Session, close_code: int | None) -> bool:
        """Tickets survive disconnects until they expire; 4001/4002 need a fresh one."""
        if close_code in FRESH_TICKET_CODES:
            return False
        expires_at = session.data.get("expires_at")
        return isinstance(expires_at, float) and expires_at - self.clock() > REUSE_MARGIN


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("skinshark", SkinShark)
