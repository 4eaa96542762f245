"""The Bitmusa plugin's REST steps against the loopback fake, and the fake's own rules.

Real sockets on 127.0.0.1: the plugin's ``open``/duty/``close`` talk HTTP to the fake's
listenKey endpoints, and websockets clients connect to its user stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bridge.testing.bitmusa import PATH, BitmusaFake, envelope
from bridge.testing.http import Response
from bridge.venue import AuthFailed, Session, VenueUnavailable
from plugins.bitmusa import Bitmusa
from plugins.bitmusa.keepalive import VALID_UNTIL
from plugins.bitmusa.rest import Transient

pytestmark = pytest.mark.anyio

API_KEY, AUTH_KEY = "musa-api-key", "musa-auth-key"


@pytest.fixture
async def fake() -> AsyncIterator[BitmusaFake]:
    async with BitmusaFake(API_KEY, AUTH_KEY) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def venue(
    fake: BitmusaFake,
    *,
    url: str | None = None,
    keepalive: float = 1800.0,
    auth_key: str = AUTH_KEY,
    rest_url: str | None = None,
) -> Bitmusa:
    return Bitmusa(
        "musa",
        {
            "api_key": API_KEY,
            "auth_key": auth_key,
            "keepalive": keepalive,
            "url": url or fake.url,
            "rest_url": rest_url or fake.rest_url,
            "idle_timeout": None,
        },
    )


# ---------------------------------------------------------------------- open


async def test_open_posts_with_both_headers_extends_the_key_and_points_at_it(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa = venue(fake)
    session = await musa.open("main", http)
    assert [r.method for r in fake.requests()] == ["POST", "PUT"]
    for request in fake.requests():
        assert request.path == PATH
        assert request.headers["authorization"] == f"Bearer {AUTH_KEY}"
        assert request.headers["x-api-key"] == API_KEY
    [key] = fake.issued
    assert session.url == f"{fake.url}/ws/spot/{key}"
    assert session.secrets == [key]  # the listenKey is never logged
    assert session.data[VALID_UNTIL] > musa.clock() + 3500
    async with websockets.connect(session.url) as ws:
        await fake.push({"stream": "spot_wallet", "data": {}, "eventTime": 1})
        assert "spot_wallet" in str(await ws.recv())


async def test_a_second_post_returns_the_active_key(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa = venue(fake)
    first = await musa.open("main", http)
    musa.on_open("main", first, 0)
    second = await musa.open("main", http)
    assert first.url == second.url and len(fake.issued) == 1
    assert [r.method for r in fake.requests()] == ["POST", "PUT", "POST", "PUT"]


async def test_a_url_with_a_path_is_used_as_given(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    session = await venue(fake, url=f"{fake.url}/ws/spot/wallet/").open("main", http)
    assert session.url == f"{fake.url}/ws/spot/wallet/{fake.active_key}"


async def test_a_socket_that_never_opened_switches_to_the_other_documented_path(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    fake.rate_limits = ((100, 1.0),)  # ten requests in a row: not what this test is about
    musa = venue(fake)
    paths = []
    for _ in range(3):  # no on_open in between: each attempt failed before the socket opened
        paths.append((await musa.open("main", http)).url.rsplit("/", 1)[0])
    assert paths == [f"{fake.url}/ws/spot", f"{fake.url}/ws/spot/wallet", f"{fake.url}/ws/spot"]
    session = await musa.open("main", http)
    musa.on_open("main", session, 0)  # this one opened: keep its path
    assert (await musa.open("main", http)).url == session.url


# ---------------------------------------------------------------------- error envelopes


@pytest.mark.parametrize("status", [200, 400])  # undocumented: which HTTP status errors use
@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1001, AuthFailed),
        (1002, AuthFailed),
        (1003, AuthFailed),
        (1005, AuthFailed),
        (999, Transient),
        (1011, Transient),
        (1014, VenueUnavailable),
        (3022, VenueUnavailable),
    ],
)
async def test_error_envelopes_map_to_clear_errors(
    fake: BitmusaFake, http: httpx.AsyncClient, status: int, code: int, error: type[Exception]
) -> None:
    fake.script("POST", Response(status, envelope(code, f"no good for {API_KEY} {AUTH_KEY}")))
    with pytest.raises(error) as raised:
        await venue(fake).open("main", http)
    assert type(raised.value) is error  # 1014 is not taken for a passing failure
    message = str(raised.value)
    assert message.startswith(f"POST userDataStream: code {code}: no good for")
    assert API_KEY not in message and AUTH_KEY not in message


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (Response(502, "<html>bad gateway</html>"), Transient, "HTTP 502"),
        (Response(429, ""), Transient, "HTTP 429"),
        (Response(401, "denied"), AuthFailed, "HTTP 401"),
        (Response(404, "nope"), VenueUnavailable, "HTTP 404"),
        (Response(200, "not json"), VenueUnavailable, "without a JSON envelope"),
        (Response(200, {"code": 0, "message": "success"}), VenueUnavailable, "no listenKey"),
        (Response(200, {"code": "0", "data": {"listenKey": ""}}), VenueUnavailable, "no listenKey"),
    ],
)
async def test_replies_without_a_usable_envelope(
    fake: BitmusaFake,
    http: httpx.AsyncClient,
    reply: Response,
    error: type[Exception],
    message: str,
) -> None:
    fake.script("POST", reply)
    with pytest.raises(error, match=message):
        await venue(fake).open("main", http)


async def test_code_as_text_is_read(fake: BitmusaFake, http: httpx.AsyncClient) -> None:
    fake.script("POST", Response(200, {"code": "0", "data": {"listenKey": "abc"}}))
    fake.script("PUT", Response(200, {"code": "0", "message": "success"}))
    assert (await venue(fake).open("main", http)).url.endswith("/ws/spot/abc")


async def test_the_fake_rejects_wrong_or_missing_credentials(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    with pytest.raises(AuthFailed, match="code 1001: API KEY NOT FOUND"):
        await venue(fake, auth_key="stale").open("main", http)
    for headers, code in (({}, 1003), ({"x-api-key": API_KEY}, 1003)):
        reply = await http.post(fake.rest_url + PATH, headers=headers)
        assert reply.json()["code"] == code
    fake.ip_allowed = False
    with pytest.raises(AuthFailed, match="code 1002"):
        await venue(fake).open("main", http)
    fake.ip_allowed, fake.privileged = True, False
    with pytest.raises(AuthFailed, match="code 1005"):
        await venue(fake).open("main", http)
    assert fake.issued == []


async def test_the_fake_rate_limits_at_8_requests_a_second(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa = venue(fake)
    for _ in range(4):
        await musa.open("main", http)  # POST + PUT each: 8 requests
    with pytest.raises(Transient, match="code 1011"):
        await musa.api.keep_alive(http)


async def test_an_unreachable_venue_is_a_passing_failure_without_the_url(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    with pytest.raises(Transient) as raised:
        await venue(fake, rest_url=f"http://127.0.0.1:{port}").open("main", http)
    assert str(raised.value) == "POST userDataStream: ConnectError"


# ---------------------------------------------------------------------- keep-alive


async def opened(
    fake: BitmusaFake, http: httpx.AsyncClient, **options: Any
) -> tuple[Bitmusa, Session]:
    musa = venue(fake, **options)
    session = await musa.open("main", http)
    musa.on_open("main", session, 0)
    return musa, session


async def test_the_keepalive_duty_puts_on_schedule(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http, keepalive=600.0)
    [duty] = musa.duties("main")
    assert (duty.name, duty.interval) == ("keepalive", 600.0)
    session.data[VALID_UNTIL] = 0
    await duty.run(session, http)
    assert fake.keep_alives == 2 and session.data[VALID_UNTIL] > musa.clock() + 3500


async def test_a_passing_keepalive_failure_is_retried_on_the_same_socket(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http, keepalive=0.05)  # retries every 10 ms
    fake.script("PUT", Response(200, envelope(999)), Response(503, "busy"))
    [duty] = musa.duties("main")
    with anyio.fail_after(5):
        await duty.run(session, http)
    assert [r.method for r in fake.requests()] == ["POST", "PUT", "PUT", "PUT", "PUT"]
    assert fake.keep_alives == 2  # the one in open, and the retry that got through


async def test_keepalive_gives_up_once_the_key_cannot_be_alive(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http, keepalive=0.05)
    session.data[VALID_UNTIL] = musa.clock() + 0.5  # the key expires in 500 ms
    fake.rate_limits = ()  # retries every 10 ms: more than the venue would allow
    fake.script("PUT", *[Response(200, envelope(999))] * 200)
    [duty] = musa.duties("main")
    with anyio.fail_after(5), pytest.raises(VenueUnavailable) as raised:
        await duty.run(session, http)
    assert not isinstance(raised.value, Transient)  # it ends the connection
    assert "keep-alive failed until the listenKey expired: " in str(raised.value)
    assert "code 999: INTERNAL SERVER ERROR" in str(raised.value)
    # retried while the key could live (every 10 ms for 500 ms), then gave up
    assert 2 <= len(fake.requests("PUT")) - 1 <= 60


async def test_keepalive_on_a_lapsed_key_ends_the_connection_at_once(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http, keepalive=0.05)
    fake.expire()
    [duty] = musa.duties("main")
    with pytest.raises(VenueUnavailable, match="code 3022: EMPTY LISTEN KEY") as raised:
        await duty.run(session, http)
    assert not isinstance(raised.value, Transient)
    assert len(fake.requests("PUT")) == 2  # no retry: the key is gone


async def test_keepalive_with_revoked_credentials_is_an_auth_failure(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http)
    fake.auth_key = "rotated"
    [duty] = musa.duties("main")
    with pytest.raises(AuthFailed, match="PUT userDataStream: code 1001"):
        await duty.run(session, http)


# ---------------------------------------------------------------------- the stream's lifecycle


async def test_close_deletes_the_key_and_the_venue_closes_its_socket(
    fake: BitmusaFake, http: httpx.AsyncClient
) -> None:
    musa, session = await opened(fake, http)
    key = fake.active_key
    async with websockets.connect(session.url) as ws:
        await musa.close("main", session, http)
        with anyio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.reason == "listenKey deleted"
    assert fake.requests()[-1].method == "DELETE"
    assert fake.deleted == [key] and fake.active_key is None
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(session.url)
    assert refused.value.response.status_code == 400
    with pytest.raises(VenueUnavailable, match="code 3022"):
        await musa.close("main", session, http)  # nothing left to delete


async def test_an_expired_key_closes_its_socket_and_the_next_post_issues_a_new_one(
    http: httpx.AsyncClient,
) -> None:
    async with BitmusaFake(API_KEY, AUTH_KEY, key_lifetime=0.2) as fake:
        musa, session = await opened(fake, http)  # no keep-alive runs here
        async with websockets.connect(session.url) as ws:
            with anyio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "listenKey expired"
        fresh = await musa.open("main", http)
        assert fresh.url != session.url and fake.expired == fake.issued[:1]
        assert len(fake.issued) == 2


@pytest.mark.parametrize("route", ["/ws/spot/", "/ws/spot/wallet/"])
async def test_both_stream_paths_are_served(
    fake: BitmusaFake, http: httpx.AsyncClient, route: str
) -> None:
    await venue(fake).open("main", http)
    async with websockets.connect(f"{fake.url}{route}{fake.active_key}"):
        await fake.wait_for_connections(1)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ws/spot/nokey", 400), ("/ws/spot/public", 400), ("/ws/other/KEY", 404), ("/ws/spot/", 404)],
)
async def test_the_upgrade_is_refused_for_unknown_keys_and_paths(
    fake: BitmusaFake, http: httpx.AsyncClient, path: str, status: int
) -> None:
    await venue(fake).open("main", http)
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(f"{fake.url}{path.replace('KEY', str(fake.active_key))}")
    assert refused.value.response.status_code == status


async def test_a_fake_serving_only_the_sdk_path_refuses_the_documented_one(
    http: httpx.AsyncClient,
) -> None:
    async with BitmusaFake(API_KEY, AUTH_KEY, paths=["wallet"]) as fake:
        session = await venue(fake).open("main", http)
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(session.url)
        assert refused.value.response.status_code == 404


async def test_connections_are_cut_at_their_lifetime_and_the_key_survives(
    http: httpx.AsyncClient,
) -> None:
    async with BitmusaFake(API_KEY, AUTH_KEY, connection_lifetime=0.1) as fake:
        _, session = await opened(fake, http)
        async with websockets.connect(session.url) as ws:
            with anyio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.reason == "connection lifetime exceeded"
        assert fake.active_key == fake.issued[0]  # still valid: reconnect with it
        async with websockets.connect(session.url):
            await fake.wait_for_connections(2)
            await fake.cut()
            assert fake.open_connections == []
