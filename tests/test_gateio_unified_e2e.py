"""Gate.io Unified end to end: the fake venue -> ``alert-bridge run`` -> verified deliveries.

The alerting rules are rules.example.toml's own ("USDT running low", "venue auth failed"),
so the example is tested as shipped. A test-only "feed" rule sends every account and
balance event to a signed webhook, to show exactly which events the service produced.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.testing.gateio_unified import GateUnifiedFake
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import EXE, example_rule, run_service

pytestmark = pytest.mark.anyio

FRAMES = Path(__file__).parent / "frames" / "gateio_unified.jsonl"

CONFIG = (
    BRIDGE
    + """
[venues.uni]
plugin = "gateio_unified"
api_key = "unified-key"
api_secret = "{secret}"
currencies = {currencies}
url = "{url}/v4/ws/unified"

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/apprise"]
concurrency = 1

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"
concurrency = 1

[[rules]]
name = "feed"
on = ["account", "balance"]
notify = ["ops"]

{example_rules}
"""
)

LOW = "USDT running low"
AUTH = "venue auth failed"


class World(VenueWorld[GateUnifiedFake]):
    """The hook gets the "feed" rule's webhooks, the sink the example rules' alerts."""

    def feed(self) -> list[dict[str, Any]]:
        """Verified webhook payloads (event + rule), in arrival order."""
        return [w["data"] | {"type": w["type"]} for w in self.webhooks()]

    async def subscribed(self, connections: int = 1) -> None:
        """Wait until the ``connections``-th connection holds both subscriptions."""
        connection = await self.fake.wait_for_connections(connections)
        await self.fake.changes.wait_for(
            lambda: all(
                self.fake.subscribed(c, connection)
                for c in ("unified.assets", "unified.asset_detail")
            )
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with (
        GateUnifiedFake(snapshot_on_subscribe=True) as fake,
        World.start(fake, tmp_path) as world,
    ):
        yield world


def configure(
    world: World, *, secret: str = "unified-secret", currencies: str = '["!all"]'
) -> Path:
    return world.write_config(
        CONFIG,
        secret=secret,
        currencies=currencies,
        url=world.fake.url,
        example_rules=example_rule(LOW) + "\n" + example_rule(AUTH),
    )


async def test_usdt_running_low_fires_once_per_crossing_across_a_reconnect(world: World) -> None:
    fake = world.fake
    fake.details["USDT"] = {"a": "8000", "f": "0", "e": "8000", "tl": "0.00", "b": "8000"}
    fake.account.update(e="8000.00", b="8000.00", a="7000.00", l="0.00", r="0", R="0", T="8000")
    async with run_service(configure(world)) as service:
        await world.subscribed()
        await world.received(hook=2)  # the snapshot: account figures and the USDT balance
        await fake.set_balance("USDT", "4000", available="3900", freeze="100")  # crosses 5000
        await fake.set_balance("USDT", "3000")  # still low: no second alert
        await world.received(hook=4)
        await fake.drop(1011, "server restart")
        await world.subscribed(2)  # the snapshot is re-pushed on the new connection
        await fake.set_balance("USDT", "6000")  # back above 5500: re-armed
        await fake.set_balance("USDT", "4500")  # crosses again
        await world.received(hook=6)
        await world.received(sink=2)
        # Every frame is processed in order, so by the time the last change matched, a
        # repeat from the re-pushed snapshot would already have been logged.
        await service.wait_for_log("rule 'feed' matched", count=6)
        assert service.count(f"rule {LOW!r} matched") == 2
        assert service.count("rule 'feed' matched") == 6
        assert len(fake.connections) == 2
    feed = world.feed()
    account = next(e for e in feed if e["type"] == "account")
    assert (account["equity"], account["available_margin"], account["total"]) == (
        "8000.00",
        "7000.00",
        "8000",
    )
    assert account["venue"] == "uni" and account["plugin"] == "gateio_unified"
    # deliveries committed together may arrive in any order: compare as sorted lists
    totals = sorted((e["total"], e["change"] or "") for e in feed if e["type"] == "balance")
    assert totals == [
        ("3000", "-1000"),
        ("4000", "-4000"),
        ("4500", "-1500"),
        ("6000", "3000"),
        ("8000", ""),  # the first value seen: no change known
    ]
    assert len({e["id"] for e in feed}) == 6
    first, second = sorted(world.messages(), key=lambda alert: str(alert["message"]))
    assert first["title"] == second["title"] == "uni: USDT balance low"
    assert first["type"] == "warning"
    assert first["message"] == "total 4000 USDT (available 3900, change -4000, -)"
    assert second["message"].startswith("total 4500 USDT (available 4500, change -1500")


async def test_wrong_secret_fires_venue_auth_failed_and_recovers_once_fixed(
    world: World,
) -> None:
    world.fake.api_secret = "the-real-secret"  # the config's secret is now wrong
    async with run_service(configure(world)) as service:
        await world.received(sink=1)
        [alert] = world.messages()
        assert alert["title"] == "uni: authentication failed" and alert["type"] == "failure"
        assert "INVALID_SIGNATURE" in alert["message"]
        assert world.fake.auth_failures >= 1
        world.fake.api_secret = "unified-secret"  # the key is fixed at the venue
        # Whichever connection subscribes first after the fix (one may still be in its
        # handshake with the old signature and fail) must hold both subscriptions.
        await world.fake.changes.wait_for(
            lambda: (
                bool(world.fake.open_connections)
                and all(
                    world.fake.subscribed(c, world.fake.latest)
                    for c in ("unified.assets", "unified.asset_detail")
                )
            ),
            timeout=30,
        )
        await world.fake.set_balance("BTC", "0.5")
        await world.received(hook=1)
        assert service.process.returncode is None  # never crashed
        assert "unified-secret" not in service.log and "the-real-secret" not in service.log
    assert [(e["type"], e["asset"], e["total"]) for e in world.feed()] == [
        ("balance", "BTC", "0.5")
    ]
    assert len(world.messages()) == 1  # the example rule's 1 h cooldown holds repeats back


async def test_only_changed_currencies_alert_when_dts_carries_them_all(tmp_path: Path) -> None:
    async with (
        GateUnifiedFake(full_details=True, array_results=True) as fake,
        World.start(fake, tmp_path) as world,
        run_service(configure(world, currencies='["btc", "USDT"]')) as service,
    ):
        await world.subscribed()
        assert fake.currencies(fake.latest) == ["BTC", "USDT"]  # upper-cased on subscribe
        await fake.set_balance("BTC", "1.5")
        await fake.set_balance("ETH", "10")  # not subscribed: the venue sends nothing
        await fake.set_balance("USDT", "7000")  # dts: BTC (unchanged) and USDT
        await fake.set_balance("USDT", "7000", available="6000", freeze="1000")
        await world.received(hook=3)
        await service.wait_for_log("rule 'feed' matched", count=3)
    assert sorted((e["asset"], e["total"], e["available"]) for e in world.feed()) == [
        ("BTC", "1.5", "1.5"),
        ("USDT", "7000", "6000"),
        ("USDT", "7000", "7000"),
    ]
    assert service.count("rule 'feed' matched") == 3


async def test_malformed_frames_are_counted_and_the_connection_survives(world: World) -> None:
    async with run_service(configure(world)) as service:
        await world.subscribed()
        fake = world.fake
        await fake.push("this is not json")
        await fake.update("unified.assets", {"u": 1, "e": "1"})  # no t
        await fake.update("unified.asset_detail", {"u": 1, "t": 1, "dts": "USDT"})
        await fake.update(
            "unified.asset_detail",
            {"u": 1, "t": 2, "dts": {"BTC": {"b": "lots"}, "USDT": {"a": "9", "f": "0", "b": "9"}}},
        )  # a bad currency and a good one
        await world.received(hook=1)
        await service.wait_for_log("malformed frame", count=4)
        assert len(fake.connections) == 1  # never reconnected
    assert [(e["asset"], e["total"]) for e in world.feed()] == [("USDT", "9")]
    assert "item 0: dts.BTC: b: expected a number, got 'lots'" in service.log


def test_plugins_command_lists_the_venue_and_its_capabilities() -> None:
    out = subprocess.run([EXE, "plugins", "--json"], capture_output=True, check=True, text=True)
    [plugin] = [p for p in json.loads(out.stdout)["plugins"] if p["name"] == "gateio_unified"]
    [venue] = plugin["venues"]
    assert venue["name"] == "gateio_unified" and venue["kinds"] == ["account", "balance"]
    assert {"api_key", "api_secret", "currencies", "channels", "url"} <= set(venue["options"])


def test_recorded_frames_replay_through_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[bridge]
state_dir = "{tmp_path / "state"}"
http = ""

[venues.uni]
plugin = "gateio_unified"
api_key = "k"
api_secret = "s"

[notifiers.desk]
urls = ["json://127.0.0.1:9/apprise"]

{example_rule(LOW)}
"""
    )
    out = subprocess.run(
        [EXE, "replay", "-c", str(config), "--venue", "uni", str(FRAMES)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "frame 1: ack" in out and "frame 6: pong" in out and "frame 8: auth_failed" in out
    assert "frame 9: error" in out
    # frame 3: the account; frame 4: BTC and USDT; frame 5: BTC changed at the same t
    assert "event 3: account" in out and "event 4.1: balance" in out and "event 5: balance" in out
    assert "4 events, 0 rule matches" in out
