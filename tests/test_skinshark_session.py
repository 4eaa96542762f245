"""SkinShark's ws-token step and ticket reuse, against the fake's real REST server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.skinshark import SkinSharkFake
from bridge.venue import AuthFailed, Session, VenueUnavailable
from plugins.skinshark import SkinShark
from plugins.skinshark.ticket import DEFAULT_LIFETIME, lifetime, with_token_query

pytestmark = pytest.mark.anyio
KEY = "sk_live_fake"


@pytest.fixture
async def fake() -> AsyncIterator[SkinSharkFake]:
    async with SkinSharkFake(KEY, sub_users={"alice": "uuid-alice", "ext-7": "uuid-7"}) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def venue(rest_url: str, **options: Any) -> SkinShark:
    settings = {
        "api_key": KEY,
        "sub_user": "alice",
        "token_in": "subprotocol",
        "url": "ws://127.0.0.1:9/ws",
        "rest_url": rest_url,
        **options,
    }
    return SkinShark("shark-alice", settings)


async def test_mints_a_ticket_for_the_sub_user_and_offers_it_as_a_subprotocol(
    fake: SkinSharkFake, http: httpx.AsyncClient
) -> None:
    shark = venue(fake.rest_url)
    shark.clock = lambda: 1000.0
    session = await shark.open("main", http)
    [request] = fake.rest.requests
    assert (request.method, request.path) == ("POST", "/auth/ws-token")
    assert request.headers["api-key"] == KEY and "x-api-key" not in request.headers
    assert request.headers["on-behalf-of"] == "alice"
    [token] = fake.tickets
    assert fake.tickets[token].user_id == "uuid-alice" and fake.minted == 1
    assert session.subprotocols == [f"bearer.{token}"]
    assert session.url == "ws://127.0.0.1:9/ws"  # the token stays out of the URL
    assert session.secrets == [token]
    assert session.data == {"expires_at": 1000.0 + 3600}


async def test_query_mode_puts_the_token_in_the_url(
    fake: SkinSharkFake, http: httpx.AsyncClient
) -> None:
    shark = venue(fake.rest_url, token_in="query", url="ws://h/ws?x=1&token=stale")
    session = await shark.open("main", http)
    [token] = fake.tickets
    assert session.url == f"ws://h/ws?x=1&token={token}"
    assert session.subprotocols == [] and session.secrets == [token]


async def test_an_external_id_sub_user_works_too(
    fake: SkinSharkFake, http: httpx.AsyncClient
) -> None:
    await venue(fake.rest_url, sub_user="ext-7").open("main", http)
    assert [t.user_id for t in fake.tickets.values()] == ["uuid-7"]


async def test_rest_url_with_a_trailing_slash(fake: SkinSharkFake, http: httpx.AsyncClient) -> None:
    await venue(fake.rest_url + "/").open("main", http)
    assert fake.rest.requests[0].path == "/auth/ws-token"


@pytest.mark.parametrize(
    ("setup", "error", "label"),
    [
        (lambda f: f.revoked.add(KEY), AuthFailed, "API_KEY_REVOKED"),
        (lambda f: setattr(f, "api_key", "sk_live_other"), AuthFailed, "INVALID_API_KEY"),
        (lambda f: setattr(f, "ip_denied", True), AuthFailed, "(code 1305)"),
        (lambda f: setattr(f, "outage", 503), VenueUnavailable, "HTTP 503 SERVICE_UNAVAILABLE"),
        (lambda f: setattr(f, "outage", 429), VenueUnavailable, "HTTP 429"),
        (lambda f: setattr(f, "sub_users", {}), VenueUnavailable, "USER_NOT_FOUND"),
    ],
)
async def test_refusals_map_to_auth_failed_or_unavailable(
    fake: SkinSharkFake, http: httpx.AsyncClient, setup: Any, error: type, label: str
) -> None:
    setup(fake)
    with pytest.raises(error) as caught:
        await venue(fake.rest_url).open("main", http)
    assert label in str(caught.value) and KEY not in str(caught.value)
    assert fake.minted == 0


async def test_the_fake_refuses_x_api_key(fake: SkinSharkFake, http: httpx.AsyncClient) -> None:
    answer = await http.post(
        f"{fake.rest_url}/auth/ws-token", headers={"X-API-Key": KEY, "On-Behalf-Of": "alice"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["key"] == "MISSING_API_KEY" and fake.minted == 0


async def test_the_fake_wants_on_behalf_of(fake: SkinSharkFake, http: httpx.AsyncClient) -> None:
    answer = await http.post(f"{fake.rest_url}/auth/ws-token", headers={"api-key": KEY})
    assert answer.status_code == 400 and fake.minted == 0


async def scripted(response: Response) -> tuple[HttpServer, str]:
    server = HttpServer()
    server.route("POST", "/auth/ws-token", lambda request: response)
    await server.__aenter__()
    return server, server.url


@pytest.mark.parametrize(
    ("response", "error", "label"),
    [
        (Response(401, b"<html>nope</html>"), AuthFailed, "HTTP 401"),
        (Response(502, b"<html>bad gateway</html>"), VenueUnavailable, "not a JSON envelope"),
        (Response(200, {"success": True, "data": {}}), VenueUnavailable, "no data.token"),
        (Response(200, {"success": True, "data": {"token": ""}}), VenueUnavailable, "empty"),
        (Response(200, {"success": False}), VenueUnavailable, "HTTP 200"),
        (
            Response(401, {"success": False, "error": {"code": 7, "key": "UNAUTHORIZED"}}),
            AuthFailed,
            "UNAUTHORIZED (code 7)",
        ),
        (
            # a venue message that echoes the key must not carry it into our logs
            Response(403, {"success": False, "error": {"key": "X", "message": f"bad {KEY}!"}}),
            VenueUnavailable,
            "bad [api_key]!",
        ),
    ],
)
async def test_odd_answers(
    http: httpx.AsyncClient, response: Response, error: type, label: str
) -> None:
    server, url = await scripted(response)
    try:
        with pytest.raises(error) as caught:
            await venue(url).open("main", http)
    finally:
        await server.__aexit__()
    assert label in str(caught.value) and KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1h", 3600.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("3600", 3600.0),
        (900, 900.0),
        (" 2H ", 7200.0),
        ("soon", DEFAULT_LIFETIME),
        ("1h soon", DEFAULT_LIFETIME),
        (None, DEFAULT_LIFETIME),
        (True, DEFAULT_LIFETIME),
        (-5, DEFAULT_LIFETIME),
    ],
)
def test_expires_in(value: Any, seconds: float) -> None:
    assert lifetime(value) == seconds


def test_with_token_query_keeps_other_parameters() -> None:
    assert with_token_query("wss://a/ws", "t.1") == "wss://a/ws?token=t.1"
    assert with_token_query("wss://a/ws?scope=all", "x y") == "wss://a/ws?scope=all&token=x+y"


@pytest.mark.parametrize(
    ("close_code", "now", "reuse"),
    [
        (1011, 1000.0, True),  # an ordinary drop: the ticket still works
        (1006, 1000.0, True),
        (None, 1000.0, True),  # network failure or idle watchdog
        (4001, 1000.0, False),  # missing/invalid/expired token: mint a new one
        (4002, 1000.0, False),  # the venue's guide says mint afresh after 4002 too
        (1011, 4600.0 - 61, True),
        (1011, 4600.0 - 60, False),  # about to expire: the connect could outlive it
        (1011, 5000.0, False),  # expired
    ],
)
def test_reuse_session(close_code: int | None, now: float, reuse: bool) -> None:
    shark = venue("http://x")
    shark.clock = lambda: now
    session = Session(url="ws://x", data={"expires_at": 4600.0})
    assert shark.reuse_session("main", session, close_code) is reuse


def test_no_reuse_without_a_known_expiry() -> None:
    assert venue("http://x").reuse_session("main", Session(url="ws://x"), 1011) is False


async def test_every_open_mints_a_new_ticket(fake: SkinSharkFake, http: httpx.AsyncClient) -> None:
    shark = venue(fake.rest_url)
    first = await shark.open("main", http)
    second = await shark.open("main", http)
    assert fake.minted == 2 and first.secrets != second.secrets  # every mint is a new ticket
    assert all(isinstance(r, Request) for r in fake.rest.requests)
