"""A fake venue: a WebSocket server on 127.0.0.1 that tests drive.

Subclasses implement a venue's protocol (handshake checks, acks, pongs, close codes) by
overriding the ``on_*`` hooks; tests push frames, drop connections, go silent and read
what the client sent. Use it as ``async with MyFake() as fake: ...``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from bridge.testing.waiting import Changes

SelfFakeVenueServer = TypeVar("SelfFakeVenueServer", bound="FakeVenueServer")


class FakeVenueServer:
    """Base class of loopback fake venues."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []  # every accepted connection, in order
        self.received: list[Any] = []  # decoded frames clients sent (text that is not JSON kept)
        self._received_on: list[ServerConnection] = []  # the connection of each received frame
        self.rejected: list[str] = []  # handshakes refused, with the reason
        self.silenced: set[ServerConnection] = set()  # hung: they answer nothing
        self.changes = Changes()
        self._server: Server | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self: SelfFakeVenueServer) -> SelfFakeVenueServer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=None,
            compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The ws:// base URL to put in a venue's ``url``."""
        return f"ws://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ hooks

    def check_handshake(self, path: str, headers: Headers) -> tuple[int, str] | None:
        """Return (HTTP status, reason) to refuse the upgrade, or None to accept."""
        return None

    def choose_subprotocol(self, offered: Sequence[str]) -> str | None:
        """The subprotocol to echo back (None: none)."""
        return None

    async def on_connect(self, connection: ServerConnection) -> None:
        """Called once a connection is open (e.g. to send a greeting frame)."""

    async def on_frame(self, connection: ServerConnection, frame: Any) -> None:
        """Called for each frame the client sends (decoded JSON, or the raw text)."""

    # ------------------------------------------------------------------ controls

    @property
    def open_connections(self) -> list[ServerConnection]:
        return [c for c in self.connections if c.state.name == "OPEN"]

    @property
    def latest(self) -> ServerConnection:
        """The newest open connection (AssertionError if there is none)."""
        live = self.open_connections
        assert live, "no open connection"
        return live[-1]

    async def push(self, frame: Any, connection: ServerConnection | None = None) -> None:
        """Send a frame (JSON-encoded unless already text) to a connection (default: newest)."""
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await (connection or self.latest).send(text)

    def go_silent(self, connection: ServerConnection | None = None) -> None:
        """Make a connection (default: newest) hang: open, but answering nothing."""
        self.silenced.add(connection or self.latest)

    async def drop(self, code: int = 1011, reason: str = "dropped by test") -> None:
        """Close every open connection with ``code``."""
        for connection in self.open_connections:
            await connection.close(code, reason)

    async def abort(self) -> None:
        """Cut every open connection without a closing handshake (like a network failure)."""
        for connection in self.open_connections:
            connection.transport.abort()

    async def wait_for_connections(self, count: int, timeout: float = 10.0) -> ServerConnection:
        """Wait until ``count`` connections have been accepted in total; return the newest."""
        await self.changes.wait_for(
            lambda: (
                len(self.connections) >= count and self.connections[count - 1].state.name == "OPEN"
            ),
            timeout,
        )
        return self.connections[count - 1]

    def received_by(self, connection: ServerConnection) -> list[Any]:
        """The frames one connection sent."""
        return [f for f, c in zip(self.received, self._received_on, strict=True) if c is connection]

    async def wait_for_received(self, count: int, timeout: float = 10.0) -> None:
        """Wait until clients have sent ``count`` frames in total."""
        await self.changes.wait_for(lambda: len(self.received) >= count, timeout)

    # ------------------------------------------------------------------ internals

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        refusal = self.check_handshake(request.path, request.headers)
        if refusal is None:
            return None
        status, reason = refusal
        self.rejected.append(reason)
        self.changes.notify()
        return connection.respond(status, reason + "\n")

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        chosen = self.choose_subprotocol(list(offered))
        return Subprotocol(chosen) if chosen is not None else None

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        self.changes.notify()
        try:
            await self.on_connect(connection)
            async for message in connection:
                text = message.decode() if isinstance(message, bytes) else message
                try:
                    frame: Any = json.loads(text)
                except ValueError:
                    frame = text
                self.received.append(frame)
                self._received_on.append(connection)
                self.changes.notify()
                if connection not in self.silenced:
                    await self.on_frame(connection, frame)
        except ConnectionClosed:
            pass
        finally:
            self.changes.notify()
            await asyncio.sleep(0)
