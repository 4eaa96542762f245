"""SkinShark sub-user event stream (ws-token over REST, read-only socket)."""

from __future__ import annotations

from collections.abc import Callable

from bridge.plugin import NON_EMPTY_TEXT, Option, Venue, hookimpl, one_of


class SkinShark(Venue):
    """SkinShark: deposits, trades and notices of one sub-user."""

    kinds = ("deposit", "order", "notice")
    default_url = "wss://api.skinshark.gg/ws"
    default_rest_url = "https://api.skinshark.gg"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="sent as the api-key header"),
        Option("sub_user", NON_EMPTY_TEXT, help="sub-user UUID or externalId (On-Behalf-Of)"),
        Option("token_in", one_of("subprotocol", "query"), default="subprotocol"),
    )


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("skinshark", SkinShark)
