"""Loopback HTTP receivers for delivery tests: real sockets on 127.0.0.1, nothing mocked.

``Receiver`` speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for httpx
and for Apprise's ``json://`` notifier (requests). Every request is recorded; with
``secrets`` given, each is verified with the ``standardwebhooks`` library — an
implementation we did not write — once per secret, so rotation is checked for real.
A test scripts the answers with ``respond`` and waits on conditions, never on time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio.abc import SocketStream, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 400: "Bad Request"}


@dataclass
class Request:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    #: per configured secret: did standardwebhooks verify the request with it?
    verified: list[bool] = field(default_factory=list)
    payload: Any = None  # the JSON body when it verified (or any JSON without secrets)
    status: int = 0  # what the receiver answered


@dataclass
class Reply:
    """What to answer."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Responder = Callable[[Request], Awaitable[Reply]]


async def accept(request: Request) -> Reply:
    """The default answer: 204 No Content."""
    return Reply(204)


class Receiver:
    """A local HTTP server that records (and verifies) every request it gets."""

    def __init__(self, secrets: list[str] | None = None, respond: Responder = accept) -> None:
        self.secrets = list(secrets or [])
        self._verifiers = [Webhook(s) for s in self.secrets]
        self.respond = respond
        self.requests: list[Request] = []
        self.port = 0
        self._changed = anyio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Request]:
        """Requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen on 127.0.0.1 (a free port) until cancelled."""
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener:
            task_status.started()
            await listener.serve(self._connection)

    async def wait_until(self, condition: Callable[[Receiver], bool]) -> None:
        """Return once ``condition(self)`` holds (checked after every request)."""
        while not condition(self):
            await self._changed.wait()

    async def _connection(self, stream: SocketStream) -> None:
        reader = BufferedByteReceiveStream(stream)
        async with stream:
            try:
                while True:
                    await self._exchange(reader, stream)
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                return  # the client closed (or was killed): that is its business

    async def _exchange(self, reader: BufferedByteReceiveStream, stream: SocketStream) -> None:
        head = await reader.receive_until(b"\r\n\r\n", 65536)
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.receive_exactly(int(headers.get("content-length", "0")))
        request = Request(method, path, headers, body, time.monotonic())
        self._verify(request)
        self.requests.append(request)
        self._notify()
        reply = await self.respond(request)
        request.status = reply.status
        self._notify()
        await stream.send(_encode(reply))

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _verify(self, request: Request) -> None:
        for verifier in self._verifiers:
            try:
                request.payload = verifier.verify(request.body, request.headers)
                request.verified.append(True)
            except WebhookVerificationError:
                request.verified.append(False)
        if not self._verifiers and request.body:
            request.payload = orjson.loads(request.body)


def _encode(reply: Reply) -> bytes:
    reason = REASONS.get(reply.status, "Status")
    lines = [f"HTTP/1.1 {reply.status} {reason}", f"content-length: {len(reply.body)}"]
    lines += [f"{k}: {v}" for k, v in reply.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


def script(*replies: Reply) -> Responder:
    """Answer with ``replies`` in turn, then keep answering with the last one."""
    queue = list(replies)

    async def respond(request: Request) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond
