"""Benchmark: 100 compiled rules against 100,000 synthetic events of mixed kinds.

Run: .venv/bin/python bench/rules.py [--events N] [--rules N]
Target (issue #2): at least 100,000 events/s on one core.
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import Decimal
from typing import Any

from bridge.codec import event_from_dict
from bridge.events import Event
from bridge.rules import RuleEngine, compile_rules
from bridge.schema import Problems

VENUES = ["gate-main", "gate-alt", "bito", "musa"]
ASSETS = ["BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "TRX", "DOT", "LTC", "LINK"]
QUOTES = ["USDT", "USDC"]


def make_rules(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """A realistic mix: size filters, symbol filters, thresholds, cooldowns, venue scopes."""
    rules: list[dict[str, Any]] = []
    for i in range(count):
        shape = i % 10
        rule: dict[str, Any] = {"name": f"rule {i}", "notify": ["desk"]}
        asset = rng.choice(ASSETS)
        if shape in (0, 1, 2):
            rule.update(
                on="fill",
                where={
                    "symbol": f"{asset}/USDT",
                    "notional": {"gte": str(rng.randint(100, 50000))},
                },
            )
        elif shape == 3:
            rule.update(
                on="fill", where={"side": {"in": ["buy"]}, "amount": {"gt": "0.5"}}, cooldown="1m"
            )
        elif shape == 4:
            rule.update(
                on="order",
                where={
                    "status": {"in": ["canceled", "rejected"]},
                    "symbol": {"matches": f"^{asset}/"},
                },
            )
        elif shape in (5, 6):
            rule.update(
                on="balance",
                where={"asset": asset},
                threshold={"field": "total", "below": "1000", "rearm": "1200"},
            )
        elif shape == 7:
            rule.update(on="deposit", where={"status": {"not_in": ["completed", "pending"]}})
        elif shape == 8:
            rule.update(
                on="connection",
                where={"state": "disconnected", "down_seconds": {"gt": "120"}},
                cooldown="30m",
                venues=[rng.choice(VENUES)],
            )
        else:
            rule.update(
                on=["fill", "order"],
                where={"venue": rng.choice(VENUES), "symbol": {"contains": asset}},
            )
        rules.append(rule)
    return rules


def make_events(count: int, rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for i in range(count):
        venue = rng.choice(VENUES)
        asset = rng.choice(ASSETS)
        symbol = f"{asset}/{rng.choice(QUOTES)}"
        roll = rng.random()
        if roll < 0.4:
            price, amount = Decimal(rng.randint(1, 60000)), Decimal(rng.randint(1, 3000)) / 1000
            data: dict[str, Any] = {
                "kind": "fill",
                "trade_id": str(i),
                "symbol": symbol,
                "side": rng.choice(["buy", "sell"]),
                "price": price,
                "amount": amount,
                "notional": price * amount,
            }
        elif roll < 0.7:
            data = {
                "kind": "order",
                "order_id": str(i),
                "symbol": symbol,
                "status": rng.choice(["open", "filled", "canceled", "partially_filled"]),
            }
        elif roll < 0.9:
            data = {"kind": "balance", "asset": asset, "total": Decimal(rng.randint(0, 3000))}
        elif roll < 0.95:
            data = {
                "kind": "deposit",
                "asset": asset,
                "status": rng.choice(["completed", "failed", "pending"]),
            }
        else:
            data = {
                "kind": "connection",
                "state": "disconnected",
                "down_seconds": Decimal(rng.randint(0, 300)),
            }
        events.append(event_from_dict({**data, "venue": venue, "id": str(i), "ts": i}))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()
    rng = random.Random(42)
    problems = Problems()
    rules = compile_rules(
        make_rules(args.rules, rng), venues=VENUES, destinations={"desk"}, problems=problems
    )
    assert not problems, problems.items
    events = make_events(args.events, rng)
    best = 0.0
    for _ in range(args.repeat):
        engine = RuleEngine(rules, clock=lambda: 0.0)
        started = time.perf_counter()
        matched = 0
        for event in events:
            matched += len(engine.evaluate(event))
        elapsed = time.perf_counter() - started
        best = max(best, len(events) / elapsed)
    print(
        f"rules: {len(rules)} rules x {len(events)} events: {matched} matches; "
        f"best of {args.repeat}: {best:,.0f} events/s (target >= 100,000)"
    )


if __name__ == "__main__":
    main()
