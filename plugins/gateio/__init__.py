"""Gate.io spot v4 private channels: spot.usertrades, spot.orders, spot.balances."""

from __future__ import annotations

from collections.abc import Callable

from bridge.plugin import NON_EMPTY_TEXT, Option, Venue, choice_list, hookimpl, non_empty_list

CHANNELS = ("spot.balances", "spot.orders", "spot.usertrades")


class GateSpot(Venue):
    """Gate.io spot: signed per-channel subscribes on one socket."""

    kinds = ("order", "fill", "balance")
    default_url = "wss://api.gateio.ws/ws/v4/"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="API key with spot read permission"),
        Option("api_secret", NON_EMPTY_TEXT, secret=True, help="the key's secret"),
        Option("channels", choice_list(*CHANNELS), default=list(CHANNELS)),
        Option(
            "symbols",
            non_empty_list,
            default=["!all"],
            help='currency pairs such as "BTC_USDT", or "!all"',
        ),
    )


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("gateio", GateSpot)
