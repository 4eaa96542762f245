"""The test kit for alert-bridge and its plugin authors (loopback only).

- :class:`FakeVenueServer` — a WebSocket server on 127.0.0.1 to build a venue fake on;
- :class:`HttpServer` — a small HTTP server for REST steps (listenKey, ws-token);
- :class:`Changes` — wait for a condition without sleeping;
- :mod:`bridge.testing.gate` — the Gate.io spot fake, a complete example.
"""

from bridge.testing.conformance import check_venue
from bridge.testing.http import HttpServer, Request, Response
from bridge.testing.server import FakeVenueServer
from bridge.testing.waiting import Changes

__all__ = ["Changes", "FakeVenueServer", "HttpServer", "Request", "Response", "check_venue"]
