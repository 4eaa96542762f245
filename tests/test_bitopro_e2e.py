"""BitoPro end to end: the fake venue -> ``alert-bridge run`` -> verified deliveries.

The rules are rules.example.toml's own ("large fill", "USDT running low", "venue auth
failed"), plus one test rule that forwards every balance event, so a repeated balance
from a re-pushed snapshot could not hide behind a threshold.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.store import Store
from bridge.testing.bitopro import BitoProFake, balance_entry, order, user_trade
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import example_rule, run_service

pytestmark = pytest.mark.anyio

ALL_STREAMS = ("account-balance", "orders", "user-trades")

CONFIG = (
    BRIDGE
    + """
[venues.bito]
plugin = "bitopro"
api_key = "bito-key"
api_secret = "{secret}"
identity = "trader@example.com"
url = "{url}/ws"
streams = {streams}

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/apprise"]

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"
concurrency = 1

{rules}
[[rules]]
name = "every balance change"
on = "balance"
notify = ["ops"]
"""
)


class World(VenueWorld[BitoProFake]):
    def titles(self) -> list[str]:
        """Apprise notification titles, in arrival order."""
        return [m["title"] for m in self.messages()]

    def outbox_drained(self) -> bool:
        """Nothing left to deliver, so the receivers saw every alert there was."""
        store = Store.open(self.state, create=False)
        try:
            return store.counts() == (0, 0)
        finally:
            store.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with BitoProFake() as fake, World.start(fake, tmp_path) as world:
        yield world


def configure(
    world: World, *, secret: str = "bito-secret", streams: tuple[str, ...] = ALL_STREAMS
) -> Path:
    rules = "".join(
        example_rule(name) for name in ("large fill", "USDT running low", "venue auth failed")
    )
    return world.write_config(
        CONFIG, secret=secret, url=world.fake.url, streams=json.dumps(list(streams)), rules=rules
    )


async def test_large_fill_and_low_usdt_fire_the_example_rules(world: World) -> None:
    fake = world.fake
    fake.balances["USDT"] = balance_entry("USDT", "6000")
    fake.ping_interval = 0.05  # the venue's heartbeat, enforced all along
    async with run_service(configure(world)):
        await fake.wait_for_streams(*ALL_STREAMS)
        await fake.trade(user_trade("m-small", volume="0.01"))  # 300 USDT: below the rule
        # 0.5 BTC @ 30000, fee 30 USDT sent scaled by 1e8 like the documented example
        await fake.trade(user_trade("m-large", volume="0.5", fee="3000000000"))
        await fake.set_balance("USDT", "4000")
        await world.received(sink=2)
        await world.received(hook=3)  # the seeded USDT, the large fill, USDT at 4000
        await fake.changes.wait_for(lambda: fake.pongs >= 3)
    [fill] = world.payloads("fill")
    assert (fill["trade_id"], fill["notional"], fill["rule"]) == ("m-large", "15000", "large fill")
    assert Decimal(fill["fee"]) == 30 and fill["fee_asset"] == "USDT" and fill["side"] == "buy"
    assert sorted(world.titles()) == ["bito: USDT balance low", "bito: buy 0.5 BTC @ 30000"]
    low = next(m for m in world.messages() if "low" in m["title"])
    # (the example's wording may change; the figures must be there)
    assert "total 4000 USDT" in low["message"] and "change -2000" in low["message"]
    assert low["type"] == "warning"
    assert len(fake.connections) == 3  # the heartbeat never dropped a connection
    assert fake.received == []  # push-only: the client never sent a frame


async def test_snapshots_re_pushed_on_reconnect_and_restart_do_not_repeat(world: World) -> None:
    fake = world.fake
    fake.balances = {c: balance_entry(c, "0") for c in (f"C{i:03}" for i in range(500))}
    fake.balances["USDT"] = balance_entry("USDT", "6000")
    fake.balances["BTC"] = balance_entry("BTC", "1")
    fake.orders["o1"] = order("o1")
    config = configure(world)
    async with run_service(config):
        await fake.wait_for_streams(*ALL_STREAMS)
        await fake.set_balance("USDT", "4000")
        await fake.trade(user_trade("m1", volume="1"))
        await world.received(hook=4)  # USDT and BTC seeded, USDT changed, the fill
        await fake.drop(1011, "server restart")
        await fake.wait_for_streams(*ALL_STREAMS, count=2)
        await fake.trade(user_trade("m1", volume="1"))  # the venue repeats a trade
        # barriers: later frames on the same streams as the re-pushes
        await fake.set_balance("BTC", "2")
        await fake.trade(user_trade("m2", volume="1"))
        await world.received(hook=6)
    assert world.outbox_drained()
    async with run_service(config):  # a restart: state comes back from the store
        await fake.wait_for_streams(*ALL_STREAMS, count=3)
        await fake.set_balance("BTC", "3")
        await world.received(hook=7)
    assert world.outbox_drained()
    balances = [(b["asset"], b["total"], b["change"]) for b in world.payloads("balance")]
    assert sorted(balances) == [
        ("BTC", "1", None),
        ("BTC", "2", "1"),
        ("BTC", "3", "1"),
        ("USDT", "4000", "-2000"),
        ("USDT", "6000", None),
    ]
    assert [f["trade_id"] for f in world.payloads("fill")] == ["m1", "m2"]
    assert sorted(world.titles()) == [
        "bito: USDT balance low",
        "bito: buy 1 BTC @ 30000",
        "bito: buy 1 BTC @ 30000",
    ]
    assert len(set(fake.nonces)) == len(fake.nonces) == 9  # a fresh nonce on every connect


async def test_orders_alone_derive_fills_once_across_a_reconnect(world: World) -> None:
    fake = world.fake
    fake.orders["o1"] = order("o1", amount="1", price="30000")
    async with run_service(configure(world, streams=("orders",))):
        await fake.wait_for_streams("orders")
        await fake.put_order(order("o1", executed="0.5", total="15000", status=1))
        await world.received(hook=1)
        await fake.drop(1011, "server restart")
        await fake.wait_for_streams("orders", count=2)  # o1 re-pushed unchanged
        await fake.put_order(order("o1", executed="1", total="31000", status=2))
        await world.received(hook=2)
    assert world.outbox_drained()
    fills = [(f["order_id"], f["amount"], f["price"], f["derived"]) for f in world.payloads("fill")]
    assert fills == [("o1", "0.5", "30000", True), ("o1", "0.5", "32000", True)]


async def test_wrong_secret_alerts_auth_failed_once_and_recovers_once_fixed(world: World) -> None:
    fake = world.fake
    fake.api_secret = "the-real-secret"  # the config's secret is now wrong
    async with run_service(configure(world)) as service:
        await world.received(sink=1)
        await fake.changes.wait_for(lambda: fake.auth_failures >= 6)  # every stream, retried
        fake.api_secret = "bito-secret"  # the key is fixed at the venue
        await fake.wait_for_streams(*ALL_STREAMS)
        await fake.trade(user_trade("m7", volume="1"))
        await world.received(sink=2)
        assert service.process.returncode is None  # never crashed
    assert world.titles() == ["bito: authentication failed", "bito: buy 1 BTC @ 30000"]
    auth = world.messages()[0]
    assert "HTTP 401" in auth["message"] and auth["type"] == "failure"
    assert "the-real-secret" not in service.log and "bito-secret" not in service.log


async def test_malformed_frames_are_counted_and_the_connection_survives(world: World) -> None:
    fake = world.fake
    async with run_service(configure(world)) as service:
        await fake.wait_for_streams(*ALL_STREAMS)
        [trades] = fake.on("user-trades")
        await fake.push("this is not json", trades)
        await fake.push(fake.envelope("USER_TRADE", {**user_trade("bad"), "price": "abc"}), trades)
        await fake.push(fake.envelope("USER_TRADE", "not a trade"), trades)
        await fake.push({"event": "SOMETHING_NEW", "data": {}}, trades)
        await fake.trade(user_trade("good", volume="1"))
        await world.received(hook=1)
        await service.wait_for_log("malformed frame", count=4)
        assert len(fake.connections) == 3  # never reconnected
    assert [f["trade_id"] for f in world.payloads("fill")] == ["good"]
    assert "item 0: price: expected a number" in service.log
    assert "event: unexpected 'SOMETHING_NEW'" in service.log
