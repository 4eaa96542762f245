"""``check_venue``: every built-in venue on its recorded frames, and venues built to fail it."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from bridge.plugin import (
    NON_EMPTY_TEXT,
    AuthFailed,
    Classification,
    Event,
    FillEvent,
    FrameError,
    NormalizeContext,
    Option,
    OrderEvent,
    Session,
    Signal,
    Venue,
    VenueUnavailable,
    event_id,
    need_dec,
    need_text,
    obj,
)
from bridge.plugins import plugin_host
from bridge.testing import check_venue
from bridge.testing.conformance import ConformanceError

FRAMES = Path(__file__).parent / "frames"


def recorded(*names: str) -> list[Any]:
    """Every frame of tests/frames/NAME.jsonl: data, acks, pongs and errors alike."""
    return [
        json.loads(line)
        for name in names
        for line in (FRAMES / f"{name}.jsonl").read_text().splitlines()
        if line.strip()
    ]


def by_stream(frames: list[Any], streams: dict[str, str]) -> dict[str, list[Any]]:
    """BitoPro frames on the stream each one arrives on (by its ``event``)."""
    grouped: dict[str, list[Any]] = {}
    for frame in frames:
        grouped.setdefault(streams[frame["event"]], []).append(frame)
    return grouped


# Distinctive secrets: the check looks for them in every error and classification.
KEY, SECRET = "conformance-key-1", "conformance-secret-1"
GATE, UNIFIED, BITMUSA = recorded("gateio"), recorded("gateio_unified"), recorded("bitmusa")
BITOPRO_STREAMS = {
    "ACCOUNT_BALANCE": "account-balance",
    "ACTIVE_ORDERS": "orders",
    "USER_TRADE": "user-trades",
}
BUILTINS: dict[str, dict[str, Any]] = {
    "gateio": {
        "config": {"api_key": KEY, "api_secret": SECRET},
        "frames": GATE,
        "auth_frame": GATE[6],  # code 4, INVALID_KEY
        # REST answers holding the same trade and order as frames 3 and 2
        "rest": json.loads((FRAMES / "gateio_rest.json").read_text()),
    },
    "gateio_unified": {
        "config": {"api_key": KEY, "api_secret": SECRET},
        "frames": UNIFIED,
        "auth_frame": UNIFIED[7],
    },
    "bitmusa": {
        "config": {"api_key": KEY, "auth_key": SECRET},
        "frames": BITMUSA,
        "auth_frame": BITMUSA[3],  # code 1001 API KEY NOT FOUND
        "auth_at": "rest",  # the listenKey POST
    },
    "bitopro": {
        "config": {"api_key": KEY, "api_secret": SECRET, "identity": "me@example.com"},
        "frames": by_stream(recorded("bitopro"), BITOPRO_STREAMS),
        "auth_at": "handshake",  # X-BITOPRO-* headers on the upgrade
    },
    "skinshark": {
        "config": {"api_key": KEY, "sub_user": "a1b2c3d4-0000-4000-8000-000000000000"},
        "frames": recorded("skinshark", "skinshark_webhooks"),
        "auth_at": "rest",  # the ws-token mint
    },
}
KINDS = {
    "gateio": {"order", "fill", "balance"},
    "gateio_unified": {"account", "balance"},
    "bitmusa": {"order", "fill", "balance"},
    "bitopro": {"order", "fill", "balance"},
    "skinshark": {"order", "fill", "deposit", "notice"},
}
# Breaches the check finds in built-ins, reported to their owners (plugins/ is theirs).
# Each pattern must still match a breach (delete it once fixed) and every breach must
# match a pattern: the check keeps running on every built-in either way.
KNOWN_BREACHES: dict[str, list[str]] = {}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_venue_conforms(name: str) -> None:
    venue = plugin_host().venues[name]
    known = KNOWN_BREACHES.get(name, [])
    try:
        report = check_venue(venue, **BUILTINS[name])
    except ConformanceError as exc:
        unexpected = [b for b in exc.breaches if not any(re.match(k, b) for k in known)]
        assert not unexpected, str(exc)
        fixed = [k for k in known if not any(re.match(k, b) for b in exc.breaches)]
        assert not fixed, f"no longer found, remove from KNOWN_BREACHES: {fixed}"
        return
    assert not known, f"{name} now conforms: remove its KNOWN_BREACHES entry"
    assert report.kinds == KINDS[name]
    assert all(e.venue == "venue-under-test" and e.plugin == name for e in report.events)
    assert report.malformed > 100
    assert report.reconciled == (2 if "rest" in BUILTINS[name] else 0)


def test_a_rest_fact_with_another_id_than_the_stream_is_a_breach() -> None:
    rest = copy.deepcopy(BUILTINS["gateio"]["rest"])
    rest["/api/v4/spot/my_trades"][0]["currency_pair"] = "ETH_USDT"  # not the pushed fact
    rest["/api/v4/spot/my_trades"][0]["id"] = "5736714"
    with pytest.raises(ConformanceError) as caught:
        check_venue(plugin_host().venues["gateio"], **{**BUILTINS["gateio"], "rest": rest})
    assert any(
        "REST GET /api/v4/spot/my_trades: event 1: fill has an id no stream frame gave it" in b
        for b in caught.value.breaches
    ), caught.value.breaches


# ---------------------------------------------------------------------- a venue to break

TRADE = {"type": "trade", "id": "T1", "px": "30000", "qty": "0.5", "time": 1700000000000}
ORDER = {"type": "order", "id": "O1", "status": "open", "time": 1700000000000}
AUTH = {"type": "error", "code": 401}
GOOD_CONFIG = {"token": "conformance-token-1"}


class Good(Venue):
    """A small, correct venue: every check passes on it."""

    kinds: ClassVar[tuple[str, ...]] = ("fill", "order")
    options = (Option("token", NON_EMPTY_TEXT, secret=True),)

    def classify(self, stream: str, frame: Any) -> Classification:
        if isinstance(frame, dict) and frame.get("type") == "error":
            signal = Signal.AUTH_FAILED if frame.get("code") == 401 else Signal.ERROR
            return Classification(signal, str(frame.get("code")))
        return Classification(Signal.DATA)

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        frame = obj(frame)
        if frame.get("type") == "order":
            return [self.order(ctx, frame)]
        return [self.fill(ctx, frame)]

    def order(self, ctx: NormalizeContext, frame: dict[str, Any]) -> Event:
        order_id = need_text(frame, "id")
        return ctx.event(
            OrderEvent,
            id=event_id(ctx.venue, "order", order_id, need_text(frame, "status")),
            ts=int(need_dec(frame, "time")),
            raw=frame,
            order_id=order_id,
            status=need_text(frame, "status"),
        )

    def fill(self, ctx: NormalizeContext, frame: dict[str, Any]) -> Event:
        trade_id = need_text(frame, "id")
        price, amount = need_dec(frame, "px"), need_dec(frame, "qty")
        return ctx.event(
            FillEvent,
            id=self.fill_id(ctx, trade_id),
            ts=int(need_dec(frame, "time")),
            raw=frame,
            trade_id=trade_id,
            price=self.price(price),
            amount=amount,
            notional=price * amount,
        )

    def fill_id(self, ctx: NormalizeContext, trade_id: str) -> str:
        return event_id(ctx.venue, "fill", trade_id)

    def price(self, price: Decimal) -> Any:
        return price


def check(venue: type[Venue], **overrides: Any) -> None:
    arguments: dict[str, Any] = {
        "config": GOOD_CONFIG,
        "frames": [TRADE, ORDER, AUTH],
        "auth_frame": AUTH,
        "plugin": "good",
    }
    check_venue(venue, **{**arguments, **overrides})


def breaks(venue: type[Venue], message: str, **overrides: Any) -> None:
    """``check_venue`` fails on ``venue`` with a breach containing ``message``."""
    with pytest.raises(ConformanceError) as failure:
        check(venue, **overrides)
    assert any(message in b for b in failure.value.breaches), str(failure.value)


def test_a_correct_venue_passes_and_the_report_holds_its_events() -> None:
    report = check_venue(Good, GOOD_CONFIG, [TRADE, ORDER, AUTH], auth_frame=AUTH, plugin="good")
    assert [e.kind for e in report.events] == ["fill", "order"]
    assert report.data_frames == 2 and report.malformed > 50


class ClockIds(Good):
    def fill_id(self, ctx: NormalizeContext, trade_id: str) -> str:
        return event_id(ctx.venue, "fill", trade_id, ctx.received_at)


class SharedIds(Good):
    def fill_id(self, ctx: NormalizeContext, trade_id: str) -> str:
        return event_id("everyone", "fill", trade_id)  # not the instance name


class CountingIds(Good):
    def fill_id(self, ctx: NormalizeContext, trade_id: str) -> str:
        ctx.state["n"] = ctx.state.get("n", 0) + 1
        return event_id(ctx.venue, "fill", trade_id, ctx.state["n"])


class FloatPrice(Good):
    def price(self, price: Decimal) -> Any:
        return float(price)


class Unstorable(Good):
    def fill_id(self, ctx: NormalizeContext, trade_id: str) -> str:
        ctx.state["seen"] = {trade_id}  # a set: not JSON
        return super().fill_id(ctx, trade_id)


class KeyErrors(Good):
    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        frame["id"]
        return super().normalize(stream, frame, ctx)


class FragileClassify(Good):
    def classify(self, stream: str, frame: Any) -> Classification:
        if frame["type"] == "error":  # TypeError on a list, KeyError without "type"
            return Classification(Signal.AUTH_FAILED)
        return Classification(Signal.DATA)


class LeakyErrors(Good):
    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        try:
            return super().normalize(stream, frame, ctx)
        except FrameError as exc:
            raise FrameError(f"{exc} (token {self.config['token']})") from None


class WrongPlugin(Good):
    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        events = super().normalize(stream, frame, ctx)
        for event in events:
            event.plugin = "something-else"
        return events


class WrongVenue(Good):
    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        events = super().normalize(stream, frame, ctx)
        for event in events:
            event.venue = "gate-main"  # not the instance name
        return events


class VenueWords(Good):
    def order(self, ctx: NormalizeContext, frame: dict[str, Any]) -> Event:
        event = super().order(ctx, frame)
        event.side, event.status = "BUY", "NEW"  # type: ignore[attr-defined]
        return event


class NoStatus(Good):
    def order(self, ctx: NormalizeContext, frame: dict[str, Any]) -> Event:
        event = super().order(ctx, frame)
        event.status = None  # type: ignore[attr-defined]
        return event


class BadNotional(Good):
    def price(self, price: Decimal) -> Any:
        return price + 1


class AuthIsAnError(Good):
    def classify(self, stream: str, frame: Any) -> Classification:
        found = super().classify(stream, frame)
        return Classification(Signal.ERROR) if found.signal is Signal.AUTH_FAILED else found


class RetriesOnEverything(Good):
    def refusal_is_auth_failure(self, stream: str, status: int) -> bool:
        return True


@pytest.mark.parametrize(
    ("venue", "message"),
    [
        (ClockIds, "a fresh replay a day later gave other ids"),
        (SharedIds, "another venue instance gave the same ids"),
        (CountingIds, "frame 1: {"),  # re-pushed after a reconnect, it gave new fill ids
        (FloatPrice, "fill.price must be a finite Decimal, got float 30000.0"),
        (Unstorable, "state['seen'] cannot be stored as JSON"),
        (KeyErrors, "normalize() raised KeyError('id'); only FrameError may escape it"),
        (FragileClassify, "classify() raised"),
        (LeakyErrors, "the error contains a configured secret"),
        (WrongPlugin, "fill.plugin is 'something-else', not 'good'"),
        (WrongVenue, "fill.venue is 'gate-main', not the instance name"),
        (VenueWords, "order.side must be buy or sell, got 'BUY'"),
        (VenueWords, "order.status must be one of open, partially_filled"),
        (NoStatus, "order.status is required, got None"),
        (BadNotional, "fill.notional 15000.0 is not price × amount (30001 × 0.5)"),
        (AuthIsAnError, "is classified ERROR, not AUTH_FAILED"),
        (RetriesOnEverything, "an HTTP 503 refusing the upgrade counts as an auth failure"),
    ],
)
def test_a_breach_is_found_and_named(venue: type[Venue], message: str) -> None:
    breaks(venue, message)


def test_counting_ids_fail_the_repush_and_the_restart() -> None:
    with pytest.raises(ConformanceError) as failure:
        check(CountingIds)
    text = str(failure.value)
    assert "re-pushed after a reconnect, it gave new fill ids" in text
    assert "re-pushed after a restart (state from JSON), it gave new fill ids" in text


def test_a_slow_normalizer_is_named() -> None:
    breaks(Good, "took", time_limit=1e-9)


def test_a_kind_not_declared_is_named() -> None:
    class FillsOnly(Good):
        kinds = ("fill",)

    breaks(FillsOnly, "kind 'order' is not in FillsOnly.kinds")


def test_unusable_arguments_are_explained() -> None:
    with pytest.raises(AssertionError, match="say how the venue signals rejected credentials"):
        check_venue(Good, GOOD_CONFIG, [TRADE], plugin="good")
    with pytest.raises(AssertionError, match=r"venues\.venue-under-test\.token: required"):
        check(Good, config={})
    with pytest.raises(AssertionError, match="distinctive values of 8 or more characters"):
        check(Good, config={"token": "t"})
    with pytest.raises(AssertionError, match="no recorded frame yielded an event"):
        check(Good, frames=[AUTH])
    with pytest.raises(AssertionError, match='"orders" is not a stream of Good'):
        check(Good, frames={"orders": [TRADE]})
    with pytest.raises(AssertionError, match="not registered by an installed plugin"):
        check(Good, plugin=None)


# ---------------------------------------------------------------------- REST steps


class RestVenue(Good):
    """Opens with a REST call, as a listenKey or ws-token venue does."""

    default_rest_url: ClassVar[str | None] = "https://rest.example.com"

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        response = await http.post(self.config["rest_url"] + "/token")
        if response.status_code == 401:
            raise AuthFailed("token rejected")
        if response.status_code != 200:
            raise VenueUnavailable(f"HTTP {response.status_code}")
        return Session(url=self.config["url"])


class RestAlwaysUnavailable(RestVenue):
    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        response = await http.post(self.config["rest_url"] + "/token")
        raise VenueUnavailable(f"HTTP {response.status_code}")


class RestAlwaysAuth(RestVenue):
    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        await http.post(self.config["rest_url"] + "/token")
        raise AuthFailed("any refusal")


def test_a_rest_step_is_checked_against_a_refusing_server() -> None:
    check(RestVenue, auth_at="rest")
    breaks(RestAlwaysUnavailable, "refused with 401: got VenueUnavailable", auth_at="rest")
    breaks(RestAlwaysAuth, "refused with 503: got AuthFailed", auth_at="rest")


@pytest.mark.anyio
async def test_the_check_runs_inside_an_async_test() -> None:
    check(RestVenue, auth_at="rest")  # on its own event loop, in a thread
