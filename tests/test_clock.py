"""The service's clock and the undoing of clock steps taken while it was down (#12 item 3).

Unit tests with injected clocks; ``test_clock_steps.py`` runs the real service under
libfaketime.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.clock import SteadyClock
from bridge.rules import RuleEngine
from bridge.store import Outcome, Store
from tests.delivery_helpers import SECRET, commit_items, fill_event, make_config


class Clocks:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.wall_now = 1_800_000_000.0
        self.mono_now = 500.0

    def wall(self) -> float:
        return self.wall_now

    def mono(self) -> float:
        return self.mono_now

    def advance(self, seconds: float) -> None:
        self.wall_now += seconds
        self.mono_now += seconds


class Settable:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_steady_clock_starts_at_the_wall_clock_and_ignores_its_steps() -> None:
    clocks = Clocks()
    clock = SteadyClock(clocks.wall, clocks.mono)
    assert clock() == 1_800_000_000.0
    clocks.advance(10)
    assert clock() == 1_800_000_010.0
    clocks.wall_now -= 3600  # NTP steps the wall clock back an hour
    clocks.advance(5)
    assert clock() == 1_800_000_015.0
    clocks.wall_now += 7200  # and forward two
    assert clock() == 1_800_000_015.0


def test_a_cooldown_on_the_steady_clock_lasts_its_own_length() -> None:
    config = make_config(
        Path("/nonexistent"),
        webhooks={"ops": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}},
        rules=[{"name": "big fill", "on": "fill", "notify": ["ops"], "cooldown": "60s"}],
    )
    clocks = Clocks()
    engine = RuleEngine(config.rules, clock=SteadyClock(clocks.wall, clocks.mono))
    assert engine.evaluate(fill_event(1))
    clocks.wall_now -= 3600  # a step back: on the wall clock the cooldown would last 61 min
    clocks.advance(59)
    assert not engine.evaluate(fill_event(2))
    clocks.advance(2)
    assert engine.evaluate(fill_event(3))


@pytest.fixture
def config(tmp_path: Path):
    return make_config(
        tmp_path / "state",
        webhooks={"ops": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}},
        rules=[{"name": "big fill", "on": "fill", "notify": ["ops"], "cooldown": "1h"}],
    )


def test_a_step_back_while_down_moves_retries_and_cooldowns_back(config, tmp_path) -> None:
    clock = Settable(1_800_000_000.0)
    engine = RuleEngine(config.rules, clock=clock)
    store = Store.open(tmp_path / "state", clock=clock)
    try:
        assert store.undo_clock_step() == 0.0  # a new database: nothing to undo
        [job] = store.commit(commit_items(engine, [1]))
        store.record_now([_retry(job.id, at=clock.now + 30)])
        clock.now += 10
        store.heartbeat()  # the last sign of life of this run
    finally:
        store.close()

    clock.now -= 3600 + 10  # the clock went back an hour (and 10 s) while stopped
    store = Store.open(tmp_path / "state", clock=clock)
    try:
        assert store.undo_clock_step() == pytest.approx(3610.0)
        [pending] = store.jobs()
        assert pending.next_at == pytest.approx(clock.now + 20)  # 20 s were left to wait
        fired = store.load_rule_state().last_fired
        assert list(fired.values()) == [pytest.approx(clock.now - 10)]
        assert store.undo_clock_step() == 0.0  # undone once, not at every start
    finally:
        store.close()


def test_a_step_forward_while_down_changes_nothing(config, tmp_path) -> None:
    clock = Settable(1_800_000_000.0)
    store = Store.open(tmp_path / "state", clock=clock)
    try:
        [job] = store.commit(commit_items(RuleEngine(config.rules, clock=clock), [1]))
        store.record_now([_retry(job.id, at=clock.now + 30)])
        store.heartbeat()
    finally:
        store.close()
    clock.now += 3600
    store = Store.open(tmp_path / "state", clock=clock)
    try:
        assert store.undo_clock_step() == 0.0
        [pending] = store.jobs()
        assert pending.next_at == 1_800_000_030.0  # due at once: waits only get shorter
    finally:
        store.close()


def _retry(job_id: str, at: float) -> Outcome:
    return Outcome(job_id, "retry", 1, next_at=at, error="HTTP 503")
