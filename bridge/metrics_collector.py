"""The ``/metrics`` exposition, through prometheus-client.

:class:`ServiceCollector` reads the service's own counters (pipeline, supervisors,
deliverer, store) when Prometheus scrapes. Nothing on the event path touches the library:
counting stays an integer increment where the thing happens, and the cost of building
metric families is paid once per scrape. The library brings the rest: the text format
0.0.4 or OpenMetrics as the scraper's ``Accept`` asks, escaping, and the standard
``process_*`` metrics of its ProcessCollector.

Imported on the first scrape, not at start: prometheus-client pulls in ``http.server``
and ``email`` (tens of milliseconds) that ``alert-bridge check`` has no use for.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from bridge import __version__
from bridge.metrics import OUTCOMES, Histogram, Histograms, venue_streams

if TYPE_CHECKING:
    from bridge.runtime.service import Running

Samples = Iterable[tuple[Sequence[str], float]]  # (label values, value)

# Its set-up (clock ticks, boot time) once; it reads /proc/self at each scrape. In no
# registry but the one each scrape builds: never in the library's global REGISTRY.
_PROCESS = ProcessCollector(registry=None)


def snapshot(running: Running, histograms: Histograms) -> Snapshot:
    """Every family, read now: on the event loop, where the counters change."""
    registry = CollectorRegistry()
    registry.register(_PROCESS)
    registry.register(ServiceCollector(running, histograms))
    return Snapshot(list(registry.collect()))


def encode(families: Snapshot, accept: str) -> tuple[bytes, str]:
    """(body, content type): OpenMetrics if ``accept`` asks for it, else text 0.0.4.

    Touches nothing but the snapshot, so it may run in a worker thread.
    """
    encoder, content_type = choose_encoder(accept)
    return encoder(families), content_type


class Snapshot(Collector):
    """Families already collected, for the encoder (which wants a collector)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


