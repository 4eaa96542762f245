"""``render_metrics`` against a real Running: store, committer, deliverer, pipeline, supervisors.

Deliveries go to real loopback receivers that answer 204, 503 and 410; the exposition
is parsed back and checked both for its values and for being well-formed.
"""

from __future__ import annotations

import json
import math
import platform
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

import bridge
from bridge.config import Config, parse_config
from bridge.delivery import Committer, Deliverer
from bridge.delivery.stats import DeliveryStats
from bridge.metrics import (
    DELIVERY_BUCKETS,
    ConfigStatus,
    Histograms,
    not_connected,
    render_metrics,
    scrape_metrics,
)
from bridge.plugins import plugin_host
from bridge.rules import RuleEngine
from bridge.runtime.pipeline import Pipeline
from bridge.runtime.service import Running
from bridge.runtime.supervisor import Supervisor
from bridge.store import Job, Outcome, Store
from bridge.store.commit import INSERT_JOB, job_row
from bridge.venue import StateMap
from tests.delivery_helpers import SECRET, fill_event
from tests.receivers import Receiver, Reply

pytestmark = pytest.mark.anyio

# -- the exposition parsed back with prometheus-client's own parsers -----------------


@dataclass
class Exposition:
    """A parsed exposition: families by name and every sample by (name, labels).

    Families are named as in the text format 0.0.4 (``x_total`` for a counter, ``x_info``
    for an info, typed gauge), whichever format was parsed, so both compare equal.
    """

    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        """The sample's value (KeyError if there is no such series)."""
        return self.samples[(name, frozenset(labels.items()))]

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample named ``name``."""
        return [dict(labels) for sample, labels in self.samples if sample == name]

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """A histogram's (upper bound, cumulative count) pairs, in order."""
        found = [
            (float(dict(ls)["le"]), value)
            for (sample, ls), value in self.samples.items()
            if sample == f"{name}_bucket" and {k: v for k, v in ls if k != "le"} == labels
        ]
        return sorted(found)


def parse_exposition(text: str) -> Exposition:
    """Parse the text format 0.0.4 as Prometheus does (prometheus-client's parser), plus
    what that parser lets through: samples without a ``# TYPE``, a family declared twice,
    a duplicate series, a histogram that is not cumulative."""
    assert text.endswith("\n"), "an exposition ends with a newline"
    return _collect(text_families(text))


def parse_openmetrics(text: str) -> Exposition:
    """Parse OpenMetrics 1.0 with prometheus-client's (strict) parser; same checks."""
    assert text.endswith("# EOF\n"), "OpenMetrics ends with # EOF"
    return _collect(openmetrics_families(text))


def _collect(families: Iterable[Metric]) -> Exposition:
    parsed = Exposition()
    for family in families:
        assert family.type != "unknown", f"samples before their # TYPE: {family.samples}"
        name, kind = family.name, family.type
        if kind == "counter":
            name += "_total"
        elif kind == "info":
            name, kind = f"{name}_info", "gauge"
        assert name not in parsed.types, f"{name} declared twice"
        parsed.types[name], parsed.helps[name] = kind, family.documentation
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in parsed.samples, f"duplicate series: {sample}"
            parsed.samples[key] = sample.value
    _check_histograms(parsed)
    return parsed


def _check_histograms(parsed: Exposition) -> None:
    for name, kind in parsed.types.items():
        if kind != "histogram":
            continue
        for labels in parsed.series(f"{name}_count"):
            buckets = parsed.buckets(name, **labels)
            counts = [count for _, count in buckets]
            assert counts == sorted(counts), f"{name} buckets are not cumulative"
            assert buckets[-1][0] == math.inf, f"{name} has no +Inf bucket"
            assert buckets[-1][1] == parsed.value(f"{name}_count", **labels)
            assert parsed.value(f"{name}_sum", **labels) >= 0


def render(running: Running, histograms: Histograms) -> Exposition:
    """``render_metrics`` as a scraper without an Accept header gets it, parsed."""
    body, content_type = render_metrics(running, histograms)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    return parse_exposition(body.decode())


# -- a Running built from real parts -------------------------------------------------

RULE_WITH_ODD_NAME = 'say "hi" \\ twice\nthen stop'  # a quote, a backslash, a newline

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""

