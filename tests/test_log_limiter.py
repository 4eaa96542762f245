"""The log limiter: the first lines in full, then one summary per interval; a fake clock."""

from __future__ import annotations

import logging

import pytest

from bridge.log_limiter import LogLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logger(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.INFO, logger="test.limiter")
    return logging.getLogger("test.limiter")


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def repeat(limiter: LogLimiter, log: logging.Logger, times: int, reason: str = "not JSON") -> int:
    """Offer ``times`` lines; log those allowed; return how many were."""
    logged = 0
    for i in range(times):
        if limiter.allow(logging.WARNING, "gate-main", reason, "malformed frames"):
            log.warning("gate-main: malformed frame: %s %d", reason, i)
            logged += 1
    return logged


def test_the_first_lines_pass_then_one_summary_per_interval(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=5, interval=10, clock=clock)
    assert repeat(limiter, logger, 50_000) == 5
    clock.now += 4
    assert repeat(limiter, logger, 1_000) == 0
    assert len(caplog.records) == 5  # nothing more within the interval
    clock.now += 6  # the interval is over: the next line brings the summary
    assert repeat(limiter, logger, 10) == 0
    assert lines(caplog)[5:] == [
        "… 50,995 more malformed frames from gate-main (not JSON) in the last 10s"
    ]
    assert caplog.records[5].levelno == logging.WARNING
    clock.now += 10
    limiter.flush()  # the storm's tail, with no further line to carry it
    assert lines(caplog)[6:] == [
        "… 10 more malformed frames from gate-main (not JSON) in the last 10s"
    ]
    limiter.flush()
    assert len(caplog.records) == 7  # nothing left to report


def test_each_reason_has_its_own_allowance(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=2, interval=10, clock=clock)
    assert repeat(limiter, logger, 100, "not JSON") == 2
    assert repeat(limiter, logger, 100, "amount") == 2  # a new reason is not hidden
    assert limiter.allow(logging.WARNING, "gate-other", "not JSON", "malformed frames")
    clock.now += 10
    limiter.flush()
    assert sorted(lines(caplog)[4:]) == [
        "… 98 more malformed frames from gate-main (amount) in the last 10s",
        "… 98 more malformed frames from gate-main (not JSON) in the last 10s",
    ]


def test_a_reason_quiet_for_an_interval_starts_afresh(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=3, interval=10, clock=clock)
    assert repeat(limiter, logger, 3) == 3
    clock.now += 9
    assert repeat(limiter, logger, 1) == 0  # still within the storm
    clock.now += 10  # quiet since: a new storm, logged in full again
    assert repeat(limiter, logger, 5) == 3
    messages = lines(caplog)
    assert messages[3] == "… 1 more malformed frames from gate-main (not JSON) in the last 19s"
    assert len(messages) == 3 + 1 + 3


def test_flush_forgets_quiet_reasons_and_close_reports_everything(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=1, interval=10, clock=clock)
    repeat(limiter, logger, 1, "a")
    repeat(limiter, logger, 4, "b")
    clock.now += 20
    limiter.flush()  # "a" never repeated: no summary; both went quiet, so are forgotten
    assert lines(caplog)[2:] == ["… 3 more malformed frames from gate-main (b) in the last 20s"]
    assert not limiter._tallies
    repeat(limiter, logger, 3, "c")
    clock.now += 2
    limiter.close()  # shutting down: the pending count goes out now, early
    assert lines(caplog)[-1] == "… 2 more malformed frames from gate-main (c) in the last 2s"


def test_reasons_are_bounded(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=1, interval=10, max_reasons=3, clock=clock)
    logged = sum(repeat(limiter, logger, 2, f"field{i}") for i in range(1000))
    assert logged == 3 + 1  # three reasons, then one line for all the others together
    assert len(limiter._tallies) == 4
    clock.now += 10
    limiter.flush()
    assert "… 1,993 more malformed frames from gate-main (other reasons) in the last 10s" in (
        lines(caplog)
    )


def test_lines_below_the_level_cost_no_bookkeeping(clock: Clock) -> None:
    quiet = logging.getLogger("test.limiter.quiet")
    quiet.setLevel(logging.ERROR)
    limiter = LogLimiter(quiet, clock=clock)
    assert not limiter.allow(logging.WARNING, "gate-main", "not JSON", "malformed frames")
    assert not limiter._tallies


def test_a_lasting_storm_gets_only_summaries(
    clock: Clock, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LogLimiter(logger, burst=5, interval=10, clock=clock)
    logged = 0
    for _ in range(60):  # a minute of 1,000 lines a second, flushed every second
        logged += repeat(limiter, logger, 1_000)
        clock.now += 1
        limiter.flush()
    assert logged == 5
    summaries = lines(caplog)[5:]
    assert len(summaries) == 6
    assert summaries[0] == "… 9,995 more malformed frames from gate-main (not JSON) in the last 10s"
    assert (
        summaries[1:]
        == ["… 10,000 more malformed frames from gate-main (not JSON) in the last 10s"] * 5
    )
