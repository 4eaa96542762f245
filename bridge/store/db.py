"""The SQLite file: connections, pragmas, schema, and the one-writer discipline.

Writes go through :meth:`Database.write` (one lock, one ``BEGIN IMMEDIATE``
transaction). Reads borrow a connection from a small pool of readers, which WAL lets
read while a write is in progress, so a long group commit never stalls the event loop.
WAL checkpoints run in a thread of their own, never inside a commit.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bridge.errors import UserError
from bridge.store import clockstep
from bridge.store.health import describe, is_full

FILENAME = "state.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's (the CLI's)
CHECKPOINT_INTERVAL = 1.0  # seconds between background checkpoints, while writes happen
FALLBACK_CHECKPOINT_PAGES = 10_000  # the writer checkpoints itself only past this (~40 MB)
LOW_SPACE = 1 << 20  # bytes: a state_dir with less free space than this counts as full
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")  # the PRAGMA's levels (it takes no parameter)

_JOB_COLUMNS = """
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_kind TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    next_at REAL NOT NULL,
    created_at REAL NOT NULL,
    last_error TEXT
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS rule_state (
    tbl TEXT NOT NULL, rule TEXT NOT NULL, venue TEXT NOT NULL, subject TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (tbl, rule, venue, subject)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_state (
    venue TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (venue, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox ({_JOB_COLUMNS});
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_due_order ON outbox (destination, next_at, created_at);
CREATE INDEX IF NOT EXISTS outbox_age ON outbox (destination, created_at);
CREATE TABLE IF NOT EXISTS dead ({_JOB_COLUMNS}, died_at REAL NOT NULL);
{clockstep.TABLE};
"""


log = logging.getLogger("alert_bridge.store")


class StoreError(UserError):
    """The state database cannot be opened or used: the operator's to fix, in one line."""


class StoreOpenError(StoreError, UserError):
    """The state database cannot be created, opened or migrated at start-up.

    Something the operator fixes (space, permissions, the path), so the CLI prints it as
    one line naming state_dir and the fix, and exits non-zero.
    """


# SQLite's primary result codes for a damaged file (sqlite3 names them from Python 3.11;
# sqlite_errorcode too, so on 3.10 such a file reads as any other open failure).
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26


def open_error(path: Path, exc: sqlite3.Error) -> StoreOpenError:
    """The error for a database that could not be opened, with the likely fix."""
    reason = describe(exc)
    if getattr(exc, "sqlite_errorcode", None) in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreOpenError(
            f"{path}: cannot open the state database: {reason}; move the damaged file "
            "aside (the service starts with an empty state) or restore it from a backup"
        )
    if is_full(exc):
        full = True
    else:  # on a full disk SQLite may report the -shm file it could not size: an I/O error
        try:
            full = shutil.disk_usage(path.parent).free < LOW_SPACE
        except OSError:
            full = False
        if full:
            reason += " (its file system is full)"
    fix = (
        "free space on its file system (or point [bridge].state_dir elsewhere) and start again"
        if full
        else "check that the file system is healthy and writable by this user, and start again"
    )
    return StoreOpenError(f"state_dir {path.parent}: cannot write {path.name}: {reason}; {fix}")


class Checkpointer:
    """Copies committed WAL pages into the database file, from its own thread.

    SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages
    and can hold it for tens of milliseconds, while every alert behind it waits. Here a
    PASSIVE checkpoint runs about once a second after writes: it never waits for, or
    blocks, the writer or the readers, and (the sqlite3 module releases the GIL while
    SQLite works) leaves the event loop alone too. Should this thread fail, the writer's
    own checkpoint at :data:`FALLBACK_CHECKPOINT_PAGES` still bounds the WAL.
    """

    def __init__(self, path: Path, interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = path
        self.interval = interval
        self.dirty = False  # set by each write; plain assignment is atomic under the GIL
        self.passed = threading.Event()  # set after each complete pass (tests wait on it)
        self.lock = threading.Lock()  # held during a pass: outside it the main file is whole
        self._failing = False
        # Opened here, so a database this thread could not open fails the open itself.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread after one last checkpoint of what is pending."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self._checkpoint()
            self._checkpoint()
        finally:
            self._conn.close()

    def _checkpoint(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        try:
            with self.lock:
                busy, frames, copied = self._conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
        except Exception as exc:  # never let the thread die: it would stop checkpoints
            self.dirty = True
            if not self._failing:
                self._failing = True
                log.warning("WAL checkpoint failed (retrying every %gs): %s", self.interval, exc)
            return
        if self._failing:
            self._failing = False
            log.warning("WAL checkpoints work again")
        if busy or copied < frames:
            # Another connection was checkpointing, or a reader still needed older pages:
            # the rest goes next time, even if nothing is written meanwhile.
            self.dirty = True
            return
        self.passed.set()


class Database:
    """One WAL-mode SQLite file: a locked writer connection and pooled readers."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self.path = path
        self._synchronous = synchronous
        self._lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []  # readers not in use right now
        self._readers: list[sqlite3.Connection] = []  # every reader, to close them
        try:
            self._writer = self._connect(synchronous)
        except sqlite3.Error as exc:
            raise open_error(path, exc) from None
        try:
            # Checkpoints are the Checkpointer's job; a commit does one only if it fails.
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_CHECKPOINT_PAGES}")
            self.checkpointer = Checkpointer(path, checkpoint_interval)
        except sqlite3.Error as exc:
            self._writer.close()
            raise open_error(path, exc) from None
        try:
            self._migrate()
        except BaseException as exc:
            self.close()
            if isinstance(exc, sqlite3.Error):
                raise open_error(path, exc) from None
            raise

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        # check_same_thread is off because calls arrive from anyio worker threads; the
        # locks, not the thread, keep each connection to one user at a time.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")  # fails on a full disk (no -shm)
            # FULL: a commit is on disk before it returns, so an alert outlives a power
            # cut too; group commit is what keeps that affordable.
            conn.execute(f"PRAGMA synchronous = {synchronous}")
        except BaseException:
            conn.close()  # or its files stay open until the garbage collector runs
            raise
        return conn

    def _migrate(self) -> None:
        (version,) = self._writer.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer alert-bridge (schema {version}, this "
                f"one knows {SCHEMA_VERSION}); upgrade alert-bridge or use another state_dir"
            )
        with self.write() as conn:
            # not executescript: it would COMMIT the transaction it runs in
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """The writer connection inside one transaction, committed on success.

        ``durable=False`` skips the fsync of this commit (it becomes durable with the next
        durable one): for writes that are safe to lose in a power cut, such as delivery
        outcomes, where a lost "delivered" only means one more delivery of the same id.
        """
        with self._lock:
            conn = self._writer
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield from _transaction(conn)
                self.checkpointer.dirty = True
            finally:
                if not durable:
                    conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    @contextmanager
    def quick_write(self) -> Iterator[sqlite3.Connection | None]:
        """A non-durable transaction if one can start right now; else yields None.

        For small writes from the event loop: it never waits for the lock (held by a
        thread or another process), never fsyncs, never checkpoints the WAL — any of
        which could hold the loop for milliseconds.
        """
        if not self._lock.acquire(blocking=False):
            yield None
            return
        conn = self._writer
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # another process is writing
                yield None
                return
            yield from _transaction(conn)
            self.checkpointer.dirty = True
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_CHECKPOINT_PAGES}")
            self._lock.release()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read connection (autocommit: each query sees the latest commit)."""
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            # As many readers as ever read at once: the loop, a worker or two, the CLI.
            conn = self._connect(self._synchronous)
            with self._pool_lock:
                self._readers.append(conn)
        try:
            yield conn
        finally:
            with self._pool_lock:
                self._idle.append(conn)

    def close(self) -> None:
        """Close every connection (waits for a write in progress)."""
        self.checkpointer.close()
        with self._lock, self._pool_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._idle.clear()
            self._writer.close()


def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """The body of a transaction begun by the caller: COMMIT on success, else ROLLBACK."""
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (a full disk) may leave the transaction open, or SQLite may
        # have rolled it back itself; either way the next BEGIN must find none open.
        # A failing ROLLBACK must not replace the error that explains it.
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
