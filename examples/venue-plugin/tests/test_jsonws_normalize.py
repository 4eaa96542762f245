"""The jsonws normalizer on the demo feed's recorded frames, and the conformance check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bridge.plugin import FrameError, NormalizeContext, Signal, StateMap
from bridge.testing import check_venue
from feed_support import FRAMES, TOKEN, make_venue, venue_table

from alert_bridge_jsonws import JsonWs

SUBSCRIBED, FILL, TWO_FILLS, ORDER, BALANCE, NOTICE, PONG, AUTH_ERROR, RATE_ERROR = FRAMES


def normalize(frame: Any, name: str = "desk-feed") -> tuple[list[Any], NormalizeContext]:
    ctx = NormalizeContext(name, "jsonws", "main", StateMap(), 1_700_000_999_000)
    return make_venue(name).normalize("main", frame, ctx), ctx


def test_the_plugin_passes_the_conformance_check() -> None:
    report = check_venue(JsonWs, venue_table(), FRAMES, auth_frame=AUTH_ERROR)
    assert report.kinds == {"fill", "order", "balance", "notice"}
    assert report.data_frames == 5 and len(report.events) == 6


def test_a_fill_maps_every_configured_field() -> None:
    [fill], ctx = normalize(FILL)
    assert not ctx.problems
    assert (fill.trade_id, fill.order_id, fill.side, fill.role) == (
        "T-1001",
        "O-77",
        "buy",
        "taker",
    )
    assert (fill.symbol, fill.base, fill.quote) == ("BTC/USDT", "BTC", "USDT")
    assert (fill.price, fill.amount) == (Decimal("30000.5"), Decimal("0.25"))
    assert fill.notional == Decimal("7500.125")  # price × amount, computed
    assert (fill.fee, fill.fee_asset) == (Decimal("0.0001"), "BTC")
    assert fill.ts == 1700000000123 and fill.raw == FILL["data"]


def test_json_numbers_become_exact_decimals_and_missing_fields_none() -> None:
    first, second = normalize(TWO_FILLS)[0]
    assert (first.price, first.amount, first.notional) == (Decimal(2000), Decimal("1.5"), 3000)
    assert (second.role, second.fee, second.fee_asset) == (None, None, None)
    assert first.side == "sell" and first.id != second.id


def test_an_order_status_is_translated_and_kept_raw() -> None:
    [order], _ = normalize(ORDER)
    assert (order.status, order.status_raw, order.type) == ("partially_filled", "partial", "limit")
    assert (order.filled, order.remaining, order.client_id) == (
        Decimal("0.25"),
        Decimal("0.25"),
        "c-1",
    )


def test_balance_and_notice() -> None:
    [balance], _ = normalize(BALANCE)
    assert (balance.asset, balance.total, balance.available, balance.locked) == (
        "USDT",
        Decimal("9250.5"),
        Decimal(9000),
        Decimal("250.5"),
    )
    [notice], _ = normalize(NOTICE)
    assert (notice.severity, notice.message) == ("warning", "maintenance at 02:00 UTC")


def test_ids_come_from_the_venue_identity_and_the_instance() -> None:
    [fill], _ = normalize(FILL)
    [again], _ = normalize({**FILL, "data": {**FILL["data"], "px": "1"}})
    [other], _ = normalize(FILL, name="other-account")
    assert fill.id == again.id  # same trade id: the same fact, whatever else it says
    assert fill.id != other.id


@pytest.mark.parametrize(
    ("frame", "signal", "detail"),
    [
        (SUBSCRIBED, Signal.ACK, ""),
        (PONG, Signal.PONG, ""),
        (AUTH_ERROR, Signal.AUTH_FAILED, "token expired"),
        (RATE_ERROR, Signal.ERROR, "slow down"),
        (FILL, Signal.DATA, ""),
        ({"type": "heartbeat"}, Signal.IGNORE, ""),
        ([1, 2], Signal.DATA, ""),  # the normalizer reports it
    ],
)
def test_classify(frame: Any, signal: Signal, detail: str) -> None:
    classification = make_venue().classify("main", frame)
    assert (classification.signal, classification.detail) == (signal, detail)


def test_a_bad_item_is_skipped_and_the_others_kept() -> None:
    bad = {"id": "T-9", "market": "btc-usdt", "px": "abc", "qty": "1"}
    events, ctx = normalize({"type": "fill", "data": [bad, FILL["data"]]})
    assert [e.trade_id for e in events] == ["T-1001"]
    assert ctx.problems == ["item 0: px: expected a number, got 'abc'"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"type": "fill", "data": {"market": "btc-usdt"}}, "id: missing"),
        ({"type": "fill"}, "data: missing"),
        ({"type": "fill", "data": 7}, "data: expected an object"),
        ({"type": "notice", "id": "N", "time": "1e999999"}, "time: out of range"),
        ({"type": "fill", "data": {"id": "1", "market": "BTCUSDT"}}, "symbol: not BASE/QUOTE"),
        ({"type": "nothing"}, "no mapping matches"),
        ("text", "expected an object"),
    ],
)
def test_malformed_frames_raise_frame_error(frame: Any, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        normalize(frame)


@pytest.mark.anyio
async def test_open_puts_the_token_in_the_authorization_header() -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        session = await make_venue().open("main", http)
    assert session.headers == {"Authorization": f"Bearer {TOKEN}"}
    assert session.secrets == [TOKEN]  # never logged
    assert make_venue().on_open("main", session, 0.0) == [
        {"op": "subscribe", "channels": ["fills", "orders", "balances"]}
    ]
