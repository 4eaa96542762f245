"""REST reconciliation: what a stream missed while it was down (DESIGN §9).

A venue's stream replays nothing after a disconnect, so at start and after every
reconnect, once the new stream is ready (stream first, so the two overlap), the core asks
the venue plugin what to fetch (:meth:`Venue.reconcile_requests`), fetches it at the pace
of the venue's documented limit, and hands each answer back to the plugin, which turns it
into events through the stream's own normalizers. A fact the stream delivered has the same
id and is dropped by the dedup; a missed one alerts once, marked ``recovered``.

The watermarks (the newest fact seen per cursor) live in the venue's state under
:data:`STATE_KEY` and are committed once a round has succeeded. A venue instance without
them has never reconciled: that round only seeds (records what is there as seen, sets the
watermarks) and alerts nothing from the past.

A failed round is counted, logged and reported once per failure streak as a ``notice``
event (severity ``warning``), then retried with backoff until it succeeds.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import httpx
import orjson

from bridge.events import Event, NoticeEvent, event_id
from bridge.runtime.backoff import ReconnectPolicy
from bridge.venue import (
    RECONCILE_WINDOW,
    FrameError,
    NormalizeContext,
    ReconcileWindow,
    RestRequest,
    StateMap,
    Venue,
)

log = logging.getLogger("alert_bridge.reconcile")

#: the venue-state key of the reconciliation watermarks ({"cursors": {name: ms}})
STATE_KEY = "bridge.reconcile"
#: at most this much of an error answer goes into logs and notices
ERROR_PREVIEW = 200


class ReconcileFailed(Exception):
    """A round could not finish (HTTP error, bad answer, network failure)."""


class Intake(Protocol):
    """Where recovered events go: the pipeline (dedup, rules, commit)."""

    def is_seen(self, event_id: str) -> bool: ...

    async def process(
        self, venue: str, events: list[Event], changes: dict[str, Any], *, alert: bool = True
    ) -> object: ...

    async def checkpoint(self, marker: Event, changes: dict[str, Any]) -> None: ...


class ReconcileStats:
    """Counters for the metrics endpoint (per stream; summed per venue there)."""

    __slots__ = ("failures", "recovered", "rounds")

    def __init__(self) -> None:
        self.failures = 0  # failed rounds (each retry counts)
        self.recovered = 0  # events REST recovered that the stream had not delivered
        self.rounds = 0  # rounds that succeeded


class Reconciler:
    """Runs one stream's reconciliations: one round per request, retried until it succeeds."""

    def __init__(
        self,
        venue: Venue,
        stream: str,
        *,
        http: httpx.AsyncClient,
        state: StateMap,
        intake: Intake,
        policy: ReconnectPolicy,
        clock: Callable[[], float] = time.time,
        label: str = "",
    ) -> None:
        self.venue = venue
        self.stream = stream
        self.http = http
        self.state = state
        self.intake = intake
        self.policy = policy
        self.clock = clock
        self.label = label or venue.name
        self.stats = ReconcileStats()
        self._wanted = anyio.Event()
        self._rate = venue.reconcile_rate
        self._next_send = 0.0  # time.monotonic() before which no request may go out

    def request(self) -> None:
        """Ask for a round (the stream just became ready); requests while one runs merge."""
        self._wanted.set()

    async def run(self) -> None:
        """Serve round requests until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted = anyio.Event()
            await self._until_done()

    async def _until_done(self) -> None:
        failures = 0
        while True:
            try:
                await self.round()
                if failures:
                    log.info("%s: reconciliation succeeded after %d failures", self.label, failures)
                return
            except ReconcileFailed as exc:
                failures += 1
                self.stats.failures += 1
                delay = self.policy.delay(failures)
                log.warning(
                    "%s: reconciliation failed (attempt %d): %s; retrying in %.1fs",
                    self.label,
                    failures,
                    exc,
                    delay,
                )
                if failures == 1:  # once per streak: a rule should hear of it, not drown
                    await self._notice(f"reconciliation failed: {exc}; retrying with backoff")
                await anyio.sleep(delay)

    async def round(self) -> None:
        """One reconciliation: fetch every request (and page), submit, commit watermarks."""
        venue, stream, state = self.venue, self.stream, self.state
        known = state.get(STATE_KEY)
        seeding = not isinstance(known, dict)
        cursors: dict[str, int] = dict(known.get("cursors", {})) if isinstance(known, dict) else {}
        now = self.clock()
        horizon = venue.config.get("reconcile_window", RECONCILE_WINDOW)
        window = ReconcileWindow(
            now=now, floor=int((now - horizon) * 1000), cursors=cursors, seeding=seeding
        )
        queue = deque(venue.reconcile_requests(stream, window))
        newest: dict[str, int] = {}
        started = time.monotonic()
        fetched = fresh = 0
        while queue:
            request = queue.popleft()
            payload = await self._fetch(request)
            fetched += 1
            ctx = NormalizeContext(
                venue.name, venue.plugin, stream, state, int(self.clock() * 1000)
            )
            try:
                result = venue.reconcile_response(stream, request, payload, window, ctx)
            except FrameError as exc:
                raise ReconcileFailed(f"{request.path}: unexpected answer: {exc}") from None
            for problem in ctx.problems:
                log.warning("%s: %s: skipped a bad item: %s", self.label, request.path, problem)
            queue.extend(result.more)
            if result.newest is not None and request.cursor:
                newest[request.cursor] = max(newest.get(request.cursor, 0), result.newest)
            fresh += await self._submit(result.events, seeding=seeding)
        for name, value in newest.items():
            cursors[name] = max(cursors.get(name, 0), value)
        state[STATE_KEY] = {"cursors": cursors}
        marker = NoticeEvent(
            id=event_id(venue.name, "notice", "reconciled", stream, int(now * 1000)),
            venue=venue.name,
            plugin=venue.plugin,
            ts=int(now * 1000),
            received_at=int(now * 1000),
            severity="info",
            message="reconciled",
        )
        await self.intake.checkpoint(marker, state.drain_changes())
        self.stats.rounds += 1
        log.info(
            "%s: %s in %.2fs: %d request%s, %d event%s %s",
            self.label,
            "seeded from REST" if seeding else "reconciled",
            time.monotonic() - started,
            fetched,
            "" if fetched == 1 else "s",
            fresh,
            "" if fresh == 1 else "s",
            "recorded as seen, none alerted" if seeding else "recovered",
        )

    async def _submit(self, events: list[Event], *, seeding: bool) -> int:
        """Hand events to the pipeline; how many were new (not delivered by the stream)."""
        if not events and not self.state.changed:
            return 0
        for event in events:
            event.recovered = True
        # No await between this check and process(): its dedup sees the same thing.
        fresh = len({e.id for e in events if not self.intake.is_seen(e.id)})
        await self.intake.process(
            self.venue.name, events, self.state.drain_changes(), alert=not seeding
        )
        if not seeding:
            self.stats.recovered += fresh
        return fresh

    async def _fetch(self, request: RestRequest) -> Any:
        """Send one request at the venue's pace; the decoded JSON of a 2xx answer."""
        wait = self._next_send - time.monotonic()
        if wait > 0:
            await anyio.sleep(wait)
        self._next_send = time.monotonic() + (1.0 / self._rate if self._rate > 0 else 0.0)
        base = str(self.venue.config.get("rest_url") or "").rstrip("/")
        query = request.query
        url = f"{base}{request.path}{'?' + query if query else ''}"
        headers = self.venue.sign_rest(request, time.time())
        try:
            response = await self.http.request(
                request.method, url, content=request.body or None, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ReconcileFailed(f"{request.path}: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            preview = response.text[:ERROR_PREVIEW].strip()
            raise ReconcileFailed(f"{request.path}: HTTP {response.status_code}: {preview}")
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ReconcileFailed(f"{request.path}: the answer is not JSON") from None

    async def _notice(self, message: str) -> None:
        now = int(self.clock() * 1000)
        event = NoticeEvent(
            id=event_id(self.venue.name, "notice", "reconcile", self.stream, now),
            venue=self.venue.name,
            plugin=self.venue.plugin,
            ts=now,
            received_at=now,
            severity="warning",
            message=f"{self.label}: {message}",
        )
        await self.intake.process(self.venue.name, [event], {})
