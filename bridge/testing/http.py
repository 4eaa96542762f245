"""A small HTTP/1.1 server on loopback for venue REST steps and webhook receivers.

Enough HTTP for tests and demos: keep-alive, Content-Length bodies, routes by method and
path. Every request is recorded so tests can assert on what a client sent (``record=False``
keeps nothing, for benchmarks that send hundreds of thousands).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from bridge.testing.waiting import Changes


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

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


SelfHttpServer = TypeVar("SelfHttpServer", bound="HttpServer")


class HttpServer:
    """Serve ``routes`` on 127.0.0.1; use as ``async with HttpServer() as server``."""

    def __init__(self, *, record: bool = True) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.record = record
        self.changes = Changes()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
        self.port = 0

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self: SelfHttpServer) -> SelfHttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop listening, close every connection, cancel handlers still answering."""
        if self._server is not None:
            self._server.close()
            for writer, task in list(self._connections.items()):
                writer.close()  # keep-alive clients would hold it open
                task.cancel()  # a handler that never answers would outlive the server
            await self._server.wait_closed()

    async def handle(self, request: Request) -> Response:
        """Dispatch to a route (override for catch-all behaviour)."""
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Response(404, {"error": f"no route {request.method} {request.path}"})
        result = handler(request)
        return await result if isinstance(result, Awaitable) else result

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if self.record:
                    self.requests.append(request)
                self.changes.notify()
                response = await self.handle(request)
                payload, headers = response.encode()
                head = [
                    f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}",
                    f"Content-Length: {len(payload)}",
                ]
                head += [f"{k}: {v}" for k, v in headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server closed: this task is the connection's own, nobody awaits it
        finally:
            self._connections.pop(writer, None)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method.upper(), target, headers, body)
