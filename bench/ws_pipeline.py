"""Benchmark: Gate frames through the normalizer vs a raw websockets receive loop.

A loopback server pushes N ``spot.usertrades`` frames as fast as it can. The raw loop only
receives them; the measured path is the real Supervisor (receive, JSON decode, classify,
normalize into events) with a sink that counts events. Both run in the same process run,
taking turns for ``--rounds`` rounds (this machine's speed drifts from second to second);
the median of the rounds' ratios is the figure.

Run: .venv/bin/python bench/ws_pipeline.py [--frames 200000] [--rounds 5]
Target (issue #4): normalizer path at least 0.5 of the raw loop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import anyio
import httpx
import websockets
from websockets.asyncio.server import ServerConnection, serve

from bridge.events import Event
from bridge.runtime.supervisor import Supervisor
from bridge.venue import StateMap
from plugins.gateio import GateSpot


def make_frames(count: int) -> list[str]:
    frames = []
    for i in range(count):
        item = {
            "id": i,
            "user_id": 1,
            "order_id": str(i // 3),
            "currency_pair": "BTC_USDT",
            "create_time": 1605176741,
            "create_time_ms": "1605176741123.456",
            "side": "sell",
            "amount": "0.0125",
            "role": "taker",
            "price": "30123.45",
            "fee": "0.0001",
            "fee_currency": "USDT",
            "point_fee": "0",
            "gt_fee": "0",
            "text": "apiv4",
            "id_market": i,
        }
        frames.append(
            json.dumps(
                {
                    "time": 1605176741,
                    "time_ms": 1605176741763,
                    "channel": "spot.usertrades",
                    "event": "update",
                    "result": [item],
                }
            )
        )
    return frames


async def blast(frames: list[str]) -> tuple[str, Any]:
    async def handler(connection: ServerConnection) -> None:
        for frame in frames:
            await connection.send(frame)
        await connection.wait_closed()

    server = await serve(handler, "127.0.0.1", 0, compression=None, max_size=None)
    return f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", server


async def raw_loop(frames: list[str]) -> float:
    url, server = await blast(frames)
    async with server, websockets.connect(url, compression=None, max_size=None) as ws:
        started = time.perf_counter()
        for _ in range(len(frames)):
            await ws.recv(decode=False)  # bytes, as the supervisor reads them
        return time.perf_counter() - started


async def normalizer_loop(frames: list[str]) -> tuple[float, int]:
    url, server = await blast(frames)
    venue = GateSpot(
        "gate-bench",
        {
            "api_key": "k",
            "api_secret": "s",
            "url": url,
            "channels": ["spot.usertrades"],
            "symbols": ["!all"],
            "idle_timeout": 30.0,
        },
    )
    done = anyio.Event()
    counted = [0]

    async def sink(venue_name: str, events: list[Event], changes: dict[str, Any]) -> None:
        counted[0] += len(events)
        if counted[0] >= len(frames):
            done.set()

    async with server, httpx.AsyncClient() as http, anyio.create_task_group() as tg:
        supervisor = Supervisor(venue, "main", sink=sink, http=http, state=StateMap())
        started = time.perf_counter()
        await tg.start(supervisor.run)
        await done.wait()
        elapsed = time.perf_counter() - started
        tg.cancel_scope.cancel()
    return elapsed, supervisor.status.frame_errors


async def main(count: int, rounds: int) -> None:
    frames = make_frames(count)
    ratios = []
    for round_ in range(1, rounds + 1):
        raw = await raw_loop(frames)
        normalized, errors = await normalizer_loop(frames)
        assert errors == 0
        raw_rate, norm_rate = count / raw, count / normalized
        ratios.append(norm_rate / raw_rate)
        print(
            f"  round {round_}: raw websockets loop {raw_rate:,.0f} frames/s; "
            f"through the normalizer {norm_rate:,.0f} frames/s; ratio {ratios[-1]:.2f}"
        )
    print(
        f"ws_pipeline: {count} frames x {rounds} rounds; median ratio "
        f"{statistics.median(ratios):.2f} (target >= 0.5)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.frames, args.rounds)
