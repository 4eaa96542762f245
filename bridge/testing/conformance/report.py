"""What ``check_venue`` hands back: a report when the venue passes, an error when not."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.events import Event


class ConformanceError(AssertionError):
    """The venue breaks the contract; ``breaches`` lists every finding, one line each."""

    def __init__(self, message: str, breaches: list[str]) -> None:
        super().__init__(message)
        self.breaches = breaches


@dataclass
class ConformanceReport:
    """What a passing check saw, for assertions of the plugin's own."""

    events: list[Event]  # the first replay's events, in order
    data_frames: int  # recorded frames classified as data
    malformed: int  # malformed frames tried
    reconciled: int = 0  # REST events that matched a stream event's id (``rest=``)

    @property
    def kinds(self) -> set[str]:
        return {e.kind for e in self.events}
