"""A loopback fake of the demo feed the examples and tests use (built on bridge.testing).

The feed's protocol, as the README's example config describes it: the upgrade must carry
``Authorization: Bearer <token>`` (else HTTP 401); ``{"op": "subscribe", "channels":
[...]}`` is answered ``{"type": "subscribed", ...}``; ``{"op": "ping"}`` gets
``{"type": "pong"}``; tests push data frames with :meth:`FakeVenueServer.push`.
"""

from __future__ import annotations

from typing import Any

from bridge.testing import FakeVenueServer


class JsonFeedFake(FakeVenueServer):
    """Tests change ``token`` to simulate a revoked or rotated token."""

    def __init__(self, token: str = "feed-token") -> None:
        super().__init__()
        self.token = token
        self.subscribed: list[str] = []

    def check_handshake(self, path: str, headers: Any) -> tuple[int, str] | None:
        """Refuse the upgrade with 401 unless the bearer token is the current one."""
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "invalid or missing bearer token"
        return None

    async def on_frame(self, connection: Any, frame: Any) -> None:
        """Answer subscribes and pings; anything else gets an error frame."""
        op = frame.get("op") if isinstance(frame, dict) else None
        if op == "subscribe" and isinstance(frame.get("channels"), list):
            self.subscribed.extend(str(c) for c in frame["channels"])
            self.changes.notify()
            await self.push({"type": "subscribed", "channels": frame["channels"]}, connection)
        elif op == "ping":
            await self.push({"type": "pong"}, connection)
        else:
            await self.push({"type": "error", "code": 400, "message": "bad request"}, connection)
