"""Bitmusa spot user data stream (listenKey over REST, then one socket)."""

from __future__ import annotations

from collections.abc import Callable

from bridge.plugin import DURATION, NON_EMPTY_TEXT, Option, Venue, hookimpl


class Bitmusa(Venue):
    """Bitmusa spot: spot_wallet balances and spot_order updates."""

    kinds = ("order", "fill", "balance")
    default_url = "wss://websocket.bitmusa.com:60002"
    default_rest_url = "https://openapi.bitmusa.com"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="sent as x-api-key"),
        Option("auth_key", NON_EMPTY_TEXT, secret=True, help="sent as Authorization: Bearer"),
        Option("keepalive", DURATION, default=1800.0, help="listenKey keep-alive interval"),
    )


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("bitmusa", Bitmusa)
