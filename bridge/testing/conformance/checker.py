"""One check run: set up the venue, feed it frames as the core does, collect the breaches.

The check families (``replays``, ``malformed``, ``auth``) build on :class:`Checker`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from bridge.codec import dumps
from bridge.schema import Problems
from bridge.testing.conformance.event_checks import event_breaches
from bridge.testing.conformance.frames import Frame, Outcome, preview
from bridge.testing.conformance.report import ConformanceError
from bridge.testing.conformance.threaded import NoNetwork, run
from bridge.venue import FrameError, NormalizeContext, Signal, StateMap, Venue

RECEIVED_AT = 1_700_000_000_000  # the receive clock (ms) of the first replay
SHOWN = 25  # breaches listed in one AssertionError


class Checker:
    """One check run: the venue, its options, and the breaches found so far."""

    def __init__(
        self,
        venue: type[Venue],
        config: Mapping[str, Any],
        plugin: str,
        name: str,
        time_limit: float,
    ) -> None:
        self.cls = venue
        self.plugin = plugin
        self.name = name
        self.time_limit = time_limit
        self.breaches: list[str] = []
        schema = venue.config_schema()
        problems = Problems()
        self.options = schema.validate(dict(config), f"venues.{name}", problems)
        if problems:
            raise AssertionError(
                "the config does not validate:\n"
                + "\n".join(f"  {p.path}: {p.message}" for p in problems.items)
            )
        self.secrets = [str(self.options[k]) for k in schema.secret_keys() if self.options.get(k)]
        short = [k for k in schema.secret_keys() if len(str(self.options.get(k) or "")) < 8]
        if short:
            # "k" is in every message: leaks can only be found for distinctive values
            raise AssertionError(
                f"give the secret keys {', '.join(short)} distinctive values of 8 or more "
                'characters in the check\'s config (e.g. "conformance-key-1")'
            )
        #: the normalizer state after the first replay, as the core would have stored it
        self.stored: dict[str, Any] = {}

    # ------------------------------------------------------------------ set-up

    def make(self, name: str | None = None, **overrides: Any) -> Venue:
        try:
            return self.cls(name or self.name, {**self.options, **overrides})
        except Exception as exc:
            raise AssertionError(f"{self.cls.__name__}(...) failed on the config: {exc!r}") from exc

    def recorded(self, frames: Iterable[Any] | Mapping[str, Iterable[Any]]) -> list[Frame]:
        streams = self.make().streams()
        if isinstance(frames, Mapping):
            for stream in frames:
                if stream not in streams:
                    raise AssertionError(
                        f'frames: "{stream}" is not a stream of {self.cls.__name__} '
                        f"(streams: {', '.join(streams)})"
                    )
            groups = [(str(s), list(f)) for s, f in frames.items()]
            return [
                Frame(f"{stream} frame {i}: {preview(frame)}", stream, frame)
                for stream, group in groups
                for i, frame in enumerate(group, start=1)
            ]
        return [
            Frame(f"frame {i}: {preview(frame)}", streams[0], frame)
            for i, frame in enumerate(frames, start=1)
        ]

    def open_streams(self, venue: Venue, streams: Iterable[str]) -> None:
        """What the core does before every connection, for venues with no REST step."""
        if self.cls.default_rest_url is not None:
            return  # their open() needs the venue's REST server: test it against your fake

        async def opened() -> None:
            async with httpx.AsyncClient(transport=NoNetwork()) as http:
                for stream in dict.fromkeys(streams):
                    await venue.open(stream, http)

        try:
            run(opened, 10.0)
        except Exception as exc:
            self.breach(f"open() failed with no REST step to call: {exc!r}")

    # ------------------------------------------------------------------ feeding frames

    def feed(
        self,
        venue: Venue,
        state: StateMap,
        item: Frame,
        received_at: int,
        stored: dict[str, Any] | None,
        label: str,
        *,
        strict: bool = True,
    ) -> Outcome | None:
        """Classify and normalize one frame as the core does; None if it broke the rules."""
        try:
            classification = venue.classify(item.stream, item.frame)
        except Exception as exc:
            self.breach(f"{label}: classify() raised {exc!r}; it must accept any JSON value")
            return None
        if classification.signal is not Signal.DATA:
            self.check_secrets(label, "the classification detail", classification.detail)
            return Outcome([], data=False)
        ctx = NormalizeContext(venue.name, self.plugin, item.stream, state, received_at)
        started = time.perf_counter()
        error = ""
        try:
            events = venue.normalize(item.stream, item.frame, ctx)
        except FrameError as exc:
            events, error = [], f"FrameError: {exc}"
        except Exception as exc:
            self.breach(f"{label}: normalize() raised {exc!r}; only FrameError may escape it")
            return None
        took = time.perf_counter() - started
        if took > self.time_limit:
            self.breach(f"{label}: normalize() took {took:.2f}s (limit {self.time_limit}s)")
        if ctx.problems:
            error = (error + "; " if error else "") + "skipped " + "; ".join(ctx.problems)
        self.check_secrets(label, "the error", error)
        if not isinstance(events, list):
            self.breach(f"{label}: normalize() returned {type(events).__name__}, not a list")
            return None
        changes = state.drain_changes()
        if stored is not None:
            self.store(label, changes, stored)
        for index, event in enumerate(events):
            where = f"{label}: event {index + 1}"
            for problem in event_breaches(
                where, event, self.cls, self.plugin, venue.name, received_at, strict=strict
            ):
                self.breach(problem)
        return Outcome(events, data=True, error=error)

    def store(self, label: str, changes: dict[str, Any], stored: dict[str, Any]) -> None:
        """Persist state changes as the core does: JSON, Decimals as text, None deletes."""
        for key, value in changes.items():
            if value is None:
                stored.pop(key, None)
                continue
            try:
                stored[key] = orjson.loads(dumps(value))
            except (TypeError, orjson.JSONDecodeError) as exc:
                self.breach(f"{label}: state[{key!r}] cannot be stored as JSON: {exc}")

    def replay(
        self,
        venue: Venue,
        state: StateMap,
        recorded: Sequence[Frame],
        received_at: int,
        stored: dict[str, Any] | None = None,
        *,
        clean: bool = False,
    ) -> list[Outcome]:
        """Each recorded frame's outcome (no events where it broke the rules)."""
        outcomes: list[Outcome] = []
        for item in recorded:
            outcome = self.feed(venue, state, item, received_at, stored, item.label)
            if clean and outcome is not None and outcome.error:
                self.breach(
                    f"{item.label}: a recorded frame must normalize cleanly: {outcome.error}"
                )
            outcomes.append(outcome or Outcome([], data=True))
        return outcomes

    # ------------------------------------------------------------------ reporting

    def check_secrets(self, label: str, what: str, text: str) -> None:
        for secret in self.secrets:
            if secret and secret in text:
                self.breach(f"{label}: {what} contains a configured secret (it would be logged)")

    def breach(self, message: str) -> None:
        if message not in self.breaches:
            self.breaches.append(message)

    def raise_breaches(self) -> None:
        if not self.breaches:
            return
        shown = "\n".join(f"- {b}" for b in self.breaches[:SHOWN])
        more = len(self.breaches) - SHOWN
        raise ConformanceError(
            f"{self.cls.__name__} ({self.plugin}) breaks the venue contract "
            f"({len(self.breaches)} problems):\n{shown}"
            + (f"\n... and {more} more" if more > 0 else ""),
            list(self.breaches),
        )
