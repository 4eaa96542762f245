"""Bitmusa end to end: the fake venue -> ``alert-bridge run`` -> verified deliveries.

The rules are rules.example.toml's own ("large fill", "USDT running low", "venue auth
failed"), so the example is tested as shipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.testing.bitmusa import BitmusaFake, order_frame, wallet_frame
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import ServiceProcess, example_rule, run_service

pytestmark = pytest.mark.anyio

API_KEY, AUTH_KEY = "musa-api-key", "musa-auth-key-0123456789"

CONFIG = (
    BRIDGE
    + """
[venues.musa]
plugin = "bitmusa"
api_key = "{api_key}"
auth_key = "{auth_key}"
keepalive = "{keepalive}"
url = "{url}"
rest_url = "{rest_url}"

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/apprise"]

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

"""
)


class World(VenueWorld[BitmusaFake]):
    """The hook is "ops" (only "large fill" goes there), the sink is "desk" (every rule)."""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    # Each test starts the fake itself, after setting it up.
    async with World.start(BitmusaFake(API_KEY, AUTH_KEY), tmp_path) as world:
        yield world


def configure(world: World, *, auth_key: str = AUTH_KEY, keepalive: str = "30m") -> Path:
    rules = "".join(
        example_rule(name) for name in ("large fill", "USDT running low", "venue auth failed")
    )
    return world.write_config(
        CONFIG + rules.replace("{", "{{").replace("}", "}}"),
        api_key=API_KEY,
        auth_key=auth_key,
        keepalive=keepalive,
        url=world.fake.url,
        rest_url=world.fake.rest_url,
    )


def assert_no_secrets(service: ServiceProcess, fake: BitmusaFake) -> None:
    for secret in [AUTH_KEY, *fake.issued]:
        assert secret not in service.log


async def test_example_rules_fire_the_key_is_kept_alive_and_deleted_on_shutdown(
    world: World,
) -> None:
    fake = world.fake
    # A key lives 1 s here: the connection outliving it shows the keep-alive at work.
    fake.key_lifetime = 1.0
    async with fake, run_service(configure(world, keepalive="250ms")) as service:
        await fake.wait_for_connections(1)
        [key] = fake.issued
        await fake.push(order_frame("M1", price=30000, amount=1, status="TRADING"))
        await fake.push(order_frame("M1", price=30000, amount=1, traded=0.1, value=3000))
        await fake.push("this is not json")
        await fake.push({"stream": "spot_order", "eventTime": 1, "data": [{"orderId": "bad"}]})
        await fake.push(
            order_frame("M1", price=30000, amount=1, traded=1, value=30000, status="COMPLETED")
        )
        await fake.push(wallet_frame("USDT", "6000", "0"))
        await fake.push(wallet_frame("USDT", "3900.5", "99.5"))  # total 4000: running low
        await world.received(hook=1, sink=2)
        await fake.changes.wait_for(lambda: fake.keep_alives >= 6)  # > 1 s of keep-alives
        assert fake.expired == [] and len(fake.connections) == 1  # never expired or dropped
        await service.wait_for_log("malformed frame", count=2)
    # shutdown (SIGTERM) deleted the key, and the venue closed the stream
    assert fake.requests()[-1].method == "DELETE" and fake.deleted == [key]
    assert "musa: listenKey deleted" in service.log
    assert [r.method for r in fake.requests()][:2] == ["POST", "PUT"]
    [fill] = world.payloads("fill")
    assert (fill["rule"], fill["order_id"], fill["derived"]) == ("large fill", "M1", True)
    assert (fill["amount"], fill["price"], fill["notional"]) == ("0.9", "30000", "27000")
    titles = {m["title"]: m for m in world.messages()}  # deliveries may arrive in any order
    assert sorted(titles) == ["musa: USDT balance low", "musa: buy 0.9 BTC @ 30000"]
    low = titles["musa: USDT balance low"]
    assert low["type"] == "warning"
    assert low["message"].startswith("total 4000.0 USDT (available 3900.5, change -2000.0")
    assert_no_secrets(service, fake)


async def test_an_expired_key_and_the_24_hour_cut_reconnect_without_repeating_alerts(
    world: World,
) -> None:
    fake = world.fake
    large = order_frame("L1", price=20000, amount=1, traded=1, value=20000, status="COMPLETED")
    async with fake, run_service(configure(world)) as service:
        first = await fake.wait_for_connections(1)
        await fake.push(large)
        await world.received(hook=1)
        fake.expire()  # no keep-alive came in time: the venue closes the stream
        second = await fake.wait_for_connections(2)
        assert len(fake.issued) == 2 and fake.expired == fake.issued[:1]
        assert fake.key_of[first] == fake.issued[0] and fake.key_of[second] == fake.issued[1]
        await fake.cut()  # the 24-hour cut: the key stays valid, the socket goes
        third = await fake.wait_for_connections(3)
        assert fake.key_of[third] == fake.issued[1] and len(fake.issued) == 2
        await fake.push(large)  # the venue re-sends what it sent before
        await fake.push(
            order_frame("L2", price=20000, amount=1, traded=1, value=20000, status="COMPLETED")
        )
        await world.received(hook=2)
        await service.wait_for_log("connection closed (code 1000: listenKey expired)")
        await service.wait_for_log("connection closed (code 1000: connection lifetime exceeded)")
    assert [f["order_id"] for f in world.payloads("fill")] == ["L1", "L2"]  # frames run in order
    # each reconnect asked for the key afresh (and extended it) before connecting
    assert [r.method for r in fake.requests()] == ["POST", "PUT"] * 3 + ["DELETE"]
    assert_no_secrets(service, fake)


async def test_a_venue_serving_only_the_sdk_path_is_reached(world: World) -> None:
    fake = world.fake
    fake.paths = {"wallet"}  # /ws/spot/wallet/<key> only, as MUSA-SDK connects
    async with fake, run_service(configure(world)) as service:
        connection = await fake.wait_for_connections(1)
        assert connection.request is not None
        assert connection.request.path.startswith("/ws/spot/wallet/")
        await fake.push(wallet_frame("USDT", "100", "0"))
        await world.received(sink=1)
        await service.wait_for_log("handshake refused with HTTP 404")
    assert fake.rejected == ["no such stream path: spot"]
    [low] = world.messages()
    assert low["title"] == "musa: USDT balance low"


async def test_rejected_credentials_alert_and_recover_and_a_revoked_key_ends_the_stream(
    world: World,
) -> None:
    fake = world.fake
    fake.auth_key = "the-real-auth-key"  # the configured one is wrong
    async with fake, run_service(configure(world, keepalive="200ms")) as service:
        await world.received(sink=1)
        [alert] = world.messages()
        assert alert["title"] == "musa: authentication failed" and alert["type"] == "failure"
        assert "POST userDataStream: code 1001: API KEY NOT FOUND" in alert["message"]
        assert fake.issued == [] and fake.connections == []
        fake.auth_key = AUTH_KEY  # fixed at the venue
        first = await fake.wait_for_connections(1)
        await fake.push(
            order_frame(
                "A1",
                direction="SELL",
                price=50000,
                amount=0.5,
                traded=0.5,
                value=25000,
                status="COMPLETED",
            )
        )
        await world.received(hook=1)
        fake.auth_key = "revoked"  # the next keep-alive is refused: the client hangs up
        await service.wait_for_log("authentication failed: PUT userDataStream: code 1001")
        await fake.changes.wait_for(lambda: first.state.name == "CLOSED")
        assert service.process.returncode is None  # never crashed
    [fill] = world.payloads("fill")
    assert (fill["side"], fill["amount"], fill["notional"]) == ("sell", "0.5", "25000")
    assert_no_secrets(service, fake)
