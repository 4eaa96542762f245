"""The SkinShark fake enforces the documented handshake, token and read-only rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from bridge.testing.skinshark import SkinSharkFake

pytestmark = pytest.mark.anyio
KEY = "sk_live_fake"


@pytest.fixture
async def fake() -> AsyncIterator[SkinSharkFake]:
    async with SkinSharkFake(KEY) as fake:
        yield fake


async def mint(fake: SkinSharkFake, sub_user: str = "alice") -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fake.rest_url}/auth/ws-token", headers={"api-key": KEY, "On-Behalf-Of": sub_user}
        )
    body = answer.json()
    assert body["success"] is True and body["data"]["expiresIn"] == "1h"
    assert isinstance(body["requestId"], str)
    token: str = body["data"]["token"]
    return token


async def first_frame(ws: ClientConnection) -> dict[str, object]:
    with anyio.fail_after(5):
        frame: dict[str, object] = json.loads(await ws.recv())
    return frame


async def close_of(ws: ClientConnection) -> tuple[int | None, str]:
    with anyio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    received = closed.value.rcvd
    return (received.code, received.reason) if received else (None, "")


async def test_subprotocol_token_is_echoed_and_connected_comes_first(fake: SkinSharkFake) -> None:
    token = await mint(fake)
    async with websockets.connect(fake.ws_url, subprotocols=[Subprotocol(f"bearer.{token}")]) as ws:
        assert ws.subprotocol == f"bearer.{token}"
        frame = await first_frame(ws)
        assert frame["event"] == "connected"
        assert frame["data"] == {"userId": fake.user_id("alice")}
        assert isinstance(frame["ts"], int)
        await fake.send("system.notice", {"severity": "info", "message": "hi"})
        assert (await first_frame(ws))["event"] == "system.notice"
    assert fake.token_via == ["subprotocol"]


async def test_without_the_echo_the_client_still_connects(fake: SkinSharkFake) -> None:
    fake.echo_subprotocol = False  # [ambiguous] whether the real server echoes
    token = await mint(fake)
    async with websockets.connect(fake.ws_url, subprotocols=[Subprotocol(f"bearer.{token}")]) as ws:
        assert ws.subprotocol is None
        assert (await first_frame(ws))["event"] == "connected"


async def test_query_token(fake: SkinSharkFake) -> None:
    token = await mint(fake)
    async with websockets.connect(f"{fake.ws_url}?token={token}") as ws:
        assert (await first_frame(ws))["event"] == "connected"
    assert fake.token_via == ["query"]


async def test_missing_token_closes_4001(fake: SkinSharkFake) -> None:
    async with websockets.connect(fake.ws_url) as ws:
        assert await close_of(ws) == (4001, "Missing token")


@pytest.mark.parametrize("expire", [False, True])
async def test_invalid_or_expired_token_closes_4001(fake: SkinSharkFake, expire: bool) -> None:
    token = await mint(fake) if expire else "forged"
    fake.expire_tokens()
    async with websockets.connect(f"{fake.ws_url}?token={token}") as ws:
        assert await close_of(ws) == (4001, "Invalid token")
    assert fake.accepted == []


async def test_any_client_frame_closes_4002_but_pings_are_fine(fake: SkinSharkFake) -> None:
    token = await mint(fake)
    async with websockets.connect(f"{fake.ws_url}?token={token}") as ws:
        await first_frame(ws)
        with anyio.fail_after(5):
            await (await ws.ping())  # a protocol ping is answered, the socket stays up
        await ws.send(json.dumps({"op": "subscribe"}))
        assert await close_of(ws) == (4002, "Read-only")
    assert fake.received == [{"op": "subscribe"}]


async def test_only_the_ws_path_upgrades(fake: SkinSharkFake) -> None:
    token = await mint(fake)
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{fake.url}/market/live?token={token}"):
            pass
    assert refused.value.response.status_code == 404


async def test_pushes_go_to_the_right_sub_user(fake: SkinSharkFake) -> None:
    alice, bob = await mint(fake, "alice"), await mint(fake, "bob")
    async with (
        websockets.connect(f"{fake.ws_url}?token={alice}") as ws_alice,
        websockets.connect(f"{fake.ws_url}?token={bob}") as ws_bob,
    ):
        await first_frame(ws_alice)
        await first_frame(ws_bob)
        await fake.wait_for_sessions(2)
        await fake.send("system.notice", {"severity": "info", "message": "a"}, sub_user="alice")
        await fake.send("system.notice", {"severity": "info", "message": "b"}, sub_user="bob")
        assert (await first_frame(ws_alice))["data"] == {"severity": "info", "message": "a"}
        assert (await first_frame(ws_bob))["data"] == {"severity": "info", "message": "b"}
    assert fake.minted == 2
