"""A small HTTP/1.1 server on loopback for venue REST steps and webhook receivers.

aiohttp's low-level server does the HTTP (keep-alive, ``Content-Length`` and chunked
bodies, a real parser); this adds routes by method and path and records every request so
tests can assert on what a client sent (``record=False`` keeps nothing, for benchmarks that
send hundreds of thousands). A handler that raises answers 500 and is logged; the server
keeps serving, that connection too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio
from aiohttp import web

from bridge.testing.waiting import Changes

log = logging.getLogger("alert_bridge.testing.http")

# At close, how long aiohttp may take to finish with connections whose handlers were
# cancelled (they end at once; this only bounds a client that does not read).
SHUTDOWN_TIMEOUT = 1.0


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode()
        else:
            payload = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return payload, headers


Handler = Callable[[Request], Response | Awaitable[Response]]

SelfHttpServer = TypeVar("SelfHttpServer", bound="HttpServer")


class HttpServer:
    """Serve ``routes`` on 127.0.0.1; use as ``async with HttpServer() as server``."""

    def __init__(self, *, record: bool = True) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.record = record
        self.changes = Changes()
        self._runner: web.ServerRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port = 0

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self: SelfHttpServer) -> SelfHttpServer:
        server = web.Server(self._serve, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop listening, close every connection, cancel handlers still answering."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for task in list(self._handlers):
            task.cancel()  # a handler that never answers would outlive the server
        with anyio.CancelScope(shield=True):  # closing inside a cancelled scope too
            # in a task of its own: aiohttp's shutdown asks whether the task running it
            # is being cancelled, and a server closed by cancellation is
            await asyncio.ensure_future(runner.cleanup())

    async def handle(self, request: Request) -> Response:
        """Dispatch to a route (override for catch-all behaviour)."""
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Response(404, {"error": f"no route {request.method} {request.path}"})
        result = handler(request)
        return await result if isinstance(result, Awaitable) else result

    async def _serve(self, incoming: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            # content.read(), not read(): no 1 MiB limit on what a test may send
            body = await incoming.content.read()
            headers = {name.lower(): value for name, value in incoming.headers.items()}
            request = Request(incoming.method, incoming.raw_path, headers, body)
            if self.record:
                self.requests.append(request)
            self.changes.notify()
            try:
                response = await self.handle(request)
            except Exception as error:  # a test's broken handler: say so, keep serving
                log.exception("%s %s: the handler failed", request.method, request.target)
                return web.Response(status=500, text=f"handler failed: {error!r}\n")
            payload, headers = response.encode()
            return web.Response(status=response.status, body=payload, headers=headers)
        finally:
            self._handlers.discard(task)
