"""``/metrics``: what the service counts, and :func:`render_metrics` to expose it.

Counters live where they are counted (pipeline, supervisors, deliverer, store); only the
latency histograms are kept here, fed by the deliverer's ``on_attempt`` callback. The
exposition itself (formats, escaping, process metrics) is prometheus-client's, through
the collector in :mod:`bridge.metrics_collector`, which reads them at scrape time.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:  # service.py serves these modules: a runtime import would be circular
    from bridge.runtime.service import Running
    from bridge.runtime.supervisor import StreamStatus
    from bridge.store import Job, Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the default answer's
OUTCOMES = ("delivered", "retried", "dead", "disabled")
# One attempt: an HTTP request or an Apprise notification, from milliseconds to timeouts.
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Commit to delivery: milliseconds normally, up to hours when retries are involved.
EVENT_TO_DELIVERY_BUCKETS = (
    *(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    *(60.0, 300.0, 1800.0, 3600.0, 10800.0, 21600.0),
)


@dataclass
class _Series:
    counts: list[int]  # per bucket, not cumulative; the last one is +Inf
    total: float = 0.0


@dataclass
class Histogram:
    """Observations by one label's value, in fixed upper-bound buckets."""

    buckets: tuple[float, ...]
    series: dict[str, _Series] = field(default_factory=dict)

    def observe(self, label: str, value: float) -> None:
        """Count ``value`` (negative values, from a clock step, count as 0)."""
        value = max(value, 0.0)
        series = self.series.get(label)
        if series is None:
            series = self.series[label] = _Series([0] * (len(self.buckets) + 1))
        series.counts[bisect_left(self.buckets, value)] += 1  # the first bound >= value
        series.total += value


class Histograms:
    """Delivery latency and event-to-delivery time, by destination.

    Pass :meth:`observe_attempt` to the Deliverer as ``on_attempt``.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # the clock Job.created_at was read off (the service's)
        self.delivery = Histogram(DELIVERY_BUCKETS)
        self.event_to_delivery = Histogram(EVENT_TO_DELIVERY_BUCKETS)

    def observe_attempt(self, destination: str, job: Job, outcome: Outcome, seconds: float) -> None:
        """Record one attempt; a delivered one also from its commit to now."""
        self.delivery.observe(destination, seconds)
        if outcome.action == "delivered":
            self.event_to_delivery.observe(destination, self.clock() - job.created_at)


@dataclass
class ConfigStatus:
    """The outcome of the last config load, for the two reload gauges.

    Named as Prometheus names its own (``prometheus_config_last_reload_successful``):
    alerting on ``alert_bridge_config_last_reload_successful == 0`` catches a reload
    that was rejected while the old config keeps running, which nothing else shows.
    """

    success_time: float  # unix time of the last successful load; the start counts
    successful: bool = True

    def succeeded(self, now: float) -> None:
        """A new config was loaded and is running."""
        self.successful, self.success_time = True, now

    def failed(self) -> None:
        """A reload was rejected: the config of ``success_time`` keeps running."""
        self.successful = False


def venue_streams(running: Running) -> dict[str, list[StreamStatus]]:
    """The status of each stream, by venue instance, in start order."""
    venues: dict[str, list[StreamStatus]] = {}
    for supervisor in running.supervisors:
        venues.setdefault(supervisor.venue.name, []).append(supervisor.status)
    return venues


def open_circuits(running: Running) -> list[str]:
    """Destinations whose circuit breaker is open, by name."""
    return [name for name, breaker in running.deliverer.circuits.items() if breaker.open]


def not_connected(running: Running) -> list[str]:
    """The venues with at least one stream that is not connected."""
    return [
        name
        for name, streams in venue_streams(running).items()
        if not all(s.connected for s in streams)
    ]


def render_metrics(running: Running, histograms: Histograms, accept: str = "") -> tuple[bytes, str]:
    """Every metric of the running service: (body, content type) for a ``/metrics`` answer.

    ``accept`` is the request's ``Accept`` header: ``application/openmetrics-text`` gets
    OpenMetrics 1.0 (ending in ``# EOF``), anything else the Prometheus text format 0.0.4.
    """
    from bridge.metrics_collector import encode, snapshot  # see its docstring: not at start

    return encode(snapshot(running, histograms), accept)


async def scrape_metrics(
    running: Running, histograms: Histograms, accept: str = ""
) -> tuple[bytes, str]:
    """:func:`render_metrics` for an async handler: the counters are read on the event
    loop, the text is written in a worker thread. With many venues the writing is most
    of a scrape's time (``bench/metrics_scrape.py``), and meanwhile the loop keeps
    reading frames instead of waiting for it."""
    from bridge.metrics_collector import encode, snapshot

    families = snapshot(running, histograms)
    return await anyio.to_thread.run_sync(encode, families, accept)
