"""Signed outgoing webhooks (DESIGN §7, Standard Webhooks).

Each attempt is signed afresh: ``webhook-id`` is the job id (the same on every retry,
so a receiver can drop repeats), ``webhook-timestamp`` is the time of this attempt
(receivers reject stale timestamps), the body is the bytes rendered at commit time.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Callable

import anyio
import httpx

from bridge import __version__
from bridge.config import WebhookConfig
from bridge.delivery.attempt import AttemptResult
from bridge.delivery.policy import parse_retry_after
from bridge.delivery.signing import Signer
from bridge.store import Job

# Headers the signature depends on: a custom `headers` entry cannot replace them.
_RESERVED = frozenset({"content-type", "webhook-id", "webhook-timestamp", "webhook-signature"})


class WebhookDestination:
    """One ``[webhooks.NAME]`` table, ready to send."""

    kind = "webhook"

    def __init__(
        self,
        settings: WebhookConfig,
        client: httpx.AsyncClient,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._client = client
        self._clock = wall_clock
        self._signer = Signer(settings.secrets)
        custom = {k.lower(): v for k, v in settings.headers.items() if k.lower() not in _RESERVED}
        self._headers = {
            "user-agent": f"alert-bridge/{__version__}",
            **custom,
            "content-type": "application/json",
        }

    def headers(self, job: Job, timestamp: int) -> dict[str, str]:
        """Every header of one attempt, signature included."""
        stamp = str(timestamp)
        return {
            **self._headers,
            "webhook-id": job.id,
            "webhook-timestamp": stamp,
            "webhook-signature": self._signer.sign(job.id, stamp, job.body),
        }

    async def send(self, job: Job) -> AttemptResult:
        """POST the job once; never follows redirects; never raises for network trouble."""
        headers = self.headers(job, int(self._clock()))
        timeout = self.settings.timeout
        response = None
        try:
            # httpx's timeout bounds each read; the scope bounds the whole exchange, so a
            # receiver trickling bytes cannot hold a worker forever.
            with anyio.CancelScope(deadline=anyio.current_time() + timeout):
                response = await self._client.post(
                    self.settings.url,
                    content=job.body,
                    headers=headers,
                    timeout=timeout,
                    follow_redirects=False,
                )
        except httpx.TimeoutException as exc:
            # httpx-aiohttp reports any failure to connect, a refusal too, as a timeout.
            failed = connect_failure(exc)
            if failed is not None:
                return AttemptResult.failure(failed)
        except httpx.HTTPError as exc:
            # The exception text can quote the URL (which may hold a token): name the kind only.
            return AttemptResult.failure(f"{_describe(exc)}")
        if response is None:
            return AttemptResult.failure(f"no answer within {timeout:g}s")
        return classify(response.status_code, response.headers.get("retry-after"), self._clock())


def classify(status: int, retry_after: str | None, now: float) -> AttemptResult:
    """An HTTP status as an attempt result (DESIGN §7 and issue #3 rules)."""
    if 200 <= status < 300:
        return AttemptResult.success(status)
    if 300 <= status < 400:
        return AttemptResult.failure(
            f"HTTP {status}: redirects are not followed; set url to the final address",
            status=status,
        )
    if status == 410:
        return AttemptResult.failure(
            "HTTP 410 Gone: destination disabled until the config is reloaded",
            gone=True,
            status=status,
        )
    if status in (429, 503):
        wait = parse_retry_after(retry_after, now)
        return AttemptResult.failure(f"HTTP {status}", retry_after=wait, status=status)
    if 400 <= status < 500 and status != 408:
        return AttemptResult.failure(f"HTTP {status} (permanent)", permanent=True, status=status)
    return AttemptResult.failure(f"HTTP {status}", status=status)


def connect_failure(exc: BaseException) -> str | None:
    """Why a connection failed, when the cause is the system's answer rather than a timeout.

    Follows the chain of causes down to the operating system's error: "connection
    refused" (nothing listens there), or "cannot connect: <the system's words>" (no route
    to the host, a name that does not resolve...). None when nothing but a timeout is
    found: that one really was a timeout. Never quotes the URL.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # aiohttp's connector error is an OSError too, with the refusal's errno
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return "connection refused"
        # getaddrinfo's errors (negative numbers), also inside aiohttp's DNS error
        if isinstance(cause, socket.gaierror) or (
            isinstance(cause, OSError) and (cause.errno or 0) < 0
        ):
            return "cannot connect: the host name does not resolve"
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError) and cause.errno:
            return f"cannot connect: {os.strerror(cause.errno).lower()}"
        cause = cause.__cause__ or cause.__context__
    return None


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return connect_failure(exc) or "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the receiver broke the HTTP exchange"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme"
    return f"HTTP error ({type(exc).__name__})"
