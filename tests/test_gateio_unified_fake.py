"""The Gate Unified fake enforces what the venue documents (a lax fake proves nothing).

A plain WebSocket client talks to the fake; the subscribes come from the real plugin's
``on_open``, so the plugin and the fake are checked against each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import ClientConnection, connect

from bridge.testing.gateio_unified import GateUnifiedFake
from bridge.venue import Session
from plugins.gateio.signing import signed_request
from plugins.gateio_unified import GateUnified

pytestmark = pytest.mark.anyio


def subscribes(
    currencies: list[str] | None = None, *, key: str = "unified-key", secret: str = "unified-secret"
) -> list[dict[str, Any]]:
    options = {
        "api_key": key,
        "api_secret": secret,
        "currencies": currencies or ["!all"],
        "channels": ["unified.assets", "unified.asset_detail"],
        "url": "ws://x",
    }
    return GateUnified("uni", options).on_open("main", Session(url="ws://x"), time.time())


async def ask(ws: ClientConnection, frame: Any) -> dict[str, Any]:
    """Send one frame and return the answer."""
    await ws.send(json.dumps(frame) if not isinstance(frame, str) else frame)
    with anyio.fail_after(5):
        answer: dict[str, Any] = json.loads(await ws.recv())
    return answer


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(5):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


@pytest.fixture
async def fake() -> AsyncIterator[GateUnifiedFake]:
    async with GateUnifiedFake() as server:
        yield server


async def test_signed_subscribes_are_acked_in_the_documented_shape(
    fake: GateUnifiedFake,
) -> None:
    async with connect(fake.url) as ws:
        for frame in subscribes(["BTC"]):
            ack = await ask(ws, frame)
            assert ack["channel"] == frame["channel"] and ack["event"] == "subscribe"
            assert ack["result"] == {"status": "success"} and ack["id"] == frame["id"]
        connection = fake.latest
        assert fake.subscribed("unified.assets") and fake.subscribed("unified.asset_detail")
        assert fake.currencies(connection) == ["BTC"]


@pytest.mark.parametrize(
    ("change", "label"),
    [
        (lambda f: f["auth"].update(KEY="other-key"), "INVALID_KEY"),
        (lambda f: f["auth"].update(SIGN="0" * 128), "INVALID_SIGNATURE"),
        (lambda f: f.update(time=f["time"] - 120), "REQUEST_EXPIRED"),
        (lambda f: f.pop("auth"), "MISSING_REQUIRED_HEADER"),
    ],
)
async def test_bad_credentials_get_code_4_with_a_label(
    fake: GateUnifiedFake, change: Any, label: str
) -> None:
    frame = subscribes()[0]
    change(frame)
    async with connect(fake.url) as ws:
        answer = await ask(ws, frame)
    assert answer["error"]["code"] == 4 and label in answer["error"]["message"]
    assert answer["result"] is None
    assert fake.auth_failures == 1 and not fake.subscriptions.get(fake.connections[0])


async def test_a_wrong_secret_is_rejected(fake: GateUnifiedFake) -> None:
    async with connect(fake.url) as ws:
        answer = await ask(ws, subscribes(secret="not-the-secret")[1])
    assert answer["error"]["code"] == 4 and "INVALID_SIGNATURE" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda f: f.update(channel="unified.orders"), 2),  # not a Unified channel
        (lambda f: f.update(payload=["!all", "BTC"]), 2),  # "!all" mixed with names
        (lambda f: f.update(payload=[]), 2),  # asset_detail needs currencies
        (lambda f: f.update(payload="BTC"), 1),  # not a list
        (lambda f: f.update(event="subscribe-all"), 1),
    ],
)
async def test_malformed_requests_get_the_documented_codes(
    fake: GateUnifiedFake, mutate: Any, code: int
) -> None:
    frame = subscribes()[1]  # unified.asset_detail
    mutate(frame)
    async with connect(fake.url) as ws:
        answer = await ask(ws, frame)
    assert answer["error"]["code"] == code and answer["result"] is None
    assert not fake.subscriptions.get(fake.connections[0])


async def test_not_json_is_an_invalid_struct(fake: GateUnifiedFake) -> None:
    async with connect(fake.url) as ws:
        answer = await ask(ws, "hello")
    assert answer["error"] == {"code": 1, "message": "invalid argument struct"}


async def test_unified_ping_gets_unified_pong(fake: GateUnifiedFake) -> None:
    async with connect(fake.url) as ws:
        pong = await ask(ws, {"time": int(time.time()), "channel": "unified.ping"})
    assert pong["channel"] == "unified.pong" and pong["result"] is None
    assert fake.pings == 1


async def test_pushes_reach_only_subscribers_and_only_watched_currencies(
    fake: GateUnifiedFake,
) -> None:
    async with connect(fake.url) as watcher, connect(fake.url) as bystander:
        for frame in subscribes(["USDT"]):
            await ask(watcher, frame)
        await fake.set_balance("BTC", "1")  # not watched: nothing sent
        await fake.set_balance("USDT", "4000", available="3900", freeze="100")
        await fake.set_account(e="123.45", T="200")
        detail, assets = await next_frame(watcher), await next_frame(watcher)
        assert detail["channel"] == "unified.asset_detail" and detail["event"] == "update"
        assert detail["result"]["dts"] == {
            "USDT": {"a": "3900", "f": "100", "e": "4000", "tl": "0.00", "b": "4000"}
        }
        assert isinstance(detail["result"]["t"], int) and detail["result"]["u"] == fake.user
        assert assets["result"]["e"] == "123.45" and assets["result"]["T"] == "200"
        # the bystander never subscribed: the next thing it hears is its own pong
        pong = await ask(bystander, {"time": int(time.time()), "channel": "unified.ping"})
        assert pong["channel"] == "unified.pong"


async def test_unsubscribe_stops_pushes(fake: GateUnifiedFake) -> None:
    async with connect(fake.url) as ws:
        for frame in subscribes():
            await ask(ws, frame)
        unsubscribe = signed_request(
            "unified-key",
            "unified-secret",
            "unified.asset_detail",
            "unsubscribe",
            ["!all"],
            int(time.time()),
            9,
        )
        ack = await ask(ws, unsubscribe)
        assert ack["event"] == "unsubscribe" and ack["result"] == {"status": "success"}
        await fake.set_balance("USDT", "1")
        await fake.set_account(e="1")
        assert (await next_frame(ws))["channel"] == "unified.assets"  # no asset_detail


async def test_full_details_array_results_and_snapshot_on_subscribe() -> None:
    async with GateUnifiedFake(
        full_details=True, array_results=True, snapshot_on_subscribe=True
    ) as fake:
        fake.details["BTC"] = {"a": "1", "f": "0", "e": "1", "tl": "0", "b": "1"}
        async with connect(fake.url) as ws:
            assets_sub, detail_sub = subscribes()
            await ask(ws, assets_sub)  # no account figures yet: no snapshot
            await ask(ws, detail_sub)
            [snapshot] = (await next_frame(ws))["result"]
            assert list(snapshot["dts"]) == ["BTC"]
            await fake.set_balance("USDT", "5")
            [update] = (await next_frame(ws))["result"]
            assert sorted(update["dts"]) == ["BTC", "USDT"]  # every currency, each time
