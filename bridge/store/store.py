"""The ``Store`` facade: every operation the pipeline, the workers and the CLI need.

Methods are synchronous and thread-safe. Writes take the one writer lock; an async
caller runs the ones that can take long (``commit``, ``record``) in a worker thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from bridge.rules import RuleState
from bridge.store import clockstep, outbox, state
from bridge.store.commit import commit_items
from bridge.store.db import CHECKPOINT_INTERVAL, FILENAME, Database, StoreError, StoreOpenError
from bridge.store.health import WriteHealth
from bridge.store.jobs import CommitItem, Job, Outcome

SEEN_RETENTION = 7 * 86400.0


def _names(destination: str | Sequence[str]) -> Sequence[str]:
    return (destination,) if isinstance(destination, str) else destination


__all__ = ["Store", "StoreError", "StoreOpenError"]


class Store:
    """Seen ids, rule and normalizer state, the outbox and the dead letters."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        #: whether writes fail for want of space (or a failing disk), and how often they did
        self.health = WriteHealth(db.path)

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        create: bool = True,
        clock: Callable[[], float] = time.time,
        synchronous: str = "FULL",
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> Store:
        """Open (and by default create) the state database in ``state_dir``."""
        state_dir = Path(state_dir)
        if create:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreOpenError(
                    f"{state_dir}: cannot create state_dir: {exc.strerror}"
                ) from None
        elif not (state_dir / FILENAME).exists():
            raise StoreError(
                f"{state_dir}: no state database here (check [bridge].state_dir; "
                "it is created when the service first runs)"
            )
        database = Database(
            state_dir / FILENAME, synchronous=synchronous, checkpoint_interval=checkpoint_interval
        )
        return cls(database, clock=clock)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # -- the pipeline ---------------------------------------------------------------

    def is_seen(self, event_id: str) -> bool:
        """Whether a committed event had this id (within the dedup retention)."""
        with self.db.read() as conn:
            row = conn.execute("SELECT 1 FROM seen WHERE id = ?", (event_id,)).fetchone()
        return row is not None

    def load_rule_state(self) -> RuleState:
        """Rule engine memory as last committed."""
        with self.db.read() as conn:
            return state.load_rule_state(conn)

    def load_venue_state(self, venue: str) -> dict[str, Any]:
        """A venue normalizer's state mapping as last committed."""
        with self.db.read() as conn:
            return state.load_venue_state(conn, venue)

    def commit(self, items: Sequence[CommitItem]) -> list[Job]:
        """Commit many events in one transaction; the outbox jobs created."""
        return [job for jobs in self.commit_each(items) for job in jobs]

    def commit_each(self, items: Sequence[CommitItem]) -> list[list[Job]]:
        """Like :meth:`commit`, with the new jobs listed per item."""
        with self.db.write() as conn:
            return commit_items(conn, items, self.clock())

    def prune_seen(self, retention: float = SEEN_RETENTION) -> int:
        """Forget seen ids older than ``retention`` seconds; how many were forgotten."""
        with self.db.write() as conn:
            cursor = conn.execute("DELETE FROM seen WHERE at < ?", (self.clock() - retention,))
            return cursor.rowcount

    # -- the workers ----------------------------------------------------------------

    def due_jobs(
        self,
        destination: str | Sequence[str],
        limit: int,
        skip: Collection[str] = (),
        now: float | None = None,
    ) -> list[Job]:
        """Jobs of ``destination`` (a name or several) due now, oldest first, but ``skip``."""
        at = self.clock() if now is None else now
        with self.db.read() as conn:
            return outbox.due(conn, _names(destination), at, limit, skip)

    def oldest_jobs(self, destination: str, limit: int, skip: Collection[str] = ()) -> list[Job]:
        """The oldest pending jobs of ``destination`` (by creation), due or not."""
        with self.db.read() as conn:
            return outbox.oldest(conn, destination, limit, skip)

    def next_due(
        self, destination: str | Sequence[str], skip: Collection[str] = ()
    ) -> float | None:
        """When the next job of ``destination`` (not in ``skip``) is due; None if none."""
        with self.db.read() as conn:
            return outbox.next_due(conn, _names(destination), skip)

    def split(self, jobs: Sequence[Job], targets: Sequence[str]) -> list[Job]:
        """Replace each job by one per target (a notifier's URLs); the new jobs.

        Not fsynced, like outcomes: a power cut may undo a split, and the split done
        again makes the same jobs, so at worst a URL gets one more delivery.
        """
        with self.db.write(durable=False) as conn:
            return outbox.split(conn, jobs, targets)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Apply delivery outcomes in one transaction (not fsynced: see Database.write)."""
        with self.db.write(durable=False) as conn:
            outbox.record(conn, outcomes, self.clock())

    def record_now(self, outcomes: Sequence[Outcome]) -> bool:
        """Like :meth:`record` if the writer is free right now (False if it is not).

        Cheap enough for the event loop: it never waits, fsyncs or checkpoints.
        """
        with self.db.quick_write() as conn:
            if conn is None:
                return False
            outbox.record(conn, outcomes, self.clock())
            return True

    def make_due(self, destination: str, now: float) -> int:
        """Make every pending job of ``destination`` due at ``now`` (then they go oldest
        first); how many."""
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET next_at = ? WHERE destination = ?", (now, destination)
            )
            return cursor.rowcount

    def bury_destination(self, destination: str, error: str, skip: Collection[str] = ()) -> int:
        """Move every pending job of ``destination`` (but ``skip``) to the dead letters."""
        with self.db.write() as conn:
            rows = conn.execute("SELECT id FROM outbox WHERE destination = ?", (destination,))
            return outbox.bury_ids(conn, [r[0] for r in rows], skip, error, self.clock())

    def bury_unknown(self, known: Collection[str], error: str) -> dict[str, int]:
        """Move jobs for destinations not in ``known`` to the dead letters; counts by name."""
        with self.db.write() as conn:
            rows = conn.execute("SELECT id, destination FROM outbox").fetchall()
            lost = [(job, name) for job, name in rows if name not in known]
            outbox.bury_ids(conn, [job for job, _ in lost], (), error, self.clock())
        return dict(Counter(name for _, name in lost))

    # -- the clock ------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Note that the service is alive now, if the writer is free (a missed beat is
        harmless: the next one comes a second later)."""
        try:
            with self.db.quick_write() as conn:
                if conn is not None:
                    clockstep.beat(conn, self.clock())
        except sqlite3.Error:
            pass  # a full or failing disk: the commits report it; the next beat tries again

    def undo_clock_step(self) -> float:
        """At start: move schedules back by a wall-clock step back taken while the
        service was down (see :mod:`bridge.store.clockstep`); the step, in seconds."""
        with self.db.write() as conn:
            return clockstep.undo_step(conn, self.clock())

    # -- inspection (CLI, metrics) --------------------------------------------------

    def jobs(self, *, dead: bool = False, limit: int = -1) -> list[Job]:
        """Pending jobs by due time, or dead letters by time of death."""
        if dead:
            query = outbox.SELECT_DEAD + " ORDER BY died_at LIMIT ?"
        else:
            query = outbox.SELECT_PENDING + " ORDER BY next_at LIMIT ?"
        with self.db.read() as conn:
            return [outbox.job_from_row(r, dead=dead) for r in conn.execute(query, (limit,))]

    def counts(self) -> tuple[int, int]:
        """(pending jobs, dead letters)."""
        with self.db.read() as conn:
            (pending,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
            (dead,) = conn.execute("SELECT count(*) FROM dead").fetchone()
        return int(pending), int(dead)

    def oldest_pending(self, destinations: Sequence[str]) -> dict[str, float]:
        """When the oldest pending job of each destination was created (those with any).

        One query: a ``min()`` per destination, each a single lookup in ``outbox_age``
        (destination, created_at), however long the outbox.
        """
        if not destinations:
            return {}
        names = ", ".join(["(?)"] * len(destinations))
        query = (
            f"WITH d(name) AS (VALUES {names}) "  # noqa: S608 (placeholders only)
            "SELECT name, (SELECT min(created_at) FROM outbox WHERE destination = name) FROM d"
        )
        with self.db.read() as conn:
            rows = conn.execute(query, tuple(destinations)).fetchall()
        return {name: float(at) for name, at in rows if at is not None}

    def retry(self, job_id: str) -> str | None:
        """Make a job due now: a dead letter is revived with a fresh attempt count.

        Returns where the job was ("dead" or "pending"), or None if there is no such job.
        """
        now = self.clock()
        with self.db.write() as conn:
            if outbox.revive(conn, job_id, now):
                return "dead"
            cursor = conn.execute("UPDATE outbox SET next_at = ? WHERE id = ?", (now, job_id))
            return "pending" if cursor.rowcount else None

    def retry_all_dead(self) -> int:
        """Revive every dead letter; how many."""
        now = self.clock()
        with self.db.write() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM dead")]
            return sum(outbox.revive(conn, job, now) for job in ids)

    def drop(self, job_id: str) -> str | None:
        """Delete a job for good; where it was ("dead" or "pending"), or None."""
        with self.db.write() as conn:
            if conn.execute("DELETE FROM outbox WHERE id = ?", (job_id,)).rowcount:
                return "pending"
            if conn.execute("DELETE FROM dead WHERE id = ?", (job_id,)).rowcount:
                return "dead"
            return None
