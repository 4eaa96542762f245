"""What the outbox holds: a job per (match, destination), rendered when it is committed.

A job carries everything every destination kind needs (the Standard Webhooks body, the
Apprise title, message and notify type), so a config edit or reload never changes an
alert that is already queued, and a retry sends exactly the bytes the first try sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from bridge.codec import dumps
from bridge.dryrun import webhook_body
from bridge.events import Event
from bridge.rules import Match
from bridge.rules.state import StateKey

RuleChange = tuple[str, StateKey, Any]


@dataclass(slots=True)
class CommitItem:
    """One event and everything that must be saved with it, atomically."""

    event: Event
    matches: list[Match] = field(default_factory=list)
    #: from ``RuleState.drain_changes()``
    rule_changes: list[RuleChange] = field(default_factory=list)
    #: the normalizer's state for ``event.venue``: key -> new JSON value (None deletes)
    venue_changes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Job:
    """One alert for one destination, waiting in the outbox (or among the dead letters)."""

    id: str
    destination: str
    event_id: str
    event_kind: str
    rule: str
    severity: str
    title: str
    message: str
    body: bytes  # the webhook body, JSON
    attempts: int = 0
    next_at: float = 0.0
    created_at: float = 0.0
    last_error: str | None = None
    died_at: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one delivery attempt, as the store must record it."""

    job_id: str
    action: Literal["delivered", "retry", "dead"]
    attempts: int
    next_at: float = 0.0
    error: str | None = None


def job_id(event_id: str, rule: str, destination: str) -> str:
    """The job's id, also its ``webhook-id``: the same alert always gets the same id.

    Deterministic so that a receiver can drop a repeat even when alert-bridge itself
    could not tell (an event seen again after its dedup retention ran out).
    """
    text = "\x1f".join((event_id, rule, destination))
    return "msg_" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def split_job(job: Job, targets: Sequence[str]) -> list[Job]:
    """``job`` as one job per target (a notifier's URLs), each with its own stable id.

    Everything else carries over, attempts and last error included: a job written by an
    older version (one for every URL) keeps the attempts it already spent.
    """
    return [
        replace(job, id=job_id(job.event_id, job.rule, target), destination=target)
        for target in targets
    ]


def iso_timestamp(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2023-11-14T22:13:20.000Z``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_jobs(match: Match, now: float) -> list[Job]:
    """One job per destination the matched rule notifies, rendered now."""
    event = match.event
    rule = match.rule
    body = dumps(webhook_body(match, iso_timestamp(event.ts)))
    title = match.title
    message = match.body
    return [
        Job(
            id=job_id(event.id, rule.name, destination),
            destination=destination,
            event_id=event.id,
            event_kind=event.kind,
            rule=rule.name,
            severity=rule.severity,
            title=title,
            message=message,
            body=body,
            next_at=now,
            created_at=now,
        )
        for destination in rule.notify
    ]
