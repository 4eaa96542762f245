"""BitoPro normalizer and classifier on recorded frames (every VENUES.md §4 example).

Both sides of each documented ambiguity are exercised: the USER_TRADE fee scaled by 1e8
or not; ``orderID``/``isMaker`` as text or number/boolean; terminal order states pushed
or silently dropped; ACCOUNT_BALANCE holding every currency on each push (README FAQ) or
only the changed ones (2023-12-25 note).
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.events import BalanceEvent, Fee, FillEvent, OrderEvent
from bridge.venue import FrameError, NormalizeContext, Signal, StateMap
from plugins.bitopro import BitoPro

FRAMES = [
    json.loads(line)
    for line in (Path(__file__).parent / "frames" / "bitopro.jsonl").read_text().splitlines()
]
BALANCE, BALANCE_SAMPLE, ACTIVE_ORDERS, USER_TRADE = FRAMES
ALL_STREAMS = ["account-balance", "orders", "user-trades"]


def venue(streams: list[str] | None = None) -> BitoPro:
    options: dict[str, Any] = {
        "api_key": "k",
        "api_secret": "s",
        "identity": "me@example.com",
        "streams": streams or ALL_STREAMS,
        "url": "ws://x/ws",
        "idle_timeout": None,
    }
    BitoPro.registered_name = "bitopro"  # type: ignore[attr-defined]
    return BitoPro("bito", options)


def normalize(
    frame: Any, bito: BitoPro | None = None, state: StateMap | None = None, stream: str = "orders"
) -> tuple[list[Any], NormalizeContext]:
    """Events (typed loosely: tests read each kind's fields) and the context."""
    ctx = NormalizeContext(
        "bito", "bitopro", stream, StateMap() if state is None else state, 1_700_000_000_000
    )
    return (bito or venue()).normalize(stream, frame, ctx), ctx


def connect(bito: BitoPro, stream: str) -> None:
    """What the core does before every connection: open a session."""

    async def opened() -> None:
        async with httpx.AsyncClient() as http:
            await bito.open(stream, http)

    anyio.run(opened)


def balances(data: dict[str, tuple[str, str]], timestamp: int = 1) -> dict[str, Any]:
    """An ACCOUNT_BALANCE frame: currency -> (amount, available)."""
    return {
        "event": "ACCOUNT_BALANCE",
        "timestamp": timestamp,
        "data": {
            c: {"currency": c, "amount": a, "available": v, "stake": "0", "tradable": True}
            for c, (a, v) in data.items()
        },
    }


def order_frame(*orders: dict[str, Any]) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        grouped.setdefault(order["pair"], []).append(order)
    return {**ACTIVE_ORDERS, "data": grouped}


def order(
    order_id: str = "8917255503",
    status: Any = 0,
    executed: str = "0",
    total: str = "0",
    updated: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    amount = Decimal(extra.pop("originalAmount", "1"))
    item = {
        **ACTIVE_ORDERS["data"]["sol_usdt"][0],
        "id": order_id,
        "price": "100",
        "status": status,
        "originalAmount": str(amount),
        "executedAmount": executed,
        "remainingAmount": str(amount - Decimal(executed)),
        "total": total,
        "updatedTimestamp": updated,
    }
    item.update(extra)
    return item


def trade(**changes: Any) -> dict[str, Any]:
    data = {**USER_TRADE["data"], **changes}
    return {**USER_TRADE, "data": {k: v for k, v in data.items() if v is not None}}


# ---------------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("frame", "signal"),
    [
        (BALANCE, Signal.DATA),
        (ACTIVE_ORDERS, Signal.DATA),
        (USER_TRADE, Signal.DATA),
        ("not an object", Signal.DATA),  # the normalizer reports it as malformed
        ({"event": "SOMETHING_NEW", "data": {}}, Signal.DATA),  # named by the normalizer
        ({"error": "Unauthorized: invalid signature"}, Signal.AUTH_FAILED),
        ({"code": 401, "message": "api key revoked"}, Signal.AUTH_FAILED),
        ({"error": "server busy"}, Signal.ERROR),
    ],
)
def test_classify(frame: Any, signal: Signal) -> None:
    assert venue().classify("orders", frame).signal is signal


# ---------------------------------------------------------------------------- balances


def test_documented_balance_push() -> None:
    [event], _ = normalize(BALANCE, stream="account-balance")
    assert isinstance(event, BalanceEvent)
    assert (event.asset, event.total, event.available) == (
        "ADA",
        Decimal("999999999999.99999999"),
        Decimal(0),
    )
    # no locked figure is documented: amount - available - stake [inferred]
    assert event.locked == Decimal("999999999999.99999999")
    assert event.change is None  # the first figure ever seen: no delta is known
    assert (event.ts, event.plugin, event.raw["currency"]) == (1639553303365, "bitopro", "ADA")


def test_first_snapshot_reports_only_held_currencies() -> None:
    state = StateMap()
    events, _ = normalize(BALANCE_SAMPLE, state=state, stream="account-balance")
    assert [e.asset for e in events] == ["ADA", "BITO", "BNB", "BTC", "DOGE"]
    assert all(e.change is None for e in events)
    # empty currencies cost no state: absent means zero
    assert sorted(state) == [
        "balance:ADA",
        "balance:BITO",
        "balance:BNB",
        "balance:BTC",
        "balance:DOGE",
        "seeded:balances",
    ]


def test_the_snapshot_re_pushed_on_connect_yields_nothing_when_unchanged() -> None:
    bito, state = venue(), StateMap()
    normalize(BALANCE_SAMPLE, bito, state, "account-balance")
    again = {**BALANCE_SAMPLE, "timestamp": 1639553999999, "eventID": "another"}
    assert normalize(again, bito, state, "account-balance")[0] == []
    # also after a restart: the state is what the store persisted
    restored = StateMap(json.loads(json.dumps(dict(state))))
    assert normalize(again, bito, restored, "account-balance")[0] == []


def test_a_re_pushed_snapshot_reports_only_the_currency_that_changed() -> None:
    # README FAQ Q5 (every push holds all currencies) and the later note (only changed
    # ones): either way, only a changed currency is an event.
    state = StateMap()
    normalize(BALANCE_SAMPLE, state=state, stream="account-balance")
    data = {**BALANCE_SAMPLE["data"], "BNB": {**BALANCE_SAMPLE["data"]["BNB"], "amount": "8000"}}
    [event], _ = normalize({**BALANCE_SAMPLE, "data": data, "timestamp": 2}, state=state)
    assert (event.asset, event.total, event.change) == ("BNB", Decimal(8000), Decimal(-500))
    # available above the amount makes the inferred locked figure negative: unknown
    assert event.available == Decimal(8500) and event.locked is None


def test_a_balance_going_a_b_a_gets_a_new_id_each_time() -> None:
    state = StateMap()
    steps = [("6000", 1), ("4000", 2), ("6000", 3)]
    events = [
        normalize(balances({"USDT": (total, total)}, ts), state=state)[0][0] for total, ts in steps
    ]
    assert [e.change for e in events] == [None, Decimal(-2000), Decimal(2000)]
    assert len({e.id for e in events}) == 3
    # and the same fact replayed gets the same id
    [replayed], _ = normalize(balances({"USDT": ("6000", "6000")}, 3), state=StateMap())
    assert replayed.id == events[2].id


def test_locked_funds_change_available_only() -> None:
    state = StateMap()
    normalize(balances({"USDT": ("6000", "6000")}, 1), state=state)
    [event], _ = normalize(balances({"USDT": ("6000", "5000")}, 2), state=state)
    assert (event.change, event.available, event.locked) == (
        Decimal(0),
        Decimal(5000),
        Decimal(1000),
    )


def test_a_currency_emptied_then_funded_again_after_seeding() -> None:
    state = StateMap()
    normalize(balances({"USDT": ("10", "10"), "XRP": ("0", "0")}, 1), state=state)
    [emptied], _ = normalize(balances({"USDT": ("0", "0")}, 2), state=state)
    assert (emptied.total, emptied.change) == (Decimal(0), Decimal(-10))
    assert "balance:USDT" not in state
    # a zero re-push is silent; a first deposit into a new currency has a known change
    assert normalize(balances({"USDT": ("0", "0"), "XRP": ("0", "0")}, 3), state=state)[0] == []
    [funded], _ = normalize(balances({"XRP": ("100", "100")}, 4), state=state)
    assert (funded.asset, funded.change) == ("XRP", Decimal(100))


def test_the_same_figures_written_differently_are_not_a_change() -> None:
    state = StateMap()
    normalize(balances({"BNB": ("8500", "8500")}, 1), state=state)
    assert normalize(balances({"BNB": ("8500.00000000", "8500.0")}, 2), state=state)[0] == []


def test_balance_data_as_an_array_and_currency_from_the_key() -> None:
    frame = {
        "event": "ACCOUNT_BALANCE",
        "timestamp": 5,
        "data": [{"currency": "eth", "amount": "2"}],
    }
    [event], _ = normalize(frame)
    assert (event.asset, event.total, event.available, event.locked) == (
        "ETH",
        Decimal(2),
        None,
        None,
    )
    keyed = {"event": "ACCOUNT_BALANCE", "timestamp": 5, "data": {"SOL": {"amount": "3"}}}
    assert normalize(keyed)[0][0].asset == "SOL"


# ---------------------------------------------------------------------------- orders


def test_documented_active_orders_push() -> None:
    [event], _ = normalize(ACTIVE_ORDERS)
    assert isinstance(event, OrderEvent)
    assert (event.order_id, event.client_id, event.symbol, event.base, event.quote) == (
        "8917255503",
        "123",
        "SOL/USDT",
        "SOL",
        "USDT",
    )
    assert (event.side, event.type, event.status, event.status_raw) == (
        "sell",
        "limit",
        "open",
        "0",
    )
    assert (event.price, event.amount, event.filled, event.remaining) == (
        Decimal(107),
        Decimal("0.02"),
        Decimal(0),
        Decimal("0.02"),
    )
    assert (event.avg_price, event.fee, event.fee_asset, event.ts) == (
        Decimal(0),
        Decimal(0),
        "USDT",
        1639386803663,
    )


def test_doc_example_without_client_id_and_with_numeric_id() -> None:
    item = {**ACTIVE_ORDERS["data"]["sol_usdt"][0], "id": 8917255503}
    del item["clientID"]
    [event], _ = normalize(order_frame(item))
    assert (event.order_id, event.client_id) == ("8917255503", None)


@pytest.mark.parametrize(
    ("status", "executed", "status_name"),
    [
        (-1, "0", "open"),  # not triggered
        (0, "0", "open"),
        (0, "0.3", "partially_filled"),  # "in progress" with an execution
        (1, "0.3", "partially_filled"),
        (2, "1", "filled"),
        (3, "0.3", "canceled"),  # completed, partial deal: the rest was canceled
        (3, "1", "filled"),  # completed, partial deal, but nothing was left
        (4, "0", "canceled"),
        (4, "0.3", "canceled"),
        (6, "0", "canceled"),  # post-only canceled
        ("2", "1", "filled"),  # the code as text
        (7, "0", "open"),  # undocumented: judged by the amounts
        (7, "0.3", "partially_filled"),
        (7, "1", "filled"),
        ("EXPIRED", "0", "open"),
    ],
)
def test_status_mapping(status: Any, executed: str, status_name: str) -> None:
    [event], _ = normalize(order_frame(order(status=status, executed=executed)))
    assert (event.status, event.status_raw) == (status_name, str(status))


def test_open_orders_re_pushed_on_connect_are_idempotent() -> None:
    bito, state = venue(), StateMap()
    connect(bito, "orders")
    first, _ = normalize(ACTIVE_ORDERS, bito, state)
    connect(bito, "orders")  # a reconnect: the same open orders come again
    again = {**ACTIVE_ORDERS, "timestamp": 1639552999999, "eventID": "different"}
    assert len(first) == 1 and normalize(again, bito, state)[0] == []
    assert state["order:8917255503"][1] == "0"


def test_an_order_update_is_an_event_and_a_late_older_one_is_not() -> None:
    state = StateMap()
    normalize(order_frame(order(updated=1)), state=state)
    [update], _ = normalize(
        order_frame(order(status=1, executed="0.5", total="50", updated=3)), state=state
    )
    assert update.status == "partially_filled"
    assert normalize(order_frame(order(status=0, updated=2)), state=state)[0] == []


def test_terminal_status_pushed_clears_the_order_state() -> None:
    # [ambiguous] side one: ACTIVE_ORDERS pushes the terminal state
    state = StateMap()
    normalize(order_frame(order(updated=1)), state=state)
    [done], _ = normalize(order_frame(order(status=4, updated=2)), state=state)
    assert done.status == "canceled" and "order:8917255503" not in state


def test_an_order_dropped_without_a_terminal_push_is_forgotten_at_the_next_snapshot() -> None:
    # [ambiguous] side two: the order just disappears from ACTIVE_ORDERS
    bito, state = venue(), StateMap()
    connect(bito, "orders")
    normalize(order_frame(order("a"), order("b")), bito, state)
    normalize(order_frame(order("c")), bito, state)  # a live update: prunes nothing
    assert {"order:a", "order:b", "order:c"} <= set(state)
    connect(bito, "orders")
    events, _ = normalize(order_frame(order("b")), bito, state)  # the reconnect snapshot
    assert events == [] and [k for k in state if k.startswith("order:")] == ["order:b"]
    connect(bito, "orders")
    normalize({**ACTIVE_ORDERS, "data": {}}, bito, state)  # no open orders at all
    assert not [k for k in state if k.startswith("order:")]


def test_no_derived_fills_while_user_trades_are_streamed() -> None:
    state = StateMap()
    normalize(order_frame(order(updated=1)), state=state)
    events, _ = normalize(
        order_frame(order(status=1, executed="0.5", total="50", updated=2)), state=state
    )
    assert [e.kind for e in events] == ["order"]


def test_derived_fills_from_cumulative_amounts_without_user_trades() -> None:
    bito, state = venue(["orders"]), StateMap()
    connect(bito, "orders")
    # the first snapshot ever: what was filled before we watched is not a new fill
    first, _ = normalize(order_frame(order(status=1, executed="0.2", total="20")), bito, state)
    assert [e.kind for e in first] == ["order"]
    steps = [
        order(status=1, executed="0.5", total="53", updated=2),  # +0.3 for 33 -> 110
        order(status=1, executed="0.5", total="53", updated=2),  # re-pushed: nothing
        order(status=2, executed="1", total="113", updated=3),  # +0.5 for 60 -> 120
    ]
    fills = [
        e
        for item in steps
        for e in normalize(order_frame(item), bito, state)[0]
        if isinstance(e, FillEvent)
    ]
    assert [(f.amount, f.price, f.notional, f.derived, f.side) for f in fills] == [
        (Decimal("0.3"), Decimal(110), Decimal(33), True, "sell"),
        (Decimal("0.5"), Decimal(120), Decimal(60), True, "sell"),
    ]
    assert len({f.id for f in fills}) == 2 and "order:8917255503" not in state


def test_a_new_order_after_seeding_fills_from_zero_and_price_falls_back() -> None:
    bito, state = venue(["orders"]), StateMap()
    normalize({**ACTIVE_ORDERS, "data": {}}, bito, state)  # seeded with no open orders
    item = order("n1", status=2, executed="1", total="0", avgExecutionPrice="101")
    fill = [e for e in normalize(order_frame(item), bito, state)[0] if isinstance(e, FillEvent)]
    assert [(f.amount, f.price, f.notional) for f in fill] == [
        (Decimal(1), Decimal(101), Decimal(101))
    ]


def test_derived_fill_state_survives_a_restart() -> None:
    bito, state = venue(["orders"]), StateMap()
    normalize({**ACTIVE_ORDERS, "data": {}}, bito, state)
    normalize(order_frame(order(status=1, executed="0.4", total="40", updated=1)), bito, state)
    restored = StateMap(json.loads(json.dumps(dict(state))))
    events, _ = normalize(
        order_frame(order(status=1, executed="0.5", total="51", updated=2)), bito, restored
    )
    [fill] = [e for e in events if isinstance(e, FillEvent)]
    assert (fill.amount, fill.price) == (Decimal("0.1"), Decimal(110))


def test_orders_as_one_object_per_pair_and_pair_from_the_key() -> None:
    item = order()
    del item["pair"]
    [event], _ = normalize({**ACTIVE_ORDERS, "data": {"SOL_USDT": item}})
    assert event.symbol == "SOL/USDT"


# ---------------------------------------------------------------------------- trades


def test_documented_user_trade() -> None:
    [fill], _ = normalize(USER_TRADE, stream="user-trades")
    assert isinstance(fill, FillEvent)
    assert (fill.trade_id, fill.order_id, fill.symbol, fill.side, fill.role) == (
        "bd07673a-94b1-419e-b5ee-d7b723261a5d",
        "390733918",
        "USDT/TWD",
        "sell",
        "taker",
    )
    assert (fill.price, fill.amount, fill.notional) == (
        Decimal("32.039"),
        Decimal(1),
        Decimal("32.039"),
    )
    # [ambiguous] "6407800" twd on a 32.039 twd trade is 0.064078 scaled by 1e8 (0.2%)
    assert (fill.fee, fill.fee_asset) == (Decimal("0.064078"), "TWD")
    assert (fill.ts, fill.derived) == (1694667358000, False)  # transactionTimestamp: seconds


@pytest.mark.parametrize(
    ("fee", "fee_currency", "expected"),
    [
        ("0.064078", "twd", "0.064078"),  # not scaled: kept as sent
        ("6407800", "twd", "0.064078"),  # scaled
        ("0.002", "usdt", "0.002"),  # the fee in the base currency, not scaled
        ("200000", "usdt", "0.002"),  # the fee in the base currency, scaled
        ("1", "twd", "1"),  # a whole fee below the notional is a plain fee
        # A third currency (BITO) has no ceiling: a whole number is the scaled form,
        # a real BITO fee has decimals (REST shows "129.5967742").
        ("6407800", "bito", "0.064078"),
        ("2130000", "BITO", "0.0213"),
        ("0.0213", "bito", "0.0213"),
        ("1.0", "bito", "1"),  # written with a fraction: as sent
        ("12", "bito", "0.00000012"),
        ("6407800", None, "6407800"),  # no currency at all: nothing to judge by
        ("0", "twd", "0"),
        (None, "twd", None),
    ],
)
def test_fee_scaling_is_detected_only_where_implausible(
    fee: str | None, fee_currency: str | None, expected: str | None
) -> None:
    [fill], _ = normalize(trade(fee=fee, feeCurrency=fee_currency), stream="user-trades")
    assert fill.fee == (None if expected is None else Decimal(expected))
    asset = None if fee_currency is None else fee_currency.upper()
    assert fill.fees == (None if expected is None else (Fee(asset, Decimal(expected)),))


@pytest.mark.parametrize(
    ("fees", "expected", "main"),
    [
        ({"fee": "0.3", "feeSymbol": "twd", "bitoFee": "0"}, [("TWD", "0.3")], ("0.3", "TWD")),
        (
            {"fee": "0", "feeSymbol": "twd", "bitoFee": "0.02"},
            [("BITO", "0.02")],
            ("0.02", "BITO"),
        ),
        (
            {"fee": "0.1", "feeSymbol": "usdt", "bitoFee": "0.02"},
            [("USDT", "0.1"), ("BITO", "0.02")],
            ("0.1", "USDT"),
        ),
        # feeSymbol BITO: fee and bitoFee are the one charge, listed once
        (
            {"fee": "0.02", "feeSymbol": "bito", "bitoFee": "0.02"},
            [("BITO", "0.02")],
            ("0.02", "BITO"),
        ),
        ({"fee": "0", "feeSymbol": "usdt", "bitoFee": "0"}, [("USDT", "0")], ("0", "USDT")),
    ],
)
def test_order_fees_carry_the_bito_fee(
    fees: dict[str, str], expected: list[tuple[str, str]], main: tuple[str, str]
) -> None:
    [event], _ = normalize(order_frame({**ACTIVE_ORDERS["data"]["sol_usdt"][0], **fees}))
    assert event.fees == tuple(Fee(a, Decimal(v)) for a, v in expected)
    assert (event.fee, event.fee_asset) == (Decimal(main[0]), main[1])


@pytest.mark.parametrize(
    ("changes", "order_id", "role"),
    [
        ({"orderID": "390733918", "isMaker": "true", "isMarket": "false"}, "390733918", "maker"),
        ({"orderID": 390733918, "isMaker": True}, "390733918", "maker"),
        ({"isMaker": "False"}, "390733918", "taker"),
        ({"isMaker": None}, "390733918", None),
        ({"isMaker": "sometimes"}, "390733918", None),  # unreadable: the fill is kept
    ],
)
def test_order_id_and_flags_as_text_or_number_and_boolean(
    changes: dict[str, Any], order_id: str, role: str | None
) -> None:
    [fill], _ = normalize(trade(**changes))
    assert (fill.order_id, fill.role) == (order_id, role)


@pytest.mark.parametrize(
    ("changes", "ts"),
    [
        ({"transactionTimestamp": 1694667358123}, 1694667358123),  # already milliseconds
        ({"transactionTimestamp": None}, 1694667358000),  # eventTimestamp instead
        ({"transactionTimestamp": None, "eventTimestamp": None}, 1694667358782),  # envelope
    ],
)
def test_trade_timestamps(changes: dict[str, Any], ts: int) -> None:
    [fill], _ = normalize(trade(**changes))
    assert fill.ts == ts


def test_trade_ids_follow_the_match_id() -> None:
    [a], _ = normalize(USER_TRADE)
    [b], _ = normalize(USER_TRADE)
    [c], _ = normalize(trade(matchID="another", side="bid"))
    assert a.id == b.id != c.id and c.side == "buy"


# ---------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "frame",
    [
        "text",
        [1, 2],
        {"event": "USER_TRADE"},
        {"event": "USER_TRADE", "data": None},
        {"event": "USER_TRADE", "data": "x"},
        {"event": "ACCOUNT_BALANCE", "data": "x"},
        {"event": "ACTIVE_ORDERS", "data": 5},
        {"event": "SOMETHING_NEW", "data": {}},
        {"event": "ACCOUNT_BALANCE", "timestamp": "soon", "data": {}},
    ],
)
def test_malformed_frames_raise_frame_error(frame: Any) -> None:
    with pytest.raises(FrameError):
        normalize(frame)


