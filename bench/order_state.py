"""Benchmark: per-order state of 30,000 partly filled Gate orders that never finish.

Run: .venv/bin/python bench/order_state.py [--orders N]
Target (issue #12, item 5): the state is bounded — with the default bound
(``order_state_max = 10000``) memory and rows stop growing at 10,000 entries, whatever
the number of unfinished orders; the bound costs little time per frame.

Each order gets one ``spot.orders`` update (10 % filled) through the real Gate normalizer
(derived fills), and the state changes are committed to a real SQLite store, as the
service does. Reported per case: the normalizer state's memory (tracemalloc), its rows
and bytes in ``venue_state``, evictions, and microseconds per frame (normalize and
drain, best of three: on a shared machine, compare cases of one run only).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bridge.store import CommitItem, Store
from bridge.venue import NormalizeContext, StateMap, state_bound
from bridge.venue_state import StateBound
from plugins.gateio import GateSpot

BATCH = 500  # frames per commit, like a busy group commit


def venue(**bound: Any) -> GateSpot:
    options = {
        "api_key": "k",
        "api_secret": "s",
        "symbols": ["!all"],
        "url": "ws://x",
        "idle_timeout": 30.0,
        "channels": ["spot.orders"],
        **bound,
    }
    return GateSpot("gate-main", options)


def frame(order_id: int) -> dict[str, Any]:
    item = {
        "id": str(400_000_000 + order_id),
        "text": "apiv4",
        "create_time_ms": "1700000000000",
        "update_time_ms": "1700000000000",
        "currency_pair": "BTC_USDT",
        "type": "limit",
        "side": "buy",
        "amount": "1",
        "price": "30000",
        "left": "0.9",
        "filled_amount": "0.1",
        "filled_total": "3000",
        "event": "update",
        "finish_as": "open",
    }
    return {"time": 1700000000, "channel": "spot.orders", "event": "update", "result": [item]}


def feed(
    gate: GateSpot, state: StateMap, frames: list[dict[str, Any]], store: Store | None
) -> float:
    """Normalize every frame as the supervisor does (committing if ``store``); seconds."""
    items: list[CommitItem] = []
    busy = 0.0
    for raw in frames:
        start = time.perf_counter()
        ctx = NormalizeContext(gate.name, "gateio", "main", state, 0)
        events = gate.normalize("main", raw, ctx)
        changes = state.drain_changes() if state.changed else {}
        busy += time.perf_counter() - start
        if store is not None:
            items.append(CommitItem(events[0], venue_changes=changes))
            items.extend(CommitItem(e) for e in events[1:])
            if len(items) >= BATCH:
                store.commit(items)
                items.clear()
    if store is not None:
        store.commit(items)
    return busy


def run(name: str, gate: GateSpot, bounded: bool, orders: int) -> None:
    def fresh() -> StateMap:
        return StateMap(bound=state_bound(gate) if bounded else StateBound())

    frames = [frame(n) for n in range(orders)]
    busy = min(feed(gate, fresh(), frames, None) for _ in range(3))  # the least disturbed
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = fresh()
    feed(gate, state, frames, None)
    memory = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp), synchronous="OFF")
        feed(gate, fresh(), frames, store)
        with store.db.read() as conn:
            rows, size = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM venue_state"
            ).fetchone()
        store.close()
    print(
        f"{name:<34} entries {state.tracked or len(state):>6}  memory {memory / 1e6:4.1f} MB  "
        f"rows {rows:>6} ({size / 1e6:3.1f} MB of keys and values)  "
        f"evicted {state.evictions:>6}  {busy / orders * 1e6:4.1f} us/frame"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30_000)
    args = parser.parse_args()
    logging.getLogger("alert_bridge.state").setLevel(logging.ERROR)  # evictions are expected
    print(f"{args.orders} partly filled orders that never finish (Gate spot.orders)")
    run("before: unbounded", venue(), False, args.orders)
    run("after: default bound (10000, 30d)", venue(), True, args.orders)
    run("after: order_state_max = 1000", venue(order_state_max=1000), True, args.orders)


if __name__ == "__main__":
    main()
