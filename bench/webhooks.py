"""Benchmark: signed webhook deliveries from the outbox vs a plain POST loop.

A minimal keep-alive HTTP server runs in a child process (so it has a core of its own)
and answers every request with 204. In the same run, against that server:

* ``plain``: raw httpx, one AsyncClient, ``--concurrency`` loops POSTing the same body —
  no signing, no outbox, nothing recorded;
* ``deliverer``: the real path — jobs committed to a SQLite outbox beforehand, then the
  Deliverer fetches them, signs each (Standard Webhooks, two secrets), POSTs it and
  records the outcome (delivered jobs leave the outbox) — timed until the outbox is empty.

The two alternate for ``--rounds`` rounds (the machine's load drifts; alternating keeps
both exposed to it alike); the ratio compares their medians.

Run: .venv/bin/python bench/webhooks.py [--jobs 3000] [--concurrency 4] [--rounds 3]
Target (issue #3): deliverer at least 0.7 of the plain loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

from bridge.config import parse_config
from bridge.delivery import Deliverer, make_client
from bridge.store import Store
from bridge.store.commit import INSERT_JOB, job_row
from bridge.store.jobs import Job

CONFIG = """
[bridge]
state_dir = "{state_dir}"
http = ""

[webhooks.bench]
url = "http://127.0.0.1:{port}/hook"
secret = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_dGhlIG90aGVyIHNlY3JldCBmb3Igcm90YXRpb24=",
]
concurrency = {concurrency}
"""
BODY = (
    b'{"type":"fill","timestamp":"2023-11-14T22:13:20.000Z","data":{"kind":"fill","id":"'
    + b"e" * 32
    + b'","venue":"gate-main","plugin":"gateio","ts":1700000000000,"received_at":1700000000000,'
    b'"raw":{"id":1,"currency_pair":"BTC_USDT","price":"30000","amount":"5"},"trade_id":"1",'
    b'"order_id":"1","symbol":"BTC/USDT","base":"BTC","quote":"USDT","side":"buy","role":'
    b'"taker","price":"30000","amount":"5","notional":"150000","fee":"0.0001","fee_asset":'
    b'"USDT","derived":false,"rule":"large fill"}}'
)


class Responder(asyncio.Protocol):
    """Answers each complete request (Content-Length bodies) with 204, keeping the socket."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


async def serve() -> None:
    server = await asyncio.get_running_loop().create_server(Responder, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


async def plain(url: str, count: int, concurrency: int) -> float:
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient() as client:
        await client.post(url, content=BODY, headers=headers)  # connect outside the clock

        async def loop(n: int) -> None:
            for _ in range(n):
                response = await client.post(url, content=BODY, headers=headers)
                assert response.status_code == 204

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(loop, count // concurrency)
        return (count // concurrency * concurrency) / (time.perf_counter() - started)


def fill_outbox(store: Store, count: int) -> None:
    now = time.time()
    jobs = [
        Job(f"msg_{i:032x}", "bench", f"e{i}", "fill", "large fill", "info", "t", "m", BODY)
        for i in range(count)
    ]
    for job in jobs:
        job.next_at = job.created_at = now
    with store.db.write() as conn:
        conn.executemany(INSERT_JOB, [job_row(job) for job in jobs])


async def delivered(state_dir: Path, port: int, count: int, concurrency: int) -> float:
    text = CONFIG.format(state_dir=state_dir, port=port, concurrency=concurrency)
    config = parse_config(text, venue_plugins={})
    store = Store.open(config.bridge.state_dir)
    fill_outbox(store, count)
    async with make_client() as client:
        await client.post(config.webhooks["bench"].url, content=b"{}")  # connect first
        deliverer = Deliverer(store, config, client=client)
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            await tg.start(deliverer.run)
            await deliverer.wait_until(lambda stats: stats.delivered == count)
            elapsed = time.perf_counter() - started
            await deliverer.shutdown(0)
    assert store.counts() == (0, 0)
    store.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    plain_rates: list[float] = []
    our_rates: list[float] = []
    print(f"{args.jobs} requests per run, concurrency {args.concurrency}, receiver answers 204")
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/hook"
        for round_ in range(1, args.rounds + 1):
            plain_rates.append(anyio.run(plain, url, args.jobs, args.concurrency))
            with tempfile.TemporaryDirectory() as tmp:
                our_rates.append(anyio.run(delivered, Path(tmp), port, args.jobs, args.concurrency))
            print(
                f"  round {round_}: plain {plain_rates[-1]:7,.0f} req/s, "
                f"signed from outbox {our_rates[-1]:7,.0f} deliveries/s "
                f"({our_rates[-1] / plain_rates[-1]:.2f})"
            )
    finally:
        server.terminate()
        server.wait()
    plain_median, our_median = statistics.median(plain_rates), statistics.median(our_rates)
    print(f"median: plain {plain_median:,.0f} req/s, signed from outbox {our_median:,.0f}/s")
    print(f"ratio: {our_median / plain_median:.2f} of the plain loop (target >= 0.70)")


if __name__ == "__main__":
    main()
