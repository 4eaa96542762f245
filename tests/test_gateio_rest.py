"""Gate.io spot REST reconciliation, without the network: requests, signing, identity."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.events import BalanceEvent, DepositEvent, Event
from bridge.testing.gate import account, balance, deposit, my_trade, usertrade
from bridge.venue import NormalizeContext, ReconcileWindow, RestRequest, StateMap
from plugins.gateio import GateSpot
from plugins.gateio.rest import ACCOUNTS, DEPOSITS, OPEN_ORDERS, TRADES, sign_request

NOW = 1_700_000_000.0


def venue(**options: Any) -> GateSpot:
    config = {
        "api_key": "gate-key",
        "api_secret": "gate-secret",
        "channels": ["spot.balances", "spot.orders", "spot.usertrades"],
        "symbols": ["!all"],
        "reconcile_window": 86400.0,
        **options,
    }
    GateSpot.registered_name = "gateio"  # type: ignore[attr-defined]
    return GateSpot("gate-main", config)


def ctx(state: StateMap) -> NormalizeContext:
    return NormalizeContext("gate-main", "gateio", "main", state, 1_700_000_000_000)


def window(*, seeding: bool = False, **cursors: int) -> ReconcileWindow:
    return ReconcileWindow(
        now=NOW, floor=int((NOW - 86400) * 1000), cursors=cursors, seeding=seeding
    )


def answer(gate: GateSpot, path: str, payload: Any, state: StateMap, **kw: Any) -> list[Event]:
    [request] = [r for r in gate.reconcile_requests("main", window(**kw)) if r.path == path]
    return gate.reconcile_response("main", request, payload, window(**kw), ctx(state)).events


def stream(gate: GateSpot, channel: str, items: list[Any], state: StateMap) -> list[Event]:
    frame = {"time": 1, "channel": channel, "event": "update", "result": items}
    return gate.normalize("main", frame, ctx(state))


def test_rest_signature_is_hmac_sha512_of_the_documented_string() -> None:
    body_hash = hashlib.sha512(b"").hexdigest()
    message = f"GET\n/api/v4/spot/my_trades\nfrom=1&limit=1000\n{body_hash}\n1700000000"
    expected = hmac.new(b"gate-secret", message.encode(), hashlib.sha512).hexdigest()
    signed = sign_request(
        "gate-secret", "GET", "/api/v4/spot/my_trades", "from=1&limit=1000", b"", 1700000000
    )
    assert signed == expected and len(signed) == 128
    request = RestRequest("GET", TRADES, (("from", "1"), ("limit", "1000")))
    headers = venue().sign_rest(request, 1700000000.9)
    assert headers["KEY"] == "gate-key" and headers["Timestamp"] == "1700000000"
    assert headers["SIGN"] == expected


def test_requests_follow_the_subscribed_channels_and_the_watermark() -> None:
    gate = venue()
    requests = gate.reconcile_requests("main", window(trades=(int(NOW) - 60) * 1000))
    assert [r.path for r in requests] == [ACCOUNTS, TRADES, OPEN_ORDERS, DEPOSITS]
    trades = dict(requests[1].params)
    assert trades == {"from": str(int(NOW) - 60), "limit": "1000", "page": "1"}
    assert dict(requests[3].params)["from"] == str(int(NOW) - 86400)  # the window's floor
    pairs = venue(symbols=["BTC_USDT", "ETH_USDT"], channels=["spot.usertrades"])
    only = pairs.reconcile_requests("main", window())
    assert [dict(r.params)["currency_pair"] for r in only] == ["BTC_USDT", "ETH_USDT"]


def test_a_full_page_asks_for_the_next() -> None:
    gate = venue()
    [request] = [r for r in gate.reconcile_requests("main", window()) if r.path == TRADES]
    page = [my_trade(usertrade(i)) for i in range(1000)]
    result = gate.reconcile_response("main", request, page, window(), ctx(StateMap()))
    assert len(result.events) == 1000
    assert [dict(r.params)["page"] for r in result.more] == ["2"]
    assert result.newest == max(e.ts for e in result.events)


pairs = st.sampled_from(["BTC_USDT", "ETH_USDT", "gt_usdt", "DOGE_BTC"])
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1e9"), places=8)


@settings(max_examples=200, deadline=None)
@given(
    trade_id=st.integers(min_value=1, max_value=2**53),
    pair=pairs,
    side=st.sampled_from(["buy", "sell"]),
    role=st.sampled_from(["maker", "taker"]),
    amount=amounts,
    price=amounts,
    fee=amounts,
    millis=st.integers(min_value=1_500_000_000_000, max_value=1_900_000_000_000),
    fraction=st.sampled_from(["", ".456", ".5"]),
)
def test_rest_and_stream_forms_of_a_fill_get_one_id(
    trade_id: int,
    pair: str,
    side: str,
    role: str,
    amount: Decimal,
    price: Decimal,
    fee: Decimal,
    millis: int,
    fraction: str,
) -> None:
    item = usertrade(
        trade_id, pair=pair, side=side, role=role, amount=str(amount), price=str(price)
    )
    item["fee"] = str(fee)
    item["create_time"], item["create_time_ms"] = millis // 1000, f"{millis}{fraction}"
    gate = venue()
    [pushed] = stream(gate, "spot.usertrades", [item], StateMap())
    [recovered] = answer(gate, TRADES, [my_trade(item)], StateMap())
    assert recovered.id == pushed.id
    assert recovered == pushed  # every field alike (raw is not compared)


def test_an_open_order_through_rest_has_the_id_of_its_push() -> None:
    gate = venue()
    item = {
        "id": "399123456",
        "text": "t-x",
        "create_time": "1694655225",
        "update_time": "1694655225",
        "create_time_ms": "1694655225315",
        "update_time_ms": "1694655225315",
        "currency_pair": "BTC_USDT",
        "type": "limit",
        "account": "spot",
        "side": "sell",
        "amount": "0.0001",
        "price": "26253.3",
        "time_in_force": "gtc",
        "left": "0.0001",
        "filled_amount": "0",
        "filled_total": "0",
        "fee": "0",
        "fee_currency": "USDT",
        "finish_as": "open",
    }
    [pushed] = stream(gate, "spot.orders", [{**item, "event": "put"}], StateMap())
    payload = [{"currency_pair": "BTC_USDT", "total": 1, "orders": [item]}]
    [recovered] = answer(gate, OPEN_ORDERS, payload, StateMap())
    assert recovered.id == pushed.id


def test_balances_seed_on_first_start_then_carry_change() -> None:
    gate, state = venue(), StateMap()
    accounts = [account("USDT", "900", "100"), account("BTC", "0")]
    assert answer(gate, ACCOUNTS, accounts, state, seeding=True) == []  # seeds, alerts nothing
    # the first stream balance after the start carries change, even without one of its own
    item = balance("USDT", "800")
    del item["change"]
    [pushed] = stream(gate, "spot.balances", [item], state)
    assert isinstance(pushed, BalanceEvent) and pushed.change == Decimal(-200)
    # a later reconciliation reports a balance that moved while the stream was down
    [moved] = answer(gate, ACCOUNTS, [account("USDT", "750", update_id=2)], state)
    assert isinstance(moved, BalanceEvent)
    assert (moved.total, moved.change) == (Decimal(750), Decimal(-50))
    assert answer(gate, ACCOUNTS, [account("USDT", "750", update_id=2)], state) == []  # no news


def test_a_deposit_the_stream_reported_is_not_reported_again_by_rest() -> None:
    gate, state = venue(), StateMap()
    pushed = stream(
        gate, "spot.balances", [balance("USDT", "1100", change="100", change_type="deposit")], state
    )
    assert [e.kind for e in pushed] == ["balance", "deposit"]
    seen = deposit("d1", "USDT", "100.000000", timestamp=int(NOW) - 10)
    missed = deposit("d2", "BTC", "0.5", timestamp=int(NOW) - 5)
    pending = deposit("d3", "ETH", "2", status="PEND", timestamp=int(NOW) - 1)
    events = answer(gate, DEPOSITS, [pending, missed, seen], state)
    assert [(e.deposit_id, e.status) for e in events if isinstance(e, DepositEvent)] == [
        ("d3", "pending"),
        ("d2", "completed"),
    ]
    assert answer(gate, DEPOSITS, [seen], state) == []  # nor by the next round


def test_plugins_listing_shows_which_venues_reconcile() -> None:
    from bridge.plugin_list import describe
    from bridge.plugins import plugin_host

    venues = {v["name"]: v for p in describe(plugin_host()) for v in p["venues"]}
    assert venues["gateio"]["reconcile"] is True
    assert {"reconcile", "reconcile_window", "rest_url"} <= set(venues["gateio"]["options"])
    assert venues["bitmusa"]["reconcile"] is False
    assert "reconcile" not in venues["bitmusa"]["options"]


def test_hand_written_events_default_to_not_recovered() -> None:
    from bridge.codec import event_from_dict, event_to_dict

    sample = event_from_dict({"kind": "fill", "venue": "gate-main"})
    assert sample.recovered is False and event_to_dict(sample)["recovered"] is False
    assert event_from_dict({"kind": "fill", "venue": "g", "recovered": True}).recovered is True
