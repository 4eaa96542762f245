"""Per-order normalizer state is bounded by count and age, through real venue normalizers.

Orders that are partly filled and never finish used to leave one state entry each, for
ever (issue #12, item 5). These tests feed such orders through the Gate, Bitmusa and
BitoPro normalizers with a small bound, and check that a live order's next cumulative
update still yields exactly its fill, also across a restart on a real SQLite store.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.events import Event, FillEvent
from bridge.store import CommitItem, Store
from bridge.venue import NormalizeContext, StateMap, Venue, state_bound
from bridge.venue_state import TOUCHED, StateBound
from plugins.bitmusa import Bitmusa
from plugins.bitopro import BitoPro
from plugins.gateio import GateSpot

GATE = "gate-main"


class Clock:
    """Wall time that moves only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def gate(**bound: Any) -> GateSpot:
    """A Gate spot venue that derives fills (no spot.usertrades), with ``bound`` keys."""
    options = {
        "api_key": "k",
        "api_secret": "s",
        "symbols": ["!all"],
        "url": "ws://x",
        "idle_timeout": 30.0,
        "channels": ["spot.orders"],
        **bound,
    }
    return GateSpot(GATE, options)


def gate_order(order_id: str, filled: str, total: str, *, finish: bool = False) -> dict[str, Any]:
    """A spot.orders push: order ``order_id`` of 1 BTC at 100 USDT, ``filled`` so far."""
    item = {
        "id": order_id,
        "text": "t-1",
        "create_time_ms": "1700000000000",
        "update_time_ms": "1700000000000",
        "currency_pair": "BTC_USDT",
        "type": "limit",
        "side": "buy",
        "amount": "1",
        "price": "100",
        "left": str(1 - Decimal(filled)),
        "filled_amount": filled,
        "filled_total": total,
        "event": "finish" if finish else "update",
        "finish_as": "filled" if finish else "open",
    }
    return {"time": 1700000000, "channel": "spot.orders", "event": "update", "result": [item]}


def feed(venue: Venue, state: StateMap, frame: Any) -> list[Event]:
    """Normalize a frame as the supervisor does, changes drained for the store after it."""
    events = normalized(venue, state, frame)
    if state.changed:
        state.drain_changes()
    return events


def normalized(venue: Venue, state: StateMap, frame: Any) -> list[Event]:
    ctx = NormalizeContext(venue.name, "plugin", "main", state, 1_700_000_000_000)
    events = venue.normalize("main", frame, ctx)
    assert not ctx.problems
    return events


def fills(events: list[Event]) -> list[tuple[Decimal, Decimal | None]]:
    return [(e.amount, e.price) for e in events if isinstance(e, FillEvent)]


def tracked(state: StateMap, prefix: str) -> set[str]:
    return {key for key in state if key.startswith(prefix)}


# ---------------------------------------------------------------------- the count bound


def test_thirty_thousand_unfinished_orders_stay_bounded_and_a_live_one_keeps_its_fill() -> None:
    clock = Clock()
    venue = gate(order_state_max=500, order_state_max_age=3600.0)
    state = StateMap(bound=state_bound(venue), clock=clock)
    # The live order comes first, so it is the oldest; it is updated now and then.
    assert fills(feed(venue, state, gate_order("live", "0.4", "40"))) == [
        (Decimal("0.4"), Decimal(100))
    ]
    largest = 0
    for n in range(30_000):
        clock.now += 0.01  # 300 s in all: nothing gets old enough for the age bound
        [fill] = fills(feed(venue, state, gate_order(f"o{n}", "0.1", "10")))
        assert fill == (Decimal("0.1"), Decimal(100))
        if n % 400 == 0:  # an update that fills nothing still shows the order is alive
            assert fills(feed(venue, state, gate_order("live", "0.4", "40"))) == []
        largest = max(largest, len(state))
    assert largest == len(state) == state.tracked == 500
    assert state.evictions == 30_001 - 500  # exact: every order ever tracked, less those held
    assert "filled:live" in state and "filled:o0" not in state and "filled:o29999" in state
    # The live order's next cumulative update: exactly the growth since the last one.
    assert fills(feed(venue, state, gate_order("live", "0.7", "73"))) == [
        (Decimal("0.3"), Decimal(110))  # (73 - 40) / 0.3
    ]
    feed(venue, state, gate_order("live", "1", "103", finish=True))
    assert "filled:live" not in state and state.tracked == 499  # a finished order goes at once


def test_orders_are_evicted_least_recently_touched_first_not_oldest_first() -> None:
    clock = Clock()
    musa = Bitmusa(
        "musa",
        {"api_key": "k", "auth_key": "a", "keepalive": 1800.0, "url": "ws://x",
         "rest_url": "http://x", "idle_timeout": None, "order_state_max": 3},
    )  # fmt: skip
    state = StateMap(bound=state_bound(musa), clock=clock)
    for order_id in ("A", "B", "C"):
        clock.now += 1
        feed(musa, state, musa_order(order_id, "0.1", "10"))
    clock.now += 1
    feed(musa, state, musa_order("A", "0.1", "10"))  # A: a re-push, no growth, but alive
    clock.now += 1
    feed(musa, state, musa_order("D", "0.1", "10"))
    assert tracked(state, "order:") == {"order:A", "order:C", "order:D"}  # B went, not A
    clock.now += 1
    assert fills(feed(musa, state, musa_order("A", "0.3", "32"))) == [
        (Decimal("0.2"), Decimal(110))
    ]
    assert state.evictions == 1


