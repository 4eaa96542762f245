"""The pipeline's way into the store: events committed in groups, workers woken."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import anyio
from anyio.abc import TaskStatus

from bridge.delivery.batcher import GroupCommit, Pending, backoff
from bridge.store import CommitItem, Job, Store
from bridge.store.store import SEEN_RETENTION

PRUNE_EVERY = 3600.0

log = logging.getLogger("alert_bridge.store")


class Committer:
    """Commits :class:`CommitItem` s through one writer, many per transaction.

    A lone event is written at once; under load, events queue while the previous batch
    is written and go together, at most ``max_batch`` per transaction. A full batch of
    1,000 takes about 20 ms to write; smaller batches would cost throughput, because each
    hand-over to the writer thread waits for the GIL behind the busy event loop.

    ``on_jobs`` (usually :meth:`Deliverer.notify`) is called on the event loop with the
    jobs of every batch, once they are durable.

    When the disk is full (or failing), the batch in hand is retried until it commits,
    and new events wait in memory behind it, in order: up to ``max_pending`` of them,
    then :meth:`room` makes the pipeline, and so the venues' readers, wait (see
    :class:`GroupCommit`; ``store.health`` tells the log, ``/readyz`` and ``/metrics``).
    """

    def __init__(
        self,
        store: Store,
        *,
        on_jobs: Callable[[list[Job]], None] | None = None,
        max_batch: int = 1000,
        max_pending: int = 10_000,
        seen_retention: float = SEEN_RETENTION,
        pause: Callable[[int], Awaitable[None]] = backoff,
    ) -> None:
        self.store = store
        self.on_jobs = on_jobs
        self.seen_retention = seen_retention
        self._group: GroupCommit[CommitItem, list[Job]] = GroupCommit(
            self._flush,
            after=self._after,
            max_batch=max_batch,
            max_pending=max_pending,
            failures=store.health.writer("events"),
            pause=pause,
        )
        # Ids queued but not yet durable: is_seen must count them, or a repeat arriving
        # during the few ms of a flush would slip past dedup.
        self._pending: Counter[str] = Counter()
        self._pruned_at = float("-inf")
        self.committed = 0  # events made durable (metrics)

    def is_seen(self, event_id: str) -> bool:
        """Whether the event is committed, or queued to be."""
        return event_id in self._pending or self.store.is_seen(event_id)

    @property
    def pending(self) -> int:
        """Events handed over and not durable yet (held in memory while writes fail)."""
        return self._group.pending

    async def commit(self, item: CommitItem) -> list[Job]:
        """Commit one event; returns once it is durable, with the jobs it created."""
        entry = self.enqueue(item, wait=True)
        await self.room()
        return await entry.result()

    async def submit(self, item: CommitItem) -> None:
        """Queue one event without waiting for durability (only for queue space)."""
        self.enqueue(item, wait=False)
        await self.room()

    def enqueue(self, item: CommitItem, *, wait: bool) -> Pending[CommitItem, list[Job]]:
        """Queue one event now, never waiting (its id counts as seen from here on).

        Callers then ``await room()``: the back-pressure, which may be cancelled without
        losing the event, because it is queued already.
        """
        entry = self._group.enqueue(item, wait=wait)  # raises, queueing nothing, once closed
        self._pending[item.event.id] += 1
        return entry

    async def room(self) -> None:
        """Wait while the queue is over its bound (the store cannot keep up, or is full)."""
        await self._group.room()

    def _release(self, event_id: str) -> None:
        left = self._pending[event_id] - 1
        if left:
            self._pending[event_id] = left
        else:
            del self._pending[event_id]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer loop; returns after :meth:`close` once everything queued is durable."""
        try:
            await self._group.run(task_status=task_status)
        finally:
            if self._group.pending:  # cancelled while the store could not write them
                log.error(
                    "store: %d events were never written (%s); "
                    "only a venue that sends them again can bring them back",
                    self._group.pending,
                    self.store.health.problem or "stopped before the writer could write them",
                )

    def close(self) -> None:
        """Stop accepting events; :meth:`run` flushes what is queued and returns."""
        self._group.close()

    def _flush(self, items: list[CommitItem]) -> list[list[Job]]:
        # Runs in the worker thread, so pruning shares the writer and never blocks the loop.
        # A batch whose COMMIT failed (full disk) comes here again: SQLite rolled it back,
        # so it is written afresh; should a failed COMMIT have reached the disk after all,
        # the retry is still harmless (seen ids and job ids are derived from the event
        # and inserted OR IGNORE; state changes are the same absolute values).
        now = time.monotonic()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.store.prune_seen(self.seen_retention)
        return self.store.commit_each(items)

    def _after(self, items: list[CommitItem], results: Sequence[list[Job]]) -> None:
        self.committed += len(items)
        for item in items:
            self._release(item.event.id)
        jobs = [job for batch in results for job in batch]
        if jobs and self.on_jobs is not None:
            self.on_jobs(jobs)
