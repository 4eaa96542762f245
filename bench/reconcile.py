"""Benchmark: REST reconciliation after a reconnect (DESIGN §9), through ``alert-bridge run``.

1. **Recovery**: the Gate fake refuses reconnects while 1,000 large fills land only in its
   REST history; then it lets the service back in. Measured: from the new stream being
   subscribed (the moment reconciliation may start) to the arrival of the last recovered
   webhook, and that each of the 1,000 arrived exactly once.
2. **No gap**: another reconnect with the same 1,000 fills in REST history, all seen
   already. Measured: the service's CPU time (user + system, from /proc) from the drop to
   the "reconciled" log line, and the wall time of that reconciliation.

Run: .venv/bin/python bench/reconcile.py [--fills 1000]
Target (issue #13): recovery <= 2 s plus the venue's rate limit (Gate: 10 requests/s here).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
import orjson
from anyio.abc import Process

from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.waiting import Changes

EXE = str(Path(sys.executable).parent / "alert-bridge")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONFIG = """
[bridge]
state_dir = "{state}"
http = ""
log_level = "info"
reconnect_delay = "20ms"
reconnect_max_delay = "200ms"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
rest_url = "{rest}"

[webhooks.ops]
url = "{hook}"
secret = "{secret}"
concurrency = 32

[[rules]]
name = "large fill"
on = "fill"
notify = ["ops"]
where = {{ notional = {{ gte = "10000" }} }}
"""


class Log:
    """The service's stderr lines, waitable."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changes = Changes()

    async def collect(self, process: Process) -> None:
        assert process.stderr is not None
        buffer = b""
        async for chunk in process.stderr:
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            self.lines.extend(line.decode(errors="replace") for line in complete)
            self.changes.notify()

    async def wait_for(self, text: str, count: int = 1) -> None:
        await self.changes.wait_for(lambda: sum(text in line for line in self.lines) >= count, 60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscribed(fake: GateSpotFake, connections: int) -> None:
    connection = await fake.wait_for_connections(connections, timeout=60)
    await fake.changes.wait_for(
        lambda: all(
            fake.subscribed(c, connection)
            for c in ("spot.usertrades", "spot.orders", "spot.balances")
        ),
        60,
    )


async def main(fills: int) -> None:
    arrivals: dict[str, float] = {}
    duplicates = 0
    arrived = Changes()

    def hook(request: Request) -> Response:
        nonlocal duplicates
        data = orjson.loads(request.body)["data"]
        if data["trade_id"] in arrivals:
            duplicates += 1
        arrivals[data["trade_id"]] = time.perf_counter()
        arrived.notify()
        return Response(204)

    receiver = HttpServer(record=False)
    receiver.route("POST", "/hook", hook)
    with tempfile.TemporaryDirectory() as tmp:
        async with GateSpotFake() as fake, receiver:
            config = Path(tmp) / "config.toml"
            config.write_text(
                CONFIG.format(
                    state=Path(tmp) / "state",
                    url=fake.url,
                    rest=fake.rest_url,
                    hook=f"{receiver.url}/hook",
                    secret=SECRET,
                )
            )
            process = await anyio.open_process([EXE, "run", "-c", str(config)], stdout=None)
            log = Log()
            async with anyio.create_task_group() as tg:
                tg.start_soon(log.collect, process)
                await subscribed(fake, 1)
                await log.wait_for("seeded from REST")

                # 1. recovery of fills missed while reconnects were refused
                fake.refuse_connects = True
                await fake.drop(1011, "bench")
                await fake.changes.wait_for(lambda: len(fake.rejected) >= 1, 60)
                for trade_id in range(1, fills + 1):
                    fake.add_fill(usertrade(trade_id, amount="1"))
                fake.refuse_connects = False
                await subscribed(fake, 2)
                ready = time.perf_counter()
                await arrived.wait_for(lambda: len(arrivals) >= fills, 120)
                first, last = min(arrivals.values()), max(arrivals.values())
                requests = sum("/my_trades" in r.target for r in fake.rest.requests)
                print(
                    f"recovery: {fills} missed fills -> last recovered webhook "
                    f"{last - ready:.3f} s after the stream was ready (first at "
                    f"{first - ready:.3f} s) "
                    f"({len(arrivals)} delivered, {duplicates} duplicates, "
                    f"{requests} my_trades requests in all)"
                )
                await log.wait_for("gate-main: reconciled in", 1)
                [round_line] = [ln for ln in log.lines if "reconciled in" in ln][:1]
                print(f"  the recovery round itself: {round_line.split('gate-main: ', 1)[1]}")

                # 2. a reconnect with nothing missed (the same fills, all seen)
                before = cpu_seconds(process.pid)
                started = time.perf_counter()
                await fake.drop(1011, "bench")
                await subscribed(fake, 3)
                await log.wait_for("gate-main: reconciled in", 2)
                took = time.perf_counter() - started
                used = cpu_seconds(process.pid) - before
                [line] = [ln for ln in log.lines if "reconciled in" in ln][1:2]
                print(
                    f"no gap: reconnect + reconciliation over {fills} known fills: "
                    f"{used * 1000:.0f} ms CPU, {took * 1000:.0f} ms wall "
                    f"(log: {line.split('gate-main: ', 1)[1]})"
                )
                assert len(arrivals) == fills and duplicates == 0, "lost or repeated alerts"
                process.terminate()
                await process.wait()
                tg.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1000)
    args = parser.parse_args()
    anyio.run(main, args.fills)
