"""``/metrics`` of a real ``alert-bridge run``, in both formats, read back with
prometheus-client's own parsers (text 0.0.4 and the strict OpenMetrics one).

One venue streams from a fake Gate, one points at a closed port; a fill goes to a webhook
and to a notifier with two URLs, one of which refuses, so its job waits in the outbox.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import anyio
import httpx
import pytest

from bridge import __version__
from bridge.testing.gate import GateSpotFake, usertrade
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, free_port, run_service
from tests.test_metrics import Exposition, parse_exposition, parse_openmetrics

pytestmark = pytest.mark.anyio

ODD_RULE = 'say "hi" \\ twice\nthen stop'  # a quote, a backslash, a newline
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus 3 sends by default (scrape_protocols): OpenMetrics is its first choice.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=underscores;q=0.3,"
    "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)

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

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/a", "json://127.0.0.1:{closed}/b"]
retry = ["1h"]

[[rules]]
name = {rule}
on = "fill"
notify = ["ops", "desk"]
"""

GATE_KINDS = ("order", "fill", "balance", "deposit", "connection")
DESTINATIONS = ("ops", "desk[0]", "desk[1]")


async def scrape(http: httpx.AsyncClient, accept: str | None) -> tuple[str, str]:
    """(content type, body) of one ``GET /metrics``; 200 required."""
    response = await http.get("/metrics", headers={"accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    return response.headers["content-type"], response.text


async def both(http: httpx.AsyncClient) -> tuple[Exposition, Exposition, str]:
    """The text format (no Accept) and OpenMetrics (Prometheus' Accept), parsed; the raw
    OpenMetrics text too. Both must name the same families and series."""
    text_type, text = await scrape(http, None)
    om_type, om = await scrape(http, PROMETHEUS_ACCEPT)
    assert text_type == TEXT
    assert om_type.startswith(OPENMETRICS)  # then "; escaping=underscores": as asked
    assert not text.endswith("# EOF\n") and om.endswith("# EOF\n")
    as_text, as_om = parse_exposition(text), parse_openmetrics(om)
    assert as_text.types == as_om.types
    assert as_text.helps == as_om.helps
    assert as_text.samples.keys() == as_om.samples.keys()
    return as_text, as_om, om


async def test_both_formats_from_a_running_service(tmp_path: Path) -> None:
    port, closed = free_port(), free_port()
    async with GateSpotFake() as fake, anyio.create_task_group() as tg:
        hook, sink = Receiver([WEBHOOK_SECRET]), Receiver()
        await tg.start(hook.serve)
        await tg.start(sink.serve)
        config = tmp_path / "config.toml"
        config.write_text(
            CONFIG.format(
                state=tmp_path / "state",
                port=port,
                url=fake.url,
                closed=closed,
                hook=hook.url,
                sink=sink.port,
                secret=WEBHOOK_SECRET,
                rule=json.dumps(ODD_RULE),  # a TOML basic string
            )
        )
        async with (
            run_service(config) as service,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            await service.wait_for_log("health and metrics on")
            await service.wait_for_log("running: ")
            start, _, _ = await both(http)
            await fake.wait_for_connections(1)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades"))
            await fake.update("spot.usertrades", [usertrade(1, amount="1")])
            with anyio.fail_after(15):
                await hook.wait_until(lambda r: len(r.requests) >= 1)
                await sink.wait_until(lambda r: len(r.requests) >= 1)
            # The outcomes are recorded a moment after the answers: scrape until they show
            # (each scrape is a real request, so the loop yields to the service).
            with anyio.fail_after(15):
                while True:
                    text, om, raw = await both(http)
                    if text.value(
                        "alert_bridge_deliveries_total", destination="desk[1]", outcome="retried"
                    ) == 1 and text.value(
                        "alert_bridge_deliveries_total", destination="desk[0]", outcome="delivered"
                    ):
                        break
        tg.cancel_scope.cancel()

    # Every series is there from the start, at zero where nothing happened yet.
    for venue in ("gate-main", "gate-down"):
        for kind in GATE_KINDS:
            assert {"venue": venue, "kind": kind} in start.series("alert_bridge_events_total")
        assert start.value("alert_bridge_events_total", venue=venue, kind="fill") == 0
        assert start.value("alert_bridge_venue_last_frame_age_seconds", venue=venue) >= 0
    assert start.value("alert_bridge_matches_total", rule=ODD_RULE) == 0
    for destination in DESTINATIONS:
        for name in ("delivery_seconds_count", "event_to_delivery_seconds_count"):
            assert start.value(f"alert_bridge_{name}", destination=destination) == 0
        assert (
            start.value("alert_bridge_outbox_oldest_job_age_seconds", destination=destination) == 0
        )
        assert start.value("alert_bridge_circuit_open", destination=destination) == 0

    for scraped in (text, om):  # the same values, whichever format carried them
        build = {"version": __version__, "python": platform.python_version()}
        assert scraped.value("alert_bridge_build_info", **build) == 1
        assert scraped.value("alert_bridge_config_last_reload_successful") == 1
        assert scraped.value("alert_bridge_config_last_reload_success_timestamp_seconds") > 0
        assert scraped.value("process_start_time_seconds") > 0
        assert scraped.value("process_resident_memory_bytes") > 0
        assert scraped.types["process_cpu_seconds_total"] == "counter"
        assert scraped.value("alert_bridge_events_total", venue="gate-main", kind="fill") == 1
        assert scraped.value("alert_bridge_matches_total", rule=ODD_RULE) == 1
        delivered = {
            (d, o): scraped.value("alert_bridge_deliveries_total", destination=d, outcome=o)
            for d in DESTINATIONS
            for o in ("delivered", "retried")
        }
        assert delivered == {
            ("ops", "delivered"): 1,
            ("ops", "retried"): 0,
            ("desk[0]", "delivered"): 1,
            ("desk[0]", "retried"): 0,
            ("desk[1]", "delivered"): 0,
            ("desk[1]", "retried"): 1,  # refused: due again in an hour
        }
        assert scraped.value("alert_bridge_outbox_depth") == 1
        ages = {
            d: scraped.value("alert_bridge_outbox_oldest_job_age_seconds", destination=d)
            for d in DESTINATIONS
        }
        assert ages["ops"] == ages["desk[0]"] == 0
        assert 0 < ages["desk[1]"] < 60
        # gate-main read frames after the start; gate-down never read one
        frame_ages = {
            v: scraped.value("alert_bridge_venue_last_frame_age_seconds", venue=v)
            for v in ("gate-main", "gate-down")
        }
        assert 0 <= frame_ages["gate-main"] < frame_ages["gate-down"]
        assert scraped.value("alert_bridge_frames_total", venue="gate-main") >= 1
    # The odd name, escaped as the format says (quote, backslash, newline), read back above.
    assert 'rule="say \\"hi\\" \\\\ twice\\nthen stop"' in raw
