"""Health and metrics scraped from a real ``alert-bridge run`` over HTTP."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, free_port, run_service, sample

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
http = "127.0.0.1:{port}"
reconnect_delay = "20ms"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[venues.gate-down]
plugin = "gateio"
api_key = "k"
api_secret = "s"
url = "ws://127.0.0.1:{closed}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.ops]
url = "{hook}"
secret = "{secret}"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""


async def test_scraping_a_running_service(tmp_path: Path) -> None:
    port, closed = free_port(), free_port()
    async with GateSpotFake() as fake, anyio.create_task_group() as tg:
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)
        config = tmp_path / "config.toml"
        config.write_text(
            CONFIG.format(
                state=tmp_path / "state",
                port=port,
                url=fake.url,
                closed=closed,
                hook=hook.url,
                secret=WEBHOOK_SECRET,
            )
        )
        async with (
            run_service(config) as service,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            await service.wait_for_log("health and metrics on")
            assert (await http.get("/healthz")).status_code == 200
            await fake.wait_for_connections(1)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades"))
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and "gate-down" in ready.text
            assert "gate-main" not in ready.text
            await fake.update("spot.usertrades", [usertrade(1, amount="1")])
            with anyio.fail_after(15):
                await hook.wait_until(lambda r: len(r.requests) >= 1)
            metrics = ""
            # The outcome is recorded a moment after the receiver answers: scrape until it
            # shows (each scrape is a real request, so the loop yields to the service).
            with anyio.fail_after(15):
                while 'outcome="delivered"} 1' not in metrics:
                    metrics = (await http.get("/metrics")).text
        tg.cancel_scope.cancel()
    assert sample(metrics, 'alert_bridge_events_total{kind="fill",venue="gate-main"}') == 1
    assert sample(metrics, 'alert_bridge_matches_total{rule="every fill"}') == 1
    assert (
        sample(metrics, 'alert_bridge_deliveries_total{destination="ops",outcome="delivered"}') == 1
    )
    assert sample(metrics, 'alert_bridge_venue_connected{venue="gate-main"}') == 1
    assert sample(metrics, 'alert_bridge_venue_connected{venue="gate-down"}') == 0
    assert sample(metrics, 'alert_bridge_reconnects_total{venue="gate-down"}') >= 1
    assert sample(metrics, "alert_bridge_outbox_depth") == 0
    assert 'alert_bridge_delivery_seconds_count{destination="ops"}' in metrics
    assert 'alert_bridge_event_to_delivery_seconds_count{destination="ops"}' in metrics
