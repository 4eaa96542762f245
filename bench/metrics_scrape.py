"""Benchmark: what one ``/metrics`` scrape costs with 1,000 venues configured.

The parts a running service is scraped from are built for real: the config (1,000 Gate
venue instances, destinations, rules) parsed as the service parses it, the SQLite store
with jobs waiting in its outbox, rule engine, deliverer, committer, pipeline, and one
real Supervisor per stream of each venue. The supervisors are not connected (a thousand
sockets would measure the fake venue, not the scrape); their counters, the pipeline's and
the latency histograms are filled as a day of traffic would leave them. Then a scrape is
timed in both formats, in its two parts: reading the counters (on the event loop, which
waits meanwhile) and writing the text (``scrape_metrics`` does it in a worker thread).
The HTTP round trip on loopback (about a millisecond) is not included.

Run: .venv/bin/python bench/metrics_scrape.py [--venues 1000] [--destinations 20]
     [--jobs 10000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import anyio
import httpx

from bridge.config import parse_config
from bridge.delivery import Committer, Deliverer
from bridge.metrics import ConfigStatus, Histograms, render_metrics
from bridge.metrics_collector import encode, snapshot
from bridge.plugins import plugin_host
from bridge.rules import RuleEngine
from bridge.runtime.pipeline import Pipeline
from bridge.runtime.service import Running
from bridge.runtime.supervisor import Supervisor
from bridge.store import Job, Outcome, Store
from bridge.store.commit import INSERT_JOB, job_row
from bridge.venue import StateMap

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a fixture value, never used
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def config_text(state: Path, venues: int, destinations: int) -> str:
    parts = [f'[bridge]\nstate_dir = "{state}"\nhttp = ""\n']
    for i in range(venues):
        parts.append(
            f'[venues.gate-{i:04d}]\nplugin = "gateio"\napi_key = "k{i}"\napi_secret = "s{i}"\n'
        )
    for i in range(destinations):
        parts.append(
            f'[webhooks.hook-{i:02d}]\nurl = "http://127.0.0.1:9/{i}"\nsecret = "{SECRET}"\n'
        )
    parts.append('[notifiers.desk]\nurls = ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]\n')
    names = [f"hook-{i:02d}" for i in range(destinations)] + ["desk"]
    for i in range(50):
        notify = ", ".join(f'"{n}"' for n in names[i % len(names) :][:2])
        parts.append(f'[[rules]]\nname = "rule {i}"\non = "fill"\nnotify = [{notify}]\n')
    return "\n".join(parts)


async def build(state: Path, args: argparse.Namespace, http: httpx.AsyncClient) -> Running:
    rng = random.Random(1)
    host = plugin_host()
    config = parse_config(
        config_text(state, args.venues, args.destinations),
        environ={},
        venue_plugins=host.venues,
    )
    store = Store.open(config.bridge.state_dir)
    engine = RuleEngine(config.rules)
    deliverer = Deliverer(store, config)
    committer = Committer(store, on_jobs=deliverer.notify)
    pipeline = Pipeline(engine, committer)
    running = Running(store, engine, committer, deliverer, pipeline, ConfigStatus(time.time()))
    names = deliverer.delivery_names
    now = time.time()
    jobs = [
        Job(
            f"msg_{i}",
            names[i % len(names)],
            f"e{i}",
            "fill",
            "rule 0",
            "info",
            "t",
            "m",
            b"{}",
            next_at=now + 3600,
            created_at=now - rng.uniform(0, 86400),
        )
        for i in range(args.jobs)
    ]
    with store.db.write() as conn:
        conn.executemany(INSERT_JOB, [job_row(job) for job in jobs])
    for settings in config.venues.values():
        venue = host.venues[settings.plugin](settings.name, settings.options)
        state_map = StateMap()
        for stream in venue.streams():
            supervisor = Supervisor(
                venue, stream, sink=pipeline.process, http=http, state=state_map
            )
            supervisor.status.connected = True
            supervisor.status.frames = rng.randint(0, 10**6)
            supervisor.status.reconnects = rng.randint(0, 5)
            running.supervisors.append(supervisor)
        for kind in ("order", "fill", "balance", "connection"):
            pipeline.events[(venue.name, kind)] = rng.randint(0, 10**5)
    for rule in config.rules:
        pipeline.matches[rule.name] = rng.randint(0, 1000)
    return running


def observe(histograms: Histograms, names: list[str]) -> None:
    rng = random.Random(2)
    job = Job("msg", "x", "e", "fill", "r", "info", "t", "m", b"{}", created_at=time.time())
    delivered = Outcome("msg", "delivered", 1)
    for name in names:
        for _ in range(200):
            histograms.observe_attempt(name, job, delivered, rng.expovariate(20))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venues", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with httpx.AsyncClient() as http:
            running = await build(Path(tmp) / "state", args, http)
            histograms = Histograms()
            observe(histograms, running.deliverer.delivery_names)
            first = time.perf_counter()
            render_metrics(running, histograms)  # imports prometheus-client
            first = time.perf_counter() - first
            print(f"first scrape (imports prometheus-client): {first * 1000:.0f} ms")
            for label, accept in (("text 0.0.4", ""), ("OpenMetrics", OPENMETRICS)):
                reads, writes = [], []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    families = snapshot(running, histograms)
                    read = time.perf_counter()
                    body, _ = encode(families, accept)
                    reads.append(read - start)
                    writes.append(time.perf_counter() - read)
                samples = sum(1 for line in body.splitlines() if not line.startswith(b"#"))
                totals = sorted(r + w for r, w in zip(reads, writes, strict=True))
                print(
                    f"{label}: {args.venues} venues, {len(running.supervisors)} streams, "
                    f"{args.jobs} pending jobs: {samples} samples, {len(body) / 1024:.0f} KiB; "
                    f"median {statistics.median(totals) * 1000:.0f} ms "
                    f"(reading the counters {statistics.median(reads) * 1000:.0f} ms, "
                    f"writing the text {statistics.median(writes) * 1000:.0f} ms), "
                    f"p90 {totals[int(len(totals) * 0.9) - 1] * 1000:.0f} ms (of {args.rounds})"
                )
            running.store.close()


if __name__ == "__main__":
    anyio.run(main)
