"""Gate.io spot v4 private channels: spot.usertrades, spot.orders, spot.balances."""

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
    ReconcileWindow,
    Recovered,
    RestRequest,
    Session,
    Venue,
    choice_list,
    hookimpl,
    non_empty_list,
)
from plugins.gateio import rest
from plugins.gateio.normalize import normalize_frame
from plugins.gateio.protocol import classify_frame
from plugins.gateio.signing import signed_request

CHANNELS = ("spot.balances", "spot.orders", "spot.usertrades")


class GateSpot(Venue):
    """Gate.io spot: signed per-channel subscribes on one socket."""

    kinds = ("order", "fill", "balance", "deposit")
    order_state_prefixes = ("filled:",)  # cumulative filled_amount per open order
    default_url = "wss://api.gateio.ws/ws/v4/"
    default_rest_url = "https://api.gateio.ws"
    reconcile_rate = rest.RATE
    idle_timeout = 30.0
    ping_interval = 10.0
    ready_when = "ack"
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

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self._ids = itertools.count(1)  # request ids: echoed in acks; Gate wants int32

    def on_open(self, stream: str, session: Session, now: float) -> list[Any]:
        frames = []
        for channel in self.config["channels"]:
            payload = [] if channel == "spot.balances" else list(self.config["symbols"])
            frames.append(
                signed_request(
                    self.config["api_key"],
                    self.config["api_secret"],
                    channel,
                    "subscribe",
                    payload,
                    int(now),
                    next(self._ids) % 2**31,
                )
            )
        return frames

    def app_ping(self, stream: str, now: float) -> Any:
        return {"time": int(now), "channel": "spot.ping"}

    def classify(self, stream: str, frame: Any) -> Classification:
        return classify_frame(frame, "spot.pong")

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        events = normalize_frame(ctx, frame, "spot.usertrades" in self.config["channels"])
        if frame.get("channel") == "spot.balances":
            rest.note_stream_events(ctx, events)  # last totals and deposits, for REST
        return events

    def reconcile_requests(self, stream: str, window: ReconcileWindow) -> list[RestRequest]:
        return rest.requests(self.config["channels"], self.config["symbols"], window)

    def sign_rest(self, request: RestRequest, now: float) -> dict[str, str]:
        return rest.signed_headers(self.config["api_key"], self.config["api_secret"], request, now)

    def reconcile_response(
        self,
        stream: str,
        request: RestRequest,
        payload: Any,
        window: ReconcileWindow,
        ctx: NormalizeContext,
    ) -> Recovered:
        usertrades = "spot.usertrades" in self.config["channels"]
        return rest.response(request, payload, window, ctx, usertrades)


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    register("gateio", GateSpot)