def musa_order(order_id: str, traded: str, value: str) -> dict[str, Any]:
    return {
        "stream": "spot_order",
        "eventTime": 1_700_000_000_000,
        "data": {
            "orderId": order_id,
            "symbol": "BTC/USDT",
            "direction": "BUY",
            "type": "LIMIT_PRICE",
            "status": "TRADING",
            "amount": "1",
            "price": "100",
            "tradedAmount": traded,
            "value": value,
        },
    }


# ---------------------------------------------------------------------- the age bound


def bito() -> BitoPro:
    options = {
        "api_key": "k",
        "api_secret": "s",
        "identity": "me@example.com",
        "url": "ws://x",
        "rest_url": "http://x",
        "idle_timeout": None,
        "streams": ["orders"],
        "order_state_max": 100,
        "order_state_max_age": 86400.0,
    }
    return BitoPro("bito", options)


def bito_orders(*orders: tuple[str, str, str, int]) -> dict[str, Any]:
    """An ACTIVE_ORDERS push of (id, executedAmount, total, updatedTimestamp) orders."""
    return {
        "event": "ACTIVE_ORDERS",
        "timestamp": 1_700_000_000_000,
        "datetime": "2023-11-14T22:13:20.000Z",
        "data": {
            "btc_twd": [
                {
                    "id": order_id,
                    "pair": "btc_twd",
                    "price": "100",
                    "avgExecutionPrice": "100",
                    "action": "BUY",
                    "type": "LIMIT",
                    "timestamp": updated,
                    "updatedTimestamp": updated,
                    "status": 1 if executed != "0" else 0,
                    "originalAmount": "1",
                    "remainingAmount": str(1 - Decimal(executed)),
                    "executedAmount": executed,
                    "fee": "0",
                    "feeSymbol": "btc",
                    "bitoFee": "0",
                    "total": total,
                    "seq": "BTCTWD1",
                    "timeInForce": "GTC",
                    "createdTimestamp": 1_700_000_000_000,
                }
                for order_id, executed, total, updated in orders
            ]
        },
    }


def test_entries_untouched_past_the_age_go_and_touched_ones_stay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, venue = Clock(), bito()
    state = StateMap(bound=state_bound(venue), clock=clock)
    feed(venue, state, bito_orders())  # the first push only seeds
    feed(venue, state, bito_orders(("quiet", "0.1", "10", 1), ("busy", "0.1", "10", 1)))
    with caplog.at_level(logging.INFO, logger="alert_bridge.state"):
        for hour in range(1, 30):  # busy is updated every hour, quiet never again
            clock.now += 3600
            feed(venue, state, bito_orders(("busy", "0.1", "10", 1 + hour)))
    assert tracked(state, "order:") == {"order:busy"}
    assert state.evictions == 1
    [line] = caplog.records
    assert (line.levelname, line.getMessage()) == (
        "INFO",
        "bito: dropped 1 per-order state entries (1 untouched for over order_state_max_age = "
        "1d); 1 kept, 1 dropped in all",
    )
    caplog.clear()
    # A day after its last touch, busy still gets its exact fill.
    clock.now += 86000
    with caplog.at_level(logging.INFO, logger="alert_bridge.state"):
        events = feed(venue, state, bito_orders(("busy", "0.4", "43", 99)))
    assert fills(events) == [(Decimal("0.3"), Decimal(110))]
    assert not [r for r in caplog.records if r.name == "alert_bridge.state"]  # none evicted


def test_evictions_are_logged_at_most_once_per_interval_and_counted_exactly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    state = StateMap(bound=StateBound(("o:",), max_entries=10, max_age=0, venue="v"), clock=clock)
    with caplog.at_level(logging.INFO, logger="alert_bridge.state"):
        for n in range(1000):
            clock.now += 1
            state[f"o:{n}"] = n
    assert state.evictions == 990 and len(state) == 10
    records = [r for r in caplog.records if r.name == "alert_bridge.state"]
    # the first at once, then one per 300 s of evictions: at 1+300, 1+600, 1+900
    assert [r.levelname for r in records] == ["WARNING"] * 4
    assert records[0].getMessage() == (
        "v: dropped 1 per-order state entries (1 crowded out by order_state_max = 10: a live "
        "order among them gets its next fill derived from zero; raise order_state_max); "
        "10 kept, 1 dropped in all"
    )
    assert [r.getMessage().split(" (")[0] for r in records[1:]] == [
        "v: dropped 300 per-order state entries"
    ] * 3


