"""``alert-bridge replay``: recorded raw frames through a venue's normalizer and the rules.

A dry run by default (nothing is written or sent); ``--send`` commits to the real outbox,
with dedup against what the service already saw, and delivers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import anyio
import orjson

from bridge.config import Config
from bridge.dryrun import dry_run
from bridge.errors import UsageError
from bridge.events import Event
from bridge.plugins import plugin_host
from bridge.units import did_you_mean
from bridge.venue import FrameError, NormalizeContext, Signal, StateMap, Venue

SEND_TIMEOUT = 60.0  # how long --send waits for deliveries before leaving them queued


def _venue(config: Config, name: str) -> Venue:
    if name not in config.venues:
        raise UsageError(
            f'--venue: no venue named "{name}" in [venues.*]{did_you_mean(name, config.venues)}'
        )
    settings = config.venues[name]
    return plugin_host().venues[settings.plugin](name, settings.options)


def frames_to_events(
    venue: Venue,
    path: Path,
    state: StateMap,
    out: TextIO,
) -> Iterator[tuple[str, Event]]:
    """Decode and normalize each line; report lines that are not data or are malformed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read frames file: {exc.strerror}") from None
    stream = venue.streams()[0]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            frame = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.write(f"frame {number}: malformed: not JSON\n")
            continue
        classification = venue.classify(stream, frame)
        if classification.signal is not Signal.DATA:
            detail = f": {classification.detail}" if classification.detail else ""
            out.write(f"frame {number}: {classification.signal.value}{detail}\n")
            continue
        ctx = NormalizeContext(venue.name, venue.plugin, stream, state, 0)
        try:
            events = venue.normalize(stream, frame, ctx)
        except FrameError as exc:
            out.write(f"frame {number}: malformed: {exc}\n")
            continue
        for problem in ctx.problems:
            out.write(f"frame {number}: malformed {problem}\n")
        for index, event in enumerate(events, start=1):
            yield (f"{number}.{index}" if len(events) > 1 else str(number)), event


def replay(config: Config, venue_name: str, path: Path, *, send: bool, out: TextIO) -> int:
    """The ``replay`` command's body."""
    venue = _venue(config, venue_name)
    if not send:
        dry_run(config, frames_to_events(venue, path, StateMap(), out), out)
        return 0
    return anyio.run(_send, config, venue, path, out)


async def _send(config: Config, venue: Venue, path: Path, out: TextIO) -> int:
    from bridge.runtime.service import Service

    service = Service(config, start_venues=False)
    async with anyio.create_task_group() as tg:
        running = await tg.start(service.run)
        state = StateMap(running.store.load_venue_state(venue.name))
        jobs = 0
        for _, event in frames_to_events(venue, path, state, out):
            created = await running.pipeline.process(
                venue.name, [event], state.drain_changes(), wait=True
            )
            jobs += len(created)
        stats = running.deliverer.stats
        with anyio.move_on_after(SEND_TIMEOUT):  # the first attempt of everything queued
            await running.deliverer.wait_until(lambda s: s.delivered + s.retried + s.dead >= jobs)
        pending, dead = running.store.counts()
        service.stop()
    pipeline = running.pipeline
    out.write(
        f"{sum(pipeline.events.values())} new events, {pipeline.duplicates} already seen, "
        f"{sum(pipeline.matches.values())} rule matches, {jobs} jobs: {stats.delivered} "
        f"delivered, {stats.retried} to retry, {stats.dead} dead; outbox now: {pending} "
        f"pending, {dead} dead letters\n"
    )
    return 0
