"""The reconciliation check: a fact seen on the stream and through REST has one id.

The plugin author passes recorded REST answers (``{path: decoded JSON}``) that hold the
same facts as some recorded stream frames. The check asks the venue for its
reconciliation requests as the core would after a reconnect, answers those whose path
is recorded, and requires every fill, order and deposit event so recovered to carry an
id the stream replay produced (balances and account figures are snapshots: their REST
form is not a pushed fact). It also checks that requests are signed without a
failure and that the answers normalize into typed, complete events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.events import Event
from bridge.testing.conformance.checker import RECEIVED_AT, Checker
from bridge.testing.conformance.event_checks import event_breaches
from bridge.venue import FrameError, NormalizeContext, ReconcileWindow, StateMap

#: the kinds whose REST form must carry the stream's id
SAME_ID_KINDS = ("fill", "order", "deposit")


class RestChecks(Checker):
    """Reconciliation: requests, signatures, and stream/REST identity."""

    def reconciliation(self, rest: Mapping[str, Any], stream_events: list[Event]) -> int:
        """Check recovered events against the stream's; how many matched an id."""
        if not self.cls.reconciles():
            self.breach("rest answers given, but the venue has no reconcile_requests()")
            return 0
        venue = self.make()
        now = RECEIVED_AT / 1000
        window = ReconcileWindow(now=now, floor=int((now - 86400) * 1000))
        seen = {e.id for e in stream_events}
        matched = 0
        asked: set[str] = set()
        for stream in dict.fromkeys(venue.streams()):
            try:
                requests = list(venue.reconcile_requests(stream, window))
            except Exception as exc:
                self.breach(f"reconcile_requests() raised {exc!r}")
                continue
            for request in requests:
                label = f"REST {request.method} {request.path}"
                asked.add(request.path)
                try:  # headers carry the key by design: the core never logs them
                    headers = venue.sign_rest(request, now)
                except Exception as exc:
                    self.breach(f"{label}: sign_rest() raised {exc!r}")
                    continue
                if not all(isinstance(v, str) for v in headers.values()):
                    self.breach(f"{label}: sign_rest() must return text header values")
                if request.path not in rest:
                    continue
                ctx = NormalizeContext(venue.name, self.plugin, stream, StateMap(), RECEIVED_AT)
                answer = rest[request.path]
                try:
                    result = venue.reconcile_response(stream, request, answer, window, ctx)
                except FrameError as exc:
                    self.breach(f"{label}: the recorded answer was refused: {exc}")
                    continue
                except Exception as exc:
                    self.breach(f"{label}: reconcile_response() raised {exc!r}")
                    continue
                if ctx.problems:
                    self.breach(f"{label}: items skipped: {'; '.join(ctx.problems)}")
                for index, event in enumerate(result.events):
                    where = f"{label}: event {index + 1}"
                    for problem in event_breaches(
                        where, event, self.cls, self.plugin, venue.name, RECEIVED_AT, strict=True
                    ):
                        self.breach(problem)
                    if event.kind not in SAME_ID_KINDS:
                        continue
                    if event.id in seen:
                        matched += 1
                    else:
                        self.breach(
                            f"{where}: {event.kind} has an id no stream frame gave it: the same "
                            "fact must get the same id through REST and the stream"
                        )
        for path in rest:
            if path not in asked:
                self.breach(f"rest: {path} is never requested (requested: {sorted(asked)})")
        if not matched:
            self.breach(
                "rest: no recovered event matched a stream event; record answers "
                "holding facts that the recorded frames also carry"
            )
        return matched
