"""``check_venue``: the conformance check every venue plugin runs in its own tests.

It replays a plugin's recorded frames the way the core does — classify each frame,
normalize the data frames with a state mapping that is persisted as JSON between frames —
and checks the contract of docs/plugins.md: deterministic ids, no new ids when frames are
re-pushed after a reconnect or a restart, only ``FrameError`` from malformed frames,
typed and complete events, and a classified authentication failure. Every breach is
collected and raised as one AssertionError naming the frame and the field.

The modules behind it: ``check`` (the entry point), ``checker`` (one run: set-up,
feeding frames as the core does, reporting), one module per check family
(``replays``, ``malformed``, ``auth``, ``event_checks``), ``frames`` (a recorded frame
and its outcome), ``report`` (what a run hands back) and ``threaded`` (a job on its own
event loop, off the caller's).
"""

from bridge.testing.conformance.check import check_venue
from bridge.testing.conformance.checker import RECEIVED_AT, SHOWN
from bridge.testing.conformance.event_checks import MAX_MS, MIN_MS, REQUIRED_FIELDS
from bridge.testing.conformance.malformed import JUNK, MAX_DEPTH, MAX_PATHS, Key
from bridge.testing.conformance.replays import LATER
from bridge.testing.conformance.report import ConformanceError, ConformanceReport

__all__ = [
    "JUNK",
    "LATER",
    "MAX_DEPTH",
    "MAX_MS",
    "MAX_PATHS",
    "MIN_MS",
    "RECEIVED_AT",
    "REQUIRED_FIELDS",
    "SHOWN",
    "ConformanceError",
    "ConformanceReport",
    "Key",
    "check_venue",
]
