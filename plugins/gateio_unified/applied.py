"""Which Unified pushes are new facts: they carry no ids, only a refresh time ``t``.

Gate Unified pushes absolute figures (no deltas) and may re-push or reorder them, so a
push is a new fact only when its values differ from every value set already applied at
its ``t``, and its ``t`` is not older. Equal ``t`` with different values is still a
change: ``t`` has one-second resolution and several changes can share it. Each distinct
value set at one ``t`` gets its own number (its position), which keeps event ids apart,
while a re-push of any set already applied at that ``t`` (reconnect, snapshot, replay,
restart) is no event at all. The price: a genuine A→B→A inside one second reads as a
re-push of A; the state still says B, so the next push showing A reports it.

State per key, JSON-able: ``{"t": <ms>, "v": [<decimal text or null>...], "seen": [...]}``
where ``seen`` holds the value sets applied at ``t`` (at most MAX_SEEN).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Values = Sequence[Decimal | None]
MAX_SEEN = 16  # value sets remembered per key within one second: plenty, and bounded


@dataclass(frozen=True)
class Change:
    """A push that is a new fact: its change number at ``t`` and the values it replaced."""

    number: int
    previous: list[Decimal | None] | None  # None: nothing was known before


def _decode(stored: Any) -> list[Decimal | None]:
    return [None if v is None else Decimal(v) for v in stored]


def apply_push(
    state: MutableMapping[str, Any], key: str, t_ms: int, values: Values
) -> Change | None:
    """Record a push in ``state``; the Change if it is a new fact, None if stale or known."""
    prior = state.get(key)
    encoded = [None if v is None else str(v) for v in values]
    if prior is None:
        state[key] = {"t": t_ms, "v": encoded, "seen": [encoded]}
        return Change(0, None)
    prior_t, previous = int(prior["t"]), _decode(prior["v"])
    if t_ms < prior_t:
        return None  # an older push arriving late: what we hold is newer
    if t_ms > prior_t:
        if previous == list(values):  # Decimal equality: "1.50" equals "1.5"
            # Nothing changed, but remember the newer time so a late, older push of
            # different values cannot overwrite these.
            state[key] = {"t": t_ms, "v": prior["v"], "seen": [prior["v"]]}
            return None
        state[key] = {"t": t_ms, "v": encoded, "seen": [encoded]}
        return Change(0, previous)
    seen = [_decode(v) for v in prior.get("seen", [prior["v"]])]
    if list(values) in seen:
        return None  # this very value set was already applied at this t: a re-push
    number = len(seen)
    state[key] = {
        "t": t_ms,
        "v": encoded,
        "seen": [*prior.get("seen", [prior["v"]]), encoded][-MAX_SEEN:],
    }
    return Change(number, previous)
