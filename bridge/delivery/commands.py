"""The ``outbox`` and ``notify-test`` commands, apart from argument parsing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import anyio

from bridge.codec import dumps
from bridge.config import Config
from bridge.delivery.probe import ProbeReport, probe
from bridge.errors import UsageError, UserError
from bridge.store import Job, Store, StoreError
from bridge.units import did_you_mean, quote_list


def open_store(state_dir: Path) -> Store:
    """The state database in ``state_dir``, which must exist already."""
    try:
        return Store.open(state_dir, create=False)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def format_jobs(jobs: Sequence[Job], now: float, *, dead: bool) -> list[str]:
    """Aligned lines: one header, one line per job."""
    when = "DIED" if dead else "NEXT TRY"
    rows = [("ID", "DESTINATION", "RULE", "EVENT", "ATTEMPTS", when, "LAST ERROR")]
    for job in jobs:
        if dead:
            moment = f"{_ago(now - (job.died_at or now))} ago"
        else:
            moment = "due" if job.next_at <= now else f"in {_ago(job.next_at - now)}"
        rows.append(
            (
                job.id,
                job.destination,
                job.rule,
                job.event_kind,
                str(job.attempts),
                moment,
                job.last_error or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in rows
    ]


def list_jobs(store: Store, out: TextIO, *, dead: bool, as_json: bool = False) -> int:
    """Print the pending jobs or the dead letters (``as_json``: one JSON document)."""
    jobs = store.jobs(dead=dead)
    if as_json:
        out.write(dumps({"dead" if dead else "pending": [_job_json(j) for j in jobs]}).decode())
        out.write("\n")
        return 0
    what = "dead letter" if dead else "pending job"
    if jobs:
        for line in format_jobs(jobs, store.clock(), dead=dead):
            out.write(line.rstrip() + "\n")
    out.write(f"{len(jobs)} {what}{'s' if len(jobs) != 1 else ''}\n")
    return 0


def _job_json(job: Job) -> dict[str, object]:
    """A job's public fields (docs/running.md): never its body, which may be large."""
    fields: dict[str, object] = {
        "id": job.id,
        "destination": job.destination,
        "rule": job.rule,
        "event_id": job.event_id,
        "event_kind": job.event_kind,
        "severity": job.severity,
        "title": job.title,
        "attempts": job.attempts,
        "next_at": job.next_at,
        "created_at": job.created_at,
        "last_error": job.last_error,
    }
    if job.died_at is not None:
        fields["died_at"] = job.died_at
    return fields


def retry(store: Store, out: TextIO, job_id: str | None) -> int:
    """Make one job due now (a dead letter gets a fresh attempt count), or every dead letter."""
    if job_id is None:
        count = store.retry_all_dead()
        out.write(f"{count} dead letter{'s' if count != 1 else ''} back in the outbox\n")
        return 0
    where = store.retry(job_id)
    if where is None:
        raise UsageError(f"no job {job_id} in the outbox or the dead letters (see: outbox list)")
    detail = "revived from the dead letters" if where == "dead" else "due now"
    out.write(f"{job_id}: {detail}; a running alert-bridge picks it up within seconds\n")
    return 0


def drop(store: Store, out: TextIO, job_id: str) -> int:
    """Delete one job for good."""
    where = store.drop(job_id)
    if where is None:
        raise UsageError(f"no job {job_id} in the outbox or the dead letters (see: outbox list)")
    place = "the dead letters" if where == "dead" else "the outbox"
    out.write(f"{job_id}: dropped from {place}\n")
    return 0


def notify_test(config: Config, name: str, out: TextIO) -> int:
    """Send one sample alert to ``name`` and say how it went; 0 if delivered, else 1."""
    if name not in config.destinations:
        raise UsageError(
            f'no destination named "{name}"{did_you_mean(name, config.destinations)}; '
            f"destinations: {quote_list(config.destinations) or '(none configured)'}"
        )
    reports = anyio.run(probe, config, name)
    for report in reports:
        _print_probe(report, out)
    return 0 if all(report.result.ok for report in reports) else 1


def _print_probe(report: ProbeReport, out: TextIO) -> None:
    label = f"{report.destination} ({report.kind})"
    took = f"{report.seconds * 1000:.0f} ms"
    status = f", HTTP {report.result.status}" if report.result.status is not None else ""
    if report.result.ok:
        out.write(f"{label}: delivered in {took}{status}; webhook-id {report.job.id}\n")
        return
    if report.result.gone:
        then = "the service would disable this destination until the config is reloaded"
    elif report.result.permanent:
        then = "permanent: the service would move the job to the dead letters"
    else:
        then = "the service would retry on the destination's schedule"
    out.write(f"{label}: FAILED after {took}: {report.result.error} ({then})\n")
