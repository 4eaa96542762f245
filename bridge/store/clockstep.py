"""Undoing a wall-clock step that happened while the service was down.

Due times and cooldowns are stored as seconds since the epoch. A running service never
lets a step of the wall clock move them (see :mod:`bridge.clock`), but a step taken
while it is stopped (a host that booted with a wrong clock, NTP correcting it, an
operator's ``date -s``) would: after a step back of an hour, every pending retry would
wait an hour more than its delay. So a running service records, about once a second,
the time it last was alive; at the next start, a clock reading *before* that moment
can only mean the clock went back, and every stored schedule is moved back by as much.
(A step forward needs nothing: it only makes waits shorter, never longer.)
"""

from __future__ import annotations

import sqlite3

TABLE = "CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 0), alive REAL)"
_BEAT = "INSERT OR REPLACE INTO clock (id, alive) VALUES (0, ?)"

# Below this, a difference is the heartbeat's own granularity, not a step worth undoing.
TOLERANCE = 2.0


def beat(conn: sqlite3.Connection, now: float) -> None:
    """Record that the service is alive at ``now``."""
    conn.execute(_BEAT, (now,))


def undo_step(conn: sqlite3.Connection, now: float) -> float:
    """Move stored schedules back by the step the clock took since the last run.

    Returns the step undone, in seconds (0.0 when the clock did not go back).
    """
    row = conn.execute("SELECT alive FROM clock WHERE id = 0").fetchone()
    step = 0.0 if row is None or row[0] is None else float(row[0]) - now
    if step <= TOLERANCE:
        beat(conn, now)
        return 0.0
    # Retry due times, and cooldowns (their "last fired" times), keep their distance
    # from the present; created_at keeps the order of the jobs and so is moved too.
    conn.execute(
        "UPDATE outbox SET next_at = next_at - ?, created_at = created_at - ?", (step, step)
    )
    conn.execute("UPDATE rule_state SET value = value - ? WHERE tbl = 'last_fired'", (step,))
    beat(conn, now)
    return step