[venues.gate-main]
plugin = "gateio"
api_key = "k"
api_secret = "s"

[venues.gate-alt]
plugin = "gateio"
api_key = "k2"
api_secret = "s2"

[webhooks.ops]
url = "{ok}"
secret = "{secret}"

[webhooks.flaky]
url = "{flaky}"
secret = "{secret}"
retry = ["1h"]

[webhooks.gone]
url = "{gone}"
secret = "{secret}"
concurrency = 1

[webhooks.quiet]
url = "{ok}"
secret = "{secret}"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops", "flaky", "gone"]

[[rules]]
name = {odd}
on = "balance"
notify = ["quiet"]
"""


@dataclass
class Parts:
    config: Config
    running: Running
    histograms: Histograms
    http: httpx.AsyncClient
    receivers: dict[str, Receiver]

    def supervise(self, venue: str, stream: str = "main") -> Supervisor:
        """A real supervisor for ``venue`` (not started: the test sets its status)."""
        settings = self.config.venues[venue]
        plugin = plugin_host().venues[settings.plugin](settings.name, settings.options)
        supervisor = Supervisor(
            plugin, stream, sink=self.running.pipeline.process, http=self.http, state=StateMap()
        )
        self.running.supervisors.append(supervisor)
        return supervisor


@asynccontextmanager
async def running_parts(tmp_path: Path) -> AsyncIterator[Parts]:
    """Receivers, then store, deliverer, committer and pipeline wired as the service does."""
    receivers = {
        "ok": Receiver([SECRET]),
        "flaky": Receiver([SECRET], respond=lambda _r: _reply(503)),
        "gone": Receiver([SECRET], respond=lambda _r: _reply(410)),
    }
    async with anyio.create_task_group() as servers:
        for receiver in receivers.values():
            await servers.start(receiver.serve)
        text = CONFIG.format(
            state=tmp_path / "state",
            secret=SECRET,
            odd=json.dumps(RULE_WITH_ODD_NAME),  # a TOML basic string
            **{name: receiver.url for name, receiver in receivers.items()},
        )
        config = parse_config(text, environ={}, venue_plugins=plugin_host().venues)
        histograms = Histograms()
        store = Store.open(config.bridge.state_dir)
        try:
            engine = RuleEngine(config.rules)
            deliverer = Deliverer(store, config, on_attempt=histograms.observe_attempt)
            committer = Committer(store, on_jobs=deliverer.notify)
            status = ConfigStatus(success_time=1_700_000_000.5)
            pipeline = Pipeline(engine, committer)
            running = Running(store, engine, committer, deliverer, pipeline, status)
            async with httpx.AsyncClient() as http, anyio.create_task_group() as tg:
                await tg.start(committer.run)
                await tg.start(deliverer.run)
                yield Parts(config, running, histograms, http, receivers)
                await deliverer.shutdown(0)
                committer.close()
        finally:
            store.close()
        servers.cancel_scope.cancel()


async def _reply(status: int) -> Reply:
    return Reply(status)


def _count(stats: DeliveryStats, destination: str, what: str) -> int:
    mine = stats.destinations.get(destination)
    return int(getattr(mine, what)) if mine is not None else 0


async def test_metrics_report_what_the_parts_counted(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        running = parts.running
        await running.pipeline.process("gate-main", [fill_event(1), fill_event(2)], {}, wait=True)
        await running.pipeline.process("gate-main", [fill_event(1)], {}, wait=True)  # a repeat
        with anyio.fail_after(10):
            await running.deliverer.wait_until(
                lambda s: (
                    _count(s, "ops", "delivered") == 2
                    and _count(s, "flaky", "retried") == 2
                    and _count(s, "gone", "dead") == 2
                )
            )
        main = parts.supervise("gate-main")
        spot, futures = parts.supervise("gate-alt", "spot"), parts.supervise("gate-alt", "futures")
        main.status.connected = spot.status.connected = True
        main.status.frames, spot.status.frames, futures.status.frames = 7, 3, 4
        spot.status.reconnects, futures.status.reconnects = 1, 2
        futures.status.frame_errors, futures.status.venue_errors = 5, 1

        metrics = render(running, parts.histograms)

    assert metrics.value("alert_bridge_events_total", venue="gate-main", kind="fill") == 2
    assert metrics.value("alert_bridge_duplicates_total") == 1
    assert metrics.value("alert_bridge_matches_total", rule="every fill") == 2
    assert metrics.value("alert_bridge_matches_total", rule=RULE_WITH_ODD_NAME) == 0
    delivered = {
        (d, o): metrics.value("alert_bridge_deliveries_total", destination=d, outcome=o)
        for d in ("ops", "flaky", "gone", "quiet")
        for o in ("delivered", "retried", "dead", "disabled")
    }
    assert {k: v for k, v in delivered.items() if v} == {
        ("ops", "delivered"): 2,
        ("flaky", "retried"): 2,
        ("gone", "dead"): 2,
        ("gone", "disabled"): 1,
    }
    assert metrics.value("alert_bridge_outbox_depth") == 2  # flaky's, due again in an hour
    assert metrics.value("alert_bridge_dead_letters") == 2  # gone's
    assert metrics.value("alert_bridge_in_flight") == 0
    assert metrics.value("alert_bridge_venue_connected", venue="gate-main") == 1
    assert metrics.value("alert_bridge_venue_connected", venue="gate-alt") == 0  # half up
    assert metrics.value("alert_bridge_reconnects_total", venue="gate-main") == 0
    assert metrics.value("alert_bridge_reconnects_total", venue="gate-alt") == 3
    assert metrics.value("alert_bridge_frame_errors_total", venue="gate-alt") == 5
    assert metrics.value("alert_bridge_venue_errors_total", venue="gate-alt") == 1
    assert metrics.value("alert_bridge_frames_total", venue="gate-alt") == 7

    attempts = {
        d: metrics.value("alert_bridge_delivery_seconds_count", destination=d)
        for d in ("ops", "flaky", "gone")
    }
    assert attempts == {"ops": 2, "flaky": 2, "gone": 1}  # gone's second job was buried
    lags = {
        d: metrics.value("alert_bridge_event_to_delivery_seconds_count", destination=d)
        for d in ("ops", "flaky", "gone", "quiet")
    }
    assert lags == {"ops": 2, "flaky": 0, "gone": 0, "quiet": 0}  # only deliveries count
    assert not_connected(running) == ["gate-alt"]


async def test_every_required_family_is_declared_even_when_idle(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        parts.supervise("gate-main")  # not started: never connected, no frame yet
        metrics = render(parts.running, parts.histograms)
    expected = {
        "alert_bridge_events_total": "counter",
        "alert_bridge_duplicates_total": "counter",
        "alert_bridge_matches_total": "counter",
        "alert_bridge_deliveries_total": "counter",
        "alert_bridge_reconnects_total": "counter",
        "alert_bridge_frame_errors_total": "counter",
        "alert_bridge_outbox_depth": "gauge",
        "alert_bridge_outbox_oldest_job_age_seconds": "gauge",
        "alert_bridge_dead_letters": "gauge",
        "alert_bridge_in_flight": "gauge",
        "alert_bridge_venue_connected": "gauge",
        "alert_bridge_venue_last_frame_age_seconds": "gauge",
        "alert_bridge_delivery_seconds": "histogram",
        "alert_bridge_event_to_delivery_seconds": "histogram",
        "alert_bridge_config_last_reload_successful": "gauge",
        "alert_bridge_config_last_reload_success_timestamp_seconds": "gauge",
        "alert_bridge_build_info": "gauge",
        "process_cpu_seconds_total": "counter",
        "process_resident_memory_bytes": "gauge",
        "process_start_time_seconds": "gauge",
    }
    assert {name: metrics.types.get(name) for name in expected} == expected
    assert all(metrics.helps[name] for name in metrics.types)
    # configured venues, rules and destinations show from the start, at zero
    for kind in ("order", "fill", "balance", "deposit", "connection"):  # gateio's, and ours
        assert metrics.value("alert_bridge_events_total", venue="gate-main", kind=kind) == 0
    assert metrics.value("alert_bridge_frames_total", venue="gate-main") == 0
    assert metrics.value("alert_bridge_venue_connected", venue="gate-main") == 0
    assert 0 <= metrics.value("alert_bridge_venue_last_frame_age_seconds", venue="gate-main") < 60
    assert metrics.value("alert_bridge_matches_total", rule="every fill") == 0
    assert metrics.value("alert_bridge_deliveries_total", destination="quiet", outcome="dead") == 0
    for destination in ("ops", "flaky", "gone", "quiet"):
        for histogram in ("delivery_seconds", "event_to_delivery_seconds"):
            assert metrics.value(f"alert_bridge_{histogram}_count", destination=destination) == 0
            assert metrics.value(f"alert_bridge_{histogram}_sum", destination=destination) == 0
        age = metrics.value("alert_bridge_outbox_oldest_job_age_seconds", destination=destination)
        assert age == 0
    assert metrics.value("alert_bridge_outbox_depth") == 0
    assert metrics.value("alert_bridge_config_last_reload_successful") == 1
    assert (
        metrics.value("alert_bridge_config_last_reload_success_timestamp_seconds")
        == 1_700_000_000.5
    )
    build = {"version": bridge.__version__, "python": platform.python_version()}
    assert metrics.value("alert_bridge_build_info", **build) == 1


async def test_every_metric_is_documented_with_its_type(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        metrics = render(parts.running, parts.histograms)
    doc = (Path(__file__).parent.parent / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \| (counter|gauge|histogram) \|", doc, re.M))
    ours = {name: kind for name, kind in metrics.types.items() if name.startswith("alert_bridge_")}
    assert {(name.removeprefix("alert_bridge_"), kind) for name, kind in ours.items()} == documented
    # the rest is the library's process collector, named in the text
    process = {name for name in metrics.types if name not in ours}
    assert process and all(name.startswith("process_") and name in doc for name in process)


TEXT_ACCEPTS = ("", "*/*", "text/plain", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
OPENMETRICS_ACCEPTS = (
    "application/openmetrics-text",
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
)


async def test_both_formats_as_the_scraper_asks(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        parts.supervise("gate-main")
        answers = {
            accept: render_metrics(parts.running, parts.histograms, accept)
            for accept in (*TEXT_ACCEPTS, *OPENMETRICS_ACCEPTS)
        }
    for accept in TEXT_ACCEPTS:
        assert answers[accept][1] == "text/plain; version=0.0.4; charset=utf-8", accept
    for accept in OPENMETRICS_ACCEPTS:
        content_type = answers[accept][1]
        assert content_type.startswith("application/openmetrics-text; version=1.0.0;"), accept
    plain = parse_exposition(answers[""][0].decode())
    om_body = answers["application/openmetrics-text"][0].decode()
    om = parse_openmetrics(om_body)
    assert plain.types == om.types and plain.samples.keys() == om.samples.keys()
    assert "# TYPE alert_bridge_events counter\n" in om_body  # OpenMetrics names the family
    assert "# TYPE alert_bridge_build info\n" in om_body
    assert "# UNIT alert_bridge_delivery_seconds seconds\n" in om_body
    # The library's global registry is left alone: nothing of ours ever lands there.
    assert b"alert_bridge" not in generate_latest(REGISTRY)


async def test_an_async_handler_gets_the_same_answer(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        parts.supervise("gate-main")
        body, content_type = await scrape_metrics(
            parts.running, parts.histograms, "application/openmetrics-text"
        )
        expected = parse_openmetrics(
            render_metrics(parts.running, parts.histograms, "application/openmetrics-text")[
                0
            ].decode()
        )
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert parse_openmetrics(body.decode()).samples.keys() == expected.samples.keys()


async def test_label_values_are_escaped_in_both_formats(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        parts.running.pipeline.matches[RULE_WITH_ODD_NAME] += 2
        text = render_metrics(parts.running, parts.histograms)[0].decode()
        om = render_metrics(parts.running, parts.histograms, "application/openmetrics-text")[0]
    escaped = 'rule="say \\"hi\\" \\\\ twice\\nthen stop"'
    assert f"alert_bridge_matches_total{{{escaped}}} 2.0\n" in text
    assert f"alert_bridge_matches_total{{{escaped}}} 2.0\n" in om.decode()
    for parsed in (parse_exposition(text), parse_openmetrics(om.decode())):
        assert parsed.value("alert_bridge_matches_total", rule=RULE_WITH_ODD_NAME) == 2


async def test_the_oldest_pending_job_by_destination(tmp_path: Path) -> None:
    hour_ago = time.time() - 3600
    async with running_parts(tmp_path) as parts:
        store = parts.running.store
        jobs = [  # scheduled far ahead: the deliverer leaves them waiting
            replace(_job(hour_ago + offset), id=f"msg_{offset}", next_at=time.time() + 86400)
            for offset in (600, 0, 300)
        ]
        with store.db.write() as conn:
            conn.executemany(INSERT_JOB, [job_row(replace(j, destination="quiet")) for j in jobs])
        metrics = render(parts.running, parts.histograms)
        assert store.oldest_pending(["quiet", "ops", "nowhere"]) == {"quiet": hour_ago}
    age = metrics.value("alert_bridge_outbox_oldest_job_age_seconds", destination="quiet")
    assert 3600 <= age < 3600 + 60
    assert metrics.value("alert_bridge_outbox_oldest_job_age_seconds", destination="ops") == 0
    assert metrics.value("alert_bridge_outbox_depth") == 3


async def test_seconds_since_the_last_frame_by_venue(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        main = parts.supervise("gate-main")
        spot, futures = parts.supervise("gate-alt", "spot"), parts.supervise("gate-alt", "futures")
        now = time.monotonic()
        main.status.last_frame = now - 42
        spot.status.last_frame, futures.status.last_frame = now - 100, now - 5
        metrics = render(parts.running, parts.histograms)
    ages = {
        v: metrics.value("alert_bridge_venue_last_frame_age_seconds", venue=v)
        for v in ("gate-main", "gate-alt")
    }
    assert 42 <= ages["gate-main"] < 42 + 30
    assert 5 <= ages["gate-alt"] < 5 + 30  # its most recent frame, on any stream


def _job(created_at: float) -> Job:
    return Job("msg_1", "ops", "e1", "fill", "r", "info", "t", "m", b"{}", created_at=created_at)


async def test_histograms_bucket_attempts_and_event_to_delivery_by_wall_clock(
    tmp_path: Path,
) -> None:
    histograms = Histograms(clock=lambda: 1042.5)
    histograms.observe_attempt("ops", _job(1000.0), Outcome("msg_1", "delivered", 1), 0.03)
    histograms.observe_attempt("ops", _job(1000.0), Outcome("msg_1", "retry", 1), 0.004)
    histograms.observe_attempt("ops", _job(2000.0), Outcome("msg_1", "delivered", 1), 0.05)
    async with running_parts(tmp_path) as parts:
        metrics = render(parts.running, histograms)
    delivery = dict(metrics.buckets("alert_bridge_delivery_seconds", destination="ops"))
    assert len(delivery) == len(DELIVERY_BUCKETS) + 1
    assert (delivery[0.005], delivery[0.025], delivery[0.05], delivery[math.inf]) == (1, 1, 3, 3)
    total = metrics.value("alert_bridge_delivery_seconds_sum", destination="ops")
    assert total == pytest.approx(0.084)
    lag = dict(metrics.buckets("alert_bridge_event_to_delivery_seconds", destination="ops"))
    # 42.5 s, and 0 s for a job "created" in the future (the clock stepped back)
    assert (lag[0.01], lag[30.0], lag[60.0], lag[math.inf]) == (1, 1, 2, 2)
    total = metrics.value("alert_bridge_event_to_delivery_seconds_sum", destination="ops")
    assert total == pytest.approx(42.5)


def test_the_parsers_reject_what_prometheus_would() -> None:
    with pytest.raises(AssertionError, match="before their # TYPE"):
        parse_exposition("x 1\n")
    with pytest.raises(ValueError):  # malformed labels
        parse_exposition('# TYPE x gauge\nx{a="unterminated} 1\n')
    with pytest.raises(AssertionError, match="declared twice"):
        parse_exposition("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# TYPE x gauge\nx 2\n")
    with pytest.raises(AssertionError, match="not cumulative"):
        parse_exposition(
            "# TYPE h histogram\n"
            'h_bucket{le="1.0"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1.0\nh_count 1\n'
        )
    with pytest.raises(AssertionError, match="# EOF"):
        parse_openmetrics("# TYPE x gauge\nx 1\n")
    with pytest.raises(ValueError):  # a counter's sample must end in _total
        parse_openmetrics("# TYPE x counter\nx 1\n# EOF\n")
