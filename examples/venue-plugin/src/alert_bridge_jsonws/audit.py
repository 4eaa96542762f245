"""A destination kind besides venues: ``[jsonl.NAME]`` appends every alert to a file.

Each alert is one line: the same JSON body a webhook would carry (type, timestamp and
the event with its rule), so the file is an audit trail tools can read line by line.
The core still owns the outbox, retries and dead letters; this only writes.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from bridge.plugin import NON_EMPTY_TEXT, AttemptResult, Destination, Job, Option


class JsonLinesFile(Destination):
    """Appends each alert's JSON body to ``path``, one line per alert."""

    options = (Option("path", NON_EMPTY_TEXT, help="the file to append to"),)

    async def send(self, job: Job) -> AttemptResult:
        """Append one line; a write error is a failed attempt, retried like any other."""
        path = Path(self.config["path"])
        try:
            await anyio.to_thread.run_sync(_append, path, job.body + b"\n")
        except OSError as exc:
            return AttemptResult.failure(f"cannot write {path}: {exc.strerror}")
        return AttemptResult.success()


def _append(path: Path, line: bytes) -> None:
    # One write call of one line in append mode: lines from concurrent sends never mix.
    with path.open("ab") as file:
        file.write(line)
