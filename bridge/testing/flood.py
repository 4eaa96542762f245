"""A frame flood from a fake venue: many frames a second, at little cost to the sender.

Sending each frame through websockets costs the fake more than parsing it costs the
client, so a flood written that way would measure the fake. Here the frames are encoded
once, as unmasked server-to-client text frames, and each batch is written straight to the
connection's transport (whole frames, so it interleaves safely with what websockets
itself sends on the connection).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import anyio
from websockets.asyncio.server import ServerConnection

MAX_UNSENT = 4 * 2**20  # a client reading slower than the flood is offered less, not buffered


def text_frames(payloads: Iterable[bytes]) -> bytes:
    """The wire encoding of server-to-client text frames carrying ``payloads``."""
    encoded = bytearray()
    for payload in payloads:
        size = len(payload)
        if size < 126:
            encoded += bytes((0x81, size))
        elif size < 2**16:
            encoded += bytes((0x81, 126)) + size.to_bytes(2, "big")
        else:
            encoded += bytes((0x81, 127)) + size.to_bytes(8, "big")
        encoded += payload
    return bytes(encoded)


def not_json(count: int) -> list[bytes]:
    """``count`` distinct payloads that are not JSON."""
    return [b"{not json, frame %06d" % i for i in range(count)]


class Flood:
    """Writes ``rate`` frames a second to one connection, in batches ``every`` seconds.

    ``sent`` counts the frames written so far: when the client falls behind by more than
    :data:`MAX_UNSENT` bytes, batches are skipped (and not counted) rather than queued.
    """

    def __init__(
        self,
        connection: ServerConnection,
        rate: int,
        *,
        payloads: list[bytes] | None = None,
        every: float = 0.005,
    ) -> None:
        self.connection = connection
        self.per_batch = max(1, round(rate * every))
        self.every = every
        self.batch = text_frames(payloads or not_json(self.per_batch))
        self.per_batch = len(payloads) if payloads else self.per_batch
        self.sent = 0

    async def run(self, *, limit: int | None = None, seconds: float | None = None) -> None:
        """Flood until cancelled, ``limit`` frames were sent, or ``seconds`` have passed."""
        transport = self.connection.transport
        started = time.perf_counter()
        batches = 0
        while limit is None or self.sent + self.per_batch <= limit:
            now = time.perf_counter()
            if seconds is not None and now - started >= seconds:
                return
            due = started + batches * self.every
            await anyio.sleep(max(0.0, due - now))  # sleep(0) still lets others run
            batches += 1
            if transport.is_closing():
                return
            if transport.get_write_buffer_size() > MAX_UNSENT:
                continue
            transport.write(self.batch)
            self.sent += self.per_batch
