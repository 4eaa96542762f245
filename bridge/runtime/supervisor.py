"""One supervisor per venue stream: connect, read, normalize, reconnect — forever.

The supervisor owns the socket (plugins only describe the protocol). Whatever goes wrong
with one venue is logged, turned into a ``connection`` event and retried with backoff;
it never propagates to other venues or to the delivery workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio
import httpx
import orjson
import websockets
from anyio.lowlevel import checkpoint
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bridge.codec import dumps
from bridge.events import ConnectionEvent, Event, event_id
from bridge.log_limiter import LogLimiter
from bridge.logs import add_session_secrets
from bridge.runtime.backoff import ReconnectPolicy
from bridge.runtime.fair_connection import FairConnection
from bridge.runtime.reconcile import Intake, Reconciler
from bridge.venue import (
    AuthFailed,
    Classification,
    Duty,
    FrameError,
    NormalizeContext,
    Session,
    Signal,
    StateMap,
    Venue,
    VenueUnavailable,
)

log = logging.getLogger("alert_bridge.venue")

MAX_MESSAGE = 16 * 2**20  # large snapshots (BitoPro balances) must fit
OPEN_TIMEOUT = 15.0
CLOSE_DEADLINE = 5.0
# The longest the reader runs without giving the event loop back. websockets' recv()
# returns at once while messages are buffered, so a venue that sends faster than it is
# read would otherwise hold the loop for as long as it keeps the buffer filled, and the
# other venues, deliveries and the HTTP endpoint would wait behind it. (The parsing of
# what arrives is sliced the same way: see FairConnection.)
READ_SLICE = 0.001
LOG_FLUSH_EVERY = 1.0  # how often repeated-line summaries that are due get written

# (venue instance, events, normalizer state changes) -> queued for commit
EventSink = Callable[[str, list[Event], dict[str, Any]], Awaitable[object]]


class Reconnect(Exception):
    """End this connection and open a fresh one (idle watchdog, venue request)."""


@dataclass
class StreamStatus:
    """What the supervisor knows about its stream; read by health checks and metrics."""

    connected: bool = False
    reconnects: int = 0
    frames: int = 0
    frame_errors: int = 0
    venue_errors: int = 0
    last_frame: float = field(default_factory=time.monotonic)  # of the last frame (or start)
    last_error: str = ""
    changed: anyio.Event = field(default_factory=anyio.Event)

    def touch(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


class Supervisor:
    """Keeps one stream of one venue instance connected."""

    def __init__(
        self,
        venue: Venue,
        stream: str,
        *,
        sink: EventSink,
        http: httpx.AsyncClient,
        state: StateMap,
        policy: ReconnectPolicy | None = None,
        clock: Callable[[], float] = time.time,
        intake: Intake | None = None,
    ) -> None:
        self.venue = venue
        self.stream = stream
        self.sink = sink
        self.http = http
        self.state = state
        self.policy = policy or ReconnectPolicy()
        self.clock = clock
        self.status = StreamStatus()
        self.label = venue.name if stream == "main" else f"{venue.name}/{stream}"
        self._down_since = clock()  # not yet connected counts as down, from start
        self._session: Session | None = None
        # The last session opened: close() needs it even when a reconnect dropped _session.
        self._last_session: Session | None = None
        self._up_since: float | None = None
        idle = venue.config.get("idle_timeout", venue.idle_timeout)
        self._idle: float | None = idle or None
        #: REST reconciliation after every (re)connect, when the plugin and config want it
        self.reconciler: Reconciler | None = None
        if intake is not None and venue.reconciles() and venue.config.get("reconcile", False):
            self.reconciler = Reconciler(
                venue,
                stream,
                http=http,
                state=state,
                intake=intake,
                policy=self.policy,
                clock=clock,
                label=self.label,
            )
        # Malformed frames, venue errors and normalizer failures can repeat once per frame:
        # the first few of each reason are logged, then a count every interval.
        self.log_limiter = LogLimiter(log)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect and reconnect until cancelled; then run the venue's close step."""
        task_status.started()
        async with anyio.create_task_group() as tg:
            if self.reconciler is not None:
                tg.start_soon(self.reconciler.run)
            await self._connect_forever()
            tg.cancel_scope.cancel()

    async def _connect_forever(self) -> None:
        failures = 0
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._flush_logs)
                while True:
                    auth_failed, reason, close_code = await self._one_connection()
                    if (
                        self._up_since is not None
                        and self.clock() - self._up_since >= self.policy.reset_after
                    ):
                        failures = 0  # a long-lived connection: start the backoff afresh
                    self._up_since = None
                    await self._went_down(reason, auth_failed=auth_failed, attempt=failures + 1)
                    if self._session is not None and not self.venue.reuse_session(
                        self.stream, self._session, close_code
                    ):
                        self._session = None
                    failures += 1
                    delay = self.policy.delay(failures, auth_failed=auth_failed)
                    log.info("%s: reconnecting in %.1fs (attempt %d)", self.label, delay, failures)
                    await anyio.sleep(delay)
        finally:
            self.log_limiter.close()  # the counts of a storm's tail, before we go
            await self._close()

    async def _flush_logs(self) -> None:
        while True:
            await anyio.sleep(LOG_FLUSH_EVERY)
            self.log_limiter.flush()

    async def _one_connection(self) -> tuple[bool, str, int | None]:
        """Open, serve until the connection ends; (auth failed?, reason, close code)."""
        try:
            if self._session is None:
                with anyio.fail_after(OPEN_TIMEOUT):
                    self._session = await self.venue.open(self.stream, self.http)
                self._last_session = self._session
                add_session_secrets(self._session.secrets)  # before anything can log them
            await self._serve(self._session)
            return False, "connection closed", None
        except AuthFailed as exc:
            log.error("%s: authentication failed: %s", self.label, exc)
            self._session = None
            return True, f"authentication failed: {exc}", None
        except InvalidStatus as exc:
            status = exc.response.status_code
            self._session = None
            if self.venue.refusal_is_auth_failure(self.stream, status):
                log.error("%s: handshake refused with HTTP %d", self.label, status)
                return True, f"authentication failed: HTTP {status} on connect", None
            log.warning("%s: handshake refused with HTTP %d", self.label, status)
            return False, f"handshake refused: HTTP {status}", None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            log.warning(
                "%s: connection closed (code %s%s)",
                self.label,
                code,
                f": {reason}" if reason else "",
            )
            return False, f"connection closed (code {code}{': ' + reason if reason else ''})", code
        except Reconnect as exc:
            log.warning("%s: reconnecting: %s", self.label, exc)
            return False, str(exc), None
        except VenueUnavailable as exc:
            log.warning("%s: venue unavailable: %s", self.label, exc)
            return False, f"venue unavailable: {exc}", None
        except (OSError, TimeoutError, WebSocketException, httpx.HTTPError) as exc:
            log.warning("%s: connection failed: %s", self.label, _describe(exc, self._secrets()))
            return False, f"connection failed: {_describe(exc, self._secrets())}", None
        except Exception as exc:  # a plugin bug must not take the service down
            log.exception("%s: unexpected error in the venue connector", self.label)
            return False, f"connector error: {_describe(exc, self._secrets())}", None

    async def _serve(self, session: Session) -> None:
        async with websockets.connect(
            session.url,
            additional_headers=session.headers or None,
            subprotocols=[websockets.Subprotocol(s) for s in session.subprotocols] or None,
            max_size=MAX_MESSAGE,
            ping_interval=20,
            ping_timeout=10,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=2,
            compression=None,
            create_connection=FairConnection,
        ) as ws:
            log.info("%s: socket open", self.label)
            if not self.venue.read_only:
                for frame in self.venue.on_open(self.stream, session, self.clock()):
                    await ws.send(dumps(frame).decode())
            # Tokens, listenKeys and this connect's signatures join the log redaction.
            add_session_secrets(session.secrets)
            if self.venue.ready_when == "open":
                await self._went_up()
            # The reader, pinger and duties run side by side; the first to fail ends the
            # connection. Failures are kept and re-raised after the group, so callers see
            # the exception itself rather than an ExceptionGroup around it.
            failures: list[Exception] = []
            try:
                async with anyio.create_task_group() as tg:

                    async def guarded(job: Callable[[], Awaitable[None]]) -> None:
                        try:
                            await job()
                        except Exception as exc:
                            failures.append(exc)
                        tg.cancel_scope.cancel()

                    if self.venue.ping_interval and not self.venue.read_only:
                        interval = self.venue.ping_interval
                        tg.start_soon(guarded, lambda: self._pinger(ws, interval))
                    if self._idle is not None:
                        tg.start_soon(guarded, lambda: self._watchdog(self._idle or 0.0))
                    for duty in self.venue.duties(self.stream):
                        tg.start_soon(guarded, lambda duty=duty: self._duty(duty, session))
                    await guarded(lambda: self._reader(ws))
                if failures:
                    raise failures[0]
            finally:
                if self.status.connected:
                    self.status.connected = False
                    self._down_since = self.clock()
                    self.status.touch()

    async def _reader(self, ws: ClientConnection) -> None:
        # The data path is inlined here, its lookups hoisted out of the loop: it runs for
        # every frame, and at 50,000 frames/s a coroutine or a lookup per frame shows.
        venue, stream, state, status = self.venue, self.stream, self.state, self.status
        name, plugin, sink, clock = venue.name, venue.plugin, self.sink, self.clock
        classify, normalize = venue.classify, venue.normalize
        recv, loads, monotonic, data = ws.recv, orjson.loads, time.monotonic, Signal.DATA
        yield_at = monotonic() + READ_SLICE
        while True:
            # Bytes, undecoded: orjson reads UTF-8 itself (checking it), so decoding to str
            # first would only copy every frame; invalid UTF-8 becomes a counted "not JSON"
            # frame rather than a closed connection.
            message = await recv(decode=False)
            status.last_frame = now = monotonic()
            if now >= yield_at:  # see READ_SLICE: recv() alone may never yield
                await checkpoint()
                yield_at = monotonic() + READ_SLICE
            status.frames += 1
            try:
                frame = loads(message)
            except orjson.JSONDecodeError:
                self._frame_error("not JSON", message)
                continue
            classification = classify(stream, frame)
            if classification.signal is not data:
                await self._on_signal(classification)
                continue
            ctx = NormalizeContext(name, plugin, stream, state, int(clock() * 1000))
            try:
                events = normalize(stream, frame, ctx)
            except Exception as exc:  # a bad frame, or a normalizer bug: count it, read on
                self._normalizer_failed(exc)
                events = []
            for problem in ctx.problems:  # bad items inside a good frame
                self._frame_error(problem)
            # State changes ride with the events; a frame that changed nothing costs nothing.
            if state.changed:
                await sink(name, events, state.drain_changes())
            elif events:
                await sink(name, events, {})

    async def _watchdog(self, idle: float) -> None:
        """Reconnect when no frame came for ``idle`` seconds.

        One task checking a timestamp, rather than a timeout around every receive: a
        cancel scope per frame costs more than the rest of the read path.
        """
        watched_since = time.monotonic()  # a frame of an earlier connection does not count
        while True:
            left = max(watched_since, self.status.last_frame) + idle - time.monotonic()
            if left <= 0:
                raise Reconnect(f"no frame for {idle:g}s (idle watchdog)")
            await anyio.sleep(left)

    async def _on_signal(self, classification: Classification) -> None:
        """Act on a frame that is not data: acks, readiness, errors, reconnect requests."""
        signal = classification.signal
        if signal is Signal.ACK:
            if self.venue.ready_when == "ack" and not self.status.connected:
                await self._went_up()
        elif signal is Signal.READY:
            if not self.status.connected:
                await self._went_up()
        elif signal is Signal.ERROR:
            self.status.venue_errors += 1
            self.status.last_error = detail = classification.detail
            # Keyed by the whole detail (venues send few distinct error texts; the limiter
            # caps how many it tracks), so a new kind of error is never hidden by an old one.
            if self.log_limiter.allow(logging.WARNING, self.label, detail[:80], "venue errors"):
                log.warning("%s: venue error: %s", self.label, detail)
        elif signal is Signal.AUTH_FAILED:
            raise AuthFailed(classification.detail)
        elif signal is Signal.RECONNECT:
            raise Reconnect(classification.detail or "the venue asked for a reconnect")

    def _normalizer_failed(self, exc: Exception) -> None:
        if isinstance(exc, FrameError):
            self._frame_error(str(exc))
            return
        self.status.frame_errors += 1
        reason = f"normalizer error: {type(exc).__name__}"
        if self.log_limiter.allow(logging.WARNING, self.label, reason, "malformed frames"):
            log.exception("%s: normalizer failed on a frame", self.label, exc_info=exc)
            log.warning(
                "%s: malformed frame: normalizer error: %s",
                self.label,
                _describe(exc, self._secrets()),
            )

    def _frame_error(self, problem: str, message: bytes | None = None) -> None:
        """Count a malformed frame; log it unless its reason has been logged enough lately.

        ``message``: the frame itself, previewed after ``problem`` in the log line (only
        when the line is logged: a preview per frame of a flood would cost more than the
        rest of the read path).
        """
        self.status.frame_errors += 1
        reason = _reason(problem)
        if self.log_limiter.allow(logging.WARNING, self.label, reason, "malformed frames"):
            if message is not None:
                problem = f"{problem}: {_preview(message)}"
            log.warning("%s: malformed frame: %s", self.label, problem)

    async def _pinger(self, ws: ClientConnection, interval: float) -> None:
        while True:
            await anyio.sleep(interval)
            frame = self.venue.app_ping(self.stream, self.clock())
            if frame is not None:
                await ws.send(dumps(frame).decode())

    async def _duty(self, duty: Duty, session: Session) -> None:
        while True:
            await anyio.sleep(duty.interval)
            await duty.run(session, self.http)  # AuthFailed/VenueUnavailable end the connection

    async def _went_up(self) -> None:
        now = self.clock()
        down = Decimal(str(round(now - self._down_since, 3)))
        self.status.connected = True
        self._up_since = now
        self.status.touch()
        log.info("%s: connected (down %ss)", self.label, down)
        # The reason tells a first connect from a recovery, so rules can alert on the latter.
        reason = (
            f"reconnected after: {self.status.last_error}"
            if self.status.reconnects
            else "first connect"
        )
        await self._emit("connected", reason, attempt=None, down_seconds=down, now=now)
        if self.reconciler is not None:
            self.reconciler.request()  # the stream is ready: now REST covers the gap

    async def _went_down(self, reason: str, *, auth_failed: bool, attempt: int) -> None:
        now = self.clock()
        self.status.reconnects += 1
        self.status.last_error = reason
        self.status.touch()
        down = Decimal(str(round(now - self._down_since, 3)))
        state = "auth_failed" if auth_failed else "disconnected"
        await self._emit(state, reason, attempt=attempt, down_seconds=down, now=now)

    async def _emit(
        self,
        state: str,
        reason: str | None,
        *,
        attempt: int | None,
        down_seconds: Decimal,
        now: float,
    ) -> None:
        ts = int(now * 1000)
        where = "" if self.stream == "main" else f"{self.stream}: "
        event = ConnectionEvent(
            id=event_id(self.venue.name, "connection", self.stream, state, ts),
            venue=self.venue.name,
            plugin=self.venue.plugin,
            ts=ts,
            received_at=ts,
            state=state,
            reason=f"{where}{reason}" if reason else None,
            attempt=attempt,
            down_seconds=down_seconds,
        )
        await self.sink(self.venue.name, [event], {})

    def _secrets(self) -> list[str]:
        """What must never be logged from the current session (tokens, listenKeys)."""
        return list(self._last_session.secrets) if self._last_session else []

    async def _close(self) -> None:
        if self._last_session is None:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_DEADLINE):
            try:
                await self.venue.close(self.stream, self._last_session, self.http)
            except Exception as exc:
                log.warning(
                    "%s: close step failed: %s", self.label, _describe(exc, self._secrets())
                )


def _describe(exc: BaseException, secrets: list[str] | None = None) -> str:
    """``Type: message``, with any of ``secrets`` (tokens, listenKeys) masked."""
    text = str(exc)
    for secret in secrets or ():
        if secret:
            text = text.replace(secret, "***")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(problem: str) -> str:
    """The stable part of a frame problem, to rate-limit its log lines by.

    Problems read ``field: what is wrong, got VALUE`` (``item 3: `` first for an item of an
    array): the field names the reason, while the value would make every line unique.
    """
    if problem.startswith("item "):
        problem = problem.partition(": ")[2] or problem
    return problem.partition(": ")[0][:60]


def _preview(message: str | bytes, limit: int = 80) -> str:
    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
    return repr(text[:limit]) + ("..." if len(text) > limit else "")