class ServiceCollector(Collector):
    """Every ``alert_bridge_*`` family, read off a running service at scrape time.

    Series that can be known in advance (configured venues, rules, destinations) are
    present from the start at zero, so that a missing series means a misspelled query.
    """

    def __init__(self, running: Running, histograms: Histograms) -> None:
        self.running = running
        self.histograms = histograms

    def collect(self) -> Iterator[Metric]:
        yield _info(
            "alert_bridge_build",
            "The running version of alert-bridge and of Python.",
            {"version": __version__, "python": platform.python_version()},
        )
        yield from self._config()
        yield from self._pipeline()
        yield from self._delivery()
        yield from self._store()
        yield from self._venues()
        yield from self._histograms()

    def _config(self) -> Iterator[Metric]:
        status = self.running.config_status
        yield _gauge(
            "alert_bridge_config_last_reload_successful",
            "1 if the last config load (start or SIGHUP) succeeded, 0 if it was rejected.",
            [((), int(status.successful))],
        )
        yield _gauge(
            "alert_bridge_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load (start or SIGHUP).",
            [((), status.success_time)],
            unit="seconds",
        )

    def _pipeline(self) -> Iterator[Metric]:
        running, pipeline = self.running, self.running.pipeline
        # Every kind each venue can yield, and its connection events, from the start.
        events = {
            (s.venue.name, kind): 0 for s in running.supervisors for kind in _kinds(s.venue.kinds)
        }
        events.update(pipeline.events)
        yield _counter(
            "alert_bridge_events_total",
            "New events (after deduplication), by venue and kind.",
            [((v, k), n) for (v, k), n in sorted(events.items())],
            labels=("venue", "kind"),
        )
        yield _counter(
            "alert_bridge_duplicates_total",
            "Events dropped as already seen.",
            [((), pipeline.duplicates)],
        )
        rules = dict.fromkeys(rule.name for rule in running.engine.rules)  # zeros too, in order
        yield _counter(
            "alert_bridge_matches_total",
            "Rule matches, by rule.",
            [((r,), pipeline.matches[r]) for r in {**rules, **pipeline.matches}],
            labels=("rule",),
        )

    def _destinations(self) -> list[str]:
        """Each delivery name (a destination, or one URL of a notifier: ``desk[0]``), and
        any that counted deliveries before a reload removed it."""
        deliverer = self.running.deliverer
        return list(dict.fromkeys([*deliverer.delivery_names, *deliverer.stats.destinations]))

    def _delivery(self) -> Iterator[Metric]:
        deliverer, names = self.running.deliverer, self._destinations()
        stats = deliverer.stats.destinations
        yield _counter(
            "alert_bridge_deliveries_total",
            "Delivery outcomes by destination: delivered, retried (failed, will retry), dead "
            "(moved to the dead letters), disabled (410 Gone).",
            [((d, o), getattr(stats[d], o) if d in stats else 0) for d in names for o in OUTCOMES],
            labels=("destination", "outcome"),
        )
        circuits = deliverer.circuits
        yield _gauge(
            "alert_bridge_circuit_open",
            "1 while the destination's circuit breaker is open (probing with one job at a time).",
            [((d,), int(d in circuits and circuits[d].open)) for d in names],
            labels=("destination",),
        )
        yield _gauge(
            "alert_bridge_in_flight", "Delivery attempts under way.", [((), deliverer.in_flight)]
        )

    def _store(self) -> Iterator[Metric]:
        store, names = self.running.store, self._destinations()
        pending, dead = store.counts()
        yield _gauge("alert_bridge_outbox_depth", "Jobs waiting in the outbox.", [((), pending)])
        yield _gauge("alert_bridge_dead_letters", "Jobs in the dead letters.", [((), dead)])
        oldest, now = store.oldest_pending(names), store.clock()  # the clock jobs are made on
        yield _gauge(
            "alert_bridge_outbox_oldest_job_age_seconds",
            "Age of the oldest job waiting in the outbox (due or scheduled for a retry), by "
            "destination; 0 when none waits.",
            [((d,), max(now - oldest[d], 0.0) if d in oldest else 0) for d in names],
            labels=("destination",),
            unit="seconds",
        )
        health = store.health
        yield _gauge(
            "alert_bridge_store_write_failing",
            "1 while writes to the state database fail (a full or failing disk) and are retried.",
            [((), int(health.failing))],
        )
        yield _counter(
            "alert_bridge_store_write_failures_total",
            "Writes to the state database that failed (full or failing disk) and were retried.",
            [((), health.failures)],
        )
        yield _gauge(
            "alert_bridge_store_pending_events",
            "Events held in memory, not yet written to the state database.",
            [((), self.running.committer.pending)],
        )

    def _venues(self) -> Iterator[Metric]:
        venues = venue_streams(self.running)
        yield _gauge(
            "alert_bridge_venue_connected",
            "1 when every stream of the venue is connected, else 0.",
            [((v,), int(all(s.connected for s in ss))) for v, ss in venues.items()],
            labels=("venue",),
        )
        for name, attribute, help_text in (
            ("reconnects_total", "reconnects", "Connections lost or failed, by venue."),
            ("frame_errors_total", "frame_errors", "Malformed frames, by venue."),
            ("venue_errors_total", "venue_errors", "Error frames the venue sent, by venue."),
            ("frames_total", "frames", "Frames received, by venue."),
        ):
            yield _counter(
                f"alert_bridge_{name}",
                help_text,
                [((v,), sum(getattr(s, attribute) for s in ss)) for v, ss in venues.items()],
                labels=("venue",),
            )
        now = time.monotonic()  # the clock the supervisors stamp frames with
        yield _gauge(
            "alert_bridge_venue_last_frame_age_seconds",
            "Seconds since the venue's last frame on any of its streams (since the start, "
            "before the first).",
            [((v,), max(now - max(s.last_frame for s in ss), 0.0)) for v, ss in venues.items()],
            labels=("venue",),
            unit="seconds",
        )
        yield from self._reconciliation()
        states = {s.venue.name: s.state for s in self.running.supervisors}  # streams share one
        yield _counter(
            "alert_bridge_state_evictions_total",
            "Per-order normalizer state entries dropped by order_state_max or "
            "order_state_max_age, by venue.",
            [((v,), state.evictions) for v, state in states.items()],
            labels=("venue",),
        )

    def _reconciliation(self) -> Iterator[Metric]:
        """REST reconciliation (DESIGN §9), for venues that run it."""
        for name, attribute, help_text in (
            ("reconcile_failures_total", "failures", "REST reconciliations that failed, by venue."),
            (
                "reconciled_events_total",
                "recovered",
                "Events REST reconciliation recovered that the stream had not delivered, by venue.",
            ),
        ):
            totals: dict[str, int] = {}
            for supervisor in self.running.supervisors:
                if supervisor.reconciler is not None:
                    count = getattr(supervisor.reconciler.stats, attribute)
                    totals[supervisor.venue.name] = totals.get(supervisor.venue.name, 0) + count
            yield _counter(
                f"alert_bridge_{name}",
                help_text,
                [((v,), n) for v, n in totals.items()],
                labels=("venue",),
            )

    def _histograms(self) -> Iterator[Metric]:
        names = self._destinations()
        yield _histogram(
            "alert_bridge_delivery_seconds",
            "Duration of delivery attempts (any outcome), by destination.",
            self.histograms.delivery,
            names,
        )
        yield _histogram(
            "alert_bridge_event_to_delivery_seconds",
            "From the commit of an event (just after it arrived) to its delivery, by destination.",
            self.histograms.event_to_delivery,
            names,
        )


def _kinds(kinds: Sequence[str]) -> list[str]:
    """What a venue can yield: its own kinds, and the supervisor's connection events."""
    return list(dict.fromkeys([*kinds, "connection"]))


def _info(name: str, help_text: str, value: dict[str, str]) -> Metric:
    return InfoMetricFamily(name, help_text, value=value)


def _gauge(
    name: str, help_text: str, samples: Samples, *, labels: Sequence[str] = (), unit: str = ""
) -> Metric:
    family = GaugeMetricFamily(name, help_text, labels=labels, unit=unit)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _counter(name: str, help_text: str, samples: Samples, *, labels: Sequence[str] = ()) -> Metric:
    family = CounterMetricFamily(name, help_text, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _histogram(name: str, help_text: str, histogram: Histogram, names: list[str]) -> Metric:
    family = HistogramMetricFamily(name, help_text, labels=("destination",), unit="seconds")
    bounds = [*(repr(float(b)) for b in histogram.buckets), "+Inf"]  # le as Prometheus writes it
    empty = [0] * len(bounds)
    for destination in dict.fromkeys([*names, *sorted(histogram.series)]):
        series = histogram.series.get(destination)
        counts, total = (series.counts, series.total) if series else (empty, 0.0)
        cumulative, buckets = 0, []
        for bound, count in zip(bounds, counts, strict=True):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        family.add_metric((destination,), buckets, total)
    return family
