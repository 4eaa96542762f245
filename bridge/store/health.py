"""Telling a full disk from a bug, and saying once that the store cannot write.

A write that fails because of the machine (a full or failing disk, a file system gone
read-only, another process holding the lock too long) may work later, unchanged: the
writers keep what they could not write in memory and retry it (see
:class:`bridge.delivery.batcher.GroupCommit`). Any other failure is a bug in alert-bridge
(a wrong statement, a constraint it broke, a closed connection): retrying it would only
hide it behind an endless loop of the same error, so it stays fatal and loud.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("alert_bridge.store")

# SQLite's primary result codes (sqlite3 names them only from Python 3.11 on).
SQLITE_BUSY = 5  # another process held the write lock beyond the busy timeout
SQLITE_READONLY = 8  # the file or its file system became read-only
SQLITE_IOERR = 10  # the OS refused a read, write or sync (extended codes: IOERR_*)
SQLITE_FULL = 13  # no space left on the file system
SQLITE_CANTOPEN = 14  # the WAL or shared-memory file could not be opened
TRANSIENT_CODES = frozenset(
    {SQLITE_BUSY, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN}
)
# The same errors by message, for Python 3.10 (no sqlite_errorcode attribute there).
TRANSIENT_MESSAGES = (
    "database is locked",
    "attempt to write a readonly database",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
)
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


def is_transient(exc: BaseException) -> bool:
    """Whether a failed write may work later as it is: the disk's fault, not the code's.

    Only ``sqlite3.OperationalError`` (SQLite's errors from its environment) and OSError
    with a storage errno qualify. ``ProgrammingError``, ``IntegrityError``, an
    OperationalError such as "no such table", and every other exception are bugs.
    """
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF in TRANSIENT_CODES  # extended codes keep the primary in the low byte
        return str(exc).lower().startswith(TRANSIENT_MESSAGES)
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return False


def is_full(exc: BaseException) -> bool:
    """Whether the error says the file system is out of space."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code == SQLITE_FULL or "disk is full" in str(exc)


def describe(exc: BaseException) -> str:
    """The error as an operator reads it ("database or disk is full")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class WriteHealth:
    """Whether the store's writers can write, for the log, ``/readyz`` and ``/metrics``.

    Each writer (the event committer, the delivery outcome recorder) reports its failed
    attempts and its first success after them. The log hears of it once: ERROR when the
    first writer starts failing, INFO when the last one works again; not once per retry.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self.failures = 0  # failed write attempts, each retried later (a counter)
        self._errors: dict[str, str] = {}  # failing writer -> its last error
        self._since = 0.0
        self._retried = 0  # failed attempts since the store started failing
        #: called after every failed attempt and every recovery (tests wait on it)
        self.on_change: Callable[[], None] | None = None

    @property
    def failing(self) -> bool:
        """True while some writer's last attempt failed."""
        return bool(self._errors)

    @property
    def problem(self) -> str | None:
        """One line for ``/readyz`` while writes fail; None while they work."""
        if not self._errors:
            return None
        error = next(reversed(self._errors.values()))
        return f"store: cannot write {self.path.name}: {error}; retrying"

    def writer(self, name: str) -> WriterHealth:
        """The reporting end for one writer."""
        return WriterHealth(self, name)

    def failed(self, writer: str, exc: BaseException) -> None:
        """``writer``'s attempt failed with a transient error; it will retry."""
        self.failures += 1
        self._retried += 1
        first = not self._errors
        self._errors[writer] = describe(exc)
        if self.on_change is not None:
            self.on_change()
        if first:
            self._since = self.clock()
            full = is_full(exc)
            log.error(
                "store: cannot write %s: %s; keeping new events and delivery outcomes in "
                "memory and retrying until it works again (%s)",
                self.path,
                describe(exc),
                "free space on its file system" if full else "check the disk under state_dir",
            )

    def recovered(self, writer: str) -> None:
        """``writer`` wrote successfully (cheap when it was not failing)."""
        if self._errors.pop(writer, None) is None or self._errors:
            return
        log.info(
            "store: %s is writable again after %.1fs (%d failed attempts retried)",
            self.path,
            self.clock() - self._since,
            self._retried,
        )
        self._retried = 0
        if self.on_change is not None:
            self.on_change()


class WriterHealth:
    """One writer's view of :class:`WriteHealth` (what GroupCommit calls)."""

    def __init__(self, health: WriteHealth, name: str) -> None:
        self.health = health
        self.name = name

    def transient(self, exc: Exception) -> bool:
        return is_transient(exc)

    def failed(self, exc: Exception) -> None:
        self.health.failed(self.name, exc)

    def recovered(self) -> None:
        self.health.recovered(self.name)
