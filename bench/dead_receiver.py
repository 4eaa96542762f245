"""Benchmark: what a dead receiver gets, and how the backlog arrives when it comes back.

The service runs as a real ``alert-bridge run`` process with the Gate.io fake as its
venue; a loopback receiver answers 503 for ``--down`` seconds while fills arrive at
``--rate`` per second, then answers 204. Reported: requests per second the dead receiver
got (issue #12: ~1,000/s before the circuit breaker), whether every alert then arrived
exactly once, and how many neighbouring deliveries arrived out of event order.

Run: .venv/bin/python bench/dead_receiver.py [--rate 100] [--down 120]
Target (issue #12 item 6): about one request per retry delay while the receiver is down;
0 lost, 0 duplicates; the backlog oldest first.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import anyio

from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.http import HttpServer, Request, Response

EXE = str(Path(sys.executable).parent / "alert-bridge")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""
log_level = "error"

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
max_attempts = 1000
circuit_breaker = {breaker}

[[rules]]
name = "every fill"
on = "fill"
notify = ["bench"]
"""


class Receiver:
    """503 while ``down``; records when each request came and which trades got through."""

    def __init__(self) -> None:
        self.down = True
        self.failed_at: list[float] = []
        self.delivered: list[int] = []

    def receive(self, request: Request) -> Response:
        if self.down:
            self.failed_at.append(time.monotonic())
            return Response(503)
        self.delivered.append(int(request.body.split(b'"trade_id":"', 1)[1].split(b'"', 1)[0]))
        return Response(204)


async def main(rate: int, down: float, breaker: int) -> None:
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        async with GateSpotFake() as fake, HttpServer(record=False) as hook:
            hook.route("POST", "/hook", receiver.receive)
            config = Path(tmp) / "config.toml"
            config.write_text(
                CONFIG.format(
                    state=Path(tmp) / "state",
                    url=fake.url,
                    hook=hook.url + "/hook",
                    secret=SECRET,
                    breaker=breaker,
                )
            )
            process = await anyio.open_process([EXE, "run", "-c", str(config)])
            try:
                connection = await fake.wait_for_connections(1, 30)
                await fake.changes.wait_for(
                    lambda: fake.subscribed("spot.usertrades", connection), 30
                )
                started = time.monotonic()
                total = int(rate * down)
                for i in range(total):
                    due = started + i / rate
                    if due > time.monotonic():
                        await anyio.sleep(due - time.monotonic())
                    await fake.update("spot.usertrades", [usertrade(i + 1, amount="1")])
                outage = time.monotonic() - started
                receiver.down = False
                back = time.monotonic()
                with anyio.move_on_after(120):
                    await hook.changes.wait_for(lambda: len(receiver.delivered) >= total, 120)
                drained = time.monotonic() - back
            finally:
                process.terminate()
                await process.wait()
    late = [t for t in receiver.failed_at if t >= started + outage / 2]
    per_second = len(late) / (outage / 2)
    unique = set(receiver.delivered)
    swapped = sum(a > b for a, b in itertools.pairwise(receiver.delivered))
    print(
        f"dead receiver: {total} alerts at {rate}/s over {outage:.0f}s of 503s "
        f"(circuit_breaker = {breaker}): {len(receiver.failed_at)} failed requests, "
        f"{per_second:.1f} requests/s in the second half of the outage; backlog drained in "
        f"{drained:.1f}s; lost {total - len(unique)}, duplicates "
        f"{len(receiver.delivered) - len(unique)}, neighbours out of event order "
        f"{swapped} of {max(len(receiver.delivered) - 1, 0)} "
        "(target: about one request per retry delay, 0 lost)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--down", type=float, default=120.0)
    parser.add_argument("--breaker", type=int, default=5, help="0: the breaker off")
    args = parser.parse_args()
    anyio.run(main, args.rate, args.down, args.breaker)
