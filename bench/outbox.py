"""Benchmark: committing events into the durable SQLite outbox.

100,000 fill events, 10% of them matching a rule that notifies one webhook, are
committed into a real SQLite file (WAL, synchronous=FULL) two ways:

* ``committer``: the service's path — one ``Committer.submit`` per event from the
  pipeline, grouped into transactions by the committer (group commit);
* ``store``: ``Store.commit`` called directly with batches of 1,000 events.

Rules are evaluated before the clock starts: this measures the outbox, not the rules.

Run: .venv/bin/python bench/outbox.py [--events 100000] [--dir /tmp]
Target (issue #3): at least 20,000 events/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

from bridge.config import Config, parse_config
from bridge.delivery import Committer
from bridge.events import FillEvent, event_id
from bridge.rules import RuleEngine
from bridge.store import CommitItem, Store

CONFIG = """
[bridge]
state_dir = "{state_dir}"
http = ""

[webhooks.ops]
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[[rules]]
name = "large fill"
on = "fill"
notify = ["ops"]
where = {{ notional = {{ gte = "100000" }} }}
"""


def make_items(config: Config, count: int) -> list[CommitItem]:
    engine = RuleEngine(config.rules)
    items = []
    for i in range(count):
        large = i % 10 == 0  # 10% match the rule
        amount = Decimal("5") if large else Decimal("0.01")
        price = Decimal("30000")
        event = FillEvent(
            id=event_id("gate-main", "fill", i),
            venue="gate-main",
            plugin="gateio",
            ts=1_700_000_000_000 + i,
            received_at=1_700_000_000_000 + i,
            trade_id=str(i),
            order_id=str(i // 3),
            symbol="BTC/USDT",
            base="BTC",
            quote="USDT",
            side="buy",
            role="taker",
            price=price,
            amount=amount,
            notional=price * amount,
            fee=Decimal("0.0001"),
            fee_asset="USDT",
            raw={"id": i, "currency_pair": "BTC_USDT", "price": "30000", "amount": str(amount)},
        )
        matches = engine.evaluate(event)
        items.append(CommitItem(event, matches, engine.state.drain_changes()))
    return items


async def through_committer(store: Store, items: list[CommitItem]) -> float:
    committer = Committer(store)
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        await tg.start(committer.run)
        for item in items:
            await committer.submit(item)
        committer.close()  # run() returns once everything is durable
    return time.perf_counter() - started


def direct(store: Store, items: list[CommitItem], batch: int = 1000) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        store.commit(items[start : start + batch])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to put the SQLite files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        config = parse_config(CONFIG.format(state_dir=tmp), venue_plugins={})
        items = make_items(config, args.events)
        jobs = sum(len(item.matches) for item in items)
        print(f"{args.events} events, {jobs} matching (one webhook job each)")
        for name in ("committer", "store"):
            store = Store.open(Path(tmp) / name)
            if name == "committer":
                seconds = anyio.run(through_committer, store, items)
            else:
                seconds = direct(store, items)
            pending, _ = store.counts()
            store.close()
            assert pending == jobs, (pending, jobs)
            rate = args.events / seconds
            print(f"{name:>9}: {seconds:6.2f} s  {rate:9,.0f} events/s  (target >= 20,000)")


if __name__ == "__main__":
    main()
