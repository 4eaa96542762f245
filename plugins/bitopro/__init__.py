"""BitoPro private streams: account balance, open orders, user trades."""

from __future__ import annotations

from collections.abc import Callable

from bridge.plugin import NON_EMPTY_TEXT, Option, Venue, choice_list, hookimpl

STREAMS = ("account-balance", "orders", "user-trades")


class BitoPro(Venue):
    """BitoPro: one header-authenticated socket per stream."""

    kinds = ("order", "fill", "balance")
    default_url = "wss://stream.bitopro.com:443/ws"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True),
        Option("api_secret", NON_EMPTY_TEXT, secret=True),
        Option("identity", NON_EMPTY_TEXT, help="the account e-mail"),
        Option("streams", choice_list(*STREAMS), default=list(STREAMS)),
    )


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("bitopro", BitoPro)