def test_other_keys_are_never_bounded_and_membership_does_not_touch() -> None:
    clock = Clock()
    state = StateMap(bound=StateBound(("o:",), max_entries=2, max_age=10), clock=clock)
    state["balance:BTC"] = ["1", "0"]
    state["o:1"], state["o:2"] = 1, 2
    clock.now += 5
    assert "o:1" in state  # no touch
    state["o:3"] = 3
    assert set(state) == {"balance:BTC", "o:2", "o:3"}
    clock.now += 100
    state["o:4"] = 4  # the others are past the age now
    assert set(state) == {"balance:BTC", "o:4"} and state.evictions == 3


# ---------------------------------------------------------------------- restarts


def run_and_commit(store: Store, venue: Venue, state: StateMap, frame: Any) -> list[Event]:
    """What the pipeline does with a frame: its events, committed with the state changes."""
    events = normalized(venue, state, frame)
    changes = state.drain_changes()
    store.commit(
        [CommitItem(e, venue_changes=changes if i == 0 else {}) for i, e in enumerate(events)]
    )
    return events


def test_a_restart_neither_resurrects_evicted_entries_nor_forgets_the_touch_order(
    tmp_path: Path,
) -> None:
    clock = Clock()
    venue = gate(order_state_max=3, order_state_max_age=86400.0)
    store = Store.open(tmp_path)
    state = StateMap(store.load_venue_state(GATE), bound=state_bound(venue), clock=clock)
    for order_id in ("a", "b", "c", "d", "e"):
        clock.now += 10
        run_and_commit(store, venue, state, gate_order(order_id, "0.1", "10"))
    clock.now += 100
    run_and_commit(store, venue, state, gate_order("c", "0.2", "21"))  # c: touched last
    store.close()

    store = Store.open(tmp_path)
    with store.db.read() as conn:
        rows = {key for (key,) in conn.execute("SELECT key FROM venue_state")}
    assert rows == {f"{p}filled:{o}" for p in ("", TOUCHED) for o in "cde"}
    state = StateMap(store.load_venue_state(GATE), bound=state_bound(venue), clock=clock)
    assert tracked(state, "filled:") == {"filled:c", "filled:d", "filled:e"}
    clock.now += 10
    run_and_commit(store, venue, state, gate_order("f", "0.1", "10"))  # d goes: touched least
    assert tracked(state, "filled:") == {"filled:c", "filled:e", "filled:f"}
    # c's next update: exactly its growth since before the restart
    assert fills(run_and_commit(store, venue, state, gate_order("c", "0.5", "54"))) == [
        (Decimal("0.3"), Decimal(110))
    ]
    # A day later (the age bound, plus the minute a touch may be persisted late), with
    # the service down all that time: all three are gone.
    store.close()
    clock.now += 86400 + 61
    store = Store.open(tmp_path)
    state = StateMap(store.load_venue_state(GATE), bound=state_bound(venue), clock=clock)
    assert tracked(state, "filled:") == set()
    assert state.evictions == 3
    run_and_commit(store, venue, state, gate_order("g", "0.1", "10"))
    store.close()
    store = Store.open(tmp_path)
    assert set(store.load_venue_state(GATE)) == {"filled:g", TOUCHED + "filled:g"}
    store.close()


def test_a_lower_bound_at_start_evicts_and_the_next_commit_deletes(tmp_path: Path) -> None:
    clock = Clock()
    store = Store.open(tmp_path)
    venue = gate()
    state = StateMap(bound=state_bound(venue), clock=clock)
    for n in range(10):
        clock.now += 1
        run_and_commit(store, venue, state, gate_order(f"o{n}", "0.1", "10"))
    smaller = gate(order_state_max=4)
    state = StateMap(store.load_venue_state(GATE), bound=state_bound(smaller), clock=clock)
    assert tracked(state, "filled:") == {f"filled:o{n}" for n in range(6, 10)}
    assert state.evictions == 6
    run_and_commit(store, smaller, state, gate_order("o9", "0.2", "20"))
    assert len(store.load_venue_state(GATE)) == 8  # four entries, four touch times
    store.close()


def test_state_written_before_the_bound_existed_is_bounded_too(tmp_path: Path) -> None:
    clock = Clock()
    legacy = {f"filled:o{n}": ["0.1", "10"] for n in range(5)}  # rows with no touch time
    state = StateMap(legacy, bound=state_bound(gate(order_state_max=3)), clock=clock)
    assert state.tracked == 3 and state.evictions == 2
    changes = state.drain_changes()
    assert sum(1 for k in changes if k.startswith(TOUCHED)) == 3  # their touch is written


def test_reads_while_iterating_evict_nothing_and_a_reload_applies_a_lower_bound() -> None:
    clock = Clock()
    state = StateMap(bound=StateBound(("o:",), max_entries=10, max_age=10), clock=clock)
    for n in range(6):
        state[f"o:{n}"] = n
    clock.now += 100  # all are past the age now, but reading is no time to evict
    assert dict(state.items()) == {f"o:{n}": n for n in range(6)}
    assert state.evictions == 0
    state.set_bound(StateBound(("o:",), max_entries=4, max_age=10))  # what a reload does
    assert set(state) == {"o:2", "o:3", "o:4", "o:5"}  # o:0 and o:1 were read first
    assert state.evictions == 2
    changes = state.drain_changes()
    assert changes["o:0"] is None and changes["o:5"] == 5
