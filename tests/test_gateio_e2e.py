"""Gate.io spot end to end: the fake venue -> ``alert-bridge run`` -> verified deliveries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import run_service

pytestmark = pytest.mark.anyio

CONFIG = (
    BRIDGE
    + """
[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "{secret}"
url = "{url}/ws/v4/"
rest_url = "{rest}"
idle_timeout = "{idle}"

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/apprise"]

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

[[rules]]
name = "large fill"
on = "fill"
notify = ["desk", "ops"]
title = "{{venue}}: {{side}} {{amount}} {{base}} @ {{price}}"
where = {{ notional = {{ gte = "10000" }} }}

[[rules]]
name = "auth failed"
on = "connection"
where = {{ state = "auth_failed" }}
notify = ["ops"]
"""
)


class World(VenueWorld[GateSpotFake]):
    async def subscribed(self, connections: int = 1) -> None:
        """Wait until the ``connections``-th connection holds all three subscriptions."""
        connection = await self.fake.wait_for_connections(connections)
        await self.fake.changes.wait_for(
            lambda: all(
                self.fake.subscribed(c, connection)
                for c in ("spot.usertrades", "spot.orders", "spot.balances")
            )
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with GateSpotFake() as fake, World.start(fake, tmp_path) as world:
        yield world


def configure(world: World, *, secret: str = "gate-secret", idle: str = "30s") -> Path:
    return world.write_config(
        CONFIG, secret=secret, url=world.fake.url, rest=world.fake.rest_url, idle=idle
    )


async def test_large_fill_alerts_once_small_fill_not_at_all(world: World) -> None:
    async with run_service(configure(world)):
        await world.subscribed()
        await world.fake.update("spot.usertrades", [usertrade(1, amount="0.01")])  # 300 USDT
        await world.fake.update("spot.usertrades", [usertrade(2, amount="0.5", price="30000")])
        await world.received(hook=1, sink=1)
    # frames are processed in order: had the small fill matched, it would be here first
    [fill] = world.payloads("fill")
    assert (fill["trade_id"], fill["notional"], fill["rule"]) == ("2", "15000", "large fill")
    [apprise] = world.messages()
    assert apprise["title"] == "gate-main: buy 0.5 BTC @ 30000"
    assert apprise["type"] == "info"


async def test_wrong_secret_reports_auth_failure_and_recovers_once_fixed(world: World) -> None:
    world.fake.api_secret = "the-real-secret"  # the config's secret is now wrong
    async with run_service(configure(world)) as service:
        await world.received(hook=1)
        alert = world.hook.requests[0].payload
        assert alert["type"] == "connection" and alert["data"]["state"] == "auth_failed"
        assert "INVALID_SIGNATURE" in alert["data"]["reason"]
        assert world.fake.auth_failures >= 1
        world.fake.api_secret = "gate-secret"  # the key is fixed at the venue
        # Whichever connection subscribes first after the fix (one may be mid-handshake)
        # must end up subscribed, and stay the client's connection.
        await world.fake.changes.wait_for(
            lambda: (
                bool(world.fake.open_connections)
                and world.fake.subscribed("spot.usertrades", world.fake.latest)
            )
        )
        await world.fake.update("spot.usertrades", [usertrade(7, amount="1")])
        with anyio.fail_after(15):
            await world.hook.wait_until(
                lambda r: any(q.payload["type"] == "fill" for q in r.requests)
            )
        assert service.process.returncode is None  # never crashed
    assert [f["trade_id"] for f in world.payloads("fill")] == ["7"]


async def test_reconnect_signs_afresh_and_a_replayed_frame_does_not_alert_twice(
    world: World,
) -> None:
    async with run_service(configure(world)) as service:
        await world.subscribed()
        await world.fake.update("spot.usertrades", [usertrade(1, amount="1")])
        await world.received(hook=1)
        await world.fake.drop(1011, "server restart")
        await world.subscribed(2)
        # the venue re-sends the same trade after the reconnect, then a new one
        await world.fake.update("spot.usertrades", [usertrade(1, amount="1")])
        await world.fake.update("spot.usertrades", [usertrade(2, amount="1")])
        await world.received(hook=2)
        await service.wait_for_log("connection closed (code 1011")
    assert [f["trade_id"] for f in world.payloads("fill")] == ["1", "2"]
    first, second = (world.fake.received_by(c) for c in world.fake.connections[:2])
    assert first and second
    # every subscribe on the new connection carried a valid signature of its own time
    assert all(
        frame["auth"]["SIGN"]
        == world.fake.expected_sign(frame["channel"], "subscribe", frame["time"])
        for frame in second
        if frame.get("event") == "subscribe"
    )


async def test_silent_server_trips_the_idle_watchdog(world: World) -> None:
    async with run_service(configure(world, idle="300ms")) as service:
        await world.subscribed()
        world.fake.go_silent()
        await world.subscribed(2)  # the watchdog gave up on the hung connection
        await service.wait_for_log("no frame for 0.3s (idle watchdog)")
        await world.fake.update("spot.usertrades", [usertrade(3, amount="1")])
        await world.received(hook=1)
    assert [f["trade_id"] for f in world.payloads("fill")] == ["3"]


async def test_malformed_frames_are_counted_and_the_connection_survives(world: World) -> None:
    async with run_service(configure(world)) as service:
        await world.subscribed()
        fake = world.fake
        await fake.push("this is not json")
        await fake.latest.send(b'{"channel": "\xff"}', text=True)  # a text frame, not UTF-8
        await fake.update("spot.usertrades", [{**usertrade(4), "price": "abc"}])  # wrong type
        await fake.update("spot.usertrades", [{"id": 5}])  # missing fields
        await fake.update("spot.usertrades", "not a list")
        await fake.update(
            "spot.usertrades", [{**usertrade(6), "amount": None}, usertrade(8, amount="2")]
        )  # bad item, good item
        await world.received(hook=1)
        await service.wait_for_log("malformed frame", count=6)
        assert len(fake.connections) == 1  # never reconnected
    assert [f["trade_id"] for f in world.payloads("fill")] == ["8"]
    assert "item 0: amount: missing" in service.log


CONNECTION_RULE = """
[[rules]]
name = "stream health"
on = "connection"
notify = ["ops"]
"""

BROKEN_VENUE = """
[venues.gate-broken]
plugin = "gateio"
api_key = "k"
api_secret = "s"
url = "ws://127.0.0.1:{port}/ws/v4/"
"""


async def test_connection_events_carry_state_and_downtime(world: World) -> None:
    path = configure(world)
    path.write_text(path.read_text() + CONNECTION_RULE)
    async with run_service(path):
        await world.subscribed()
        await world.fake.drop(1011, "server restart")
        await world.subscribed(2)
        await world.received(hook=3)
    events = [r.payload["data"] for r in world.hook.requests if r.payload["type"] == "connection"]
    states = [(e["state"], (e["reason"] or "").split(":")[0]) for e in events]
    assert states[:3] == [
        ("connected", "first connect"),
        ("disconnected", "connection closed (code 1011"),
        ("connected", "reconnected after"),
    ]
    assert all(Decimal(e["down_seconds"]) >= 0 for e in events[:3])
    assert events[1]["attempt"] == 1


async def test_a_failing_venue_never_stops_another(world: World) -> None:
    with socket.socket() as closed:  # a port with nothing listening
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    path = configure(world)
    path.write_text(path.read_text() + BROKEN_VENUE.format(port=port))
    async with run_service(path) as service:
        await service.wait_for_log("gate-broken: connection failed", count=2)
        await world.subscribed()
        await world.fake.update("spot.usertrades", [usertrade(11, amount="1")])
        await world.received(hook=1)
        await service.wait_for_log("gate-broken: connection failed", count=4)  # still retrying
    assert [f["trade_id"] for f in world.payloads("fill")] == ["11"]
