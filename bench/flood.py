"""Benchmark: one venue floods malformed frames; does the rest of the service keep up?

A real ``alert-bridge run`` process holds two Gate.io venues open. ``gate-flood`` sends
``--rate`` frames/s that are not JSON (written straight to the socket in pre-encoded
batches, so the harness itself stays idle); ``gate-calm`` pushes one usertrade every
``--fill-interval`` seconds, each alerting through a signed webhook to a loopback
receiver. Meanwhile the harness asks ``/healthz`` every ``--probe-interval`` seconds.

Measured while the flood runs: /healthz round-trip p99, and the calm venue's alert latency
(push at the fake -> verified webhook arrival) p95. Also reported: frames the flood wrote,
the service's ``frame_errors_total`` for the flooding venue (which must equal it), and the
size of the service's log (stderr, at the default level ``info``).

Run: .venv/bin/python bench/flood.py [--rate 50000] [--seconds 20]
Target (issue #12 item 4): /healthz p99 <= 50 ms, calm-venue alert p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import gc
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bridge.testing.flood import Flood
from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.http import HttpServer, Request, Response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXE = str(Path(sys.executable).parent / "alert-bridge")
FLOOD_ERRORS = 'alert_bridge_frame_errors_total{venue="gate-flood"}'

CONFIG = """
[bridge]
state_dir = "{state}"
http = "127.0.0.1:{http}"

[venues.gate-flood]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
channels = ["spot.usertrades"]
url = "{flood_url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[venues.gate-calm]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
channels = ["spot.usertrades"]
url = "{calm_url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.bench]
url = "{hook}"
secret = "{secret}"

[[rules]]
name = "calm fills"
on = "fill"
venues = ["gate-calm"]
notify = ["bench"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * fraction + 0.5) - 1)]


class Arrivals:
    """Verifies each webhook and keeps when each trade's first one arrived."""

    def __init__(self) -> None:
        self.webhook = Webhook(SECRET)
        self.at: dict[str, float] = {}
        self.unverified = 0

    def receive(self, request: Request) -> Response:
        arrived = time.perf_counter()
        try:
            payload = self.webhook.verify(request.body, request.headers)
        except WebhookVerificationError:
            self.unverified += 1
            return Response(401)
        self.at.setdefault(str(payload["data"]["trade_id"]), arrived)
        return Response(204)


async def probe_health(port: int, interval: float, until: float, times: list[float]) -> None:
    """GET /healthz every ``interval`` s; keep each round trip (connect to last byte), ms."""
    while time.perf_counter() < until:
        started = time.perf_counter()
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            await stream.send(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = b""
            try:
                while True:
                    answer += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        times.append((time.perf_counter() - started) * 1000)
        await anyio.sleep(max(0.0, started + interval - time.perf_counter()))


async def metric(port: int, name: str) -> float:
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while True:
                answer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
    for line in answer.decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise LookupError(name)


async def main(
    rate: int, seconds: float, fill_interval: float, probe_interval: float, verbose: bool
) -> None:
    arrivals = Arrivals()
    pushed: dict[str, float] = {}
    health: list[float] = []
    http_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "service.log"
        async with (
            GateSpotFake() as noisy,
            GateSpotFake() as calm,
            HttpServer(record=False) as hook,
        ):
            hook.route("POST", "/hook", arrivals.receive)
            config = Path(tmp) / "config.toml"
            config.write_text(
                CONFIG.format(
                    state=Path(tmp) / "state",
                    http=http_port,
                    flood_url=noisy.url,
                    calm_url=calm.url,
                    hook=hook.url + "/hook",
                    secret=SECRET,
                )
            )
            with log_path.open("wb") as log_file:
                process = await anyio.open_process(
                    [EXE, "run", "-c", str(config)], stdout=None, stderr=log_file
                )
            try:
                for fake in (noisy, calm):
                    connection = await fake.wait_for_connections(1, 30)
                    await fake.changes.wait_for(
                        lambda fake=fake, c=connection: fake.subscribed("spot.usertrades", c), 30
                    )
                log_before = log_path.stat().st_size
                gc.collect()
                gc.freeze()
                started = time.perf_counter()
                until = started + seconds
                async with anyio.create_task_group() as tg:
                    flood = Flood(noisy.latest, rate)
                    if rate:
                        tg.start_soon(lambda: flood.run(seconds=seconds))
                    tg.start_soon(probe_health, http_port, probe_interval, until, health)
                    trade = 0
                    while time.perf_counter() < until:
                        trade += 1
                        pushed[str(trade)] = time.perf_counter()
                        await calm.update("spot.usertrades", [usertrade(trade, amount="1")])
                        due = started + trade * fill_interval
                        await anyio.sleep(max(0.0, due - time.perf_counter()))
                flooded_for = time.perf_counter() - started
                with anyio.move_on_after(30):  # let the tail arrive
                    await hook.changes.wait_for(lambda: len(arrivals.at) >= len(pushed), 30)
                counted = await metric(http_port, FLOOD_ERRORS)
                deadline = time.perf_counter() + 30  # the service may still be reading
                while counted < flood.sent and time.perf_counter() < deadline:
                    await anyio.sleep(0.2)
                    counted = await metric(http_port, FLOOD_ERRORS)
            finally:
                if process.returncode is None:
                    process.terminate()
                if await process.wait() not in (0, -15):
                    sys.exit(f"alert-bridge run failed:\n{log_path.read_text()[-3000:]}")
        log_bytes = log_path.stat().st_size - log_before
        logged = log_path.read_bytes()[log_before:].decode(errors="replace").splitlines()
        log_lines = len(logged)
        warnings = [line for line in logged if " INFO " not in line]
    alerts = [(arrivals.at[t] - pushed[t]) * 1000 for t in pushed if t in arrivals.at]
    lost = len(pushed) - len(alerts)
    print(
        f"flood: {flood.sent:,} malformed frames in {flooded_for:.1f}s "
        f"({flood.sent / flooded_for:,.0f}/s offered at {rate:,}/s); "
        f"frame_errors_total {counted:,.0f}; log +{log_bytes / 2**20:.2f} MB, "
        f"{log_lines:,} lines"
    )
    if verbose:
        print("\n".join(["  the service's log, apart from INFO:", *warnings[:40]]))
    print(
        f"  /healthz: {len(health)} probes, p50 {statistics.median(health):.1f} ms, "
        f"p99 {percentile(health, 0.99):.1f} ms, max {max(health):.1f} ms (target p99 <= 50 ms)"
    )
    print(
        f"  gate-calm alerts: {len(alerts)} of {len(pushed)} (lost {lost}, unverified "
        f"{arrivals.unverified}), p50 {statistics.median(alerts):.1f} ms, "
        f"p95 {percentile(alerts, 0.95):.1f} ms, max {max(alerts):.1f} ms "
        "(target p95 <= 50 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=50_000, help="malformed frames per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fill-interval", type=float, default=0.05)
    parser.add_argument("--probe-interval", type=float, default=0.02)
    parser.add_argument("--verbose", action="store_true", help="show the service's warnings")
    args = parser.parse_args()
    anyio.run(main, args.rate, args.seconds, args.fill_interval, args.probe_interval, args.verbose)
