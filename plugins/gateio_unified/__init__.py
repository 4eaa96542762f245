"""Gate.io Unified account: unified.assets and unified.asset_detail."""

from __future__ import annotations

from collections.abc import Callable

from bridge.plugin import NON_EMPTY_TEXT, Option, Venue, choice_list, hookimpl, non_empty_list

CHANNELS = ("unified.assets", "unified.asset_detail")


class GateUnified(Venue):
    """Gate.io Unified: account-level margin figures and per-currency balances."""

    kinds = ("account", "balance")
    default_url = "wss://ws.gate.com/v4/ws/unified"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True),
        Option("api_secret", NON_EMPTY_TEXT, secret=True),
        Option(
            "currencies",
            non_empty_list,
            default=["!all"],
            help='currencies such as "BTC", or "!all"',
        ),
        Option("channels", choice_list(*CHANNELS), default=list(CHANNELS)),
    )


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("gateio_unified", GateUnified)
