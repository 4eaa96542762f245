"""Queue operations on the ``outbox`` and ``dead`` tables (callers hold a transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from bridge.store.commit import INSERT_JOB, job_row
from bridge.store.jobs import Job, Outcome, split_job

# The SQL below interpolates only these constant column lists, never a value (S608).
JOB_COLUMNS = (
    "id, destination, event_id, event_kind, rule, severity, title, message, body, "
    "attempts, next_at, created_at, last_error"
)
# Moving a job between the tables copies the row, replacing a few columns with parameters.
_BURY = (
    "INSERT OR REPLACE INTO dead SELECT id, destination, event_id, event_kind, rule, "
    "severity, title, message, body, ?, next_at, created_at, ?, ? FROM outbox WHERE id = ?"
)
_REVIVE = (
    "INSERT OR REPLACE INTO outbox SELECT id, destination, event_id, event_kind, rule, "
    "severity, title, message, body, 0, ?, created_at, last_error FROM dead WHERE id = ?"
)
SELECT_PENDING = f"SELECT {JOB_COLUMNS} FROM outbox"  # noqa: S608
SELECT_DEAD = f"SELECT {JOB_COLUMNS}, died_at FROM dead"  # noqa: S608


def job_from_row(row: Any, *, dead: bool = False) -> Job:
    """A Job from a row selected with ``JOB_COLUMNS`` (plus ``died_at`` for dead ones)."""
    job = Job(*row[:13])
    if dead:
        job.died_at = row[13]
    return job


def _where(destinations: Sequence[str]) -> str:
    """The condition for jobs of any of ``destinations`` (one: the plain, fastest form)."""
    if len(destinations) == 1:
        return "destination = ?"
    return f"destination IN ({', '.join('?' * len(destinations))})"


def due(
    conn: sqlite3.Connection,
    destinations: Sequence[str],
    now: float,
    limit: int,
    skip: Collection[str],
) -> list[Job]:
    """Up to ``limit`` jobs for ``destinations`` due at ``now``, oldest first, not in ``skip``."""
    rows = conn.execute(
        SELECT_PENDING
        + f" WHERE {_where(destinations)} AND next_at <= ? ORDER BY next_at, created_at LIMIT ?",
        (*destinations, now, limit + len(skip)),
    ).fetchall()
    return [job_from_row(r) for r in rows if r[0] not in skip][:limit]


def oldest(
    conn: sqlite3.Connection, destination: str, limit: int, skip: Collection[str]
) -> list[Job]:
    """Up to ``limit`` jobs of ``destination`` not in ``skip``, oldest first, due or not."""
    rows = conn.execute(
        SELECT_PENDING + " WHERE destination = ? ORDER BY created_at LIMIT ?",
        (destination, limit + len(skip)),
    ).fetchall()
    return [job_from_row(r) for r in rows if r[0] not in skip][:limit]


def next_due(
    conn: sqlite3.Connection, destinations: Sequence[str], skip: Collection[str]
) -> float | None:
    """When the earliest job of ``destinations`` not in ``skip`` is due; None if none."""
    rows = conn.execute(
        f"SELECT id, next_at FROM outbox WHERE {_where(destinations)} ORDER BY next_at LIMIT ?",  # noqa: S608
        (*destinations, len(skip) + 1),
    ).fetchall()
    return next((at for job, at in rows if job not in skip), None)


def split(conn: sqlite3.Connection, jobs: Iterable[Job], targets: Sequence[str]) -> list[Job]:
    """Replace each of ``jobs`` by one job per target; the new jobs.

    A job no longer in the outbox (delivered, dropped or buried meanwhile) is not split.
    A part that exists already (the same split, run again) is kept as it is, and is
    not among those returned: it is due, or not, on its own.
    """
    made: list[Job] = []
    for job in jobs:
        if not conn.execute("DELETE FROM outbox WHERE id = ?", (job.id,)).rowcount:
            continue
        for part in split_job(job, targets):
            if conn.execute(INSERT_JOB, job_row(part)).rowcount:
                made.append(part)
    return made


def bury(conn: sqlite3.Connection, job: str, attempts: int | None, error: str, now: float) -> None:
    """Move one job to the dead letters (``attempts`` None keeps its count)."""
    if attempts is None:
        row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (job,)).fetchone()
        if row is None:
            return
        attempts = int(row[0])
    conn.execute(_BURY, (attempts, error, now, job))
    conn.execute("DELETE FROM outbox WHERE id = ?", (job,))


def record(conn: sqlite3.Connection, outcomes: Sequence[Outcome], now: float) -> None:
    """Apply delivery outcomes; a job that vanished meanwhile (dropped) is skipped."""
    conn.executemany(
        "DELETE FROM outbox WHERE id = ?",
        [(o.job_id,) for o in outcomes if o.action == "delivered"],
    )
    conn.executemany(
        "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
        [(o.attempts, o.next_at, o.error, o.job_id) for o in outcomes if o.action == "retry"],
    )
    for outcome in outcomes:
        if outcome.action == "dead":
            bury(conn, outcome.job_id, outcome.attempts, outcome.error or "", now)


def bury_ids(
    conn: sqlite3.Connection, ids: Iterable[str], skip: Collection[str], error: str, now: float
) -> int:
    """Move the jobs ``ids`` (but those in ``skip``) to the dead letters; how many."""
    moved = [job for job in ids if job not in skip]
    for job in moved:
        bury(conn, job, None, error, now)
    return len(moved)


def revive(conn: sqlite3.Connection, job: str, now: float) -> bool:
    """Move a dead letter back to the outbox, due now, with a fresh attempt count."""
    if conn.execute(_REVIVE, (now, job)).rowcount != 1:
        return False
    conn.execute("DELETE FROM dead WHERE id = ?", (job,))
    return True
