"""The BitoPro fake enforces the documented auth and lifecycle (so e2e tests mean something)."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import httpx
import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.frames import Opcode
from websockets.uri import parse_uri

from bridge.testing.bitopro import BitoProFake, balance_entry, order
from plugins.bitopro import BitoPro
from plugins.bitopro.signing import sign

pytestmark = pytest.mark.anyio

README_PAYLOAD = "eyJpZGVudGl0eSI6ImhjbWxpbmpAZ21haWwuY29tIiwibm9uY2UiOjE1NTQzODA5MDkxMzF9"
README_SIGNATURE = (
    "01a85a9083db47c20da7196380598f3feacd3c76a9077aaf"
    "7ffaf08ce0091abf65b61778792607b010921adfe1c2941a"
)
README_NONCE_TIME = 1554380909.131
PATH = "/ws/v1/pub/auth/account-balance"


def readme_fake() -> BitoProFake:
    """A fake holding the README's credentials, its clock at the example's nonce."""
    return BitoProFake("key", "bitopro", "hcmlinj@gmail.com", clock=lambda: README_NONCE_TIME)


def headers(payload: str, signature: str, key: str = "key") -> Headers:
    return Headers(
        {"X-BITOPRO-APIKEY": key, "X-BITOPRO-PAYLOAD": payload, "X-BITOPRO-SIGNATURE": signature}
    )


def signed(
    fake: BitoProFake, body: dict[str, Any], *, urlsafe: bool = False, spaces: bool = False
) -> Headers:
    text = json.dumps(body, separators=(", ", ": ") if spaces else (",", ":")).encode()
    payload = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(text).decode()
    return headers(payload, sign(fake.api_secret, payload))


def test_the_readme_worked_example_is_accepted() -> None:
    fake = readme_fake()
    assert fake.check_handshake(PATH, headers(README_PAYLOAD, README_SIGNATURE)) is None
    assert fake.nonces == [1554380909131]


def test_the_official_python_example_encoding_is_accepted() -> None:
    # example/account_balance_ws.py: URL-safe base64 of json.dumps (with spaces); an
    # identity whose encoding holds "-" or "_" makes the alphabet matter.
    fake = readme_fake()
    fake.identity = "a~~>?@example.com"
    body = {"identity": fake.identity, "nonce": 1554380909131}
    urlsafe = signed(fake, body, urlsafe=True, spaces=True)
    assert {"-", "_"} & set(urlsafe["X-BITOPRO-PAYLOAD"])
    assert fake.check_handshake(PATH, urlsafe) is None
    assert fake.check_handshake(PATH, signed(fake, {**body, "nonce": 1554380909132})) is None


@pytest.mark.parametrize(
    "change",
    [
        {"X-BITOPRO-SIGNATURE": README_SIGNATURE.upper()},
        {"X-BITOPRO-SIGNATURE": README_SIGNATURE[:-2] + "00"},
        {"X-BITOPRO-SIGNATURE": None},
        {"X-BITOPRO-APIKEY": "another-key"},
        {"X-BITOPRO-APIKEY": None},
        # the same JSON encoded differently no longer matches the signature sent with it
        {"X-BITOPRO-PAYLOAD": README_PAYLOAD + "="},
        {"X-BITOPRO-PAYLOAD": None},
    ],
)
def test_bad_credentials_are_refused_with_401(change: dict[str, str | None]) -> None:
    fake = readme_fake()
    values = {k: v for k, v in headers(README_PAYLOAD, README_SIGNATURE).raw_items()}
    for name, value in change.items():
        del values[name]
        if value is not None:
            values[name] = value
    status, _ = fake.check_handshake(PATH, Headers(values)) or (0, "")
    assert status == 401 and fake.auth_failures == 1 and fake.nonces == []


@pytest.mark.parametrize(
    "body",
    [
        {"identity": "someone-else@gmail.com", "nonce": 1554380909131},
        {"nonce": 1554380909131},
        {"identity": "hcmlinj@gmail.com", "nonce": "1554380909131"},
        {"identity": "hcmlinj@gmail.com"},
        ["hcmlinj@gmail.com", 1554380909131],
    ],
)
def test_a_well_signed_payload_with_the_wrong_content_is_refused_with_401(body: Any) -> None:
    fake = readme_fake()
    status, _ = fake.check_handshake(PATH, signed(fake, body)) or (0, "")
    assert status == 401


def test_stale_and_replayed_nonces_are_refused_with_409() -> None:
    fake = readme_fake()
    body = {"identity": "hcmlinj@gmail.com", "nonce": 1554380909131}
    assert fake.check_handshake(PATH, signed(fake, body)) is None
    assert fake.check_handshake(PATH, signed(fake, body)) == (409, "nonce already used")
    for nonce in (1554380909131 - 61_000, 1554380909131 + 61_000):
        refusal = fake.check_handshake(PATH, signed(fake, {**body, "nonce": nonce}))
        assert refusal == (409, "nonce outside the time window")
    assert fake.auth_failures == 0  # a clock problem, not a credentials problem


@pytest.mark.parametrize(
    "path",
    ["/ws/v1/pub/auth/trades", "/v1/pub/auth/orders", "/ws/v1/pub/orders", "/ws/v1/pub/auth/"],
)
def test_unknown_paths_are_refused_with_404(path: str) -> None:
    fake = readme_fake()
    assert fake.check_handshake(path, headers(README_PAYLOAD, README_SIGNATURE)) == (
        404,
        "no such stream",
    )


def plugin(fake: BitoProFake) -> BitoPro:
    options = {
        "api_key": fake.api_key,
        "api_secret": fake.api_secret,
        "identity": fake.identity,
        "streams": ["account-balance", "orders", "user-trades"],
        "url": f"{fake.url}/ws",
        "idle_timeout": None,
    }
    return BitoPro("bito", options)


async def test_every_connect_re_pushes_balances_and_open_orders() -> None:
    async with BitoProFake() as fake, httpx.AsyncClient() as http:
        fake.balances["USDT"] = balance_entry("USDT", "6000")
        fake.orders["o1"] = order("o1")
        bito = plugin(fake)
        for _ in range(2):  # a second connect gets the same snapshots again
            for stream, event in (
                ("account-balance", "ACCOUNT_BALANCE"),
                ("orders", "ACTIVE_ORDERS"),
            ):
                session = await bito.open(stream, http)
                async with websockets.connect(
                    session.url, additional_headers=session.headers
                ) as ws:
                    with anyio.fail_after(5):
                        frame = json.loads(await ws.recv())
                    assert frame["event"] == event and frame["timestamp"] > 0
                    assert set(frame) == {"event", "eventID", "timestamp", "datetime", "data"}
                    if stream == "orders":
                        assert frame["data"] == {"btc_usdt": [fake.orders["o1"]]}
                    else:
                        assert frame["data"] == {"USDT": fake.balances["USDT"]}
        assert len(set(fake.nonces)) == 4 and fake.received == []


async def test_a_refused_upgrade_is_http_401_for_the_client() -> None:
    async with BitoProFake() as fake, httpx.AsyncClient() as http:
        session = await plugin(fake).open("orders", http)
        fake.api_secret = "rotated"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(session.url, additional_headers=session.headers):
                pass
        assert refused.value.response.status_code == 401
        assert fake.rejected == ["invalid signature"]


async def test_the_server_pings_and_a_client_that_pongs_stays_connected() -> None:
    async with BitoProFake() as fake, httpx.AsyncClient() as http:
        fake.ping_interval, fake.pong_timeout = 0.02, 1.0
        session = await plugin(fake).open("user-trades", http)
        async with websockets.connect(session.url, additional_headers=session.headers):
            await fake.changes.wait_for(lambda: fake.pongs >= 3, 5)
            assert len(fake.open_connections) == 1


async def test_a_client_that_does_not_pong_is_closed_with_1011() -> None:
    async with BitoProFake() as fake, httpx.AsyncClient() as http:
        fake.ping_interval, fake.pong_timeout = 0.02, 0.1
        session = await plugin(fake).open("user-trades", http)
        # a sans-I/O client whose outgoing bytes (the automatic pongs) are never sent
        protocol = ClientProtocol(parse_uri(session.url))
        request = protocol.connect()
        for name, value in session.headers.items():
            request.headers[name] = value
        protocol.send_request(request)
        with anyio.fail_after(5):
            async with await anyio.connect_tcp("127.0.0.1", fake.port) as tcp:
                await tcp.send(b"".join(protocol.data_to_send()))
                opcodes: list[Opcode] = []
                while protocol.close_rcvd is None:
                    protocol.receive_data(await tcp.receive())
                    opcodes += [
                        f.opcode for f in protocol.events_received() if hasattr(f, "opcode")
                    ]
        assert Opcode.PING in opcodes and fake.pongs == 0
        assert (protocol.close_rcvd.code, protocol.close_rcvd.reason) == (1011, "pong timeout")
