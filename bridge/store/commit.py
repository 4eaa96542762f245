"""Committing events: seen id, state changes and outbox jobs in one transaction.

A batch of many events is still one transaction (group commit): the fsync that makes
it durable is paid once per batch, not once per event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from bridge.codec import dumps
from bridge.store.jobs import CommitItem, Job, render_jobs

_INSERT_SEEN = "INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)"
_CHUNK = 500  # ids per lookup, well below SQLite's limit on parameters
_UPSERT_RULE = "INSERT OR REPLACE INTO rule_state VALUES (?, ?, ?, ?, ?)"
_DELETE_RULE = "DELETE FROM rule_state WHERE tbl = ? AND rule = ? AND venue = ? AND subject = ?"
_UPSERT_VENUE = "INSERT OR REPLACE INTO venue_state VALUES (?, ?, ?)"
_DELETE_VENUE = "DELETE FROM venue_state WHERE venue = ? AND key = ?"
INSERT_JOB = "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def job_row(job: Job) -> tuple[Any, ...]:
    """The job as an ``outbox`` row, columns in table order."""
    return (
        job.id,
        job.destination,
        job.event_id,
        job.event_kind,
        job.rule,
        job.severity,
        job.title,
        job.message,
        job.body,
        job.attempts,
        job.next_at,
        job.created_at,
        job.last_error,
    )


def commit_items(
    conn: sqlite3.Connection, items: Sequence[CommitItem], now: float
) -> list[list[Job]]:
    """Write ``items`` inside the caller's transaction; the new jobs of each item.

    An id already seen yields no jobs, but its state changes are still written: they
    are the drained *current* in-memory values, and skipping them would leave the file
    behind the memory for keys that will not change again.
    """
    results: list[list[Job]] = []
    jobs: list[Job] = []
    # Coalesced in order, so a later change to the same key in the batch wins.
    rule_state: dict[tuple[str, str, str, str], Any] = {}
    venue_state: dict[tuple[str, str], Any] = {}
    unseen = _unseen(conn, [item.event.id for item in items])
    conn.executemany(_INSERT_SEEN, [(event_id, now) for event_id in unseen])
    for item in items:
        fresh = item.event.id in unseen
        unseen.discard(item.event.id)  # a repeat later in the same batch is not fresh
        for table, (rule, rule_venue, subject), value in item.rule_changes:
            rule_state[(table, rule, rule_venue, subject)] = value
        venue = item.event.venue
        for name, value in item.venue_changes.items():
            venue_state[(venue, name)] = value
        if not fresh or not item.matches:
            results.append([])
            continue
        mine = [job for match in item.matches for job in render_jobs(match, now)]
        jobs.extend(mine)
        results.append(mine)
    if rule_state:
        conn.executemany(
            _UPSERT_RULE, [(*k, float(v)) for k, v in rule_state.items() if v is not None]
        )
        conn.executemany(_DELETE_RULE, [k for k, v in rule_state.items() if v is None])
    if venue_state:
        conn.executemany(
            _UPSERT_VENUE, [(*k, dumps(v)) for k, v in venue_state.items() if v is not None]
        )
        conn.executemany(_DELETE_VENUE, [k for k, v in venue_state.items() if v is None])
    if jobs:
        conn.executemany(INSERT_JOB, [job_row(job) for job in jobs])
    return results


def _unseen(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Those of ``ids`` not in ``seen`` yet: one query per chunk, not one per event."""
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        query = f"SELECT id FROM seen WHERE id IN ({marks})"  # noqa: S608 - placeholders only
        known.update(row[0] for row in conn.execute(query, chunk))
    return set(ids) - known