@pytest.mark.parametrize(
    "item",
    [
        {"currency": "BAD", "amount": "abc"},
        {"currency": "BAD"},
        {"currency": "BAD", "amount": True},
        {"currency": "BAD", "amount": "1", "available": [1]},
        "not an object",
    ],
)
def test_a_bad_balance_entry_is_skipped_and_the_others_kept(item: Any) -> None:
    frame = balances({"USDT": ("5", "5")})
    frame["data"] = {"BAD": item, **frame["data"]}
    events, ctx = normalize(frame)
    assert [e.asset for e in events] == ["USDT"]
    assert len(ctx.problems) == 1 and ctx.problems[0].startswith("item 0: ")


@pytest.mark.parametrize(
    "changes",
    [
        {"id": None},
        {"status": None},
        {"status": [2]},
        {"executedAmount": "lots"},
        {"pair": "solusdt"},
        {"updatedTimestamp": None, "timestamp": None, "createdTimestamp": None},
        {"action": {"side": "BUY"}},
    ],
)
def test_a_bad_order_is_skipped_and_the_others_kept(changes: dict[str, Any]) -> None:
    bad = {**order("bad"), **changes}
    events, ctx = normalize(order_frame(order("good"), bad))
    assert [e.order_id for e in events] == ["good"]
    assert len(ctx.problems) == 1 and ctx.problems[0].startswith("item 1: ")


