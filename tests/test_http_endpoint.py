"""The HTTP endpoint on a real socket: a running service scraped with httpx, junk by hand."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from bridge import http_endpoint
from bridge.config import parse_config
from bridge.http_endpoint import MAX_HEAD, NOT_FOUND, parse_address, serve_http
from bridge.metrics import Histograms
from bridge.plugins import plugin_host
from bridge.runtime.service import Running, Service
from bridge.runtime.supervisor import StreamStatus
from bridge.testing.gate import GateSpotFake, usertrade
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET
from tests.test_metrics import parse_exposition

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""
reconnect_delay = "20ms"
reconnect_max_delay = "100ms"
auth_retry_delay = "0s"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""

DOWN_VENUE = """
[venues.gate-down]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "ws://127.0.0.1:{port}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)
"""


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@dataclass
class Scraped:
    service: Service
    running: Running
    fake: GateSpotFake
    hook: Receiver
    base: str  # http://127.0.0.1:PORT

    def status(self, venue: str) -> StreamStatus:
        [supervisor] = [s for s in self.running.supervisors if s.venue.name == venue]
        return supervisor.status


async def until(status: StreamStatus, condition: Callable[[StreamStatus], bool]) -> None:
    """Wait (10 s at most) until the supervisor's status satisfies ``condition``."""
    with anyio.fail_after(10):
        while not condition(status):
            await status.changed.wait()


@asynccontextmanager
async def scraped_service(tmp_path: Path, extra: str = "") -> AsyncIterator[Scraped]:
    """A fake venue, a webhook receiver, the service, and its HTTP endpoint on port 0."""
    async with GateSpotFake() as fake, anyio.create_task_group() as tg:
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)
        text = CONFIG.format(
            state=tmp_path / "state", url=fake.url, hook=hook.url, webhook_secret=WEBHOOK_SECRET
        )
        config = parse_config(text + extra, environ={}, venue_plugins=plugin_host().venues)
        service = Service(config)
        histograms = Histograms()
        service.on_attempt = histograms.observe_attempt
        running = await tg.start(service.run)
        port = await tg.start(serve_http, "127.0.0.1:0", lambda: service.running, histograms)
        yield Scraped(service, running, fake, hook, f"http://127.0.0.1:{port}")
        service.stop()
        await service.stopped()
        tg.cancel_scope.cancel()


async def test_a_running_service_is_scraped(tmp_path: Path, refused_port: int) -> None:
    async with scraped_service(tmp_path, DOWN_VENUE.format(port=refused_port)) as world:
        await until(world.status("gate-main"), lambda s: s.connected)
        await until(world.status("gate-down"), lambda s: s.reconnects >= 1)
        await world.fake.push("this is not json")
        await world.fake.update("spot.usertrades", [usertrade(1, amount="1")])
        with anyio.fail_after(10):
            await world.running.deliverer.wait_until(lambda s: s.delivered >= 1)
        async with httpx.AsyncClient(base_url=world.base) as client:
            metrics = await client.get("/metrics")
            ready = await client.get("/readyz")
            health = await client.get("/healthz")
        reconnects = world.status("gate-down").reconnects

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    scraped = parse_exposition(metrics.text)
    assert scraped.value("alert_bridge_events_total", venue="gate-main", kind="fill") == 1
    assert scraped.value("alert_bridge_events_total", venue="gate-main", kind="connection") >= 1
    assert scraped.value("alert_bridge_matches_total", rule="every fill") == 1
    assert (
        scraped.value("alert_bridge_deliveries_total", destination="ops", outcome="delivered") == 1
    )
    assert scraped.value("alert_bridge_outbox_depth") == 0
    assert scraped.value("alert_bridge_dead_letters") == 0
    assert scraped.value("alert_bridge_venue_connected", venue="gate-main") == 1
    assert scraped.value("alert_bridge_venue_connected", venue="gate-down") == 0
    assert scraped.value("alert_bridge_frame_errors_total", venue="gate-main") == 1
    assert scraped.value("alert_bridge_frame_errors_total", venue="gate-down") == 0
    assert 1 <= scraped.value("alert_bridge_reconnects_total", venue="gate-down") <= reconnects
    assert scraped.value("alert_bridge_reconnects_total", venue="gate-main") == 0
    for histogram in ("delivery_seconds", "event_to_delivery_seconds"):
        assert scraped.value(f"alert_bridge_{histogram}_count", destination="ops") == 1

    assert (ready.status_code, ready.text) == (503, "gate-down\n")
    assert (health.status_code, health.text) == (200, "ok\n")


