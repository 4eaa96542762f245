"""Gate.io spot REST reconciliation end to end (DESIGN §9): the fake venue's stream and
REST history -> ``alert-bridge run`` -> verified webhooks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import VenueWorld
from tests.service_helpers import ServiceProcess, run_service
from tests.test_http_e2e import free_port, sample

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
http = "127.0.0.1:{port}"
reconnect_delay = "20ms"
reconnect_max_delay = "200ms"
auth_retry_delay = "0s"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
rest_url = "{rest}"

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

[[rules]]
name = "large fill"
on = "fill"
notify = ["ops"]
where = {{ notional = {{ gte = "10000" }} }}

[[rules]]
name = "unreconciled gap"
on = "notice"
notify = ["ops"]
where = {{ severity = "warning" }}
"""

SEEDED = "gate-main: seeded from REST"
RECONCILED = "gate-main: reconciled in"


class World(VenueWorld[GateSpotFake]):
    port: int = 0

    async def subscribed(self, connections: int = 1) -> None:
        connection = await self.fake.wait_for_connections(connections, timeout=15)
        await self.fake.changes.wait_for(
            lambda: all(
                self.fake.subscribed(c, connection)
                for c in ("spot.usertrades", "spot.orders", "spot.balances")
            ),
            15,
        )

    def fills(self) -> list[tuple[str, bool]]:
        """(trade id, recovered) of every fill webhook, in arrival order."""
        return [(f["trade_id"], f["recovered"]) for f in self.payloads("fill")]

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{self.port}/metrics")).text


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with GateSpotFake() as fake, World.start(fake, tmp_path) as world:
        world.port = free_port()
        world.write_config(CONFIG, url=fake.url, rest=fake.rest_url, port=world.port)
        yield world


def old_fill(trade_id: int, hours: float, **fields: Any) -> dict[str, Any]:
    """A large fill ``hours`` ago."""
    item = usertrade(trade_id, amount="1", **fields)
    then = time.time() - hours * 3600
    item["create_time"], item["create_time_ms"] = int(then), f"{then * 1000:.3f}"
    return item


async def sentinel(world: World, service: ServiceProcess, trade_id: int, hooks: int) -> None:
    """Push a large fill on the stream and wait until it (the ``hooks``-th webhook) is in:
    whatever should not alert would have arrived before it (one stream, one order)."""
    await world.fake.update("spot.usertrades", [usertrade(trade_id, amount="1")])
    await world.received(hook=hooks)


async def test_first_start_seeds_and_alerts_nothing_from_the_past(world: World) -> None:
    for trade_id in (1, 2, 3):
        world.fake.add_fill(old_fill(trade_id, hours=trade_id))
    async with run_service(world.config) as service:
        await world.subscribed()
        await service.wait_for_log(SEEDED)
        await sentinel(world, service, 4, hooks=1)
    assert world.fills() == [("4", False)]
    assert world.fake.rest.requests, "REST was never asked"


async def test_a_fill_missed_while_reconnects_are_refused_alerts_once_recovered(
    world: World,
) -> None:
    async with run_service(world.config) as service:
        await world.subscribed()
        await service.wait_for_log(SEEDED)
        world.fake.refuse_connects = True
        await world.fake.drop(1011, "server restart")
        await world.fake.changes.wait_for(lambda: len(world.fake.rejected) >= 3, 15)
        world.fake.add_fill(usertrade(5, amount="2"))  # lands only in REST history
        world.fake.refuse_connects = False
        await world.subscribed(2)
        await world.received(hook=1)
        await service.wait_for_log(RECONCILED)
        await sentinel(world, service, 6, hooks=2)
        metrics = await world.metrics()
    assert world.fills() == [("5", True), ("6", False)]
    assert len(world.webhooks()) == 2  # every one verified, nothing else sent
    assert sample(metrics, 'alert_bridge_reconciled_events_total{venue="gate-main"}') == 1
    assert sample(metrics, 'alert_bridge_reconcile_failures_total{venue="gate-main"}') == 0


async def test_a_fill_both_pushed_and_in_rest_history_alerts_once(world: World) -> None:
    async with run_service(world.config) as service:
        await world.subscribed()
        await service.wait_for_log(SEEDED)
        both = usertrade(7, amount="1")
        await world.fake.update("spot.usertrades", [both])
        world.fake.add_fill(both)
        await world.received(hook=1)
        await world.fake.drop(1011, "server restart")
        await world.subscribed(2)
        await service.wait_for_log(RECONCILED)  # REST saw trade 7 again after the reconnect
        await sentinel(world, service, 8, hooks=2)
        metrics = await world.metrics()
    assert world.fills() == [("7", False), ("8", False)]
    assert sample(metrics, 'alert_bridge_reconciled_events_total{venue="gate-main"}') == 0


async def test_a_fill_while_the_service_was_stopped_alerts_once_after_restart(
    world: World,
) -> None:
    async with run_service(world.config) as service:
        await world.subscribed()
        await service.wait_for_log(SEEDED)
    world.fake.add_fill(usertrade(9, amount="1"))  # while nothing listens
    async with run_service(world.config) as service:
        await world.subscribed(2)
        await world.received(hook=1)
        await service.wait_for_log(RECONCILED)
        await sentinel(world, service, 10, hooks=2)
        assert service.count(SEEDED) == 0  # the watermark survived the restart
    async with run_service(world.config) as service:  # and a third start repeats nothing
        await world.subscribed(3)
        await service.wait_for_log(RECONCILED)
        await sentinel(world, service, 11, hooks=3)
    assert world.fills() == [("9", True), ("10", False), ("11", False)]


@pytest.mark.parametrize("failure", ["http 500", "bad signature"])
async def test_a_failing_rest_api_is_a_notice_and_a_metric_and_the_stream_goes_on(
    world: World, failure: str
) -> None:
    if failure == "http 500":
        world.fake.rest_status = 500
    else:
        world.fake.reject_signatures = True
    async with run_service(world.config) as service:
        await world.subscribed()
        await world.received(hook=1)
        [notice] = world.payloads("notice")
        assert notice["severity"] == "warning"
        assert "reconciliation failed" in notice["message"]
        assert ("HTTP 500" if failure == "http 500" else "INVALID_SIGNATURE") in notice["message"]
        await service.wait_for_log("reconciliation failed (attempt 2)")  # retried
        # The metric counts every failed attempt; it is raised before the line is logged.
        failures = sample(
            await world.metrics(), 'alert_bridge_reconcile_failures_total{venue="gate-main"}'
        )
        assert failures >= 2
        await sentinel(world, service, 12, hooks=2)  # the stream still alerts meanwhile
        world.fake.rest_status, world.fake.reject_signatures = None, False
        await service.wait_for_log(SEEDED)  # and once REST answers, it catches up
        assert service.process.returncode is None
    assert world.fills() == [("12", False)]
    assert len(world.payloads("notice")) == 1  # once per failure streak, not per attempt
