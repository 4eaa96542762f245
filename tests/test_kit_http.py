"""The test kit's HttpServer on loopback: what a client sends is what a test sees."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from bridge.testing.http import HttpServer, Request, Response

pytestmark = pytest.mark.anyio


async def echo(request: Request) -> Response:
    return Response(200, {"got": request.body.decode(), "query": request.query})


async def test_a_chunked_post_is_recorded_with_its_body() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"a": ', b"1, ", b'"b": 2}'):
            yield part

    async with HttpServer() as server, httpx.AsyncClient(base_url=server.url) as client:
        server.route("POST", "/hook", echo)
        answer = await client.post("/hook?x=1", content=chunks())  # no length: chunked
    [request] = server.requests
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers
    assert (request.method, request.target, request.path) == ("POST", "/hook?x=1", "/hook")
    assert request.json() == {"a": 1, "b": 2}
    assert answer.json() == {"got": '{"a": 1, "b": 2}', "query": {"x": ["1"]}}


async def test_a_handler_that_raises_gives_500_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(request: Request) -> Response:
        raise RuntimeError("bug in the test's script")

    async with HttpServer() as server, httpx.AsyncClient(base_url=server.url) as client:
        server.route("GET", "/broken", broken)
        server.route("POST", "/echo", echo)
        failed = await client.get("/broken")
        after = await client.post("/echo", content=b"still here")  # the same connection
        async with httpx.AsyncClient() as other:  # and a new connection
            fresh = await other.post(f"{server.url}/echo", content=b"and here")
    assert failed.status_code == 500
    assert "RuntimeError" in failed.text and "bug in the test's script" in caplog.text
    assert (after.status_code, after.json()["got"]) == (200, "still here")
    assert (fresh.status_code, fresh.json()["got"]) == (200, "and here")
    assert [r.path for r in server.requests] == ["/broken", "/echo", "/echo"]


async def test_closing_cancels_a_handler_that_never_answers() -> None:
    started, cancelled = anyio.Event(), anyio.Event()

    async def hang(request: Request) -> Response:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    async with anyio.create_task_group() as tg, httpx.AsyncClient() as client:
        failures: list[Exception] = []

        async def call(url: str) -> None:
            try:
                await client.get(url)
            except httpx.HTTPError as error:  # the server closed the connection
                failures.append(error)

        with anyio.fail_after(15):
            async with HttpServer() as server:
                server.route("GET", "/hang", hang)
                tg.start_soon(call, f"{server.url}/hang")
                await started.wait()
            await cancelled.wait()
    assert len(failures) == 1


async def test_a_large_body_arrives_whole_and_record_false_keeps_nothing() -> None:
    seen: list[int] = []

    def size(request: Request) -> Response:
        seen.append(len(request.body))
        return Response(204)

    async with (
        HttpServer(record=False) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        server.route("PUT", "/big", size)
        stored = await client.put("/big", content=b"x" * 3_000_000)  # over aiohttp's 1 MiB
        missing = await client.post("/nowhere")
    assert (stored.status_code, seen) == (204, [3_000_000])
    assert (missing.status_code, missing.json()) == (404, {"error": "no route POST /nowhere"})
    assert server.requests == []
