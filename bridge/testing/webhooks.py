"""A webhook receiver that verifies Standard Webhooks signatures, for demos and tests.

Verification uses the ``standardwebhooks`` library — an implementation alert-bridge did
not write — so a pass means any Standard Webhooks receiver would accept our deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.errors import UserError
from bridge.testing.http import HttpServer, Request, Response


@dataclass
class Delivery:
    """One request the receiver got, and whether its signature verified."""

    request: Request
    verified: bool
    payload: Any  # the verified JSON body (None when verification failed)


class WebhookReceiver(HttpServer):
    """POSTs to ``path`` are verified against ``secret`` and recorded in ``deliveries``."""

    def __init__(self, secret: str, path: str = "/hook") -> None:
        super().__init__()
        try:
            from standardwebhooks import Webhook
        except ImportError:
            raise UserError(
                "verifying webhooks needs the standardwebhooks package: "
                "pip install 'alert-bridge[demo]'"
            ) from None
        self._webhook = Webhook(secret)
        self.path = path
        self.deliveries: list[Delivery] = []
        self.route("POST", path, self._receive)

    @property
    def hook_url(self) -> str:
        return self.url + self.path

    def _receive(self, request: Request) -> Response:
        from standardwebhooks.webhooks import WebhookVerificationError

        try:
            payload = self._webhook.verify(request.body, request.headers)
        except WebhookVerificationError:
            self.deliveries.append(Delivery(request, False, None))
            return Response(401, {"error": "signature did not verify"})
        self.deliveries.append(Delivery(request, True, payload))
        return Response(204)


class AppriseSink(HttpServer):
    """Where Apprise's ``json://`` notifier posts: records title, body and type."""

    def __init__(self, path: str = "/apprise") -> None:
        super().__init__()
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self.route("POST", path, self._receive)

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}{self.path}"

    def _receive(self, request: Request) -> Response:
        self.messages.append(request.json())
        return Response(200, {"ok": True})
