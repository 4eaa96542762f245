"""A websockets client connection that parses a big network read over several loop turns.

websockets parses every byte of a network read in one synchronous callback. asyncio reads
up to 256 KiB at a time, which from a venue flooding small frames is ten thousand frames:
about 150 ms in which no other venue, delivery or HTTP request gets the event loop. This
connection hands websockets at most :data:`FEED_SLICE` seconds' worth of such a read per
loop turn and keeps the rest, and stops reading the socket until the rest is parsed, so
what waits stays bounded (one read) and the venue simply pushes against TCP's window.

Small reads (up to :data:`FEED_CHUNK` bytes, nearly all of them) pass straight through.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from websockets.asyncio.client import ClientConnection

FEED_SLICE = 0.002  # seconds of parsing per event-loop turn, at most (about)
# Bytes handed to websockets at a time, between clock checks. Each hand-over has a fixed
# cost, so the size adapts: doubled while a chunk parses in under a tenth of the slice
# (large frames), cut at once to a quarter slice's worth when one takes longer (thousands
# of tiny frames). The cap bounds what a switch from large to tiny frames costs: 32 KiB
# of the smallest frames parse in about 20 ms.
FEED_CHUNK = 4096
MIN_CHUNK, MAX_CHUNK = 256, 32 * 1024


class FairConnection(ClientConnection):
    """A :class:`ClientConnection` that shares the event loop when it is flooded."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._unparsed: deque[bytes] = deque()  # read, not yet handed to websockets
        self._offset = 0  # into the first of _unparsed
        self._scheduled = False  # a _parse_some call is due on the next loop turn
        self._queue_full = False  # websockets' own flow control (too many messages unread)
        self._chunk = FEED_CHUNK
        # websockets pauses the socket while its queue of messages is full and resumes it
        # when the queue drains; with a read still unparsed here it must stay paused.
        assembler = self.recv_messages
        assembler.pause = self._messages_full
        assembler.resume = self._messages_drained

    def data_received(self, data: bytes) -> None:
        if not self._unparsed and len(data) <= FEED_CHUNK:
            super().data_received(data)  # the usual read: small, and nothing waiting
            return
        self._unparsed.append(data)
        if not self._scheduled:  # else this read waits behind the earlier one
            self._parse_some()

    def eof_received(self) -> None:
        self._parse_all()  # what came before the end, first
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._parse_all()  # the frames before a close (the close frame among them) count
        super().connection_lost(exc)

    def _parse_some(self) -> None:
        """Parse for one slice; what remains waits for the next loop turn."""
        self._scheduled = False
        monotonic, chunk = time.monotonic, self._chunk
        started = monotonic()
        while self._unparsed:
            before = monotonic()
            super().data_received(self._take(chunk))
            now = monotonic()
            took = now - before
            if took < FEED_SLICE / 10:
                chunk = min(chunk * 2, MAX_CHUNK)
            elif took > FEED_SLICE / 4:
                chunk = max(int(chunk * FEED_SLICE / 4 / took), MIN_CHUNK)
            if self._unparsed and now - started >= FEED_SLICE:
                self._scheduled = True
                self.loop.call_soon(self._parse_some)
                break
        self._chunk = chunk
        self._steer()

    def _parse_all(self) -> None:
        while self._unparsed:
            super().data_received(self._take(None))
        self._steer()

    def _take(self, limit: int | None) -> bytes:
        first, start = self._unparsed[0], self._offset
        end = len(first) if limit is None else start + limit
        if end >= len(first):
            self._unparsed.popleft()
            self._offset = 0
            return first[start:] if start else first
        self._offset = end
        return first[start:end]

    def _messages_full(self) -> None:
        self._queue_full = True
        self._steer()

    def _messages_drained(self) -> None:
        self._queue_full = False
        self._steer()

    def _steer(self) -> None:
        """Read the socket only when websockets has room and nothing waits to be parsed."""
        transport = self.transport
        if transport.is_closing():
            return
        if self._queue_full or self._unparsed:
            transport.pause_reading()
        else:
            transport.resume_reading()
