"""Loopback HTTP receivers for delivery tests: real sockets on 127.0.0.1, nothing mocked.

``Receiver`` is the test kit's ``HttpServer`` answering on every path (httpx and Apprise's
``json://`` notifier post to it). Every request is recorded; with ``secrets`` given, each
is verified with the ``standardwebhooks`` library — an implementation we did not write —
once per secret, so rotation is checked for real. A test scripts the answers with
``respond`` and waits on conditions, never on time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio.abc import TaskStatus
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bridge.testing import http


@dataclass
class Request(http.Request):
    """One request as the receiver saw it."""

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


class Receiver(http.HttpServer):
    """A local HTTP server that records (and verifies) every request it gets."""

    def __init__(self, secrets: list[str] | None = None, respond: Responder = accept) -> None:
        super().__init__(record=False)  # it keeps its own, richer records
        self.secrets = list(secrets or [])
        self._verifiers = [Webhook(s) for s in self.secrets]
        self.respond = respond
        self.requests: list[Request] = []  # type: ignore[assignment]
        self._failure: Exception | None = None
        self._failed = anyio.Event()

    @property
    def url(self) -> str:
        return f"{super().url}/hook"

    @property
    def accepted(self) -> list[Request]:
        """Requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen on 127.0.0.1 (a free port) until cancelled, then close every connection."""
        async with self:
            task_status.started()
            await self._failed.wait()
        raise AssertionError("the receiver could not answer a request") from self._failure

    async def wait_until(self, condition: Callable[[Receiver], bool]) -> None:
        """Return once ``condition(self)`` holds (checked after every request)."""
        await self.changes.wait_for(lambda: condition(self), timeout=math.inf)

    async def handle(self, request: http.Request) -> http.Response:
        mine = Request(
            request.method, request.target, request.headers, request.body, time.monotonic()
        )
        try:
            self._verify(mine)
            self.requests.append(mine)
            self.changes.notify()
            reply = await self.respond(mine)
        except Exception as error:
            # A broken script must fail the test that runs it (``serve`` raises), not pass
            # for an outage of the receiver.
            self._failure = error
            self._failed.set()
            return http.Response(500)
        mine.status = reply.status
        self.changes.notify()
        return http.Response(reply.status, reply.body, reply.headers)

    def _verify(self, request: Request) -> None:
        for verifier in self._verifiers:
            try:
                request.payload = verifier.verify(request.body, request.headers)
                request.verified.append(True)
            except WebhookVerificationError:
                request.verified.append(False)
        if not self._verifiers and request.body:
            request.payload = orjson.loads(request.body)


def script(*replies: Reply) -> Responder:
    """Answer with ``replies`` in turn, then keep answering with the last one."""
    queue = list(replies)

    async def respond(request: Request) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond
