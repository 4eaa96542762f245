"""The operations endpoint on ``[bridge].http``: ``/healthz``, ``/readyz``, ``/metrics``.

Served by aiohttp's HTTP/1.1 server (keep-alive, HEAD, a strict request parser that
answers a malformed request with 400 at once) inside the service's task group. Idle
connections cost a socket each, not a slot: any number of them leave the probes
answered, and one that never completes a request is closed after ``KEEPALIVE_TIMEOUT``.
A handler that fails answers 500 and is logged; it never takes the listener down.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from anyio.abc import TaskStatus

from bridge.errors import UserError
from bridge.metrics import Histograms, not_connected, open_circuits, scrape_metrics

if TYPE_CHECKING:
    from bridge.runtime.service import Running

    _LogAdapter = logging.LoggerAdapter[logging.Logger]
else:
    _LogAdapter = logging.LoggerAdapter

log = logging.getLogger("alert_bridge.http")

MAX_HEAD = 8190  # longest request line or header line; a probe sends a few hundred bytes
MAX_HEADERS = 100
# How long a connection may stay without a request in progress: between the requests of
# a keep-alive client (longer than a 15 s scrape interval, so Prometheus reuses it), and
# from connect to a complete request head, so a client that never finishes one goes.
KEEPALIVE_TIMEOUT = 30.0
# At shutdown, how long an answer still being written may take (a client that does not
# read). Every handler here answers from memory, so this is only ever a slow client.
SHUTDOWN_TIMEOUT = 1.0
NOT_FOUND = "not found: try /healthz, /readyz or /metrics\n"

RunningProvider = Callable[[], "Running | None"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bind_failure(exc: OSError) -> str:
    """Why the endpoint could not listen, and what to do about it (one line)."""
    off = 'or set http = "" to turn the endpoint off'
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror}); use an IP address such as 127.0.0.1, {off}"
    if exc.errno == errno.EADDRINUSE:
        return f"address in use; choose another port or stop the other process, {off}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"not an address of this machine; use 127.0.0.1 or one of its own, {off}"
    if exc.errno == errno.EACCES:
        return f"permission denied (ports below 1024 need privileges); choose another, {off}"
    return f"cannot listen there ({exc.strerror or exc}); choose another address, {off}"


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9108`` for IPv6) as (host, port); port 0 picks a free one."""
    host, sep, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{address!r} is not host:port (e.g. 127.0.0.1:9108)")
    return host, int(port)


def text(status: int, body: str, **headers: str) -> web.Response:
    """A plain-text answer."""
    return web.Response(status=status, text=body, charset="utf-8", headers=headers)


class Routes:
    """The handlers, reading the running service (``None`` while it starts)."""

    def __init__(self, running_provider: RunningProvider, histograms: Histograms) -> None:
        self.running_provider = running_provider
        self.histograms = histograms

    async def healthz(self, request: web.Request) -> web.Response:
        return text(200, "ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        running = self.running_provider()
        if running is None:
            return text(503, "starting\n")
        # one problem per line: the store first (nothing is durable while it fails), then
        # each venue that is not connected; easy to read, easy to grep
        store = running.store.health.problem
        down = [*([store] if store else []), *not_connected(running)]
        # A destination that does not answer is not the service's own failure (alerts wait
        # in the outbox): it is named, without making the service unready.
        circuits = "".join(f"circuit open: {name}\n" for name in open_circuits(running))
        if down:
            return text(503, "".join(f"{line}\n" for line in down) + circuits)
        return text(200, "ready\n" + circuits)

    async def metrics(self, request: web.Request) -> web.Response:
        running = self.running_provider()
        if running is None:
            return text(503, "starting\n")
        # Prometheus text or OpenMetrics, as the Accept header asks; the text is written
        # in a worker thread, only the counters are read on the event loop.
        accept = request.headers.get("Accept", "")
        body, content_type = await scrape_metrics(running, self.histograms, accept)
        return web.Response(body=body, headers={"Content-Type": content_type})


def make_app(running_provider: RunningProvider, histograms: Histograms) -> web.Application:
    """The endpoint as an aiohttp application: its router is where every route goes."""
    routes = Routes(running_provider, histograms)
    app = web.Application(middlewares=[_plain_answers])
    app.router.add_get("/healthz", routes.healthz)  # add_get answers HEAD too
    app.router.add_get("/readyz", routes.readyz)
    app.router.add_get("/metrics", routes.metrics)
    # The /api/v1/... routes (DESIGN §10, §12) are added to this router.
    return app


@web.middleware
async def _plain_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The endpoint's own texts for an unknown path or method, and 500 for a failure."""
    routing = request.match_info.http_exception
    if isinstance(routing, web.HTTPMethodNotAllowed):
        allowed = sorted(routing.allowed_methods)
        return text(405, f"only {' and '.join(allowed)}\n", Allow=", ".join(allowed))
    if routing is not None:
        return text(404, NOT_FOUND)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # e.g. the store closing during shutdown: a 500, not a dead listener
        log.exception("answering %s failed", request.path[:100])
        return text(500, "internal error (see the log)\n")


class _ServerLog(_LogAdapter):
    """What aiohttp's server logs through.

    aiohttp logs a request it cannot parse as an error with a traceback: here that is a
    client's mistake (junk, a port scan), not the service's, so it is one debug line.
    Anything else aiohttp reports stays an error with its traceback.
    """

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.debug("%s: %s", str(msg) % args, type(exc_info).__name__)
        else:
            self.error(msg, *args, exc_info=exc_info, **kw)


async def serve_http(
    address: str,
    running_provider: RunningProvider,
    histograms: Histograms,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``task_status.started(port)`` once listening.

    Runs on anyio's asyncio backend (aiohttp is asyncio's). A port that cannot be bound
    raises a one-line ``UserError``.
    """
    host, port = parse_address(address)
    runner = web.AppRunner(
        make_app(running_provider, histograms),
        access_log=None,  # a probe every few seconds is not news
        logger=_ServerLog(log, {}),
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        max_line_size=MAX_HEAD,
        max_field_size=MAX_HEAD,
        max_headers=MAX_HEADERS,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise UserError(f'[bridge] http = "{address}": {bind_failure(exc)}') from None
        bound: int = runner.addresses[0][1]
        log.info("HTTP endpoint on %s:%d (/healthz, /readyz, /metrics)", host, bound)
        task_status.started(bound)
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            # In a task of its own: aiohttp's shutdown asks whether the task running it
            # is being cancelled, and this one is (that is how the endpoint stops).
            await asyncio.ensure_future(runner.cleanup())
