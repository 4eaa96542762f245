"""Gate.io spot normalizer and classifier on recorded frames (every VENUES.md §1 example)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.events import (
    BalanceEvent,
    DepositEvent,
    Event,
    Fee,
    FillEvent,
    OrderEvent,
    event_id,
)
from bridge.venue import FrameError, NormalizeContext, Signal, StateMap
from plugins.gateio import GateSpot
from plugins.gateio.signing import sign

FRAMES = [
    json.loads(line)
    for line in (Path(__file__).parent / "frames" / "gateio.jsonl").read_text().splitlines()
]
ACK, ORDER_PUT, USERTRADE, BALANCE, _, PONG, AUTH_ERROR = FRAMES


def venue(channels: list[str] | None = None) -> GateSpot:
    options: dict[str, Any] = {
        "api_key": "k",
        "api_secret": "s",
        "symbols": ["!all"],
        "url": "ws://x",
        "idle_timeout": 30.0,
        "channels": channels or ["spot.balances", "spot.orders", "spot.usertrades"],
    }
    gate = GateSpot("gate-main", options)
    GateSpot.registered_name = "gateio"  # type: ignore[attr-defined]
    return gate


def normalize(
    frame: Any, gate: GateSpot | None = None, state: StateMap | None = None
) -> tuple[list[Event], NormalizeContext]:
    ctx = NormalizeContext(
        "gate-main", "gateio", "main", StateMap() if state is None else state, 1_700_000_000_000
    )
    return (gate or venue()).normalize("main", frame, ctx), ctx


def test_signature_matches_the_worked_vector() -> None:
    assert sign("test_secret", "spot.orders", "subscribe", 1611541000) == (
        "dc2458c603b50cb80c2c09dd371a64b4f7d56fe98809e558a2248eafadf1f18b2f80c421e5e4a40177d5b26c"
        "17fbdb5fbd66c4cabfb47c4ae1318852bfc5a94d"
    )


def test_subscribes_are_signed_per_channel_with_the_request_time() -> None:
    gate = venue()
    frames = gate.on_open("main", None, 1611541000.7)  # type: ignore[arg-type]
    assert [f["channel"] for f in frames] == ["spot.balances", "spot.orders", "spot.usertrades"]
    balances, orders, _ = frames
    assert balances["payload"] == [] and orders["payload"] == ["!all"]
    assert orders["time"] == 1611541000 and orders["event"] == "subscribe"
    assert orders["auth"] == {
        "method": "api_key",
        "KEY": "k",
        "SIGN": sign("s", "spot.orders", "subscribe", 1611541000),
    }
    assert len({f["id"] for f in frames}) == 3 and all(0 < f["id"] < 2**31 for f in frames)


@pytest.mark.parametrize(
    ("frame", "signal"),
    [
        (ACK, Signal.ACK),
        (PONG, Signal.PONG),
        (AUTH_ERROR, Signal.AUTH_FAILED),
        (
            {
                "time": 1,
                "channel": "spot.orders",
                "event": "subscribe",
                "error": {"code": 2, "message": "Signature mismatch"},
                "result": {"status": "failed"},
            },
            Signal.AUTH_FAILED,
        ),  # older servers
        (
            {
                "time": 1,
                "channel": "spot.orders",
                "event": "subscribe",
                "error": {"code": 2, "message": "Invalid argument provided"},
                "result": None,
            },
            Signal.ERROR,
        ),
        (
            {
                "time": 1,
                "channel": "spot.orders",
                "event": "subscribe",
                "error": {"code": 3, "message": "Server side error happened"},
                "result": None,
            },
            Signal.ERROR,
        ),
        ({"time": 1, "channel": "", "event": "upgrade"}, Signal.RECONNECT),
        (ORDER_PUT, Signal.DATA),
        ("not an object", Signal.DATA),  # the normalizer reports it as malformed
        (
            {
                "time": 1,
                "channel": "spot.orders",
                "event": "unsubscribe",
                "error": None,
                "result": {"status": "success"},
            },
            Signal.ACK,
        ),
    ],
)
def test_classify(frame: Any, signal: Signal) -> None:
    assert venue().classify("main", frame).signal is signal


def test_auth_error_detail_keeps_the_label() -> None:
    detail = venue().classify("main", AUTH_ERROR).detail
    assert "code 4" in detail and "INVALID_KEY" in detail


def test_documented_order_push() -> None:
    [order], _ = normalize(ORDER_PUT)
    assert isinstance(order, OrderEvent)
    assert (order.order_id, order.client_id, order.symbol, order.base, order.quote) == (
        "399123456",
        "t-testtext",
        "BTC/USDT",
        "BTC",
        "USDT",
    )
    assert (order.side, order.type, order.status, order.status_raw) == (
        "sell",
        "limit",
        "open",
        "put:open",
    )
    assert order.price == Decimal("26253.3") and order.amount == Decimal("0.0001")
    assert (order.filled, order.remaining) == (Decimal(0), Decimal("0.0001"))
    assert (order.fee, order.fee_asset, order.ts) == (Decimal(0), "USDT", 1694655225315)
    assert order.plugin == "gateio" and order.raw["id"] == "399123456"


def test_documented_usertrade_push() -> None:
    [fill], _ = normalize(USERTRADE)
    assert isinstance(fill, FillEvent)
    assert (fill.trade_id, fill.order_id, fill.symbol, fill.side, fill.role) == (
        "5736713",
        "30784428",
        "BTC/USDT",
        "sell",
        "taker",
    )
    assert fill.price == Decimal(10000) and fill.amount == Decimal(1)
    assert fill.notional == Decimal(10000) and fill.fee == Decimal("0.002")
    assert fill.fee_asset == "USDT" and fill.derived is False
    assert fill.ts == 1605176741123  # the fractional create_time_ms


def test_documented_balance_push() -> None:
    [balance], _ = normalize(BALANCE)
    assert isinstance(balance, BalanceEvent)
    assert (balance.asset, balance.total, balance.available, balance.locked) == (
        "USDT",
        Decimal("222244.3827652"),
        Decimal("222244.3827"),
        Decimal(5),
    )
    assert (balance.change, balance.change_type, balance.ts) == (
        Decimal(0),
        "order-create",
        1667556323730,
    )


def test_a_deposit_balance_change_also_yields_a_deposit() -> None:
    item = {**BALANCE["result"][0], "change": "250", "change_type": "deposit"}
    balance, deposit = normalize({**BALANCE, "result": [item]})[0]
    assert isinstance(deposit, DepositEvent)
    assert (deposit.status, deposit.asset, deposit.amount) == ("completed", "USDT", Decimal(250))
    assert deposit.id != balance.id


def test_ids_are_deterministic_across_replays() -> None:
    first = [e.id for e in normalize(USERTRADE)[0] + normalize(ORDER_PUT)[0]]
    again = [e.id for e in normalize(USERTRADE)[0] + normalize(ORDER_PUT)[0]]
    assert first == again and len(set(first)) == 2


def test_result_as_a_single_object_is_accepted() -> None:
    [fill], _ = normalize({**USERTRADE, "result": USERTRADE["result"][0]})
    assert fill.trade_id == "5736713"  # type: ignore[attr-defined]


def test_user_as_string_or_int_and_ids_as_numbers() -> None:
    item = {**ORDER_PUT["result"][0], "user": "3497082", "id": 399123456}
    [order], _ = normalize({**ORDER_PUT, "result": [item]})
    assert order.order_id == "399123456"  # type: ignore[attr-defined]


def order_item(
    event: str,
    left: str,
    filled: str,
    filled_total: str,
    finish_as: str = "open",
    update_ms: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    item = {
        **ORDER_PUT["result"][0],
        "amount": "1",
        "price": "100",
        "event": event,
        "left": left,
        "filled_amount": filled,
        "filled_total": filled_total,
        "finish_as": finish_as,
        "update_time_ms": str(update_ms),
    }
    item.update(extra)
    return {**ORDER_PUT, "result": [item]}


@pytest.mark.parametrize(
    ("event", "finish_as", "left", "filled", "status"),
    [
        ("put", "open", "1", "0", "open"),
        ("update", "open", "0.4", "0.6", "partially_filled"),
        ("finish", "filled", "0", "1", "filled"),
        ("finish", "cancelled", "0.4", "0.6", "canceled"),
        ("finish", "ioc", "0.5", "0.5", "canceled"),
        ("finish", "ioc", "0", "1", "filled"),
        ("finish", "poc", "1", "0", "canceled"),
        ("finish", "stp", "1", "0", "canceled"),
        ("finish", "small", "0.0000001", "0.9999999", "canceled"),
    ],
)
def test_order_status_mapping(
    event: str, finish_as: str, left: str, filled: str, status: str
) -> None:
    [order], _ = normalize(
        order_item(event, left, filled, "0", finish_as), venue(["spot.orders", "spot.usertrades"])
    )
    assert order.status == status  # type: ignore[attr-defined]


def test_finish_without_finish_as_reads_left() -> None:
    for left, status in (("0", "filled"), ("0.5", "canceled")):
        frame = order_item("finish", left, "0", "0")
        del frame["result"][0]["finish_as"]
        [order], _ = normalize(frame, venue(["spot.orders", "spot.usertrades"]))
        assert order.status == status  # type: ignore[attr-defined]


def test_missing_filled_amount_falls_back_to_amount_minus_left() -> None:
    frame = order_item("update", "0.25", "0", "0")
    del frame["result"][0]["filled_amount"]
    [order], _ = normalize(frame, venue(["spot.orders", "spot.usertrades"]))
    assert order.filled == Decimal("0.75")  # type: ignore[attr-defined]


def test_derived_fills_only_without_usertrades() -> None:
    with_trades, _ = normalize(order_item("update", "0.4", "0.6", "60"))
    assert [e.kind for e in with_trades] == ["order"]
    gate, state = venue(["spot.orders"]), StateMap()
    steps = [
        order_item("update", "0.6", "0.4", "40", update_ms=1),
        order_item("update", "0.6", "0.4", "40", update_ms=2),  # no growth, no fill
        order_item("finish", "0", "1", "106", "filled", update_ms=3),
    ]
    fills = [
        e for frame in steps for e in normalize(frame, gate, state)[0] if isinstance(e, FillEvent)
    ]
    assert [(f.amount, f.price, f.notional, f.derived) for f in fills] == [
        (Decimal("0.4"), Decimal(100), Decimal(40), True),
        (Decimal("0.6"), Decimal(110), Decimal(66), True),  # (106 - 40) / 0.6
    ]
    assert "filled:399123456" not in state  # a finished order leaves no state behind
    assert len({f.id for f in fills}) == 2


def test_derived_fill_state_survives_a_restart() -> None:
    gate, state = venue(["spot.orders"]), StateMap()
    normalize(order_item("update", "0.6", "0.4", "40", update_ms=1), gate, state)
    restored = StateMap(json.loads(json.dumps(dict(state))))  # what the store persists
    events, _ = normalize(order_item("update", "0.5", "0.5", "51", update_ms=2), gate, restored)
    [fill] = [e for e in events if isinstance(e, FillEvent)]
    assert (fill.amount, fill.price) == (Decimal("0.1"), Decimal(110))


@pytest.mark.parametrize(
    "frame",
    [
        "text",
        {"channel": "spot.usertrades", "event": "update", "result": "nope"},
        {"channel": "spot.unknown", "event": "update", "result": []},
        {"channel": "spot.usertrades", "event": "update", "result": None},
    ],
)
def test_malformed_frames_raise_frame_error(frame: Any) -> None:
    with pytest.raises(FrameError):
        normalize(frame)


@pytest.mark.parametrize(
    "item",
    [
        {"id": 1},  # fields missing
        {**USERTRADE["result"][0], "price": "abc"},
        {**USERTRADE["result"][0], "amount": True},
        {**USERTRADE["result"][0], "currency_pair": "BTCUSDT"},
        {**USERTRADE["result"][0], "side": ["sell"]},
        {**USERTRADE["result"][0], "create_time_ms": None, "create_time": None},
        "not an object",
    ],
)
def test_a_bad_item_is_skipped_and_the_good_ones_kept(item: Any) -> None:
    good = {**USERTRADE["result"][0], "id": 99}
    events, ctx = normalize({**USERTRADE, "result": [item, good]})
    assert [e.trade_id for e in events] == ["99"]  # type: ignore[attr-defined]
    assert len(ctx.problems) == 1 and ctx.problems[0].startswith("item 0: ")


# Seed 000's own examples, verbatim (tests/frames/gateio_seed.jsonl): `result` an object,
# an order with `status` but no `event`/`left`, a balance in milliseconds without `total`.
SEED = [
    json.loads(line)
    for line in (Path(__file__).parent / "frames" / "gateio_seed.jsonl").read_text().splitlines()
]
SEED_BALANCE, SEED_ORDER, SEED_USERTRADE, SEED_ERROR = SEED


def test_seed_balance_example_yields_a_balance() -> None:
    [balance], ctx = normalize(SEED_BALANCE)
    assert not ctx.problems
    assert isinstance(balance, BalanceEvent)
    assert (balance.asset, balance.available, balance.locked) == (
        "BTC",
        Decimal("1.23456789"),
        Decimal("0.12345678"),
    )
    assert balance.total == Decimal("1.35802467")  # available + locked: no `total` sent
    assert balance.ts == 1234567890123  # `timestamp` already in milliseconds
    assert (balance.change, balance.change_type) == (None, None)


def test_seed_order_example_yields_an_order() -> None:
    [order], ctx = normalize(SEED_ORDER)
    assert not ctx.problems
    assert isinstance(order, OrderEvent)
    assert (order.order_id, order.client_id, order.symbol, order.side, order.type) == (
        "123456789",
        "custom_tag",
        "BTC/USDT",
        "buy",
        "limit",
    )
    assert (order.status, order.status_raw, order.ts) == ("partially_filled", "open", 1234567890000)
    assert (order.amount, order.filled, order.remaining) == (
        Decimal(1),
        Decimal("0.5"),
        Decimal("0.5"),
    )
    assert order.price == Decimal(50000) and order.avg_price == Decimal(49999)  # filled_price
    assert (order.fee, order.fee_asset) == (Decimal("0.1"), "USDT")
    assert order.fees == (Fee("USDT", Decimal("0.1")),)  # the zero GT/point/rebate left out


def test_seed_order_gets_the_id_of_the_push_with_the_same_state() -> None:
    pushed = {**SEED_ORDER["result"], "event": "update", "left": "0.5"}
    [seed], _ = normalize(SEED_ORDER)
    [push], _ = normalize({**SEED_ORDER, "result": [pushed]})
    assert seed.id == push.id


def test_seed_order_example_derives_its_fill_without_usertrades() -> None:
    events, _ = normalize(SEED_ORDER, venue(["spot.orders"]))
    [fill] = [e for e in events if isinstance(e, FillEvent)]
    assert (fill.amount, fill.price, fill.derived) == (Decimal("0.5"), Decimal(49999), True)


@pytest.mark.parametrize(
    ("status", "left", "filled", "ours"),
    [
        ("open", None, "0", "open"),
        ("closed", "0", "1", "filled"),
        ("cancelled", None, "0.25", "canceled"),
    ],
)
def test_orders_with_a_status_and_no_event(
    status: str, left: str | None, filled: str, ours: str
) -> None:
    item = {**SEED_ORDER["result"], "status": status, "filled_amount": filled}
    if left is not None:
        item["left"] = left
    [order], ctx = normalize({**SEED_ORDER, "result": item})
    assert not ctx.problems and order.status == ours  # type: ignore[attr-defined]
    assert order.status_raw == status  # type: ignore[attr-defined]


def test_an_unknown_order_status_is_a_bad_item() -> None:
    events, ctx = normalize({**SEED_ORDER, "result": [{**SEED_ORDER["result"], "status": "x"}]})
    assert events == [] and "status" in ctx.problems[0]


def test_seed_usertrade_example_yields_a_fill() -> None:
    [fill], ctx = normalize(SEED_USERTRADE)
    assert not ctx.problems
    assert isinstance(fill, FillEvent)
    assert (fill.trade_id, fill.order_id, fill.side, fill.role) == (
        "12345",
        "123456789",
        "buy",
        "taker",
    )
    assert (fill.amount, fill.price, fill.notional) == (Decimal(1), Decimal(50000), Decimal(50000))
    assert (fill.fee, fill.fee_asset, fill.ts) == (Decimal("0.1"), "USDT", 1234567890123)
    assert fill.fees == (Fee("USDT", Decimal("0.1")),)


def test_seed_error_frame_is_an_authentication_failure() -> None:
    classified = venue().classify("main", SEED_ERROR)
    assert classified.signal is Signal.AUTH_FAILED
    assert "401" in classified.detail and "Authentication failed" in classified.detail


def test_an_error_frame_without_auth_words_is_an_error() -> None:
    frame = {**SEED_ERROR, "message": "Invalid argument provided", "code": 2}
    assert venue().classify("main", frame).signal is Signal.ERROR


def usertrade_with(**fees: str) -> dict[str, Any]:
    return {**USERTRADE, "result": [{**USERTRADE["result"][0], **fees}]}


def test_a_fee_paid_in_gt_is_the_main_fee() -> None:
    [fill], _ = normalize(usertrade_with(fee="0", gt_fee="0.0125"))
    assert (fill.fee, fill.fee_asset) == (Decimal("0.0125"), "GT")  # type: ignore[attr-defined]
    assert fill.fees == (Fee("GT", Decimal("0.0125")),)  # type: ignore[attr-defined]


def test_a_fee_paid_in_points_is_kept() -> None:
    [fill], _ = normalize(usertrade_with(fee="0", point_fee="0.3"))
    assert (fill.fee, fill.fee_asset) == (Decimal("0.3"), "POINT")  # type: ignore[attr-defined]


def test_every_charge_is_listed_and_the_fee_field_stays_main() -> None:
    [fill], _ = normalize(usertrade_with(fee="0.001", gt_fee="0.02", point_fee="0.5"))
    assert (fill.fee, fill.fee_asset) == (Decimal("0.001"), "USDT")  # type: ignore[attr-defined]
    assert fill.fees == (  # type: ignore[attr-defined]
        Fee("USDT", Decimal("0.001")),
        Fee("GT", Decimal("0.02")),
        Fee("POINT", Decimal("0.5")),
    )


def test_a_rebate_is_a_negative_charge() -> None:
    item = {
        **SEED_ORDER["result"],
        "fee": "0",
        "rebated_fee": "0.04",
        "rebated_fee_currency": "USDT",
    }
    [order], _ = normalize({**SEED_ORDER, "result": item})
    assert (order.fee, order.fee_asset) == (Decimal(0), "USDT")  # type: ignore[attr-defined]
    assert order.fees == (Fee("USDT", Decimal("-0.04")),)  # type: ignore[attr-defined]


def test_a_free_fill_still_names_its_fee_currency() -> None:
    [fill], _ = normalize(usertrade_with(fee="0", gt_fee="0", point_fee="0"))
    assert fill.fees == (Fee("USDT", Decimal(0)),)  # type: ignore[attr-defined]
    [fill], _ = normalize(usertrade_with(fee="0", gt_fee="0.0", point_fee="0.00"))
    assert fill.fees == (Fee("USDT", Decimal(0)),)  # type: ignore[attr-defined]


def test_a_trade_without_fee_fields_has_no_fees() -> None:
    item = {k: v for k, v in USERTRADE["result"][0].items() if "fee" not in k}
    [fill], _ = normalize({**USERTRADE, "result": [item]})
    assert (fill.fee, fill.fee_asset, fill.fees) == (None, None, None)  # type: ignore[attr-defined]


def market_buy(event: str, left: str, filled: str, spent: str, **extra: Any) -> dict[str, Any]:
    # Gate sizes a market buy in the quote currency: `amount` and `left` are USDT.
    return order_item(
        event,
        left,
        filled,
        spent,
        "filled" if event == "finish" else "open",
        type="market",
        side="buy",
        amount="100",
        price="0",
        time_in_force="ioc",
        **extra,
    )


def test_a_market_buy_reports_base_units_only() -> None:
    [order], _ = normalize(
        market_buy("finish", "0", "0.002", "100"), venue(["spot.orders", "spot.usertrades"])
    )
    assert isinstance(order, OrderEvent)
    assert (order.amount, order.remaining) == (None, None)  # USDT budget: not base units
    assert order.filled == Decimal("0.002") and order.status == "filled"


def test_a_market_buy_derives_fills_in_base_units() -> None:
    gate, state = venue(["spot.orders"]), StateMap()
    steps = [
        market_buy("update", "60", "0.0008", "40", update_ms=1),
        market_buy("finish", "0", "0.002", "100", update_ms=2),
    ]
    fills = [
        e for frame in steps for e in normalize(frame, gate, state)[0] if isinstance(e, FillEvent)
    ]
    assert [(f.amount, f.price, f.notional) for f in fills] == [
        (Decimal("0.0008"), Decimal(50000), Decimal(40)),
        (Decimal("0.0012"), Decimal(50000), Decimal(60)),
    ]


def test_a_market_buy_without_filled_amount_reads_base_from_the_average() -> None:
    frame = market_buy("finish", "0", "0", "100", avg_deal_price="50000")
    del frame["result"][0]["filled_amount"]
    [order], _ = normalize(frame, venue(["spot.orders", "spot.usertrades"]))
    assert order.filled == Decimal("0.002")  # type: ignore[attr-defined]  # not 100 - 0 USDT


def test_a_market_sell_is_sized_in_base() -> None:
    frame = order_item(
        "finish", "0", "0.5", "25000", "filled", type="market", side="sell", amount="0.5"
    )
    [order], _ = normalize(frame, venue(["spot.orders", "spot.usertrades"]))
    assert (order.amount, order.filled, order.remaining) == (  # type: ignore[attr-defined]
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal(0),
    )


def test_ids_of_documented_shapes_are_pinned() -> None:
    # Stored as "seen": a changed id would alert again on every re-push after an upgrade.
    ids = [e.id for frame in (ORDER_PUT, USERTRADE, BALANCE) for e in normalize(frame)[0]]
    assert ids == [
        event_id("gate-main", "order", "399123456", 1694655225315, "put", Decimal("0.0001")),
        event_id("gate-main", "fill", "5736713"),
        event_id(
            "gate-main",
            "balance",
            "USDT",
            1667556323730,
            Decimal(0),
            "order-create",
            Decimal("222244.3827652"),
        ),
    ]
