"""Gate.io Unified account: unified.assets and unified.asset_detail."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from bridge.plugin import (
    NON_EMPTY_TEXT,
    Classification,
    Event,
    NormalizeContext,
    Option,
    Session,
    Venue,
    choice_list,
    hookimpl,
    non_empty_list,
)
from plugins.gateio.protocol import classify_frame
from plugins.gateio.signing import signed_request
from plugins.gateio_unified.normalize import normalize_frame

CHANNELS = ("unified.assets", "unified.asset_detail")
ALL = "!all"


def currency_list(value: Any) -> list[str]:
    """Currencies such as ``["BTC", "USDT"]``, or ``["!all"]`` alone (Gate forbids mixing)."""
    currencies = non_empty_list(value)
    if ALL in currencies:
        if len(currencies) > 1:
            raise ValueError(f'"{ALL}" cannot be combined with currency names')
        return currencies
    # Gate's currency codes are upper case; accept "usdt" rather than subscribe to nothing.
    return [c.strip().upper() for c in currencies]


class GateUnified(Venue):
    """Gate.io Unified: account-level margin figures and per-currency balances."""

    kinds = ("account", "balance")
    default_url = "wss://ws.gate.com/v4/ws/unified"
    # Application pings every 10 s are answered with unified.pong, so 30 s without any
    # frame means a dead connection even when the account is quiet.
    idle_timeout = 30.0
    ping_interval = 10.0
    ready_when = "ack"
    options = (
        Option("api_key", NON_EMPTY_TEXT, secret=True, help="Unified account API key"),
        Option("api_secret", NON_EMPTY_TEXT, secret=True, help="the key's secret"),
        Option(
            "currencies",
            currency_list,
            default=[ALL],
            help='currencies for unified.asset_detail such as "BTC", or "!all"',
        ),
        Option("channels", choice_list(*CHANNELS), default=list(CHANNELS)),
    )

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self._ids = itertools.count(1)  # request ids, echoed in acks; Gate wants int32

    def on_open(self, stream: str, session: Session, now: float) -> list[Any]:
        """One signed subscribe per configured channel, signed with this connect's time."""
        frames = []
        for channel in self.config["channels"]:
            payload = list(self.config["currencies"]) if channel == "unified.asset_detail" else []
            frame = signed_request(
                self.config["api_key"],
                self.config["api_secret"],
                channel,
                "subscribe",
                payload,
                int(now),
                next(self._ids) % 2**31,
            )
            session.secrets.append(frame["auth"]["SIGN"])  # never to be logged
            frames.append(frame)
        return frames

    def app_ping(self, stream: str, now: float) -> Any:
        """``unified.ping`` (unsigned); the answer is ``unified.pong``."""
        return {"time": int(now), "channel": "unified.ping"}

    def classify(self, stream: str, frame: Any) -> Classification:
        """Pong, ack, error (auth or other), upgrade, or data."""
        return classify_frame(frame, "unified.pong")

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        """Account and balance events from one ``update`` push."""
        return normalize_frame(ctx, frame)


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("gateio_unified", GateUnified)
