"""Benchmark: frame at the fake venue -> verified webhook at a loopback receiver.

The service runs as a real ``alert-bridge run`` process. This harness hosts the Gate.io
fake and a receiver that verifies every delivery with ``standardwebhooks``; it pushes one
usertrade per event at a fixed rate and measures, per event, the time from push to the
verified webhook's arrival, plus events lost or delivered twice.

The harness shares the machine with the service, so it keeps out of the measurement:
it retains only a timestamp per event (no request objects) and freezes its start-up heap,
so its own garbage collections cannot delay the arrival times it records.

Run: .venv/bin/python bench/e2e.py [--rate 500] [--seconds 60]
Target (issue #4): p99 <= 10 ms, 0 lost.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.http import HttpServer, Request, Response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXE = str(Path(sys.executable).parent / "alert-bridge")

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""
log_level = "warning"

[venues.gate-bench]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
channels = ["spot.usertrades"]
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.bench]
url = "{hook}"
secret = "{secret}"

[[rules]]
name = "every fill"
on = "fill"
notify = ["bench"]
"""


class Arrivals:
    """Verifies each delivery and keeps only when each trade's first one arrived."""

    def __init__(self) -> None:
        self.webhook = Webhook(SECRET)
        self.at: dict[str, float] = {}
        self.duplicates = 0
        self.unverified = 0

    def receive(self, request: Request) -> Response:
        arrived = time.perf_counter()
        try:
            payload = self.webhook.verify(request.body, request.headers)
        except WebhookVerificationError:
            self.unverified += 1
            return Response(401)
        trade = payload["data"]["trade_id"]
        if trade in self.at:
            self.duplicates += 1
        else:
            self.at[trade] = arrived
        return Response(204)


async def main(rate: int, seconds: int) -> None:
    total = rate * seconds
    sent: dict[str, float] = {}
    arrivals = Arrivals()
    arrived = arrivals.at
    with tempfile.TemporaryDirectory() as tmp:
        async with GateSpotFake() as fake, HttpServer(record=False) as hook:
            hook.route("POST", "/hook", arrivals.receive)
            config = Path(tmp) / "config.toml"
            config.write_text(
                CONFIG.format(
                    state=Path(tmp) / "state", url=fake.url, hook=hook.url + "/hook", secret=SECRET
                )
            )
            process = await anyio.open_process([EXE, "run", "-c", str(config)])
            try:
                connection = await fake.wait_for_connections(1, 30)
                await fake.changes.wait_for(
                    lambda: fake.subscribed("spot.usertrades", connection), 30
                )
                gc.collect()
                gc.freeze()
                started = time.perf_counter()
                for i in range(total):
                    due = started + i / rate
                    now = time.perf_counter()
                    if due > now:
                        await anyio.sleep(due - now)
                    trade = usertrade(i + 1, amount="1")
                    sent[str(i + 1)] = time.perf_counter()
                    await fake.update("spot.usertrades", [trade])
                pushed_in = time.perf_counter() - started
                with anyio.move_on_after(30):  # let the tail arrive
                    await hook.changes.wait_for(lambda: len(arrived) >= total, 30)
            finally:
                process.terminate()
                await process.wait()
    latencies = sorted((arrived[t] - sent[t]) * 1000 for t in arrived if t in sent)
    lost = total - len(arrived)
    p50 = statistics.median(latencies)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(
        f"e2e: {total} events at {rate}/s (pushed in {pushed_in:.1f}s); latency p50 "
        f"{p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms; lost {lost}, "
        f"duplicates {arrivals.duplicates}, unverified {arrivals.unverified} "
        "(target p99 <= 10 ms, 0 lost)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    anyio.run(main, args.rate, args.seconds)
