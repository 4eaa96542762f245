"""The operations endpoint on ``[bridge].http``: ``/healthz``, ``/readyz``, ``/metrics``.

Just enough HTTP/1.1 for probes and Prometheus: one GET (or HEAD) per connection, answered
with ``Connection: close``. Whatever a client sends, the worst it gets is an error status
and a closed connection: a handler never raises into the listener, whose failure would
take the service down with it.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream

from bridge.errors import UserError
from bridge.metrics import (
    Histograms,
    not_connected,
    open_circuits,
    render_metrics,
)

if TYPE_CHECKING:
    from bridge.runtime.service import Running

log = logging.getLogger("alert_bridge.http")

MAX_HEAD = 8192  # request line and headers; a probe or a scraper sends a few hundred bytes
READ_TIMEOUT = 10.0  # a client that connects and sends nothing must not hold a task forever
WRITE_TIMEOUT = 10.0
LINGER = 1.0  # see _close
MAX_CONNECTIONS = 64
TEXT = "text/plain; charset=utf-8"
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

RunningProvider = Callable[[], "Running | None"]
Response = tuple[int, str, bytes]  # status, content type, body
TOO_LARGE: Response = (431, TEXT, b"request head too large\n")


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


async def serve_http(
    address: str,
    running_provider: RunningProvider,
    histograms: Histograms,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``task_status.started(port)`` once listening."""
    host, port = parse_address(address)
    try:
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    except OSError as exc:
        raise UserError(f'[bridge] http = "{address}": {bind_failure(exc)}') from None
    bound: int = listener.listeners[0].extra(SocketAttribute.local_port)  # noqa: S610 (not Django)
    active = 0

    async def handle(stream: SocketStream) -> None:
        nonlocal active
        active += 1
        try:
            async with stream:
                if active <= MAX_CONNECTIONS:  # beyond that, just close: a flood gets nothing
                    await _serve_one(stream, running_provider, histograms)
        except Exception as exc:  # a broken client connection must never end the listener
            log.debug("HTTP connection failed: %s", type(exc).__name__)
        finally:
            active -= 1

    async with listener:
        log.info("HTTP endpoint on %s:%d (/healthz, /readyz, /metrics)", host, bound)
        task_status.started(bound)
        await listener.serve(handle)


async def _serve_one(
    stream: SocketStream, running_provider: RunningProvider, histograms: Histograms
) -> None:
    buffered = BufferedByteReceiveStream(stream)
    head = b""
    response: Response | None = None
    with anyio.move_on_after(READ_TIMEOUT):
        try:
            head = await buffered.receive_until(b"\r\n\r\n", MAX_HEAD)
        except anyio.DelimiterNotFound:
            response = TOO_LARGE
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            return  # the client went away before finishing its request
        else:
            # receive_until finds the end in a large first read beyond its limit too
            too_large = len(head) > MAX_HEAD
            response = TOO_LARGE if too_large else answer(head, running_provider, histograms)
    if response is None:
        return  # nothing complete arrived in time: close without a word
    await _reply(stream, response, head_only=head.startswith(b"HEAD "))


def answer(head: bytes, running_provider: RunningProvider, histograms: Histograms) -> Response:
    """The response to one request head (request line and headers)."""
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return 400, TEXT, b"bad request\n"
    if parts[0] not in ("GET", "HEAD"):
        return 405, TEXT, b"only GET and HEAD\n"
    try:
        return _route(parts[1].split("?", 1)[0], running_provider, histograms, head)
    except Exception:  # e.g. the store closing during shutdown: a 500, not a dead listener
        log.exception("answering %s failed", parts[1][:100])
        return 500, TEXT, b"internal error (see the log)\n"


def _route(
    path: str, running_provider: RunningProvider, histograms: Histograms, head: bytes = b""
) -> Response:
    if path == "/healthz":
        return 200, TEXT, b"ok\n"
    if path not in ("/readyz", "/metrics"):
        return 404, TEXT, b"not found: try /healthz, /readyz or /metrics\n"
    running = running_provider()
    if running is None:
        return 503, TEXT, b"starting\n"
    if path == "/metrics":
        body, content_type = render_metrics(running, histograms, _accept(head))
        return 200, content_type, body
    # one problem per line: the store first (nothing is durable while it fails), then
    # each venue that is not connected; easy to read, easy to grep
    store = running.store.health.problem
    down = [*([store] if store else []), *not_connected(running)]
    # A destination that does not answer is not the service's own failure (alerts wait
    # in the outbox): it is named, without making the service unready.
    circuits = "".join(f"circuit open: {name}\n" for name in open_circuits(running))
    if down:
        return 503, TEXT, ("".join(f"{line}\n" for line in down) + circuits).encode()
    return 200, TEXT, ("ready\n" + circuits).encode()


async def _reply(stream: SocketStream, response: Response, *, head_only: bool) -> None:
    status, content_type, body = response
    lines = [
        f"HTTP/1.1 {status} {REASONS[status]}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if status == 405:
        lines.append("Allow: GET, HEAD")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head_only else body)
    with anyio.move_on_after(WRITE_TIMEOUT):
        await stream.send(data)
        await _close(stream)


async def _close(stream: SocketStream) -> None:
    """Half-close, then read what the client still sends for a moment before closing.

    Closing a socket with unread input makes the kernel send a reset, which can destroy
    the response before the client has read it (a request with a body, or junk).
    """
    await stream.send_eof()
    with anyio.move_on_after(LINGER):
        while True:
            try:
                await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                return


def _accept(head: bytes) -> str:
    """The request's ``Accept`` header ("" if none): it chooses the metrics format."""
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"accept":
            return value.strip().decode("latin-1")
    return ""
