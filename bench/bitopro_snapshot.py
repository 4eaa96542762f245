"""Benchmark: a 2,000-currency BitoPro ACCOUNT_BALANCE snapshot through ``normalize``.

Run: .venv/bin/python bench/bitopro_snapshot.py [--currencies N] [--runs N]
Target (issue #5): a snapshot of 2,000 currencies (~250 KB) is processed in under 50 ms.

Three cases, each timed from the raw frame bytes (orjson decode, classify, normalize):
- first: a cold state, every currency held, so every one becomes an event (worst case);
- re-push: the identical snapshot again, as on every reconnect (must yield nothing);
- all changed: every currency moved since the last snapshot (every one an event again).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import orjson

from bridge.venue import NormalizeContext, StateMap
from plugins.bitopro import BitoPro


def snapshot(currencies: int, rng: random.Random, timestamp: int) -> bytes:
    """An ACCOUNT_BALANCE frame in the documented shape, every currency held."""
    data: dict[str, Any] = {}
    for index in range(currencies):
        name = f"C{index:04d}X"
        amount = f"{rng.randint(1, 10**12)}.{rng.randint(0, 10**8 - 1):08d}"
        data[name] = {
            "currency": name,
            "amount": amount,
            "available": amount,
            "stake": "0",
            "tradable": True,
        }
    frame = {
        "event": "ACCOUNT_BALANCE",
        "eventID": "88038887-1de1-4521-b411-93440156cb41",
        "timestamp": timestamp,
        "datetime": "2021-12-15T07:28:23.365Z",
        "data": data,
    }
    return json.dumps(frame).encode()


def process(venue: BitoPro, raw: bytes, state: StateMap) -> tuple[float, int]:
    """(milliseconds, events) for one frame, as the supervisor handles it."""
    start = time.perf_counter()
    frame = orjson.loads(raw)
    venue.classify("account-balance", frame)
    ctx = NormalizeContext("bito", "bitopro", "account-balance", state, 0)
    events = venue.normalize("account-balance", frame, ctx)
    state.drain_changes()
    return (time.perf_counter() - start) * 1000, len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--currencies", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    options = {"api_key": "k", "api_secret": "s", "identity": "me@example.com"}
    venue = BitoPro("bito", {**options, "streams": ["account-balance"], "url": "ws://x"})
    rng = random.Random(5)
    first = snapshot(args.currencies, rng, 1)
    changed = snapshot(args.currencies, rng, 2)
    print(f"{args.currencies} currencies, frame {len(first) / 1000:.0f} KB, {args.runs} runs")
    timings: dict[str, list[float]] = {"first": [], "re-push": [], "all changed": []}
    counts: dict[str, int] = {}
    for _ in range(args.runs):
        state = StateMap()
        for case, raw in (("first", first), ("re-push", first), ("all changed", changed)):
            ms, counts[case] = process(venue, raw, state)
            timings[case].append(ms)
    for case, values in timings.items():
        print(
            f"{case:>12}: median {statistics.median(values):6.2f} ms, "
            f"max {max(values):6.2f} ms, {counts[case]} events"
        )


if __name__ == "__main__":
    main()
