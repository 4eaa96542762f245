"""Benchmark: the Bitmusa normalizer on spot_order and spot_wallet pushes.

Run: .venv/bin/python bench/bitmusa.py [--frames N] [--open-orders N]
No target is set for this venue; it shows the cost of deriving fills from cumulative
``tradedAmount`` (decode + classify + normalize + state), with many orders open at once
and with the order state near its bound, and of wallet pushes compared with state.
"""

from __future__ import annotations

import argparse
import time

import orjson

from bridge.plugin import NormalizeContext, Signal, StateMap
from plugins.bitmusa import Bitmusa
from plugins.bitmusa.orders import MAX_OPEN_ORDERS


def order_frames(count: int, open_orders: int) -> list[bytes]:
    """``count`` pushes over ``open_orders`` orders, each push one more partial fill."""
    out = []
    for step in range(count):
        order, fill = step % open_orders, step // open_orders + 1
        traded = round(fill * 0.001, 6)
        push = {
            "data": {
                "orderId": f"C{order}",
                "symbol": "BTC/USDT",
                "direction": "BUY" if order % 2 else "SELL",
                "type": "LIMIT_PRICE",
                "price": 30123.45,
                "amount": 1000,
                "tradedAmount": traded,
                "value": round(traded * 30123.45, 8),
                "status": "TRADING",
                "createdTime": 1715581995021,
                "canceledTime": None,
                "completedTime": None,
            },
            "stream": "spot_order",
            "eventTime": 1715581995021 + step,
        }
        out.append(orjson.dumps(push))
    return out


def wallet_frames(count: int) -> list[bytes]:
    """``count`` wallet pushes over 20 assets, every one a change."""
    return [
        orjson.dumps(
            {
                "data": {"asset": f"A{step % 20}", "free": f"{1000 + step}.5", "locked": "80.1"},
                "stream": "spot_wallet",
                "eventTime": 1700703548846 + step,
            }
        )
        for step in range(count)
    ]


def run(venue: Bitmusa, frames: list[bytes]) -> tuple[float, int]:
    """Seconds to decode, classify and normalize every frame; events produced."""
    state = StateMap()
    events = 0
    started = time.perf_counter()
    for raw in frames:
        frame = orjson.loads(raw)
        if venue.classify("main", frame).signal is Signal.DATA:
            ctx = NormalizeContext("musa", "bitmusa", "main", state, 0)
            events += len(venue.normalize("main", frame, ctx))
            state.drain_changes()
    return time.perf_counter() - started, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--open-orders", type=int, default=100)
    args = parser.parse_args()
    venue = Bitmusa(
        "musa",
        {
            "api_key": "k",
            "auth_key": "a",
            "keepalive": 1800.0,
            "url": "ws://x",
            "rest_url": "http://x",
            "idle_timeout": None,
        },
    )
    cases = [
        (f"spot_order, {args.open_orders} open", order_frames(args.frames, args.open_orders)),
        (f"spot_order, {MAX_OPEN_ORDERS} open", order_frames(args.frames, MAX_OPEN_ORDERS)),
        ("spot_wallet, 20 assets", wallet_frames(args.frames)),
    ]
    for label, frames in cases:
        seconds, events = run(venue, frames)
        print(
            f"{label:28} {len(frames) / seconds:>10,.0f} frames/s "
            f"({events / seconds:,.0f} events/s, {seconds * 1e6 / len(frames):.1f} µs/frame)"
        )


if __name__ == "__main__":
    main()
