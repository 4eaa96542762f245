"""A venue cannot forge log lines: its error text reaches a real ``alert-bridge run``'s log
on the one line that quotes it, newlines and control characters escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.testing.gate import GateSpotFake
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import run_service

pytestmark = pytest.mark.anyio

CONFIG = (
    BRIDGE
    + """
[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{fake}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[[rules]]
name = "any fill"
on = "fill"
notify = ["ops"]
"""
)

FORGED = "2026-12-01 07:00:00,000 ERROR alert_bridge: forged line"
RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \S+ [A-Z]+ ")


async def test_a_venue_error_text_cannot_start_a_log_line(tmp_path: Path) -> None:
    async with GateSpotFake() as fake, VenueWorld.start(fake, tmp_path) as world:
        world.write_config(CONFIG, fake=fake.url)
        async with run_service(world.config) as service:
            await service.wait_for_log("gate-main: connected")
            await fake.push(
                {
                    "time": 1,
                    "channel": "spot.usertrades",
                    "event": "update",
                    "error": {"code": 2, "message": f"bad request\n{FORGED}\r\x1b[2K"},
                    "result": None,
                }
            )
            await service.wait_for_log("venue error")
    [quoted] = [line for line in service.lines if "venue error" in line]
    assert quoted.endswith(f"bad request\\n{FORGED}\\r\\x1b[2K"), quoted
    assert [line for line in service.lines if "forged line" in line] == [quoted]
    # Every line of the log is a record of the service's own.
    assert all(RECORD_START.match(line) for line in service.lines), service.log
