"""A loopback HTTP server so slow that a send to it never ends by itself: the stuck notifier.

It reads each request, then answers one byte every ``interval`` seconds. Each byte comes
well within Apprise's socket timeouts (4 s between bytes), so the client waits on; after
``limit`` bytes (60 s by default) the server hangs up, so nothing in a test runs forever.
Only the first ``stuck`` requests are treated so; later ones get 200 at once.
"""

from __future__ import annotations

import math

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from bridge.testing.waiting import Changes

ANSWER = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"." * 200  # never complete within ``limit``
QUICK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Trickle:
    """Accepts on 127.0.0.1 (a free port); ``requests`` counts the requests read so far."""

    def __init__(self, stuck: float = math.inf, interval: float = 0.5, limit: int = 120) -> None:
        self.stuck, self.interval, self.limit = stuck, interval, limit
        self.port = 0
        self.requests = 0
        self.changes = Changes()
        self._released = anyio.Event()

    def release(self) -> None:
        """Hang up on every stuck request now (their sends end with a connection error)."""
        self._released.set()

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled."""
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
            self.port = listener.extra(SocketAttribute.local_port)
            task_status.started()
            await listener.serve(self._answer)

    async def _answer(self, stream: SocketStream) -> None:
        async with stream:
            received = b""
            with anyio.move_on_after(30):
                while b"\r\n\r\n" not in received:
                    received += await stream.receive()
                head, _, body = received.partition(b"\r\n\r\n")
                length = _content_length(head)
                while len(body) < length:  # all of it: unread bytes would reset the answer
                    body += await stream.receive()
            self.requests += 1
            stuck = self.requests <= self.stuck
            self.changes.notify()
            try:
                if not stuck:
                    await stream.send(QUICK)
                    return
                for byte in ANSWER[: self.limit]:
                    await stream.send(bytes([byte]))
                    with anyio.move_on_after(self.interval):  # the fault itself: this slow
                        await self._released.wait()
                    if self._released.is_set():
                        return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the client went away (gave up, or its process ended)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0
