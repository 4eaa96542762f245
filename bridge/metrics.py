"""``/metrics``: the running service's counters in the Prometheus text format (0.0.4).

The format is simple enough to write by hand: ``# HELP`` and ``# TYPE`` per family, then
one ``name{label="value"} number`` line per series. Counters live where they are counted
(pipeline, supervisors, deliverer); only the latency histograms are kept here, fed by
the deliverer's ``on_attempt`` callback.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # service.py serves these modules: a runtime import would be circular
    from bridge.runtime.service import Running
    from bridge.runtime.supervisor import StreamStatus
    from bridge.store import Job, Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTCOMES = ("delivered", "retried", "dead", "disabled")
# One attempt: an HTTP request or an Apprise notification, from milliseconds to timeouts.
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Commit to delivery: milliseconds normally, up to hours when retries are involved.
EVENT_TO_DELIVERY_BUCKETS = (
    *(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    *(60.0, 300.0, 1800.0, 3600.0, 10800.0, 21600.0),
)

Labels = dict[str, str]


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


def render_metrics(running: Running, histograms: Histograms) -> str:
    """Every metric of the running service as Prometheus text exposition."""
    out = _Exposition()
    pipeline = running.pipeline
    status = running.config_status
    out.family(
        "alert_bridge_config_last_reload_successful",
        "gauge",
        "1 if the last config load (start or SIGHUP) succeeded, 0 if it was rejected.",
        [({}, int(status.successful))],
    )
    out.family(
        "alert_bridge_config_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful config load (start or SIGHUP).",
        [({}, status.success_time)],
    )
    out.family(
        "alert_bridge_events_total",
        "counter",
        "New events (after deduplication), by venue and kind.",
        (({"venue": v, "kind": k}, n) for (v, k), n in sorted(pipeline.events.items())),
    )
    out.family(
        "alert_bridge_duplicates_total",
        "counter",
        "Events dropped as already seen.",
        [({}, pipeline.duplicates)],
    )
    rules = dict.fromkeys(rule.name for rule in running.engine.rules)  # zeros too, in order
    out.family(
        "alert_bridge_matches_total",
        "counter",
        "Rule matches, by rule.",
        (({"rule": r}, pipeline.matches[r]) for r in {**rules, **pipeline.matches}),
    )
    stats = running.deliverer.stats.destinations
    names = dict.fromkeys([*running.deliverer.delivery_names, *stats])
    out.family(
        "alert_bridge_deliveries_total",
        "counter",
        "Delivery outcomes by destination: delivered, retried (failed, will retry), dead "
        "(moved to the dead letters), disabled (410 Gone).",
        (
            ({"destination": d, "outcome": o}, getattr(stats[d], o) if d in stats else 0)
            for d in names
            for o in OUTCOMES
        ),
    )
    circuits = running.deliverer.circuits
    out.family(
        "alert_bridge_circuit_open",
        "gauge",
        "1 while the destination's circuit breaker is open (probing with one job at a time).",
        (({"destination": d}, int(d in circuits and circuits[d].open)) for d in names),
    )
    pending, dead = running.store.counts()
    out.family("alert_bridge_outbox_depth", "gauge", "Jobs waiting in the outbox.", [({}, pending)])
    out.family("alert_bridge_dead_letters", "gauge", "Jobs in the dead letters.", [({}, dead)])
    out.family(
        "alert_bridge_in_flight",
        "gauge",
        "Delivery attempts under way.",
        [({}, running.deliverer.in_flight)],
    )
    health = running.store.health
    out.family(
        "alert_bridge_store_write_failing",
        "gauge",
        "1 while writes to the state database fail (a full or failing disk) and are retried.",
        [({}, int(health.failing))],
    )
    out.family(
        "alert_bridge_store_write_failures_total",
        "counter",
        "Writes to the state database that failed (full or failing disk) and were retried.",
        [({}, health.failures)],
    )
    out.family(
        "alert_bridge_store_pending_events",
        "gauge",
        "Events held in memory, not yet written to the state database.",
        [({}, running.committer.pending)],
    )
    venues = venue_streams(running)
    out.family(
        "alert_bridge_venue_connected",
        "gauge",
        "1 when every stream of the venue is connected, else 0.",
        (({"venue": v}, int(all(s.connected for s in ss))) for v, ss in venues.items()),
    )
    for name, attribute, help_text in (
        ("reconnects_total", "reconnects", "Connections lost or failed, by venue."),
        ("frame_errors_total", "frame_errors", "Malformed frames, by venue."),
        ("venue_errors_total", "venue_errors", "Error frames the venue sent, by venue."),
        ("frames_total", "frames", "Frames received, by venue."),
    ):
        out.family(
            f"alert_bridge_{name}",
            "counter",
            help_text,
            (({"venue": v}, sum(getattr(s, attribute) for s in ss)) for v, ss in venues.items()),
        )
    reconcilers = [s for s in running.supervisors if s.reconciler is not None]
    for name, attribute, help_text in (
        ("reconcile_failures_total", "failures", "REST reconciliations that failed, by venue."),
        (
            "reconciled_events_total",
            "recovered",
            "Events REST reconciliation recovered that the stream had not delivered, by venue.",
        ),
    ):
        totals: dict[str, int] = {}
        for supervisor in reconcilers:
            assert supervisor.reconciler is not None
            count = getattr(supervisor.reconciler.stats, attribute)
            totals[supervisor.venue.name] = totals.get(supervisor.venue.name, 0) + count
        out.family(
            f"alert_bridge_{name}",
            "counter",
            help_text,
            (({"venue": v}, n) for v, n in totals.items()),
        )
    states = {s.venue.name: s.state for s in running.supervisors}  # streams share one
    out.family(
        "alert_bridge_state_evictions_total",
        "counter",
        "Per-order normalizer state entries dropped by order_state_max or "
        "order_state_max_age, by venue.",
        (({"venue": v}, state.evictions) for v, state in states.items()),
    )
    out.histogram(
        "alert_bridge_delivery_seconds",
        "Duration of delivery attempts (any outcome), by destination.",
        histograms.delivery,
    )
    out.histogram(
        "alert_bridge_event_to_delivery_seconds",
        "From the commit of an event (just after it arrived) to its delivery, by destination.",
        histograms.event_to_delivery,
    )
    return out.text()


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Labels, float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.lines.extend(_sample(name, labels, value) for labels, value in samples)

    def histogram(self, name: str, help_text: str, histogram: Histogram) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} histogram")
        bounds = [*histogram.buckets, math.inf]
        for destination, series in sorted(histogram.series.items()):
            labels = {"destination": destination}
            cumulative = 0
            for bound, count in zip(bounds, series.counts, strict=True):
                cumulative += count
                bucket = {**labels, "le": _number(bound)}
                self.lines.append(_sample(f"{name}_bucket", bucket, cumulative))
            self.lines.append(_sample(f"{name}_sum", labels, series.total))
            self.lines.append(_sample(f"{name}_count", labels, cumulative))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _sample(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {_number(value)}"
    pairs = ",".join(f'{key}="{_escape_label(text)}"' for key, text in labels.items())
    return f"{name}{{{pairs}}} {_number(value)}"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