@pytest.mark.parametrize(
    "changes",
    [
        {"matchID": None},
        {"price": "abc"},
        {"volume": None},
        {"side": "sideways"},
        {"base": None},
        {"transactionTimestamp": "yesterday"},
    ],
)
def test_a_bad_trade_is_skipped_and_the_others_kept(changes: dict[str, Any]) -> None:
    bad = trade(**changes)["data"]  # (None drops the field)
    events, ctx = normalize({**USER_TRADE, "data": [bad, {**USER_TRADE["data"], "matchID": "ok"}]})
    assert [e.trade_id for e in events] == ["ok"]
    assert len(ctx.problems) == 1


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(
        ["0", "1.5", "-1", "1e999999", "1e9999999", "1e-999999", "NaN", "abc", "", "sol_usdt"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "currency", "amount", "available", "stake", "id", "pair", "status", "executedAmount",
    "originalAmount", "remainingAmount", "total", "updatedTimestamp", "price", "volume",
    "side", "base", "quote", "matchID", "fee", "feeCurrency", "transactionTimestamp",
    "isMaker", "orderID", "action", "avgExecutionPrice",
]  # fmt: skip
items = st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    event=st.sampled_from(["ACCOUNT_BALANCE", "ACTIVE_ORDERS", "USER_TRADE", "X"]),
    data=st.one_of(
        json_values,
        items,
        st.lists(items, max_size=3),
        st.dictionaries(st.text(max_size=5), st.one_of(items, st.lists(items, max_size=2))),
    ),
    timestamp=scalars,
    derive=st.booleans(),
)
def test_malformed_frames_never_raise_anything_but_frame_error(
    event: str, data: Any, timestamp: Any, derive: bool
) -> None:
    bito = venue(["orders"] if derive else None)
    state = StateMap()
    for _ in range(2):  # twice: the second pass meets the state the first one left
        with contextlib.suppress(FrameError):
            normalize({"event": event, "timestamp": timestamp, "data": data}, bito, state)
    json.dumps(dict(state))  # whatever was stored stays JSON-able
