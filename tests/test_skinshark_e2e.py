"""SkinShark end to end: the fake venue -> ``alert-bridge run`` -> verified deliveries.

The rules are rules.example.toml's own "deposit failed" and "venue auth failed".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bridge.testing.skinshark import (
    SkinSharkFake,
    crypto_deposit_completed,
    gateway_deposit_failed,
    trade,
)
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import EXE, ServiceProcess, example_rule, run_service

pytestmark = pytest.mark.anyio
KEY = "sk_live_e2e_4f9a"

CONFIG = (
    BRIDGE
    + """
[venues.shark-alice]
plugin = "skinshark"
api_key = "{key}"
sub_user = "alice"
token_in = "{token_in}"
url = "{ws_url}"
rest_url = "{rest_url}"

[notifiers.desk]
urls = ["json://127.0.0.1:{sink}/apprise"]

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

{rules}
"""
)


class World(VenueWorld[SkinSharkFake]):
    """The hook is "ops", the sink is "desk"."""

    def assert_no_secrets_in(self, service: ServiceProcess) -> None:
        assert KEY not in service.log
        for token in self.fake.tickets:
            assert token not in service.log


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with SkinSharkFake(KEY) as fake, World.start(fake, tmp_path) as world:
        yield world


def configure(world: World, *, token_in: str = "subprotocol") -> Path:
    return world.write_config(
        CONFIG,
        key=KEY,
        token_in=token_in,
        ws_url=world.fake.ws_url,
        rest_url=world.fake.rest_url,
        rules=example_rule("deposit failed") + "\n" + example_rule("venue auth failed"),
    )


def crypto_deposit_failed(deposit_id: str) -> dict[str, Any]:
    data = crypto_deposit_completed(deposit_id)
    return {k: data[k] for k in ("depositId", "chain", "token", "txHash", "confirmations")} | {
        "reason": "transaction reverted"
    }


async def test_deposit_failed_rule_fires_for_both_deposit_shapes(world: World) -> None:
    fake = world.fake
    async with run_service(configure(world)) as service:
        await fake.wait_for_sessions(1)
        await fake.send("deposit.failed", gateway_deposit_failed("fund_1", "expired"))
        await fake.send("deposit.completed", crypto_deposit_completed("dep_ok"))  # no match
        await fake.send("trade.completed", trade("completed"))  # no match
        await fake.send("deposit.failed", gateway_deposit_failed("fund_2", "partial", "underpaid"))
        await fake.send("deposit.failed", crypto_deposit_failed("dep_2"))
        await world.received(hook=3)
        await world.received(sink=3)
        await service.wait_for_log("shark-alice: connected")
        world.assert_no_secrets_in(service)
    # deliveries run concurrently: compare in id order
    deposits = sorted(world.payloads("deposit"), key=lambda d: d["deposit_id"])
    assert [(d["deposit_id"], d["status"], d["rule"]) for d in deposits] == [
        ("dep_2", "failed", "deposit failed"),
        ("fund_1", "expired", "deposit failed"),
        ("fund_2", "failed", "deposit failed"),
    ]
    assert deposits[2]["reason"] == "partial payment: underpaid"
    assert (deposits[0]["asset"], deposits[0]["chain"]) == ("USDT", "ethereum")
    assert sorted(m["title"] for m in world.messages()) == [
        "shark-alice: deposit dep_2 failed",
        "shark-alice: deposit fund_1 expired",
        "shark-alice: deposit fund_2 failed",
    ]
    assert {m["type"] for m in world.messages()} == {"failure"}
    assert fake.received == []  # read-only: the client never sent a frame
    assert (fake.minted, fake.token_via, fake.closes) == (1, ["subprotocol"], [])


async def test_query_token_mode(world: World) -> None:
    async with run_service(configure(world, token_in="query")) as service:
        await world.fake.wait_for_sessions(1)
        await world.fake.send("deposit.failed", gateway_deposit_failed("fund_q"))
        await world.received(hook=1)
        world.assert_no_secrets_in(service)  # the URL carries the token: never logged
    assert world.fake.token_via == ["query"]
    assert [d["deposit_id"] for d in world.payloads("deposit")] == ["fund_q"]


async def test_drops_reuse_the_ticket_4001_mints_anew_and_repeats_do_not_alert(
    world: World,
) -> None:
    fake = world.fake
    async with run_service(configure(world)) as service:
        await fake.wait_for_sessions(1)
        await fake.send("deposit.failed", gateway_deposit_failed("fund_1"))
        await world.received(hook=1)
        await fake.drop(1011, "server restart")
        await fake.wait_for_sessions(2)
        assert fake.minted == 1  # the same ticket opened the second socket
        await fake.send("deposit.failed", gateway_deposit_failed("fund_1"))  # a repeat
        await fake.send("deposit.failed", gateway_deposit_failed("fund_2"))
        await world.received(hook=2)
        await fake.drop(4001, "Invalid token")
        await fake.wait_for_sessions(3)
        assert fake.minted == 2  # 4001: a fresh ticket
        await fake.send("deposit.failed", gateway_deposit_failed("fund_3"))
        await world.received(hook=3)
        await service.wait_for_log("connection closed (code 4001")
        world.assert_no_secrets_in(service)
    assert [d["deposit_id"] for d in world.payloads("deposit")] == ["fund_1", "fund_2", "fund_3"]


async def test_expired_and_expiring_tickets_are_replaced(world: World) -> None:
    fake = world.fake
    fake.echo_subprotocol = False  # [ambiguous] the venue may not echo it: still works
    async with run_service(configure(world)) as service:
        await fake.wait_for_sessions(1)
        fake.expire_tokens()  # an hour passes at the venue, unknown to the client
        await fake.drop(1011, "server restart")
        await fake.wait_for_sessions(2)  # the reused ticket got 4001, then a fresh one
        assert (fake.minted, fake.closes) == (2, [(4001, "Invalid token")])
        await fake.send("deposit.failed", gateway_deposit_failed("fund_x"))
        await world.received(hook=1)
        await service.wait_for_log("Invalid token")
        fake.expires_in = "30s"  # below the reuse margin: the client will not reuse it
        await fake.drop(4001, "Invalid token")
        await fake.wait_for_sessions(3)
        await fake.drop(1011, "server restart")
        await fake.wait_for_sessions(4)
        assert (fake.minted, len(fake.closes)) == (4, 1)  # minted, not refused


async def test_revoked_key_alerts_once_and_recovers_when_restored(world: World) -> None:
    fake = world.fake
    fake.revoked.add(KEY)
    async with run_service(configure(world)) as service:
        await world.received(sink=1)
        await service.wait_for_log("authentication failed", count=3)  # it keeps trying
        fake.revoked.discard(KEY)
        await fake.wait_for_sessions(1)
        await fake.send("deposit.failed", gateway_deposit_failed("fund_after"))
        await world.received(hook=1)
        world.assert_no_secrets_in(service)
    [auth, deposit] = world.messages()
    assert auth["title"] == "shark-alice: authentication failed"  # once: the rule's cooldown
    assert "API_KEY_REVOKED" in auth["message"] and auth["type"] == "failure"
    assert deposit["title"] == "shark-alice: deposit fund_after expired"


async def test_malformed_pushes_are_counted_and_the_socket_survives(world: World) -> None:
    fake = world.fake
    async with run_service(configure(world)) as service:
        connection = await fake.wait_for_sessions(1)
        await fake.push("not json", connection)
        await fake.send("deposit.failed", {"status": "expired"})  # no id
        await fake.send("market.update", {})  # not this socket's
        bad_time = {"event": "deposit.failed", "data": gateway_deposit_failed("fund_ok"), "ts": "x"}
        await fake.push(bad_time, connection)  # an odd push time: the receive time stands in
        await fake.send(
            "deposit.failed", {**gateway_deposit_failed("fund_odd"), "reason": {"a": 1}}
        )  # an odd optional field: left out, the alert still goes
        await world.received(hook=2)
        await service.wait_for_log("malformed frame", count=5)
        assert len(fake.connections) == 1  # never reconnected
    assert sorted((d["deposit_id"], d["reason"]) for d in world.payloads("deposit")) == [
        ("fund_odd", None),
        ("fund_ok", "payment window elapsed"),
    ]
    assert "fundingId/depositId: missing" in service.log
    assert "unsupported 'market.update'" in service.log
    assert "ts: expected a number, got 'x' (left out, event kept)" in service.log


async def test_plugins_command_lists_skinshark_capabilities() -> None:
    process = await anyio.run_process([EXE, "plugins", "--json"])
    listing = json.loads(process.stdout)
    [shark] = [v for p in listing["plugins"] for v in p["venues"] if v["name"] == "skinshark"]
    assert shark["kinds"] == ["deposit", "order", "fill", "notice"]
    assert set(shark["options"]) == {
        "api_key",
        "sub_user",
        "token_in",
        "url",
        "idle_timeout",
        "rest_url",
        "order_state_max",
        "order_state_max_age",
    }
