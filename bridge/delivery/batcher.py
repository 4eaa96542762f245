"""Group commit: whatever arrives while one flush runs goes into the next flush.

A lone item is flushed at once (no timer holds it back, unless the owner asks for a
linger); under load items pile up while the worker thread writes the previous batch,
so batches grow by themselves and the fsync is paid once per batch, not once per item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import anyio
from anyio.abc import TaskStatus

T = TypeVar("T")
R = TypeVar("R")

RETRY_FIRST = 0.05  # seconds before the first retry of a failed flush
RETRY_MAX = 1.0  # ...doubling up to this: space that comes back is used within a second


async def backoff(attempt: int) -> None:
    """Wait before retry ``attempt`` (1, 2, ...) of a failed flush."""
    await anyio.sleep(min(RETRY_FIRST * 2 ** (attempt - 1), RETRY_MAX))


class Failures(Protocol):
    """Which failed flushes are retried, and who hears of failures and recovery."""

    def transient(self, exc: Exception) -> bool:
        """True: retry the batch later (a full disk); False: the flush's error is fatal."""

    def failed(self, exc: Exception) -> None:
        """A flush failed with a transient error and will be retried."""

    def recovered(self) -> None:
        """A flush succeeded (called after every one; cheap when nothing failed)."""


class Pending(Generic[T, R]):
    """An item in the queue; :meth:`result` waits until its batch is durable."""

    __slots__ = ("done", "error", "item", "value")

    def __init__(self, item: T, waited: bool) -> None:
        self.item = item
        self.done: anyio.Event | None = anyio.Event() if waited else None
        self.value: R | None = None
        self.error: BaseException | None = None

    async def result(self) -> R:
        """The flush's result for this item, or the flush's error."""
        assert self.done is not None, "queued with wait=False"
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit(Generic[T, R]):
    """Runs ``flush(batch)`` in a worker thread, one batch at a time, in arrival order.

    ``flush`` returns one result per item. ``after(batch, results)`` runs on the event
    loop once a batch is durable. ``linger`` holds the first item of a batch that long
    for company: for callers that do not wait on the result (0 for those that do).
    ``inline(batch)``, if given, is tried first on the event loop; it returns None when
    the batch has to go to the worker thread after all.

    A flush that fails with an error ``failures`` calls transient (a full disk: SQLite
    rolled the transaction back) is retried, the same batch as one transaction, after
    ``pause(attempt)``, until it succeeds; meanwhile new items queue behind it in order.
    Any other failure is fatal: waiters get the error and :meth:`run` raises it, because
    an item that cannot be stored must not be dropped quietly, and a bug must not hide
    in a retry loop (the service restarts; everything committed before is intact).

    The queue is bounded: :meth:`put` waits while more than ``max_pending`` items are
    queued. It queues its item *before* it waits, so a put cancelled while it waits
    (a venue's connection ended meanwhile) has still handed its item over.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Sequence[R]],
        *,
        after: Callable[[list[T], Sequence[R]], None] | None = None,
        inline: Callable[[list[T]], Sequence[R] | None] | None = None,
        max_batch: int = 1000,
        max_pending: int = 10_000,
        linger: float = 0.0,
        failures: Failures | None = None,
        pause: Callable[[int], Awaitable[None]] = backoff,
    ) -> None:
        self._flush = flush
        self._inline = inline
        self._linger = linger
        self._after = after
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._failures = failures
        self._pause = pause
        self._queue: deque[Pending[T, R]] = deque()
        self._writing = 0  # items of the batch being flushed (or retried)
        self._arrived = anyio.Event()  # set when an item is queued
        self._room = anyio.Event()  # set when items leave the queue
        self._closed = False  # close(): no more puts
        self._ended = False  # run() has returned: waiting for room is pointless

    @property
    def pending(self) -> int:
        """Items not durable yet: queued, and in the batch being written."""
        return len(self._queue) + self._writing

    def enqueue(self, item: T, *, wait: bool) -> Pending[T, R]:
        """Queue ``item`` now, whatever the queue's length; ``wait``: keep its result.

        Raises ``anyio.ClosedResourceError`` after :meth:`close` (nothing is queued then).
        """
        if self._closed:
            raise anyio.ClosedResourceError
        entry: Pending[T, R] = Pending(item, waited=wait)
        self._queue.append(entry)
        self._arrived.set()
        return entry

    async def room(self) -> None:
        """Wait while more than ``max_pending`` items are queued (back-pressure)."""
        while len(self._queue) > self._max_pending:
            if self._ended:
                raise anyio.BrokenResourceError("the writer has stopped")
            await self._room.wait()

    async def put(self, item: T, *, wait: bool) -> Pending[T, R]:
        """Queue ``item``, then wait while the queue is over its bound."""
        entry = self.enqueue(item, wait=wait)
        if len(self._queue) > self._max_pending:
            await self.room()
        return entry

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait until its batch is durable; the flush's result for it."""
        return await (await self.put(item, wait=True)).result()

    def close(self) -> None:
        """Accept nothing more; :meth:`run` returns once the queue is flushed."""
        self._closed = True
        self._arrived.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Flush batches until :meth:`close` (run it in a task group)."""
        task_status.started()
        try:
            while True:
                if not self._queue:
                    if self._closed:
                        return
                    self._arrived = anyio.Event()
                    await self._arrived.wait()
                    continue
                if self._linger:
                    await anyio.sleep(self._linger)
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
                self._room.set()
                self._room = anyio.Event()
                await self._write(batch)
        finally:
            # However run() ends: later puts fail fast, waiters for room are let go.
            self._closed = self._ended = True
            self._room.set()

    async def _write(self, batch: list[Pending[T, R]]) -> None:
        items = [entry.item for entry in batch]
        self._writing = len(batch)  # still counted if run() is cancelled in a retry
        try:
            results = await self._flush_until_done(items)
        except Exception as exc:
            self._writing = 0
            for entry in batch:
                entry.error = exc
                if entry.done is not None:
                    entry.done.set()
            raise
        self._writing = 0
        if self._after is not None:
            self._after(items, results)
        for entry, result in zip(batch, results, strict=True):
            entry.value = result
            if entry.done is not None:
                entry.done.set()

    async def _flush_until_done(self, items: list[T]) -> Sequence[R]:
        attempt = 0
        while True:
            try:
                results = self._inline(items) if self._inline is not None else None
                if results is None:
                    results = await anyio.to_thread.run_sync(self._flush, items)
            except Exception as exc:
                if self._failures is None or not self._failures.transient(exc):
                    raise
                attempt += 1
                self._failures.failed(exc)
                await self._pause(attempt)
                continue
            if self._failures is not None:
                self._failures.recovered()
            return results
