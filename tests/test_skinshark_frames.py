"""SkinShark normalizer and classifier on recorded frames (every VENUES.md §5 example)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.events import DepositEvent, Event, FillEvent, NoticeEvent, OrderEvent
from bridge.testing.skinshark import item, trade
from bridge.venue import FrameError, NormalizeContext, Signal, StateMap
from plugins.skinshark import SkinShark


def _load(name: str) -> list[Any]:
    path = Path(__file__).parent / "frames" / name
    return [json.loads(line) for line in path.read_text().splitlines()]


FRAMES = _load("skinshark.jsonl")
(
    CONNECTED,
    TRADE_COMPLETED,
    GATEWAY_TRANSFER,
    GATEWAY_COMPLETED,
    CRYPTO_COMPLETED,
    GATEWAY_FAILED,
    CRYPTO_FAILED,
    GATEWAY_REFUNDED,
    CRYPTO_PENDING,
    NOTICE,
) = FRAMES
WEBHOOK_CRYPTO_COMPLETED, WEBHOOK_GATEWAY_EXPIRED, WEBHOOK_TRADE, WEBHOOK_REFUND = _load(
    "skinshark_webhooks.jsonl"
)
RECEIVED_AT = 1_800_000_000_000


def venue() -> SkinShark:
    SkinShark.registered_name = "skinshark"  # type: ignore[attr-defined]
    options = {"api_key": "sk", "sub_user": "alice", "token_in": "subprotocol", "url": "ws://x"}
    return SkinShark("shark-alice", options)


def normalize(frame: Any, state: StateMap | None = None) -> tuple[list[Event], NormalizeContext]:
    ctx = NormalizeContext(
        "shark-alice", "skinshark", "main", StateMap() if state is None else state, RECEIVED_AT
    )
    return venue().normalize("main", frame, ctx), ctx


def one(frame: Any) -> Any:
    events, ctx = normalize(frame)
    assert ctx.problems == []
    [event] = events
    return event


def push(event: str, data: Any, ts: int = 1714678930000) -> dict[str, Any]:
    return {"event": event, "data": data, "ts": ts}


# ---------------------------------------------------------------------- classify


def test_connected_marks_the_session_up() -> None:
    classification = venue().classify("main", CONNECTED)
    assert classification.signal is Signal.READY


@pytest.mark.parametrize("frame", [*FRAMES[1:], "text", 42, {"event": "market.update"}])
def test_everything_else_is_data_for_the_normalizer(frame: Any) -> None:
    assert venue().classify("main", frame).signal is Signal.DATA


def test_the_venue_never_sends_and_waits_for_connected() -> None:
    shark = venue()
    assert shark.read_only and shark.ready_when == "signal"
    assert shark.idle_timeout is None  # quiet hours are normal: WebSocket pings keep watch
    assert shark.on_open("main", None, 0.0) == []  # type: ignore[arg-type]
    assert shark.app_ping("main", 0.0) is None


# ---------------------------------------------------------------------- trades


def test_documented_trade_completed() -> None:
    events, ctx = normalize(TRADE_COMPLETED)
    assert ctx.problems == []
    order, fill = events
    assert isinstance(order, OrderEvent) and isinstance(fill, FillEvent)
    assert (order.order_id, order.client_id, order.side, order.type) == (
        "6f1c…",
        "order-981",
        "buy",
        None,
    )
    assert (order.status, order.status_raw, order.price, order.quote) == (
        "filled",
        "completed",
        Decimal("12.5"),
        "USD",
    )
    assert (order.amount, order.filled, order.remaining) == (Decimal(1), Decimal(1), Decimal(0))
    assert order.base == "AK-47 | Redline (Field-Tested)"
    assert order.symbol == "AK-47 | Redline (Field-Tested)/USD"
    assert (order.ts, order.received_at, order.plugin) == (1714678920000, RECEIVED_AT, "skinshark")
    assert order.raw["tradeUrl"].startswith("https://steamcommunity.com/")
    assert (fill.trade_id, fill.order_id, fill.side, fill.role) == ("it_1", "6f1c…", "buy", None)
    assert (fill.price, fill.amount, fill.notional, fill.derived) == (
        Decimal("12.5"),
        Decimal(1),
        Decimal("12.5"),
        False,
    )


@pytest.mark.parametrize(
    ("status", "mapped"),
    [
        ("initiated", "open"),
        ("pending", "open"),
        ("active", "open"),
        ("hold", "open"),
        ("completed", "filled"),
        ("failed", "rejected"),
        ("declined", "rejected"),
        ("canceled", "canceled"),
        ("reverted", "canceled"),
    ],
)
def test_every_documented_trade_status_is_mapped_and_kept_raw(status: str, mapped: str) -> None:
    events, _ = normalize(push(f"trade.{status}", trade(status)))
    order = events[0]
    assert isinstance(order, OrderEvent)
    assert (order.status, order.status_raw) == (mapped, status)


def test_undocumented_status_keeps_the_raw_word_and_no_mapped_status() -> None:
    order = one(push("trade.disputed", trade("disputed")))
    assert (order.status, order.status_raw) == (None, "disputed")


def test_the_event_name_wins_over_a_disagreeing_data_status() -> None:
    # [ambiguous] both name the status; the event name is the documented discriminator
    events, _ = normalize(push("trade.completed", {**trade("completed"), "status": "hold"}))
    assert events[0].status_raw == "completed"  # type: ignore[attr-defined]


def test_data_status_is_used_when_the_event_name_is_not_a_status() -> None:
    order = one(push("trade.updated", trade("declined")))
    assert (order.status, order.status_raw) == ("rejected", "declined")


def test_sell_side_and_an_unknown_type() -> None:
    assert one(push("trade.active", trade("active", side="sell"))).side == "sell"
    assert one(push("trade.active", {**trade("active"), "type": "swap"})).side is None


def test_item_fills_only_on_hold_or_completed() -> None:
    items = [item("a", 10, "hold"), item("b", 20, "completed"), item("c", 30, "pending")]
    events, _ = normalize(push("trade.active", trade("active", items=items)))
    fills = [e for e in events if isinstance(e, FillEvent)]
    assert [(f.trade_id, f.price) for f in fills] == [("a", Decimal(10)), ("b", Decimal(20))]
    [order] = [e for e in events if isinstance(e, OrderEvent)]
    assert order.base is None and order.symbol is None  # a basket has no single base
    assert (order.amount, order.filled, order.remaining) == (Decimal(3), Decimal(2), Decimal(1))


def test_an_item_fill_keeps_its_id_from_hold_to_completed() -> None:
    [_, on_hold] = normalize(push("trade.hold", trade("hold")))[0]
    completed = normalize(push("trade.completed", trade("completed", updated_at="later")))[0]
    assert on_hold.id == completed[1].id  # the core delivers the fill once
    assert on_hold.id != completed[0].id


def test_no_fill_from_a_failed_or_reverted_trade() -> None:
    for status in ("failed", "reverted", "canceled"):
        items = [item("a", 10, "completed")]
        events, _ = normalize(push(f"trade.{status}", trade(status, items=items)))
        assert [e.kind for e in events] == ["order"]


def test_item_without_status_follows_the_trade_status() -> None:
    bare = {k: v for k, v in item("a", 10, "x").items() if k != "status"}
    events, _ = normalize(push("trade.hold", trade("hold", items=[bare])))
    assert [e.kind for e in events] == ["order", "fill"]


# [ambiguous] trade pushes may come on every item change or only on trade transitions


def test_per_item_pushes_repeating_the_status_yield_one_order_event_and_each_fill() -> None:
    state = StateMap()
    first = [item("a", 10, "hold"), item("b", 20, "pending")]
    second = [item("a", 10, "hold"), item("b", 20, "hold")]
    one_in, _ = normalize(
        push("trade.active", trade("active", items=first, updated_at="t1")), state
    )
    two_in, _ = normalize(
        push("trade.active", trade("active", items=second, updated_at="t2")), state
    )
    assert [e.kind for e in one_in] == ["order", "fill"]
    assert [e.kind for e in two_in] == ["fill", "fill"]  # a: repeat (same id), b: new
    assert one_in[1].id == two_in[0].id
    assert state["trade:6f1c2b7e-0000-4000-8000-000000000001"] == "active"


def test_trade_level_transitions_each_yield_an_order_event_and_final_ones_free_the_state() -> None:
    state = StateMap()
    statuses = ["initiated", "active", "hold", "completed"]
    orders = []
    for n, status in enumerate(statuses):
        events, _ = normalize(push(f"trade.{status}", trade(status, updated_at=f"t{n}")), state)
        orders += [e for e in events if isinstance(e, OrderEvent)]
    assert [o.status_raw for o in orders] == statuses
    assert len({o.id for o in orders}) == 4
    assert dict(state) == {}  # completed: nothing more to remember


def test_revert_after_hold_is_a_new_order_event() -> None:
    state = StateMap()
    normalize(push("trade.hold", trade("hold")), state)
    events, _ = normalize(
        push("trade.reverted", {**trade("reverted"), "revertedBy": "user"}), state
    )
    assert [(e.kind, e.status_raw) for e in events] == [("order", "reverted")]  # type: ignore[attr-defined]


def test_order_state_survives_a_restart() -> None:
    state = StateMap()
    normalize(push("trade.active", trade("active", updated_at="t1")), state)
    restored = StateMap(json.loads(json.dumps(dict(state))))  # what the store persists
    repeat, _ = normalize(push("trade.active", trade("active", updated_at="t2")), restored)
    moved, _ = normalize(push("trade.hold", trade("hold", updated_at="t3")), restored)
    assert repeat == [] and [e.kind for e in moved] == ["order", "fill"]


def test_trade_ids_follow_id_status_and_updated_at() -> None:
    base = normalize(push("trade.active", trade("active", updated_at="t1")))[0][0].id
    again = normalize(push("trade.active", trade("active", updated_at="t1"), ts=1))[0][0].id
    later = normalize(push("trade.active", trade("active", updated_at="t2")))[0][0].id
    other = normalize(push("trade.active", trade("active", "other-id", updated_at="t1")))[0][0].id
    assert base == again  # the push time is not part of the fact
    assert len({base, later, other}) == 3


def test_webhook_only_follow_ups_are_not_order_changes() -> None:
    for event in ("trade.settled", "trade.refunded"):
        events, ctx = normalize(push(event, trade("completed")))
        assert events == [] and ctx.problems == []


# ---------------------------------------------------------------------- deposits


def test_documented_gateway_transfer() -> None:
    deposit = one(GATEWAY_TRANSFER)
    assert isinstance(deposit, DepositEvent)
    assert (deposit.deposit_id, deposit.status, deposit.amount, deposit.chain) == (
        "fund_01HX5",
        "pending",
        Decimal("250.5"),
        "tron",
    )
    assert deposit.tx_hash == GATEWAY_TRANSFER["data"]["transfer"]["txHash"]
    assert deposit.amount_usd is None and deposit.ts == 1714678921000


def test_documented_gateway_completed() -> None:
    deposit = one(GATEWAY_COMPLETED)
    assert (deposit.deposit_id, deposit.status, deposit.amount, deposit.amount_usd) == (
        "fund_01HX5",
        "completed",
        Decimal("250.5"),
        Decimal("249.75"),
    )
    assert deposit.asset is None  # the gateway does not name the token paid


def test_documented_crypto_completed_turns_cents_into_usd() -> None:
    deposit = one(CRYPTO_COMPLETED)
    assert (deposit.deposit_id, deposit.status, deposit.asset, deposit.chain) == (
        "dep_7Q2",
        "completed",
        "USDC",
        "ethereum",
    )
    assert deposit.amount_usd == Decimal("1250.00") and deposit.confirmations == 12
    # amountWei is in the token's smallest unit and its decimals are not sent: not guessed
    assert deposit.amount is None and deposit.raw["amountWei"] == "1250000000"
    assert deposit.tx_hash == CRYPTO_COMPLETED["data"]["txHash"]


def test_documented_gateway_failed() -> None:
    deposit = one(GATEWAY_FAILED)
    assert (deposit.deposit_id, deposit.status, deposit.reason) == (
        "fund_02KQ1",
        "expired",
        "payment window elapsed",
    )


@pytest.mark.parametrize(
    ("status", "mapped", "reason"),
    [
        ("expired", "expired", "r"),
        ("failed", "failed", "r"),
        ("partial", "failed", "partial payment: r"),
        ("cancelled", "canceled", "r"),
        ("completed", "failed", "status completed: r"),  # contradiction: the name wins
        (None, "failed", "r"),
    ],
)
def test_gateway_failed_statuses(status: str | None, mapped: str, reason: str) -> None:
    data = {"fundingId": "f1", "status": status, "reason": "r"}
    deposit = one(push("deposit.failed", data))
    assert (deposit.status, deposit.reason) == (mapped, reason)


def test_partial_without_a_reason() -> None:
    deposit = one(push("deposit.failed", {"fundingId": "f1", "status": "partial"}))
    assert deposit.reason == "partial payment"


def test_documented_crypto_failed() -> None:
    deposit = one(CRYPTO_FAILED)
    assert (deposit.deposit_id, deposit.status, deposit.asset, deposit.chain) == (
        "dep_8R3",
        "failed",
        "USDT",
        "polygon",
    )
    assert (deposit.reason, deposit.confirmations) == ("transaction reverted", 3)


def test_documented_gateway_refunded() -> None:
    deposit = one(GATEWAY_REFUNDED)
    assert (deposit.deposit_id, deposit.status) == ("fund_03ZZ9", "refunded")


def test_documented_crypto_pending() -> None:
    deposit = one(CRYPTO_PENDING)
    assert (deposit.deposit_id, deposit.status, deposit.asset, deposit.chain) == (
        "dep_9S4",
        "pending",
        "USDC",
        "base",
    )


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("deposit.initiated", "pending"),
        ("deposit.partial", "failed"),
        ("deposit.expired", "expired"),
        ("deposit.cancelled", "canceled"),
        ("deposit.swept", "swept"),  # unknown names are kept, not dropped
    ],
)
def test_webhook_only_deposit_names(event: str, status: str) -> None:
    assert one(push(event, {"depositId": "d1"})).status == status


# [ambiguous] amountUsdCents: a string on the socket, a number or null in webhooks


@pytest.mark.parametrize(
    ("cents", "usd"), [("125000", Decimal("1250.00")), (125000, Decimal("1250.00")), (None, None)]
)
def test_usd_cents_as_string_number_or_null(cents: Any, usd: Decimal | None) -> None:
    data = {**CRYPTO_COMPLETED["data"], "amountUsdCents": cents}
    assert one(push("deposit.completed", data)).amount_usd == usd


def test_confirmations_as_text_are_read() -> None:
    data = {**CRYPTO_COMPLETED["data"], "confirmations": "12"}
    assert one(push("deposit.completed", data)).confirmations == 12


def test_deposit_ids_are_keyed_by_id_and_status() -> None:
    completed = one(CRYPTO_COMPLETED).id
    assert one({**CRYPTO_COMPLETED, "ts": 1}).id == completed  # a repeat push is the same fact
    failed = one(push("deposit.failed", {**CRYPTO_COMPLETED["data"]})).id
    other = one(push("deposit.completed", {**CRYPTO_COMPLETED["data"], "depositId": "x"})).id
    assert len({completed, failed, other}) == 3


def test_each_gateway_transfer_is_its_own_fact() -> None:
    second = {**GATEWAY_TRANSFER["data"], "transfer": {"txHash": "0xother", "amount": "1"}}
    assert one(GATEWAY_TRANSFER).id != one(push("deposit.transfer", second)).id


# ---------------------------------------------------------------------- webhooks


def test_webhook_crypto_deposit_has_the_socket_push_id() -> None:
    deposit = one(WEBHOOK_CRYPTO_COMPLETED)
    assert (deposit.deposit_id, deposit.status, deposit.amount, deposit.asset) == (
        "dep_7Q2",
        "completed",
        Decimal(1250),
        "USDC",
    )
    assert deposit.amount_usd == Decimal("1250.00")  # amountUsdCents as a number
    assert deposit.ts == 1714678923000
    assert deposit.id == one(CRYPTO_COMPLETED).id  # cross-channel dedup


def test_webhook_gateway_deposit_with_null_cents_uses_wallet_cents() -> None:
    deposit = one(WEBHOOK_GATEWAY_EXPIRED)
    assert (deposit.status, deposit.amount, deposit.asset, deposit.amount_usd) == (
        "expired",
        Decimal("50.00"),
        "USD",
        Decimal("50.00"),
    )
    assert deposit.id == one(GATEWAY_FAILED).id  # the socket's deposit.failed (expired)


def test_webhook_trade_has_the_socket_push_ids() -> None:
    webhook, _ = normalize(WEBHOOK_TRADE)
    socket, _ = normalize(TRADE_COMPLETED)
    assert [e.id for e in webhook] == [e.id for e in socket]
    assert normalize(WEBHOOK_REFUND)[0] == []


# ---------------------------------------------------------------------- notices


def test_documented_system_notice() -> None:
    notice = one(NOTICE)
    assert isinstance(notice, NoticeEvent)
    assert (notice.severity, notice.message, notice.ts) == (
        "warning",
        "Steam trade offers are delayed",
        1714678928000,
    )
    assert notice.id == one(NOTICE).id
    assert notice.id != one({**NOTICE, "ts": NOTICE["ts"] + 1}).id  # said again later


def test_notice_without_ts_uses_the_receive_time() -> None:
    notice = one({"event": "system.notice", "data": {"severity": "critical", "message": "m"}})
    assert notice.ts == RECEIVED_AT


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "frame",
    [
        "text",
        [],
        {"data": {}},  # no event
        {"event": 7, "data": {}},
        {"event": "trade.completed"},  # no data
        {"event": "trade.completed", "data": "nope"},
        {"event": "trade.completed", "data": {"status": "completed"}},  # no id
        {"event": "deposit.completed", "data": {"status": "completed"}},  # no id
        {"event": "deposit.completed", "data": {"depositId": ["x"]}},
        {"event": "system.notice", "data": {"severity": "info"}},  # no message
        {"event": "market.update", "data": {}},  # not this socket's
        {"event": "trade", "data": {}},
        {"type": "trade.completed", "data": "nope"},
    ],
)
def test_malformed_frames_raise_frame_error(frame: Any) -> None:
    with pytest.raises(FrameError):
        normalize(frame)


def test_a_bad_item_skips_only_its_fill() -> None:
    items = [{"id": "a", "status": "completed", "price": "abc"}, item("b", 20, "completed")]
    events, ctx = normalize(push("trade.completed", trade("completed", items=items)))
    assert [(e.kind, getattr(e, "trade_id", None)) for e in events] == [
        ("order", None),
        ("fill", "b"),
    ]
    assert ctx.problems == ["item 0: price: expected a number, got 'abc'"]


@pytest.mark.parametrize(
    ("field", "value", "attribute"),
    [
        ("amountUsdCents", "12,50", "amount_usd"),
        ("confirmations", "many", "confirmations"),
        ("confirmations", 2.5, "confirmations"),
        ("chain", {"id": 1}, "chain"),
    ],
)
def test_a_bad_optional_deposit_field_is_left_out_and_the_event_kept(
    field: str, value: Any, attribute: str
) -> None:
    data = {**CRYPTO_COMPLETED["data"], field: value}
    events, ctx = normalize(push("deposit.completed", data))
    [deposit] = events
    assert getattr(deposit, attribute) is None and deposit.deposit_id == "dep_7Q2"
    assert len(ctx.problems) == 1 and field in ctx.problems[0]


def test_a_bad_push_time_falls_back_to_the_receive_time() -> None:
    events, ctx = normalize({**GATEWAY_FAILED, "ts": "yesterday"})
    assert events[0].ts == RECEIVED_AT and ctx.problems


def test_bad_trade_money_is_left_out_and_the_order_kept() -> None:
    events, ctx = normalize(push("trade.failed", {**trade("failed"), "totalPrice": "n/a"}))
    assert events[0].price is None and len(ctx.problems) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["1e999999", "1e-999999", "0E-999999", -5])
def test_absurd_numbers_are_refused_quickly(value: Any) -> None:
    # "1e999999" as a time once meant building a million-digit int
    events, ctx = normalize({**CRYPTO_COMPLETED, "ts": value})
    assert events[0].ts == RECEIVED_AT and len(ctx.problems) == 1
    if value != -5:
        data = {**CRYPTO_COMPLETED["data"], "amountUsdCents": value}
        [deposit], ctx = normalize(push("deposit.completed", data))
        assert deposit.amount_usd is None and "out of range" in ctx.problems[0]
