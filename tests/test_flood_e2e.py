"""One venue floods malformed frames at a real ``alert-bridge run`` (#12 item 4).

The flood must not flood the log (the first few lines, then counts), must be counted
exactly, and must not keep another venue's fill or /healthz waiting until it is over.
How long they wait is measured in bench/flood.py, not here.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import anyio
import httpx
import pytest

from bridge.log_limiter import BURST
from bridge.testing.flood import Flood
from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import run_service

pytestmark = pytest.mark.anyio

RATE = 20_000  # frames/s: a storm, yet within what a loaded CI machine reads
MOST = 200_000  # the flood stops here at the latest (10 s)

CONFIG = (
    BRIDGE.replace('http = ""', 'http = "127.0.0.1:{port}"')
    + """
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

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

[[rules]]
name = "calm fills"
on = "fill"
venues = ["gate-calm"]
notify = ["ops"]
"""
)
FLOOD_ERRORS = 'alert_bridge_frame_errors_total{venue="gate-flood"} '
SUMMARY = re.compile(r"… ([\d,]+) more malformed frames from gate-flood \(not JSON\) in the last")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def subscribed(fake: GateSpotFake) -> None:
    connection = await fake.wait_for_connections(1)
    await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades", connection))


async def frame_errors(http: httpx.AsyncClient) -> int:
    metrics = (await http.get("/metrics")).text
    [line] = [line for line in metrics.splitlines() if line.startswith(FLOOD_ERRORS)]
    return int(float(line.rsplit(" ", 1)[1]))


async def test_a_flooding_venue_neither_floods_the_log_nor_holds_up_the_others(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with (
        GateSpotFake() as noisy,
        GateSpotFake() as calm,
        VenueWorld.start(calm, tmp_path) as world,
    ):
        config = world.write_config(CONFIG, port=port, flood_url=noisy.url, calm_url=calm.url)
        async with (
            run_service(config) as service,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            await subscribed(noisy)
            await subscribed(calm)
            flood = Flood(noisy.latest, RATE)
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: flood.run(limit=MOST))
                await service.wait_for_log("malformed frame", count=BURST)
                # Mid-storm, the other venue's fill alerts and the endpoint answers.
                await calm.update("spot.usertrades", [usertrade(1, amount="1")])
                await world.received(hook=1)
                assert (await http.get("/healthz")).status_code == 200
                tg.cancel_scope.cancel()  # flood.sent is what was written, to the frame
            # Scrape until the service has read the whole flood (each scrape yields to it).
            with anyio.fail_after(30):
                while await frame_errors(http) < flood.sent:
                    pass
            assert await frame_errors(http) == flood.sent
        # Stopped: the count of what the limiter held back is written on the way out.
    assert [p["trade_id"] for p in world.payloads("fill")] == ["1"]
    assert service.count("gate-flood: malformed frame: not JSON") == BURST
    held_back = sum(int(m[1].replace(",", "")) for m in map(SUMMARY.search, service.lines) if m)
    assert held_back == flood.sent - BURST
    assert flood.sent > 10 * BURST  # it was a flood
    assert len(service.lines) < 50, service.log[-3000:]
