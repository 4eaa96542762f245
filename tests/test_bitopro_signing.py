"""BitoPro header signing, sessions and config: the README worked example and fresh nonces."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from bridge.plugin_list import describe
from bridge.plugins import plugin_host
from bridge.schema import Problems
from plugins.bitopro import BitoPro
from plugins.bitopro.signing import auth_headers, payload, sign

pytestmark = pytest.mark.anyio

README_PAYLOAD = "eyJpZGVudGl0eSI6ImhjbWxpbmpAZ21haWwuY29tIiwibm9uY2UiOjE1NTQzODA5MDkxMzF9"
README_SIGNATURE = (
    "01a85a9083db47c20da7196380598f3feacd3c76a9077aaf"
    "7ffaf08ce0091abf65b61778792607b010921adfe1c2941a"
)


def venue(**options: Any) -> BitoPro:
    table = {"api_key": "key", "api_secret": "secret", "identity": "me@example.com", **options}
    problems = Problems()
    config = BitoPro.config_schema().validate(table, "venues.bito", problems)
    assert not problems, problems.items
    return BitoPro("bito", config)


def test_payload_and_signature_match_the_readme_worked_example() -> None:
    text = payload("hcmlinj@gmail.com", 1554380909131)
    assert text == README_PAYLOAD
    assert sign("bitopro", text) == README_SIGNATURE


def test_headers_carry_key_payload_and_signature_of_the_payload_text() -> None:
    headers = auth_headers("my-key", "bitopro", "hcmlinj@gmail.com", 1554380909131)
    assert headers == {
        "X-BITOPRO-APIKEY": "my-key",
        "X-BITOPRO-PAYLOAD": README_PAYLOAD,
        "X-BITOPRO-SIGNATURE": README_SIGNATURE,
    }


def test_config_defaults_and_keys() -> None:
    bito = venue()
    assert bito.config["streams"] == ["account-balance", "orders", "user-trades"]
    assert bito.config["url"] == "wss://stream.bitopro.com:443/ws"
    assert bito.config["idle_timeout"] is None  # quiet accounts are normal: pings decide
    assert bito.streams() == ("account-balance", "orders", "user-trades")
    assert BitoPro.config_schema().secret_keys() == ["api_key", "api_secret"]
    problems = Problems()
    BitoPro.config_schema().validate(
        {"api_key": "k", "api_secret": "s", "streams": ["trades"]}, "venues.bito", problems
    )
    assert sorted(p.path for p in problems.items) == [
        "venues.bito.identity",
        "venues.bito.streams",
    ]


def test_capabilities_are_listed_by_the_plugins_command() -> None:
    [plugin] = [p for p in describe(plugin_host()) if p["name"] == "bitopro"]
    [listed] = plugin["venues"]
    assert listed["name"] == "bitopro" and listed["kinds"] == ["order", "fill", "balance"]
    assert {"api_key", "api_secret", "identity", "streams", "url"} <= set(listed["options"])


async def test_every_open_signs_a_fresh_strictly_increasing_nonce() -> None:
    bito = venue(url="ws://127.0.0.1:1/ws/", streams=["orders", "user-trades", "orders"])
    assert bito.streams() == ("orders", "user-trades")
    before = int(time.time() * 1000)
    async with httpx.AsyncClient() as http:
        sessions = [await bito.open(stream, http) for stream in ("orders", "user-trades") * 3]
    assert sessions[0].url == "ws://127.0.0.1:1/ws/v1/pub/auth/orders"
    assert sessions[1].url == "ws://127.0.0.1:1/ws/v1/pub/auth/user-trades"
    nonces = []
    for session in sessions:
        text = session.headers["X-BITOPRO-PAYLOAD"]
        body = json.loads(base64.b64decode(text))
        assert body["identity"] == "me@example.com"
        assert session.headers["X-BITOPRO-SIGNATURE"] == sign("secret", text)
        assert session.headers["X-BITOPRO-APIKEY"] == "key"
        # what must never be logged: the key, the signature, the payload (it holds the e-mail)
        assert set(session.secrets) == {"key", text, session.headers["X-BITOPRO-SIGNATURE"]}
        nonces.append(body["nonce"])
    assert nonces == sorted(set(nonces)) and nonces[0] >= before
    assert nonces[-1] - time.time() * 1000 < 1000  # milliseconds now, not some counter


def test_the_production_url_of_a_stream() -> None:
    assert venue().stream_url("account-balance") == (
        "wss://stream.bitopro.com:443/ws/v1/pub/auth/account-balance"
    )
