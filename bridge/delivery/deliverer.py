"""The workers: take due jobs from the outbox, attempt them, record what happened.

Per destination, one dispatcher fetches due jobs (oldest first) and hands each to one of
``concurrency`` workers (default 4). Outcomes are written in groups; a job leaves the
outbox only once it was delivered (or buried). Everything about *when* lives in the
database (``next_at``), so a restart resumes where the last run stopped, attempt counts
included.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack

import anyio
import anyio.to_thread
import httpx
from anyio.abc import TaskGroup, TaskStatus

from bridge.config import Config
from bridge.delivery.attempt import AttemptResult
from bridge.delivery.batcher import GroupCommit
from bridge.delivery.breaker import Breaker
from bridge.delivery.destinations import (
    Destination,
    build_destinations,
    delivery_names,
    make_client,
)
from bridge.delivery.lane import Lane
from bridge.delivery.policy import decide
from bridge.delivery.report import Attempt, OnAttempt, Reporter
from bridge.delivery.stats import DeliveryStats
from bridge.logs import tame_libraries
from bridge.store import Job, Store

logger = logging.getLogger("alert_bridge.delivery")

GONE_ERROR = "the destination answered 410 Gone; disabled until the config is reloaded"
UNKNOWN_ERROR = "the destination is no longer in the config"


class Deliverer:
    """Delivers the outbox. Run it in a task group: ``await tg.start(deliverer.run)``.

    ``client`` (shared by webhooks) and ``clock`` (wall time, for due times) are
    injectable; ``on_attempt(destination, job, outcome, seconds)`` is called after each
    attempt's outcome is durable. ``stats`` holds the counters.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        poll_interval: float = 5.0,
        batch: int = 64,
        on_attempt: OnAttempt | None = None,
    ) -> None:
        tame_libraries()
        self.store = store
        self.config = config
        self.clock = clock
        self._report = Reporter(clock, on_attempt)
        self._client = client
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._poll = poll_interval
        self._batch = batch
        self._lanes: dict[str, Lane] = {}
        self._routes: dict[str, Lane] = {}  # every job destination's lane ("desk[1]": desk's)
        # job ids handed to workers and not yet recorded, by destination: never twice
        self._inflight: defaultdict[str, set[str]] = defaultdict(set)
        self._active = 0
        self._stopping = anyio.Event()
        self._stopped = anyio.Event()
        self._running = False
        self._grace = 0.0
        # Nothing waits on a recorded outcome but the job's in-flight mark (its worker is
        # already free), so outcomes linger a little to share a transaction. They are
        # written on the loop when the writer is free: a worker thread here contends for
        # the GIL with the loop on every step, which measurably slows every delivery.
        # On a full disk an outcome that cannot be written is retried (see GroupCommit):
        # its job stays in flight meanwhile, so it is neither fetched again nor lost; were
        # the process to stop first, the job is still in the outbox and is delivered
        # again with the same webhook-id (at-least-once).
        self._recorder: GroupCommit[Attempt, None] = GroupCommit(
            self._record,
            after=self._recorded,
            inline=self._record_now,
            linger=0.02,
            failures=store.health.writer("delivery outcomes"),
        )
        self._work: TaskGroup | None = None
        self._dispatch: TaskGroup | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def stats(self) -> DeliveryStats:
        """Outcome counters (delivered, retried, dead, disabled), total and per destination."""
        return self._report.stats

    @property
    def destinations(self) -> dict[str, Destination]:
        """The destinations currently delivered to, by name."""
        return {name: lane.destination for name, lane in self._lanes.items()}

    @property
    def circuits(self) -> dict[str, Breaker]:
        """Each delivery's circuit breaker (a notifier's URLs each have one), by name."""
        return {name: b for lane in self._lanes.values() for name, b in lane.breakers.items()}

    @property
    def delivery_names(self) -> list[str]:
        """What deliveries are counted under: each destination, or each URL of a notifier."""
        return delivery_names(self.config)

    @property
    def in_flight(self) -> int:
        """Attempts under way right now."""
        return self._active

    async def wait_until(self, condition: Callable[[DeliveryStats], bool]) -> None:
        """Return once ``condition(self.stats)`` holds (checked whenever the counts change)."""
        await self._report.wait_until(condition)

    def notify(self, jobs: Iterable[Job]) -> None:
        """New jobs are in the outbox (the committer calls this): wake their destinations."""
        for name in {job.destination for job in jobs}:
            self.wake(name)

    def wake(self, destination: str | None = None) -> None:
        """Look for due jobs now (all destinations, or one), e.g. after a clock change."""
        lanes = self._lanes.values() if destination is None else [self._routes.get(destination)]
        for lane in lanes:
            if lane is not None:
                lane.wake()

    def reload(self, config: Config) -> None:
        """Use a new config: destinations rebuilt, any disabled by a 410 enabled again.

        Attempts in flight finish with the settings they started with.
        """
        self.config = config
        if self._dispatch is not None and not self._stopping.is_set():
            self._start_lanes()

    async def shutdown(self, grace: float) -> None:
        """Start no more attempts; give those in flight ``grace`` seconds, then cancel them.

        Whatever is not delivered stays in the outbox for the next run.
        """
        self._grace = grace
        self._stopping.set()
        if self._running:
            await self._stopped.wait()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver until :meth:`shutdown` (or cancellation). Runs once per instance."""
        self._running = True
        try:
            await self._serve(task_status)
        finally:
            self._running = False
            self._stopped.set()

    async def _serve(self, task_status: TaskStatus[None]) -> None:
        async with AsyncExitStack() as stack:
            if self._client is None:
                self._client = await stack.enter_async_context(make_client())
            self._http = self._client
            async with anyio.create_task_group() as outer:
                await outer.start(self._recorder.run)
                async with anyio.create_task_group() as work:
                    self._work = work
                    async with anyio.create_task_group() as dispatch:
                        self._dispatch = dispatch
                        self._start_lanes()
                        task_status.started()
                        await self._stopping.wait()
                        dispatch.cancel_scope.cancel()
                    for lane in self._lanes.values():
                        self._close(lane)  # workers end after their current attempt...
                    work.cancel_scope.deadline = anyio.current_time() + self._grace  # ...or now
                self._recorder.close()

    def _start_lanes(self) -> None:
        assert self._dispatch is not None and self._work is not None and self._http is not None
        for lane in self._lanes.values():
            self._close(lane)
        destinations = build_destinations(self.config, self._http)
        old = self.circuits
        self._lanes = {name: Lane(dest, old) for name, dest in destinations.items()}
        self._routes = {name: lane for lane in self._lanes.values() for name in lane.names}
        self._dispatch.start_soon(self._bury_unknown, list(self._routes))
        for lane in self._lanes.values():
            for _ in range(lane.destination.settings.concurrency):
                self._work.start_soon(self._worker, lane)
            self._dispatch.start_soon(self._run_lane, lane)

    def _close(self, lane: Lane) -> None:
        for job in lane.close():
            self._inflight[lane.name].discard(job.id)

    async def _bury_unknown(self, known: list[str]) -> None:
        gone = await anyio.to_thread.run_sync(self.store.bury_unknown, known, UNKNOWN_ERROR)
        for destination, count in gone.items():
            self._report.buried(destination, count, UNKNOWN_ERROR)

    async def _run_lane(self, lane: Lane) -> None:
        with lane.scope:
            while True:
                await self._dispatch_once(lane)

    async def _dispatch_once(self, lane: Lane) -> None:
        # Fetch more once the workers are down to about one job each.
        await lane.jobs.wait_below(lane.destination.settings.concurrency)
        wakeup = lane.reset()  # before the query, so a wake during it is not lost
        inflight = frozenset(self._inflight[lane.name])
        if lane.disabled:
            count = await anyio.to_thread.run_sync(
                self.store.bury_destination, lane.name, GONE_ERROR, inflight
            )
            if count:
                self._report.buried(lane.name, count, GONE_ERROR)
            await wakeup.wait()
            return
        now = self.clock()
        for name, breaker in lane.breakers.items():
            # An open circuit gets one probe at a time, about one per first retry delay:
            # its oldest job, due or not (the breaker keeps the time while it is open,
            # and the backlog goes out in the order it came in).
            if breaker.open and breaker.may_probe(now):
                probe = self.store.oldest_jobs(name, 1, inflight)
                if probe:
                    breaker.probing, breaker.probe_id = True, probe[0].id
                    self._inflight[lane.name].add(probe[0].id)
                    lane.jobs.put_many(probe)
        closed = [name for name in lane.names if not lane.breakers[name].open]
        # On the loop, not in a thread: an indexed read of a few rows takes well under a
        # millisecond and WAL readers never wait for a writer, while a thread hop here
        # waits for the GIL behind the event loop and starves the workers meanwhile.
        jobs = self.store.due_jobs(closed, self._batch, inflight, now) if closed else []
        if not jobs:
            due = self.store.next_due(closed, inflight) if closed else None
            waits = [self._poll] if due is None else [due - now, self._poll]
            waits += [b.probe_wait(now) for b in lane.breakers.values() if b.open and not b.probing]
            with anyio.move_on_after(max(min(waits), 0.0)):
                await wakeup.wait()
            return
        if lane.fanout:
            jobs = await self._split(lane, jobs)
        self._inflight[lane.name].update(job.id for job in jobs)
        lane.jobs.put_many(jobs)

    async def _split(self, lane: Lane, jobs: list[Job]) -> list[Job]:
        """Jobs for the whole notifier become one job per URL before anything is sent."""
        whole = [job for job in jobs if job.destination == lane.name]
        if not whole:
            return jobs
        parts = await anyio.to_thread.run_sync(self.store.split, whole, lane.fanout)
        return [job for job in jobs if job.destination != lane.name] + parts

    async def _worker(self, lane: Lane) -> None:
        while (job := await lane.jobs.get()) is not None:
            if lane.disabled:  # handed over just before a 410: leave it to be buried
                self._inflight[lane.name].discard(job.id)
                lane.wake()
                continue
            breaker = lane.breakers.get(job.destination)
            if breaker is not None and breaker.open and job.id != breaker.probe_id:
                # handed over before the circuit opened: it waits with the others
                self._inflight[lane.name].discard(job.id)
                continue
            await self._deliver(lane, job)

    async def _deliver(self, lane: Lane, job: Job) -> None:
        started = time.perf_counter()
        self._active += 1
        try:
            result = await self._attempt(lane, job)
            breaker = lane.breakers.get(job.destination)
            if breaker is not None and breaker.observe(job.id, result, self.clock(), self._rng):
                assert self._work is not None
                self._work.start_soon(self._drain, lane, job.destination)
            outcome = decide(result, job, lane.destination.settings, self.clock(), self._rng)
            attempt = Attempt(lane, job, result, outcome, time.perf_counter() - started)
            await self._recorder.put(attempt, wait=False)
        except BaseException:  # cancelled (shutdown): the job stays due, no attempt counted
            self._inflight[lane.name].discard(job.id)
            raise
        finally:
            self._active -= 1

    async def _attempt(self, lane: Lane, job: Job) -> AttemptResult:
        try:
            result = await lane.destination.send(job)
        except Exception:  # a bug in one destination must not stop the others
            logger.exception("delivery of %s to %s crashed", job.id, lane.name)
            return AttemptResult.failure("internal error (see the log)")
        if result.gone and not lane.disabled:
            # Before this worker takes another job, so no more are sent to it.
            lane.disabled = True
            self._report.disabled(lane)
            lane.wake()
        return result

    async def _drain(self, lane: Lane, name: str) -> None:
        """The circuit of ``name`` closed: whatever waited is due now, oldest event first."""
        await anyio.to_thread.run_sync(self.store.make_due, name, self.clock())
        lane.wake()

    def _record_now(self, attempts: list[Attempt]) -> list[None] | None:
        if not self.store.record_now([attempt.outcome for attempt in attempts]):
            return None
        return [None] * len(attempts)

    def _record(self, attempts: list[Attempt]) -> list[None]:
        self.store.record([attempt.outcome for attempt in attempts])
        return [None] * len(attempts)

    def _recorded(self, attempts: list[Attempt], _results: object) -> None:
        for attempt in attempts:
            self._inflight[attempt.lane.name].discard(attempt.job.id)
            self._report.attempted(attempt)
            attempt.lane.wake()  # a retry may be due earlier than the lane planned to look
        self._report.changed()