async def test_ready_once_every_venue_is_connected(tmp_path: Path) -> None:
    async with scraped_service(tmp_path) as world:
        status = world.status("gate-main")
        await until(status, lambda s: s.connected)
        async with httpx.AsyncClient(base_url=world.base) as client:
            ready = await client.get("/readyz")
            world.fake.api_secret = "revoked"  # every reconnect now fails authentication
            await world.fake.drop(1011, "restart")
            await until(status, lambda s: not s.connected and world.fake.auth_failures >= 1)
            down = await client.get("/readyz")
            world.fake.api_secret = "gate-secret"
            await until(status, lambda s: s.connected)
            again = await client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert (down.status_code, down.text) == (503, "gate-main\n")
    assert (again.status_code, again.text) == (200, "ready\n")


# -- without a service: routes, methods, junk ----------------------------------------


@asynccontextmanager
async def endpoint(provider: Callable[[], Running | None] = lambda: None) -> AsyncIterator[str]:
    """Just the endpoint, on 127.0.0.1:0; yields its base URL."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_http, "127.0.0.1:0", provider, Histograms())
        yield f"http://127.0.0.1:{port}"
        tg.cancel_scope.cancel()


async def test_routes_methods_and_a_service_not_yet_running() -> None:
    async with endpoint() as base, httpx.AsyncClient(base_url=base) as client:
        health = await client.get("/healthz?verbose=1")
        head = await client.head("/healthz")
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
        missing = await client.get("/nope")
        post = await client.post("/metrics", content=b"x" * 100_000)
    assert (health.status_code, health.text) == (200, "ok\n")
    assert health.headers["content-type"] == "text/plain; charset=utf-8"
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "3")
    assert (ready.status_code, ready.text) == (503, "starting\n")
    assert (metrics.status_code, metrics.text) == (503, "starting\n")
    assert (missing.status_code, missing.text) == (404, NOT_FOUND)
    assert (post.status_code, post.text) == (405, "only GET and HEAD\n")
    assert post.headers["allow"] == "GET, HEAD"


async def test_a_failing_provider_gives_500_and_the_endpoint_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> Running | None:
        raise RuntimeError("store closed")

    async with endpoint(broken) as base, httpx.AsyncClient(base_url=base) as client:
        metrics = await client.get("/metrics")
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert (metrics.status_code, ready.status_code, health.status_code) == (500, 500, 200)
    assert "RuntimeError: store closed" in caplog.text


async def raw(base: str, payload: bytes, *, eof: bool = False) -> bytes:
    """Send ``payload`` on a plain TCP connection; everything the server answered.

    Read until the server closes the connection: after an error, an HTTP/1.0 request or
    ``Connection: close``; or, with ``eof``, once this side has sent its end of stream
    (a client gone: the server answers nothing it had not answered yet).
    """
    host, port = parse_address(base.removeprefix("http://"))
    async with await anyio.connect_tcp(host, port) as stream:
        await stream.send(payload)
        if eof:
            await stream.send_eof()
        received = b""
        with anyio.fail_after(5):
            while True:
                try:
                    received += await stream.receive()
                except anyio.EndOfStream:
                    return received


def _junk() -> list[bytes]:
    rng = random.Random(6)  # fixed: the same junk every run
    noise = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(30)]
    return noise + [n + b"\r\n\r\n" for n in noise]


GOOD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    ("payload", "status", "eof"),
    [
        (b"\x00\xff\xfe garbage\r\n\r\n", b"400", False),
        (b"GET\r\n\r\n", b"400", False),
        (b"GET /healthz\r\n\r\n", b"200", False),  # HTTP/0.9's request line: answered
        (b"GET healthz HTTP/1.1\r\n\r\n", b"400", False),
        (b"GET /healthz SPDY/3\r\n\r\n", b"400", False),
        (b"GET  /healthz HTTP/1.1\r\n\r\n", b"400", False),
        (b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"400", False),  # no such method
        (b"PUT /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"405", False),
        (b"GET /healthz HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", b"400", False),
        # HTTP/1.1 requires Host (RFC 9112 3.2); HTTP/1.0 does not know it
        (b"GET /healthz HTTP/1.1\r\n\r\n", b"400", False),
        (b"GET /healthz HTTP/1.0\r\n\r\n", b"200", False),
        # lines ending in a bare LF: refused at once, not after a wait for CRLF
        (b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n", b"400", False),
        # absolute-form, as sent to a proxy (RFC 9112 3.2.2: a server must accept it)
        (GOOD.replace(b" /healthz", b" http://127.0.0.1/healthz"), b"200", False),
        # junk after a request in the same segment: the parser refuses the lot
        (b"GET /healthz HTTP/1.0\r\n\r\ntrailing junk", b"400", False),
        (b"GET /healthz HTTP/1.1\r\n", b"", True),  # the head never ends: nothing to say
        (b"", b"", True),
    ],
)
async def test_malformed_requests_get_an_error_not_a_crash(
    payload: bytes, status: bytes, eof: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async with endpoint() as base:
        answer = await raw(base, payload, eof=eof)
        still = await raw(base, GOOD)
    assert answer.split(b" ", 2)[1:2] == ([status] if status else [])
    assert still.startswith(b"HTTP/1.1 200 OK\r\n") and still.endswith(b"\r\n\r\nok\n")
    # a client's mistake is not the service's error: no error (or traceback) in its log
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_random_junk_never_takes_the_endpoint_down() -> None:
    async with endpoint() as base:
        answers = [await raw(base, payload) for payload in _junk()]
        idle = await anyio.connect_tcp("127.0.0.1", int(base.rsplit(":", 1)[1]))
        async with idle, httpx.AsyncClient(base_url=base) as client:
            health = await client.get("/healthz")  # served while another client idles
    assert all(a.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 ")) for a in answers), answers
    assert health.status_code == 200


async def test_a_client_that_never_completes_a_request_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_endpoint, "KEEPALIVE_TIMEOUT", 0.2)  # 30 s in service
    async with endpoint() as base, AsyncExitStack() as stack:
        host, port = parse_address(base.removeprefix("http://"))
        half = await stack.enter_async_context(await anyio.connect_tcp(host, port))
        await half.send(b"GET /hea")
        kept = await stack.enter_async_context(await anyio.connect_tcp(host, port))
        await kept.send(GOOD.replace(b"Connection: close", b"Connection: keep-alive"))
        answer = b""
        with anyio.fail_after(10):
            while not answer.endswith(b"ok\n"):
                answer += await kept.receive()
            for stream in (half, kept):  # both closed by the server, neither answered again
                with pytest.raises(anyio.EndOfStream):
                    await stream.receive()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"ok\n")


async def test_a_keep_alive_connection_serves_request_after_request() -> None:
    async with endpoint() as base:
        requests = GOOD.replace(b"Connection: close", b"Connection: keep-alive") * 2 + GOOD
        answers = await raw(base, requests)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 3 and answers.endswith(b"ok\n")


async def test_idle_half_open_connections_leave_the_probes_answered() -> None:
    """500 clients each send half a request line and stay: /healthz answers within 1 s."""
    async with endpoint() as base, AsyncExitStack() as stack:
        host, port = parse_address(base.removeprefix("http://"))
        idle: list[SocketStream] = []
        for _ in range(500):
            stream = await stack.enter_async_context(await anyio.connect_tcp(host, port))
            await stream.send(b"GET /hea")
            idle.append(stream)
        async with httpx.AsyncClient(base_url=base) as client:
            started = time.monotonic()
            with anyio.fail_after(1):  # loopback, nothing else to do: a bound, not a speed
                health = await client.get("/healthz")
            took = time.monotonic() - started
        # every idle client was held, not dropped: each gets its answer once it finishes
        answered = 0
        with anyio.fail_after(30):
            for stream in idle:
                await stream.send(GOOD.removeprefix(b"GET /hea"))
                received = b""
                while not received.endswith(b"ok\n"):
                    received += await stream.receive()
                answered += received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert (health.status_code, health.text) == (200, "ok\n"), took
    assert answered == 500


async def test_stopping_closes_idle_and_keep_alive_connections() -> None:
    async with AsyncExitStack() as stack:
        with anyio.fail_after(10):  # the endpoint's cleanup does not wait for its clients
            async with endpoint() as base:
                host, port = parse_address(base.removeprefix("http://"))
                half = await stack.enter_async_context(await anyio.connect_tcp(host, port))
                await half.send(b"GET /hea")
                kept = await stack.enter_async_context(await anyio.connect_tcp(host, port))
                await kept.send(GOOD.replace(b"Connection: close", b"Connection: keep-alive"))
                with anyio.fail_after(5):
                    assert (await kept.receive()).startswith(b"HTTP/1.1 200 OK\r\n")
        for stream in (half, kept):  # closed by the server: the clients see the end
            with anyio.fail_after(5), pytest.raises(anyio.EndOfStream):
                while True:
                    await stream.receive()


def test_addresses_are_parsed() -> None:
    assert parse_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("9108", ":9108", "host:", "host:http", "host:70000"):
        with pytest.raises(ValueError, match="host:port"):
            parse_address(bad)
