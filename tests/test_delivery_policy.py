"""Retry decisions: schedule with jitter, attempt limits, permanent failures, Retry-After."""

from __future__ import annotations

import random
from email.utils import formatdate
from pathlib import Path

import pytest

from bridge.delivery.attempt import AttemptResult
from bridge.delivery.policy import decide, parse_retry_after, retry_delay
from bridge.delivery.webhook import classify
from bridge.store import Job
from tests.delivery_helpers import SECRET, make_config

NOW = 1_700_000_000.0


@pytest.fixture
def settings(tmp_path: Path):
    hook = {"url": "http://127.0.0.1:9/h", "secret": SECRET, "retry": ["5s", "30s", "2m"]}
    hook["max_attempts"] = 5
    return make_config(tmp_path, webhooks={"ops": hook}).webhooks["ops"]


def job(attempts: int = 0) -> Job:
    return Job("msg_1", "ops", "e", "fill", "r", "info", "t", "m", b"{}", attempts=attempts)


def test_delays_follow_the_schedule_within_twenty_percent() -> None:
    rng = random.Random(7)
    schedule = [5.0, 30.0, 120.0]
    for attempts, base in [(1, 5.0), (2, 30.0), (3, 120.0), (4, 120.0), (9, 120.0)]:
        delays = [retry_delay(schedule, attempts, rng) for _ in range(200)]
        assert base * 0.8 <= min(delays) < max(delays) <= base * 1.2
        assert max(delays) - min(delays) > base * 0.2  # really jittered


def test_a_failure_is_retried_then_buried_after_max_attempts(settings) -> None:
    rng = random.Random(1)
    failed = AttemptResult.failure("HTTP 500")
    outcome = decide(failed, job(0), settings, NOW, rng)
    assert (outcome.action, outcome.attempts, outcome.error) == ("retry", 1, "HTTP 500")
    assert NOW + 4 <= outcome.next_at <= NOW + 6
    last = decide(failed, job(4), settings, NOW, rng)
    assert (last.action, last.attempts) == ("dead", 5)
    assert last.error == "gave up after 5 attempts: HTTP 500"


def test_success_permanent_and_gone(settings) -> None:
    rng = random.Random(1)
    assert decide(AttemptResult.success(204), job(3), settings, NOW, rng).action == "delivered"
    permanent = AttemptResult.failure("HTTP 400", permanent=True)
    assert decide(permanent, job(0), settings, NOW, rng).action == "dead"
    gone = AttemptResult.failure("HTTP 410", gone=True)
    assert decide(gone, job(0), settings, NOW, rng).action == "dead"


def test_retry_after_replaces_the_schedule_but_is_capped(settings) -> None:
    rng = random.Random(1)
    soon = decide(AttemptResult.failure("HTTP 429", retry_after=60), job(0), settings, NOW, rng)
    assert NOW + 60 <= soon.next_at <= NOW + 66
    huge = AttemptResult.failure("HTTP 503", retry_after=10**9)
    capped = decide(huge, job(0), settings, NOW, rng)
    assert NOW + 120 <= capped.next_at <= NOW + 132  # the longest delay of the schedule


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(formatdate(NOW + 90, usegmt=True), NOW) == 90
    assert parse_retry_after(formatdate(NOW - 90, usegmt=True), NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    ("status", "ok", "permanent", "gone"),
    [
        (200, True, False, False),
        (204, True, False, False),
        (301, False, False, False),
        (308, False, False, False),
        (400, False, True, False),
        (401, False, True, False),
        (404, False, True, False),
        (408, False, False, False),
        (410, False, False, True),
        (429, False, False, False),
        (500, False, False, False),
        (503, False, False, False),
    ],
)
def test_classify_statuses(status: int, ok: bool, permanent: bool, gone: bool) -> None:
    result = classify(status, "7", NOW)
    assert (result.ok, result.permanent, result.gone, result.status) == (
        ok,
        permanent,
        gone,
        status,
    )
    assert result.retry_after == (7 if status in (429, 503) else None)
