"""The credential checks: rejected credentials are classified, server errors are not.

An ``auth_frame`` is AUTH_FAILED on every stream; HTTP 401/403 on the upgrade, or a 401
at the REST step, means rejected credentials; HTTP 5xx never does.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
import httpx

from bridge.testing.conformance.checker import Checker
from bridge.testing.conformance.frames import preview
from bridge.testing.conformance.threaded import run
from bridge.venue import AuthFailed, Signal, VenueUnavailable


class AuthChecks(Checker):
    """How the venue signals rejected credentials, and that server errors are not that."""

    def auth_frame(self, frame: Any) -> None:
        venue = self.make()
        for stream in venue.streams():
            try:
                classification = venue.classify(stream, frame)
            except Exception as exc:
                self.breach(f"auth_frame: classify() raised {exc!r}")
                continue
            if classification.signal is not Signal.AUTH_FAILED:
                self.breach(
                    f"auth_frame {preview(frame)} on stream {stream!r} is classified "
                    f"{classification.signal.name}, not AUTH_FAILED"
                )
            self.check_secrets("auth_frame", "the classification detail", classification.detail)

    def auth_at(self, step: str) -> None:
        """Rejected credentials at the upgrade (HTTP 401/403) or at the REST step."""
        venue = self.make()
        if step == "rest":
            self.rest_refusals(venue.streams()[0])
            return
        for stream in venue.streams():
            for status in (401, 403):
                if not venue.refusal_is_auth_failure(stream, status):
                    self.breach(f"an HTTP {status} refusing the {stream!r} upgrade is not AUTH")

    def server_errors(self) -> None:
        """A venue's server error is never a credentials problem (it is retried sooner)."""
        venue = self.make()
        for stream in venue.streams():
            for status in (500, 502, 503):
                if venue.refusal_is_auth_failure(stream, status):
                    self.breach(f"an HTTP {status} refusing the upgrade counts as an auth failure")

    def rest_refusals(self, stream: str) -> None:
        """open() against a REST server refusing everything: 401 is AuthFailed, 503 not."""
        if self.cls.default_rest_url is None:
            raise AssertionError(f'auth_at="rest", but {self.cls.__name__} has no rest_url')
        for status in (401, 503):

            async def refused(status: int = status) -> BaseException | None:
                return await _open_refused(self, stream, status)

            outcome = run(refused, 15.0)
            if status == 401 and not isinstance(outcome, AuthFailed):
                self.breach(
                    f"open() with its REST step refused with 401: got {outcome!r}, "
                    "expected AuthFailed"
                )
            if status == 503 and not isinstance(outcome, VenueUnavailable):
                self.breach(
                    f"open() with its REST step refused with 503: got {outcome!r}, "
                    "expected VenueUnavailable (the core retries it soon)"
                )
            self.check_secrets(f"open() refused with {status}", "the error", str(outcome or ""))


async def _open_refused(checker: Checker, stream: str, status: int) -> BaseException | None:
    """What open() raises when every REST call is refused with ``status``."""
    reply = (
        f"HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\n"
        "content-length: 22\r\nconnection: close\r\n\r\n"
        '{"error":"refused"}   '
    ).encode()

    async def refuse(client: anyio.abc.SocketStream) -> None:
        async with client:
            received = b""
            with anyio.move_on_after(5):
                while b"\r\n\r\n" not in received:
                    received += await client.receive()
            await client.send(reply)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - not Django
    outcome: BaseException | None = None
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, refuse)
        venue = checker.make(rest_url=f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient(timeout=5.0) as http:
            try:
                await venue.open(stream, http)
            except Exception as exc:
                outcome = exc
        tg.cancel_scope.cancel()
    return outcome
