"""The malformed-frame check: mangled copies of every data frame may raise only FrameError.

Each place of a recorded data frame (up to ``MAX_PATHS``) is removed or replaced by each
``JUNK`` value; whole frames of junk are tried too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

from bridge.testing.conformance.checker import RECEIVED_AT, Checker
from bridge.testing.conformance.frames import Frame
from bridge.venue import Signal, StateMap, Venue

MAX_PATHS = 80  # mutated places per recorded frame (depth-first, first list items only)
MAX_DEPTH = 6


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = {"a": [value]}
    return value


# What a malformed place gets: every shape orjson can decode that a venue might mangle.
JUNK: tuple[Any, ...] = (
    None,
    True,
    -1,
    0,
    18446744073709551615,
    -9223372036854775808,
    1.8446744073709552e19,
    -1.5e308,
    "",
    "x",
    "-0",
    "1e999999",
    "-1e999999",
    "NaN",
    "Infinity",
    "9" * 5000,
    [],
    [None],
    {},
    _nested(40),
)
_DELETE = object()

Key = str | int


class MalformedChecks(Checker):
    """Junk frames and mangled recorded frames: only FrameError, or well-typed events."""

    def malformed(self, recorded: list[Frame]) -> int:
        """Mangled copies of every data frame: only FrameError (or valid events) may come."""
        venue = self.make()
        streams = list(dict.fromkeys(f.stream for f in recorded))
        self.open_streams(venue, streams)
        cases = [Frame(f"junk frame {v!r:.40}", s, v) for s in streams for v in JUNK]
        cases += [m for f in recorded if self._is_data(venue, f) for m in _mutations(f)]
        for item in cases:
            # each from the state the recorded frames left, as the core would have stored it
            state = StateMap(copy.deepcopy(self.stored))
            self.feed(venue, state, item, RECEIVED_AT, None, item.label, strict=False)
        return len(cases)

    def _is_data(self, venue: Venue, item: Frame) -> bool:
        try:
            return venue.classify(item.stream, item.frame).signal is Signal.DATA
        except Exception:
            return False  # reported by the replays


def _mutations(item: Frame) -> Iterator[Frame]:
    """The frame with each place (up to MAX_PATHS) removed or replaced by each junk value."""
    for path in list(_paths(item.frame, ()))[:MAX_PATHS]:
        where = _path_text(path)
        if isinstance(path[-1], str):
            yield Frame(
                f"{item.label} with {where} removed",
                item.stream,
                _replaced(item.frame, path, _DELETE),
            )
        for junk in JUNK:
            label = f"{item.label} with {where} = {junk!r:.40}"
            yield Frame(label, item.stream, _replaced(item.frame, path, junk))


def _paths(value: Any, prefix: tuple[Key, ...], depth: int = 0) -> Iterator[tuple[Key, ...]]:
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key in value:
            yield (*prefix, key)
            yield from _paths(value[key], (*prefix, key), depth + 1)
    elif isinstance(value, list) and value:
        yield (*prefix, 0)
        yield from _paths(value[0], (*prefix, 0), depth + 1)


def _replaced(value: Any, path: Sequence[Key], new: Any) -> Any:
    """A copy of ``value`` (copied along ``path`` only) with ``new`` at ``path``."""
    head, rest = path[0], path[1:]
    result = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        result[head] = _replaced(value[head], rest, new)  # type: ignore[index]
    elif new is _DELETE:
        del result[head]  # type: ignore[arg-type]
    else:
        result[head] = new  # type: ignore[index]
    return result


def _path_text(path: Sequence[Key]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
